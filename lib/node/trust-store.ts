// The site trust store on disk (its rules, pure, are lib/core/trust-state.ts): what a site trusts (the policy it pinned, and the rotations and revocations it
// has accepted since) and what it has installed, so that verification needs no flags to say so and
// never goes back: not to an older policy, not below the highest release ever installed.
//
// Layout (one directory):
//   DIR/state.json   the state (schemas/store.schema.json); replaced whole, atomically and durably
//                    (temporary file, fsync, rename, fsync of DIR), so it is never seen torn
//   DIR/lock         present while a writer holds the lock (lib/node/lock.ts); readers never take it
//
// Permissions: DIR 0755 and state.json 0644 (set explicitly, whatever the umask). The store holds no
// secret, only signed public documents and version numbers, and the web server user must read it to
// verify; what matters is that only its owner (the operator or the installer) can write it, so keep DIR
// owned by that user. A directory given to `init` that already exists keeps the mode it has.
//
// Every signed document is re-verified each time the store is opened: the pinned policy by its own
// quorum, each rotation from the policy before it, each revocation against the policy it was accepted
// under. A store that fails any check is STORE_CORRUPT and is never reset or overwritten.
import { chmodSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf } from '../core/errno.js';
import { CountersignError, StoreError, UsageError } from '../core/errors.js';
import { validate } from '../core/schema.js';
import {
  applyUpdates,
  checkInstalledSpec,
  corrupt,
  initialState,
  loadStore,
  withInstall,
  type InstalledRelease,
  type InstalledSpec,
  type StoreLogCheck,
  type StoreState,
  type TrustStore,
  type UpdateFile,
  type UpdateOutcome,
} from '../core/trust-state.js';
import { formatTimestamp } from '../core/time.js';
import { parseSignedCheckpoint } from '../log/checkpoint.js';
import { parseTlogPolicy } from '../log/tlog-policy.js';
import { commitPending, tempPathFor, writeDurably } from './durable.js';
import { withLock } from './lock.js';

export const STATE_FILE = 'state.json';
export const LOCK_FILE = 'lock';
/** A state file larger than this is not one countersign wrote. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;
const DIR_MODE = 0o755;
const FILE_MODE = 0o644;

export interface StoreWriteOptions {
  /** The reference time (acceptance and freshness); default: the clock. */
  now?: Date;
  /** How long to wait for another writer before STORE_LOCKED; default 5000 ms. */
  lockTimeoutMs?: number;
}

export interface UpdateResult {
  /** One per file, in the order given. */
  results: UpdateOutcome[];
  accepted: number;
  /** Revocations the store already held. */
  unchanged: number;
  rejected: number;
  /** Whether state.json was rewritten (only when something was accepted). */
  written: boolean;
  store: TrustStore;
}

export function storeFiles(dir: string): { state: string; lock: string } {
  return { state: join(dir, STATE_FILE), lock: join(dir, LOCK_FILE) };
}

// ---------------------------------------------------------------------------------------------
// Creating and opening

/**
 * Creates a store at `dir` pinning `policyBytes`, which must load as a trusted policy (signed by a
 * quorum of its own keys). Refuses, with STORE_EXISTS, a directory that already holds a store. The
 * pinned policy may have expired (a site can still walk rotations from it); verification checks expiry.
 */
export async function initStore(
  dir: string,
  policyBytes: Uint8Array,
  opts: StoreWriteOptions & { installed?: readonly InstalledSpec[]; logPolicy?: string } = {},
): Promise<TrustStore> {
  // A log policy that does not parse is refused before anything is written (BAD_LOG_POLICY).
  if (opts.logPolicy !== undefined) parseTlogPolicy(opts.logPolicy);
  const state = initialState(policyBytes, opts.installed ?? [], opts.now ?? new Date(), opts.logPolicy);
  const files = storeFiles(dir);
  if (existsSync(files.state)) throw storeExists(dir);
  try {
    const created = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    if (created !== undefined) chmodSync(dir, DIR_MODE);
    if (!statSync(dir).isDirectory()) throw new UsageError('IO', `${dir} is not a directory`);
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new UsageError('IO', `cannot create the store directory ${dir}: ${errnoOf(err)}`);
  }
  await withLock(files.lock, { timeoutMs: opts.lockTimeoutMs }, async () => {
    // Checked again under the lock: two concurrent inits must not both write.
    if (existsSync(files.state)) throw storeExists(dir);
    writeState(dir, state);
  });
  return openStore(dir);
}

function storeExists(dir: string): StoreError {
  return new StoreError('STORE_EXISTS', `${dir} already holds a trust store; it was left as it is (use trust update, or init a new directory)`, { dir });
}

/** Opens and fully re-verifies the store at `dir`. Takes no lock: state.json is only ever replaced by rename. */
export async function openStore(dir: string): Promise<TrustStore> {
  const path = storeFiles(dir).state;
  let bytes: Uint8Array;
  try {
    // No-follow and non-blocking: a daemon reading a site owner's store must not be led elsewhere by a
    // symlink, nor stalled by a FIFO; either is refused just below.
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const info = await file.stat();
      if (!info.isFile()) throw corrupt(path, 'is not a regular file');
      if (info.size > MAX_STATE_BYTES) throw corrupt(path, `is ${info.size} bytes; a store is at most ${MAX_STATE_BYTES}`);
      bytes = new Uint8Array(await file.readFile());
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    const code = errnoOf(err);
    if (code === 'ELOOP') throw corrupt(path, 'is a symbolic link');
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StoreError('STORE_MISSING', `there is no trust store at ${dir} (create one with countersign trust init)`, { dir });
    }
    throw new UsageError('IO', `cannot read the trust store ${path}: ${code ?? (err as Error).message}`);
  }
  const store = loadStore(dir, path, bytes);
  // The log policy and the largest checkpoint are re-read like every signed document in the store.
  const log = store.state.log;
  if (log) {
    try {
      parseTlogPolicy(log.policy);
      if (log.largest !== undefined) parseSignedCheckpoint(log.largest);
    } catch (err) {
      throw corrupt(path, `holds a log policy or checkpoint that does not parse (${(err as Error).message})`, err);
    }
  }
  return store;
}

