// Phase 3: the manifest's post-update steps (e.g. ["drush","updb","-y"]), one after the other, each
// an argv array run without a shell (a relative program path is relative to the site root, the
// working directory), in its own process group, with its output captured (never passed through to
// our stdout, which carries the one JSON result), and killed with SIGKILL, group and all, at the timeout.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ProgressSink } from './events.js';
import { errnoOf } from '../core/errno.js';

export const DEFAULT_POST_TIMEOUT_MS = 300_000;
/** Output kept per stream and step: the last this many bytes. */
export const MAX_CAPTURE_BYTES = 64 * 1024;

export interface PostStepResult {
  step: number;
  argv: string[];
  /** null when a signal ended it, or it never started. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why it could not be started (ENOENT: no such program, EACCES: not executable), if so. */
  spawnError: string | null;
  durationMs: number;
  /** The end of its output (at most MAX_CAPTURE_BYTES each), control characters escaped. */
  stdout: string;
  stderr: string;
  ok: boolean;
}

export interface PostOptions {
  cwd: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressSink;
}

// Terminal controls and invisible formatting characters: shown as \u{..}, so captured output cannot drive a terminal or break a JSON line.
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

export function printableOutput(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= MAX_CAPTURE_BYTES) {
      this.size -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }
  text(): string {
    let all = Buffer.concat(this.chunks);
    if (all.length > MAX_CAPTURE_BYTES) {
      all = all.subarray(all.length - MAX_CAPTURE_BYTES);
      this.dropped = true;
    }
    return (this.dropped ? '[...]\n' : '') + printableOutput(all.toString('utf8'));
  }
}

/** Runs one step to its end; never throws. */
export function runStep(argv: string[], step: number, opts: PostOptions): Promise<PostStepResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_POST_TIMEOUT_MS;
  const started = Date.now();
  return new Promise((done) => {
    const out = new Tail();
    const err = new Tail();
    let timedOut = false;
    let spawnError: string | null = null;
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        windowsHide: true,
      });
    } catch (e) {
      const code = errnoOf(e);
      done({
        step,
        argv,
        exitCode: null,
        signal: null,
        timedOut: false,
        spawnError: code,
        durationMs: Date.now() - started,
        stdout: '',
        stderr: '',
        ok: false,
      });
      return;
    }
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e.code ?? e.message;
    });
    // Anything it left running in the background belongs to its group and goes with it; until then it could hold the pipes open.
    child.on('exit', () => killGroup());
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      const ok = !timedOut && spawnError === null && exitCode === 0;
      done({ step, argv, exitCode, signal, timedOut, spawnError, durationMs: Date.now() - started, stdout: out.text(), stderr: err.text(), ok });
    });
  });
}

/** Runs the steps in order and stops at the first that fails; returns the results of those run. */
export async function runPostUpdate(steps: readonly string[][], opts: PostOptions): Promise<PostStepResult[]> {
  const results: PostStepResult[] = [];
  for (let i = 0; i < steps.length; i++) {
    const argv = [...steps[i]!];
    opts.progress?.({ event: 'post', step: i, argv, status: 'start' });
    const r = await runStep(argv, i, opts);
    results.push(r);
    opts.progress?.({
      event: 'post',
      step: i,
      argv,
      status: r.ok ? 'done' : 'failed',
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      durationMs: r.durationMs,
      ...(r.spawnError && { spawnError: r.spawnError }),
    });
    if (!r.ok) break;
  }
  return results;
}

/**
 * Where `command` would be found when a step is spawned: a name with a slash is a path (relative to the
 * site root, the steps' working directory), any other name is looked up on the PATH of `env`, as spawn()
 * does. Null when there is no executable regular file there.
 */
export function findCommand(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : join(cwd, command)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(isAbsolute(d) ? d : join(cwd, d), command));
  for (const path of candidates) {
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not there, or not executable by us: the next one
    }
  }
  return null;
}

/** The steps whose program cannot be found (findCommand), in order. */
export function missingCommands(steps: readonly string[][], cwd: string, env?: NodeJS.ProcessEnv): Array<{ step: number; command: string }> {
  return steps.flatMap((argv, step) => (argv.length === 0 || findCommand(argv[0]!, cwd, env) === null ? [{ step, command: argv[0] ?? '' }] : []));
}

export function describeStepFailure(r: PostStepResult): string {
  const what = JSON.stringify(r.argv);
  if (r.spawnError) return `${what} could not be started (${r.spawnError})`;
  if (r.timedOut) return `${what} ran longer than the timeout and was killed`;
  if (r.signal) return `${what} was ended by ${r.signal}`;
  return `${what} exited with status ${r.exitCode}`;
}
