// Fixtures for the installer daemon tests: a site owner (a throwaway system user when the tests run as
// root), sample sites with trust stores, signed bundles, a stub or real worker, and a raw socket client.
import { execFileSync, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, lstatSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initStore } from '../../lib/node/trust-store.js';
import { resolveInstallerConfig, type InstallerConfig } from '../../lib/installer/daemon/config.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../../lib/installer/daemon/serve.js';
import { workerCommand, type WorkerCommand } from '../../lib/installer/daemon/worker.js';
import { isFinalLine, type FinalLine, type ProgressLine } from '../../lib/installer/daemon/protocol.js';
import { BASE_TREE, bundleFileBytes, makeRelease, tempDir, writeTree } from '../support/fixtures.js';
import type { ReleaseRequest } from '../../lib/node/build.js';
import { firstGeneration, signedRelease, type Generation } from '../support/store-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
export const STUB_WORKER = join(here, 'daemon-stub-worker.mjs');
export const REPO = resolve(here, '../..');
export const TEST_USER = 'cs-test-owner';

export const isRoot = process.getuid!() === 0;

export interface Owner {
  uid: number;
  gid: number;
  name?: string;
}

let cachedOwner: Owner | null | undefined;

/**
 * The user sites belong to: as root, the system user cs-test-owner (created with useradd if missing);
 * otherwise this user (a non-root daemon can only run workers as itself). Null when root has no useradd.
 */
export function siteOwner(): Owner | null {
  if (cachedOwner !== undefined) return cachedOwner;
  if (!isRoot) return (cachedOwner = { uid: process.getuid!(), gid: process.getgid!() });
  const lookup = (): Owner | null => {
    try {
      const uid = Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid, gid, name: TEST_USER };
    } catch {
      return null;
    }
  };
  let owner = lookup();
  if (!owner) {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER], { stdio: 'ignore' });
    } catch {
      // no useradd (or not allowed): the caller skips
    }
    owner = lookup();
  }
  return (cachedOwner = owner);
}

/** Skips the current suite or test (with why) when there is no usable site owner. */
export function requireOwner(ctx: Mocha.Context): Owner {
  const owner = siteOwner();
  if (!owner) {
    console.log(`      (skipped: running as root, and no user ${TEST_USER} could be created with useradd)`);
    ctx.skip();
  }
  return owner!;
}

/** Everything in a temp dir the site owner can reach (the tree must be traversable by the worker). */
export interface Lab {
  base: string;
  spool: string;
  socket: string;
  generation: Generation;
  sites: Record<string, { root: string; store: string }>;
  owner: Owner;
  /** Outside every site: nothing may ever be written here. */
  outside: string;
}

export async function makeLab(owner: Owner, siteNames: string[] = ['alpha']): Promise<Lab> {
  const base = tempDir('countersign-daemon-');
  chmodSync(base, 0o755);
  const generation = firstGeneration();
  const sites: Lab['sites'] = {};
  for (const name of siteNames) {
    const root = writeTree(join(base, 'sites', name), BASE_TREE);
    const store = join(base, 'stores', name);
    await initStore(store, generation.bytes, { installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    chownTree(root, owner);
    // The worker (countersign apply) records the install in the store, as the site owner.
    chownTree(store, owner);
    sites[name] = { root, store };
  }
  // The worker keeps its state beside the site (PARENT/.countersign-NAME), so the owner owns the parent.
  chownSync(join(base, 'sites'), owner.uid, owner.gid);
  const outside = join(base, 'outside');
  writeTree(outside, { 'keep.txt': 'not a site\n' });
  mkdirSync(join(base, 'sock'), { mode: 0o755 });
  return { base, spool: join(base, 'spool'), socket: join(base, 'sock', 'installer.sock'), generation, sites, owner, outside };
}

export function chownTree(path: string, owner: Owner): void {
  chownSync(path, owner.uid, owner.gid);
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), owner);
}

export function labConfig(lab: Lab, extra: Record<string, unknown> = {}): InstallerConfig {
  const sites = Object.fromEntries(
    Object.entries(lab.sites).map(([name, s]) => [name, { root: s.root, store: s.store, user: lab.owner.uid, group: lab.owner.gid }]),
  );
  return resolveInstallerConfig({ spool: lab.spool, idleTimeoutMs: 5000, ...extra, sites });
}

export const DAY = 24 * 3600 * 1000;