/**
 * Records what a log check found, under the store's lock: `largest` replaces the largest checkpoint seen only when
 * it is larger (re-read under the lock: it never goes down), and `fork` evidence is appended, kept forever.
 * `then` runs under the same lock once state.json is written (log sync writes the replayed state beside it).
 */
export async function recordLog(
  dir: string,
  found: { largest?: string; fork?: { seen: string; presented: string } },
  opts: StoreWriteOptions = {},
  then?: (current: TrustStore) => void,
): Promise<void> {
  const now = opts.now ?? new Date();
  await withStore(dir, opts, (current) => {
    recordLogLocked(dir, current, found, now);
    then?.(current);
  });
}

function recordLogLocked(dir: string, current: TrustStore, found: { largest?: string; fork?: { seen: string; presented: string } }, now: Date): void {
  {
    const log = current.state.log;
    if (!log) return;
    const next = { ...log, forks: [...log.forks] };
    if (found.largest !== undefined && (log.largest === undefined || parseSignedCheckpoint(found.largest).size > parseSignedCheckpoint(log.largest).size)) {
      next.largest = found.largest;
    }
    if (found.fork && !log.forks.some((f) => f.seen === found.fork!.seen && f.presented === found.fork!.presented) && next.forks.length < 1000) {
      next.forks.push({ ...found.fork, detected: formatTimestamp(now) });
    }
    if (next.largest !== log.largest || next.forks.length !== log.forks.length) writeState(dir, { ...current.state, log: next });
  }
}

/** Writes state.json durably and atomically. Only ever called while holding the lock. */
function writeState(dir: string, state: StoreState): void {
  // Never write what could not be read back.
  validate<StoreState>('store', state, 'trust store');
  const target = storeFiles(dir).state;
  removeLeftoverTemps(dir);
  const temp = tempPathFor(target);
  try {
    writeDurably(temp, JSON.stringify(state, null, 2) + '\n', FILE_MODE);
    chmodSync(temp, FILE_MODE);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new UsageError('IO', `cannot write ${target}: ${errnoOf(err)}`);
  }
  // Renames into place and fsyncs the directory; on failure the temporary file is removed.
  commitPending([{ target, temp }]);
}

/** Temporary files of a writer that died mid-write; safe to remove because we hold the lock. */
function removeLeftoverTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`.${STATE_FILE}.`) && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }
}

/** Runs `fn` on the freshly re-read store while holding its lock. */
async function withStore<T>(dir: string, opts: StoreWriteOptions, fn: (store: TrustStore) => Promise<T> | T): Promise<T> {
  // A missing store is reported as such, not as a failure to create its lock.
  if (!existsSync(storeFiles(dir).state)) await openStore(dir);
  return withLock(storeFiles(dir).lock, { timeoutMs: opts.lockTimeoutMs }, async () => fn(await openStore(dir)));
}

// ---------------------------------------------------------------------------------------------
// Updating

/**
 * Accepts signed policy rotations and revocations into the store at `dir`, under its lock (applyUpdates
 * says which are accepted). Nothing is written when nothing was accepted (and no fork was found). `checkLog` must not take the store's
 * lock (storeLogCheck with record: false): the largest checkpoint it proves is written with the update.
 */
export async function updateStore(
  dir: string,
  files: readonly UpdateFile[],
  opts: StoreWriteOptions & { checkLog?: StoreLogCheck } = {},
): Promise<UpdateResult> {
  const now = opts.now ?? new Date();
  return withStore(dir, opts, async (store) => {
    // With a log policy each key change must be logged; without checkLog such a store refuses them (NOT_LOGGED).
    const { state, results } = await applyUpdates(store, files, now, opts.checkLog);
    const count = (status: UpdateOutcome['status']) => results.filter((r) => r.status === status).length;
    const accepted = count('accepted');
    // Fork evidence found by the log check is kept even when every file was rejected.
    const written = accepted > 0 || (state.log?.forks.length ?? 0) > (store.state.log?.forks.length ?? 0);
    if (written) writeState(dir, state);
    return {
      results,
      accepted,
      unchanged: count('unchanged'),
      rejected: count('rejected'),
      written,
      store: written ? await openStore(dir) : store,
    };
  });
}

/**
 * Records that `version` of product/component is now installed, under the store's lock (withInstall
 * gives the rules: the highest version is never lowered; `kept` files make a partial install).
 */
export async function recordInstall(
  store: TrustStore | string,
  product: string,
  component: string,
  version: string,
  opts: StoreWriteOptions & { kept?: readonly string[] } = {},
): Promise<InstalledSpec & InstalledRelease> {
  const dir = typeof store === 'string' ? store : store.dir;
  checkInstalledSpec({ product, component, version });
  const now = opts.now ?? new Date();
  return withStore(dir, opts, (current) => {
    const { state, entry } = withInstall(current.state, { product, component, version }, opts.kept ?? [], now);
    writeState(dir, state);
    return { product, component, ...entry };
  });
}
