// Workers: the daemon's only way to touch a site. Each is `node CLI apply /dev/stdin --site ROOT --store STORE
// --json --progress` (or `recover --site ROOT --store STORE --json`), spawned with the site owner's uid and gid (libuv also
// drops every supplementary group when it changes ids), a scrubbed environment (a fixed PATH, LANG, USER,
// HOME; nothing of the daemon's, so no COUNTERSIGN_* secret and no NODE_OPTIONS), the site root as its
// working directory, and in its own process group (so a timeout kills the post-update steps too).
//
// The bundle is the worker's stdin: a read-only descriptor on the daemon's spooled copy, which the worker
// re-opens as /dev/stdin. The spool directory stays 0700: the worker never needs to reach it by path (the
// file itself is 0444, because Linux re-checks the file's mode when /proc/self/fd/0 is opened).
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LineSplitter, MAX_PROGRESS_LINE_BYTES, type WorkerOutcome } from './protocol.js';
import type { SiteConfig } from './config.js';
import { errnoOf } from '../../core/errno.js';

/** How to start the countersign CLI: `execPath ...args <command> ...`. */
export interface WorkerCommand {
  execPath: string;
  args: string[];
}

export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export const WORKER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** What a worker may print on stdout (its one JSON result); more is a failure. */
const MAX_STDOUT_BYTES = 4 * 1024 * 1024;
/** Lines of stderr kept for the log when a worker fails. */
const STDERR_TAIL_LINES = 20;

/**
 * The CLI to run workers with. `cli` (config "cli") wins; otherwise the CLI this code is part of: the
 * bundled dist/countersign.cjs, or, when running from sources under tsx (tests), cli/main.ts with tsx's loader.
 */
export function workerCommand(cli?: string): WorkerCommand {
  if (cli) return cli.endsWith('.ts') ? { execPath: process.execPath, args: ['--import', tsxLoader(), cli] } : { execPath: process.execPath, args: [cli] };
  const here = fileURLToPath(import.meta.url);
  if (basename(here) === 'countersign.cjs') return { execPath: process.execPath, args: [here] };
  if (here.endsWith('.ts')) return { execPath: process.execPath, args: ['--import', tsxLoader(), resolve(dirname(here), '../../../cli/main.ts')] };
  // dist/lib/installer/daemon/worker.js: the bundled CLI beside dist/lib, else the unbundled one.
  const bundled = resolve(dirname(here), '../../../countersign.cjs');
  return { execPath: process.execPath, args: [existsSync(bundled) ? bundled : resolve(dirname(here), '../../../cli/main.js')] };
}

/** tsx's loader as an absolute URL: the worker's cwd is the site root, where `--import tsx` would not resolve. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** The whole environment a worker gets. */
export function workerEnv(site: SiteConfig): Record<string, string> {
  const env: Record<string, string> = { PATH: WORKER_PATH, LANG: 'C.UTF-8', HOME: site.home && site.home.startsWith('/') ? site.home : site.root };
  if (site.userName) {
    env.USER = site.userName;
    env.LOGNAME = site.userName;
  }
  return env;
}

export function applyArgs(site: SiteConfig): string[] {
  return [
    'apply',
    '/dev/stdin',
    '--site',
    site.root,
    '--store',
    site.store,
    ...stateDirArgs(site),
    ...(site.allowSharedWrite ? ['--allow-shared-write'] : []),
    '--json',
    '--progress',
  ];
}

export function recoverArgs(site: SiteConfig): string[] {
  return ['recover', '--site', site.root, '--store', site.store, ...stateDirArgs(site), '--json'];
}

function stateDirArgs(site: SiteConfig): string[] {
  return site.stateDir === undefined ? [] : ['--state-dir', site.stateDir];
}

export interface RunWorkerOptions {
  site: SiteConfig;
  command: WorkerCommand;
  args: string[];
  /** A descriptor for the worker's stdin ('ignore' for none). */
  stdin: number | 'ignore';
  timeoutMs: number;
  spawn?: SpawnFunction;
  /** Each progress event (a JSON object line on the worker's stderr). */
  onProgress?: (event: Record<string, unknown>) => void;
  onSpawn?: (pid: number | undefined) => void;
}

/** Runs one worker to its end; never throws. */
export function runWorker(opts: RunWorkerOptions): Promise<WorkerOutcome> {
  const spawn = opts.spawn ?? nodeSpawn;
  return new Promise((done) => {
    const stderrTail: string[] = [];
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    let timedOut = false;
    let spawnError: string | undefined;
    let child: ChildProcess;
    try {
      child = spawn(opts.command.execPath, [...opts.command.args, ...opts.args], {
        cwd: opts.site.root,
        env: workerEnv(opts.site),
        uid: opts.site.uid,
        gid: opts.site.gid,
        stdio: [opts.stdin, 'pipe', 'pipe'],
        detached: true, // its own process group, killed whole on timeout
        windowsHide: true,
      });
    } catch (err) {
      done({ exitCode: null, signal: null, timedOut: false, spawnError: errnoOf(err), stderrTail });
      return;
    }
    opts.onSpawn?.(child.pid);
    const keepTail = (line: string) => {
      stderrTail.push(line.length > 1000 ? line.slice(0, 1000) + '...' : line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    };
    const lines = new LineSplitter(
      MAX_PROGRESS_LINE_BYTES,
      (line) => {
        if (line.trim() === '') return;
        const event = parseObject(line);
        if (event) opts.onProgress?.(event);
        else keepTail(line);
      },
      () => keepTail(`(a line longer than ${MAX_PROGRESS_LINE_BYTES} bytes was left out)`),
    );
    child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) stdoutOverflow = true;
      else stdout.push(chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, opts.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
    });
    // Whatever it started and left behind (a post-update step gone to the background) belongs to its
    // process group and ends with it; until then it could hold the output pipes open, and 'close' wait.
    child.on('exit', () => killGroup(child));
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      lines.flush();
      const result = stdoutOverflow ? undefined : parseResult(Buffer.concat(stdout).toString('utf8'));
      done({ exitCode, signal, result, timedOut, spawnError, stderrTail, pid: child.pid });
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The worker's one JSON object; tolerates stray lines before it (only the last line is taken then). */
function parseResult(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return parseObject(trimmed) ?? parseObject(trimmed.slice(trimmed.lastIndexOf('\n') + 1));
}