/** drupal core 10.2.4 for 10.2.3, valid today, signed by a quorum (or by `signers` of the generation). */
export function bundleBytes(lab: Lab, overrides: Partial<ReleaseRequest> = {}, signers?: number): Uint8Array {
  const now = Date.now();
  const release = makeRelease({ created: new Date(now - DAY), expires: new Date(now + 30 * DAY), postUpdate: [], ...overrides });
  const gen = signers === undefined ? lab.generation : { ...lab.generation, threshold: signers };
  const signed = signedRelease(gen, release);
  return bundleFileBytes(signed.envelope, signed.archive);
}

export function writeBundle(lab: Lab, name: string, bytes: Uint8Array): string {
  const path = join(lab.base, name);
  writeFileSync(path, bytes);
  return path;
}

export function stubWorker(): WorkerCommand {
  return { execPath: process.execPath, args: [STUB_WORKER] };
}

/** The real CLI from sources (cli/main.ts under tsx), as the daemon finds it by default. */
export function realWorker(): WorkerCommand {
  return workerCommand();
}

export function stubControl(root: string, control: Record<string, unknown>): void {
  writeFileSync(join(root, '.stub-control.json'), JSON.stringify(control));
}

export interface StubRecord {
  command: string;
  argv: string[];
  uid: number;
  gid: number;
  euid: number;
  groups: number[] | null;
  cwd: string;
  env: Record<string, string>;
  start: number;
  end: number;
  stdinSha256?: string;
  stdinSize?: number;
  probes?: Record<string, string>;
}

export function stubLog(root: string): StubRecord[] {
  const path = join(root, '.stub-log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StubRecord);
}

export interface Harness {
  daemon: Daemon;
  /** Every spawn the daemon made: [command, args]. */
  spawns: Array<{ args: string[]; options: SpawnOptions }>;
  applySpawns(): number;
  logs: Array<Record<string, unknown>>;
}

export async function startHarness(config: InstallerConfig, lab: Lab, opts: Partial<DaemonOptions> = {}): Promise<Harness> {
  const spawns: Harness['spawns'] = [];
  const logs: Harness['logs'] = [];
  const daemon = await startDaemon(config, {
    socket: lab.socket,
    worker: stubWorker(),
    recover: false,
    log: (e) => logs.push(e),
    spawn: (command, args, options) => {
      spawns.push({ args: [...args], options });
      return nodeSpawn(command, args, options);
    },
    ...opts,
  });
  return { daemon, spawns, logs, applySpawns: () => spawns.filter((s) => s.args.includes('apply')).length };
}

export interface RawAnswer {
  progress: ProgressLine[];
  final?: FinalLine;
  /** Milliseconds from connecting to the final line (or the close). */
  ms: number;
  /** Whether the connection was closed by the daemon. */
  closed: boolean;
}

/** Sends raw bytes (header and body as given) and collects every line of the answer. */
export function rawRequest(
  socket: string,
  chunks: Array<Buffer | string>,
  opts: { end?: boolean; timeoutMs?: number; stopAt?: (p: ProgressLine) => boolean } = {},
): Promise<RawAnswer> {
  return new Promise((resolveAnswer, reject) => {
    const started = Date.now();
    const client = createConnection(socket);
    let text = '';
    const answer: RawAnswer = { progress: [], ms: 0, closed: false };
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms; got ${text}`));
    }, opts.timeoutMs ?? 10_000);
    const done = () => {
      clearTimeout(timer);
      answer.ms = Date.now() - started;
      for (const line of text.split('\n').filter(Boolean)) {
        const value = JSON.parse(line);
        if (isFinalLine(value)) answer.final = value;
        else answer.progress.push(value as ProgressLine);
      }
      resolveAnswer(answer);
    };
    client.on('data', (d) => {
      text += d.toString('utf8');
      // The final line is the last thing the daemon says; a client that is still sending stops there.
      const stop = (value: unknown) => isFinalLine(value) || (opts.stopAt !== undefined && opts.stopAt(value as ProgressLine));
      if (
        text
          .split('\n')
          .slice(0, -1)
          .some((l) => stop(JSON.parse(l)))
      )
        client.destroy();
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      answer.closed = true;
      done();
    });
    client.on('connect', () => {
      for (const c of chunks) client.write(c);
      if (opts.end !== false) client.end();
    });
  });
}

export function header(value: unknown): string {
  return JSON.stringify(value) + '\n';
}

/** Names under a directory, recursively (to show nothing new appeared). */
export function treeListing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      const rel = prefix + name;
      out.push(rel);
      if (lstatSync(join(d, name)).isDirectory()) walk(join(d, name), rel + '/');
    }
  };
  walk(dir, '');
  return out;
}
