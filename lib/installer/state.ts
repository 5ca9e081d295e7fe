// The installer's state directory: beside the site, never inside it (the web server would serve it).
//
//   PARENT/.countersign-SITENAME/   mode 0700, owned by the user that applies updates (default location;
//                                   `--state-dir` picks another, which must be on the site's file system);
//                                   it and its parent are owned by the site owner or root and writable by
//                                   nobody else (a sticky /tmp-like parent is refused too), so nobody else
//                                   can swap it; it is pinned by descriptor while an apply or recover holds
//                                   the lock (lib/installer/pinned-dir.ts), and everything below goes through it
//     lock                  held while an apply or recover runs (lib/node/lock.ts)
//     journal               the write-ahead journal of a commit in progress (lib/installer/journal.ts)
//     staging/SLOT          new files, written and fsynced before the commit (mode 0700 directory)
//     backups/SLOT          hard links to replaced files and deleted files, until the commit is complete
//     state.json            which phase last completed, for which bundle (so phases can run one at a time)
//     needs-attention.json  present after a post-update step failed or was interrupted: every apply is
//                           refused (NEEDS_ATTENTION) until `countersign recover --site DIR --clear`
import { existsSync, fchmodSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { commitPending, tempPathFor, writeDurably } from '../node/durable.js';
import { InstallError, StoreError, UsageError } from '../core/errors.js';
import { acquireLock, type HeldLock } from '../node/lock.js';
import { formatTimestamp } from '../core/time.js';
import { lstatOrMissing, readSmallFile } from './fsutil.js';
import { PinnedDir, requirePinning } from './pinned-dir.js';
import { errnoOf } from '../core/errno.js';

export interface SitePaths {
  /** The site root, resolved once (realpath): every path below it must be free of links. */
  root: string;
  stateDir: string;
  lock: string;
  journal: string;
  staging: string;
  backups: string;
  phase: string;
  attention: string;
  /** The uid owning the site root: the site owner. */
  owner: number;
  /** DEV:INO of the site root, pinned once here (opened O_DIRECTORY|O_NOFOLLOW): inspect, commit, rollback, recover and the post phase act only in this directory. */
  rootId: string;
  /** Set while the lock is held (ensureStateDir, stageFiles): the state directory and its work directories, pinned. */
  pins?: StatePins;
}

export interface StatePins {
  state: PinnedDir;
  staging?: PinnedDir;
  backups?: PinnedDir;
}

/** The path of `name` in the state directory: through its pinned descriptor once ensureStateDir has run. */
export function statePath(paths: SitePaths, name: string): string {
  return paths.pins ? paths.pins.state.at(name) : join(paths.stateDir, name);
}

/** The pinned state directory (ensureStateDir must have run). */
export function pinnedState(paths: SitePaths): PinnedDir {
  if (!paths.pins) throw new Error('internal: the state directory is not pinned');
  return paths.pins.state;
}

/** How long an apply or recover waits for another one on the same site before SITE_BUSY. */
export const SITE_LOCK_TIMEOUT_MS = 2000;

/**
 * Resolves the site root (it may be given through a symbolic link; it is resolved once, here) and
 * names the state directory: `stateDir`, or PARENT/.countersign-NAME beside the resolved root.
 */
export function sitePaths(site: string, stateDir?: string): SitePaths {
  let root: string;
  try {
    root = realpathSync(site);
  } catch (err) {
    throw new UsageError('IO', `cannot read the site ${site}: ${errnoOf(err)}`);
  }
  const rootStat = statSync(root);
  if (!rootStat.isDirectory()) throw new UsageError('IO', `the site ${site} is not a directory`);
  if (root === sep) throw new UsageError('USAGE', 'the site root cannot be /');
  let pinned: PinnedDir;
  try {
    pinned = PinnedDir.open(root);
  } catch (err) {
    throw new UsageError('IO', `cannot open the site ${site}: ${errnoOf(err)}`);
  }
  const { id: rootId, uid: owner } = pinned;
  pinned.close();
  const dir = stateDir === undefined ? join(dirname(root), `.countersign-${basename(root)}`) : resolve(stateDir);
  if (stateDir !== undefined) {
    let real = dir;
    try {
      real = existsSync(dir) ? realpathSync(dir) : join(realpathSync(dirname(dir)), basename(dir));
    } catch (err) {
      throw new UsageError('IO', `cannot reach the state directory ${stateDir}: ${errnoOf(err)}`);
    }
    if (real === root || real.startsWith(root + sep)) {
      throw new UsageError('USAGE', `the state directory ${stateDir} is inside the site, where the web server could serve it; choose one outside ${root}`);
    }
    // The given name is kept (not its realpath): ensureStateDir refuses it if it is itself a link.
  }
  return {
    root,
    stateDir: dir,
    lock: join(dir, 'lock'),
    journal: join(dir, 'journal'),
    staging: join(dir, 'staging'),
    backups: join(dir, 'backups'),
    phase: join(dir, 'state.json'),
    attention: join(dir, 'needs-attention.json'),
    owner,
    rootId,
  };
}

function stateDirProblem(paths: SitePaths, message: string): InstallError {
  return new InstallError('PREFLIGHT_FAILED', `state directory ${paths.stateDir}: ${message}`, {
    problems: [{ code: 'STATE_DIR', path: paths.stateDir, message }],
  });
}

/** The uids trusted with the state directory and its parent: the site owner and root. */
function trusted(paths: SitePaths, uid: number): boolean {
  return uid === 0 || uid === paths.owner;
}

/** Why the state directory's parent (pinned) would let someone else swap the state directory, or null. */
function parentProblem(paths: SitePaths, parent: PinnedDir): string | null {
  if (!trusted(paths, parent.uid))
    return `its parent ${parent.display} is owned by uid ${parent.uid}, neither the site owner (uid ${paths.owner}) nor root: its owner could swap the state directory`;
  if ((parent.mode & 0o022) !== 0) {
    return `its parent ${parent.display} is writable by ${(parent.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(parent.mode & 0o7777).toString(8)}), who could swap the state directory; make it writable by its owner only`;
  }
  return null;
}

/** Why the state directory itself (pinned) is not fit to use, or null. */
function ownerProblem(paths: SitePaths, state: PinnedDir): string | null {
  const uid = process.geteuid?.();
  if ((uid !== undefined && state.uid !== uid) || !trusted(paths, state.uid)) {
    return `is owned by uid ${state.uid}; it must be owned by the user that applies updates (uid ${uid}), who must be the site owner (uid ${paths.owner}) or root`;
  }
  return null;
}

function openStateParent(paths: SitePaths): PinnedDir {
  const parentPath = dirname(paths.stateDir);
  try {
    return PinnedDir.open(parentPath);
  } catch (err) {
    throw stateDirProblem(paths, `cannot open its parent ${parentPath} (${errnoOf(err)})`);
  }
}

function openState(paths: SitePaths, parent: PinnedDir): PinnedDir {
  try {
    return parent.child(basename(paths.stateDir), paths.stateDir);
  } catch (err) {
    if (errnoOf(err) === 'ELOOP') throw stateDirProblem(paths, 'is a symbolic link; refusing to follow it');
    if (errnoOf(err) === 'ENOTDIR') throw stateDirProblem(paths, 'is not a directory');
    throw stateDirProblem(paths, `cannot open it (${errnoOf(err)})`);
  }
}

/**
 * Creates the state directory (mode 0700) if needed, checks it and pins it (paths.pins, until the lock
 * is released): its parent owned by the site owner or root and writable by nobody else; the directory
 * itself a real directory (not a link), owned by this user (the site owner or root), closed to everyone
 * else (a group/other mode is tightened to 0700). Refuses to run where directories cannot be pinned.
 */
export function ensureStateDir(paths: SitePaths): void {
  requirePinning();
  closePins(paths);
  const parent = openStateParent(paths);
  try {
    const unsafe = parentProblem(paths, parent);
    if (unsafe) throw stateDirProblem(paths, unsafe);
    try {
      mkdirSync(parent.at(basename(paths.stateDir)), 0o700);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') {
        throw stateDirProblem(paths, `cannot create it (${errnoOf(err)}); create it owned by the user that applies updates, mode 0700, or pass --state-dir`);
      }
    }
    const state = openState(paths, parent);
    const notOurs = ownerProblem(paths, state);
    if (notOurs) {
      state.close();
      throw stateDirProblem(paths, notOurs);
    }
    if ((state.mode & 0o077) !== 0) fchmodSync(state.fd, 0o700);
    paths.pins = { state };
  } finally {
    parent.close();
  }
}

