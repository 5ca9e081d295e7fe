// A lock file that serialises the writers of one directory (the site trust store). The lock holds
// "PID\nTHREAD\nTOKEN\n" of its holder (THREAD: the worker_threads threadId, 0 for the main thread); it is written beside its name and hard-linked into place, so it is
// created exclusively (link() fails when the name exists, like O_CREAT|O_EXCL) and is never seen
// half-written. Readers need no lock: writers replace files with rename(), which is atomic.
//
// A lock whose holder is no longer alive (or names this process without being held by it) is stale and is taken over. Only one contender removes a
// given stale lock (under a short-lived `LOCK.takeover` guard, re-checking the content it saw), so
// two waiters can never both "take over" and both hold it. A live holder that does not let go within
// the timeout is STORE_LOCKED. Limits: liveness is `kill(pid, 0)` on this host, so a lock left by a
// crashed process whose pid now belongs to another live process looks alive (STORE_LOCKED, with the pid
// named; remove the lock by hand); a store on a filesystem shared between hosts is not supported.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { tempPathFor } from './durable.js';
import { StoreError, UsageError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 5000;
const DEFAULT_RETRY_MS = 20;

export interface LockOptions {
  /** How long to wait for a live holder before STORE_LOCKED; default 5000 ms. */
  timeoutMs?: number;
  /** Pause between attempts (plus up to as much again, at random); default 20 ms. */
  retryMs?: number;
}

export interface HeldLock {
  readonly path: string;
  /** Removes the lock if it is still this holder's; safe to call twice. */
  release(): void;
}

export interface LockHolder {
  pid: number;
  thread: number;
  token: string;
}

/** Tokens of the locks this thread holds now: a lock naming this pid and thread with another token is a previous process's. */
const heldHere = new Set<string>();

const HOLDER = /^([1-9][0-9]{0,9})\n(0|[1-9][0-9]{0,9})\n([0-9a-f]{32})\n$/;

export function parseLockHolder(text: string): LockHolder | undefined {
  const m = HOLDER.exec(text);
  return m ? { pid: Number(m[1]), thread: Number(m[2]), token: m[3]! } : undefined;
}

function holderText(token: string): string {
  return `${process.pid}\n${threadId}\n${token}\n`;
}

/** Whether a process with this pid exists on this host (EPERM: it exists, as another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

/**
 * Waits for the lock at `path` and takes it. In one process, two callers are told apart by a random
 * token, so concurrent async callers are serialised as well as separate processes.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const retryMs = opts.retryMs ?? DEFAULT_RETRY_MS;
  const mine = holderText(randomBytes(16).toString('hex'));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (createExclusive(path, mine)) return heldLock(path, mine);
    const seen = readText(path);
    const holder = seen === undefined ? undefined : parseLockHolder(seen);
    if (seen === undefined) {
      // Released between our attempt and the read: try again at once.
      if (Date.now() < deadline) continue;
    } else if (holder && isStale(holder) && removeStale(path, seen, mine)) {
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid}` : seen === undefined ? 'other writers' : 'an unknown holder (the lock file is not one countersign wrote)';
      throw new StoreError('STORE_LOCKED', `${path} is held by ${who}; waited ${timeoutMs} ms. If no countersign process is using this store, remove ${path}`, {
        lock: path,
        pid: holder?.pid ?? null,
      });
    }
    await sleep(retryMs + Math.random() * retryMs);
  }
}

/** Runs `fn` while holding the lock at `path`; the lock is released however `fn` ends. */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/**
 * A holder is gone when its process is; a lock naming this very process and thread that this thread
 * does not hold was left by an earlier process with the same pid (common in containers, where pids
 * repeat). Another thread of this process is taken to be alive.
 */
function isStale(holder: LockHolder): boolean {
  if (holder.pid !== process.pid) return !isProcessAlive(holder.pid);
  return holder.thread === threadId && !heldHere.has(holder.token);
}

function heldLock(path: string, mine: string): HeldLock {
  const token = parseLockHolder(mine)!.token;
  heldHere.add(token);
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      removeIfUnchanged(path, mine);
      heldHere.delete(token);
    },
  };
}

/** Creates `path` holding `text` only if nothing has that name yet; false when something does. */
function createExclusive(path: string, text: string): boolean {
  const temp = tempPathFor(path);
  try {
    writeFileSync(temp, text, { flag: 'wx', mode: 0o644 });
    linkSync(temp, path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw new UsageError('IO', `cannot create the lock ${path}: ${errnoOf(err)}`);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Removes the stale lock whose content was `stale`, unless another contender is already doing so or
 * has done so (then the lock now holds something else and is left alone). True when it was removed.
 */
function removeStale(path: string, stale: string, mine: string): boolean {
  const guard = `${path}.takeover`;
  if (!createExclusive(guard, mine)) {
    // Another waiter is taking over. A guard left by a process that died during its takeover is removed.
    const seen = readText(guard);
    const holder = seen === undefined ? undefined : parseLockHolder(seen);
    if (seen !== undefined && holder && holder.pid !== process.pid && !isProcessAlive(holder.pid)) removeIfUnchanged(guard, seen);
    return false;
  }
  try {
    if (readText(path) !== stale) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    removeIfUnchanged(guard, mine);
  }
}

function removeIfUnchanged(path: string, text: string): void {
  if (readText(path) === text) rmSync(path, { force: true });
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw new UsageError('IO', `cannot read the lock ${path}: ${errnoOf(err)}`);
  }
}