/** What ensureStateDir would refuse, found without creating or changing anything (for a dry run). */
export function stateDirProblems(paths: SitePaths): Array<{ code: 'STATE_DIR'; path: string; message: string }> {
  const pins: PinnedDir[] = [];
  try {
    const parent = openStateParent(paths);
    pins.push(parent);
    const unsafe = parentProblem(paths, parent);
    if (unsafe) throw stateDirProblem(paths, unsafe);
    if (!lstatOrMissing(parent.at(basename(paths.stateDir)))) return [];
    const state = openState(paths, parent);
    pins.push(state);
    const notOurs = ownerProblem(paths, state);
    if (notOurs) throw stateDirProblem(paths, notOurs);
    return [];
  } catch (err) {
    if (err instanceof InstallError) return err.details.problems as Array<{ code: 'STATE_DIR'; path: string; message: string }>;
    throw err;
  } finally {
    for (const pin of pins) pin.close();
  }
}

/** Closes the pinned directories (after the lock is released, or before pinning again). */
export function closePins(paths: SitePaths): void {
  if (!paths.pins) return;
  paths.pins.staging?.close();
  paths.pins.backups?.close();
  paths.pins.state.close();
  paths.pins = undefined;
}

/** Takes the site's lock (in the pinned state directory); another apply or recover holding it for SITE_LOCK_TIMEOUT_MS is SITE_BUSY. Its release closes the pins too. */
export async function lockSite(paths: SitePaths, timeoutMs = SITE_LOCK_TIMEOUT_MS): Promise<HeldLock> {
  let held: HeldLock;
  try {
    held = await acquireLock(statePath(paths, 'lock'), { timeoutMs });
  } catch (err) {
    closePins(paths);
    if (err instanceof StoreError && err.code === 'STORE_LOCKED') {
      throw new InstallError(
        'SITE_BUSY',
        `another countersign apply or recover is working on ${paths.root} (lock ${paths.lock}); try again later`,
        err.details,
      );
    }
    throw err;
  }
  return {
    path: paths.lock,
    release() {
      held.release();
      closePins(paths);
    },
  };
}

/** Removes staging and backups (a link planted as either is removed, never followed). */
export function removeWorkDirs(paths: SitePaths): void {
  if (paths.pins) {
    paths.pins.staging?.close();
    paths.pins.backups?.close();
    paths.pins.staging = paths.pins.backups = undefined;
  }
  rmSync(statePath(paths, 'staging'), { recursive: true, force: true });
  rmSync(statePath(paths, 'backups'), { recursive: true, force: true });
}

const UNLINK_BATCH = 256;

/**
 * As removeWorkDirs, with the files in them unlinked first, many at a time on the thread pool, through the
 * pinned directories (after a commit, backups/ holds the old file of every replaced or deleted one: unlinking
 * them frees their blocks, which one at a time waits on the file system's journal once per file).
 */
export async function clearWorkDirs(paths: SitePaths): Promise<void> {
  const { staging, backups } = workDirs(paths);
  for (const dir of [staging, backups]) {
    if (!dir) continue;
    const names = readdirSync(dir.self);
    for (let i = 0; i < names.length; i += UNLINK_BATCH) {
      // Anything unlink refuses (a directory) is left to removeWorkDirs.
      await Promise.all(names.slice(i, i + UNLINK_BATCH).map((name) => unlink(dir.at(name)).catch(() => undefined)));
    }
  }
  removeWorkDirs(paths);
}

export function hasWorkDirs(paths: SitePaths): boolean {
  return lstatOrMissing(statePath(paths, 'staging')) !== undefined || lstatOrMissing(statePath(paths, 'backups')) !== undefined;
}

/**
 * The work directories, pinned through the pinned state directory (never through a link) unless
 * stageFiles already pinned them; undefined for one that does not exist.
 */
export function workDirs(paths: SitePaths): { staging?: PinnedDir; backups?: PinnedDir } {
  const pins = paths.pins;
  if (!pins) throw new Error('internal: the state directory is not pinned');
  pins.staging ??= pins.state.childOrMissing('staging', paths.staging);
  pins.backups ??= pins.state.childOrMissing('backups', paths.backups);
  return pins;
}

// ---------------------------------------------------------------------------------------------
// Phase state

export type Phase = 'check' | 'files' | 'post';

export interface PhaseState {
  format: 1;
  /** SHA-256 of the manifest payload. */
  bundle: string;
  product: string;
  component: string;
  from: string | null;
  to: string;
  /** The last phase completed for this bundle. */
  phase: Phase;
  updated: string;
}

export function readPhaseState(paths: SitePaths): PhaseState | null {
  try {
    const text = readSmallFile(statePath(paths, 'state.json'));
    if (text === undefined) return null;
    const v = JSON.parse(text) as PhaseState;
    if (v?.format !== 1 || typeof v.bundle !== 'string' || !['check', 'files', 'post'].includes(v.phase)) return null;
    return v;
  } catch {
    return null;
  }
}

/** Replaces state.json durably (temporary file, fsync, rename, fsync of the directory). */
export function writePhaseState(paths: SitePaths, state: Omit<PhaseState, 'format' | 'updated'>, now = new Date()): void {
  writeJsonDurably(statePath(paths, 'state.json'), { format: 1, ...state, updated: formatTimestamp(now) });
}

function writeJsonDurably(target: string, value: unknown): void {
  const temp = tempPathFor(target);
  try {
    writeDurably(temp, JSON.stringify(value, null, 2) + '\n', 0o600);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  commitPending([{ target, temp }]);
}

// ---------------------------------------------------------------------------------------------
// "Needs attention"

export interface AttentionMarker {
  format: 1;
  code: 'POST_UPDATE_FAILED' | 'POST_UPDATE_INTERRUPTED';
  message: string;
  bundle: string;
  product: string;
  component: string;
  version: string;
  /** The post-update step that failed (0-based), when one did. */
  step?: number;
  argv?: string[];
  since: string;
}

/** The marker, or null. A marker that cannot be read still means the site needs attention. */
export function readAttention(paths: SitePaths): AttentionMarker | { format: 0; code: 'UNREADABLE'; message: string } | null {
  if (!lstatOrMissing(statePath(paths, 'needs-attention.json'))) return null;
  try {
    const v = JSON.parse(readSmallFile(statePath(paths, 'needs-attention.json')) ?? '') as AttentionMarker;
    if (v?.format === 1 && typeof v.message === 'string') return v;
  } catch {
    // fall through
  }
  return { format: 0, code: 'UNREADABLE', message: `${paths.attention} exists but cannot be read` };
}

export function writeAttention(paths: SitePaths, marker: Omit<AttentionMarker, 'format' | 'since'>, now = new Date()): void {
  writeJsonDurably(statePath(paths, 'needs-attention.json'), { format: 1, ...marker, since: formatTimestamp(now) });
}

export function clearAttention(paths: SitePaths): boolean {
  if (!lstatOrMissing(statePath(paths, 'needs-attention.json'))) return false;
  rmSync(statePath(paths, 'needs-attention.json'), { force: true });
  return true;
}
