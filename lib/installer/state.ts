// The installer's state directory: beside the site, never inside it (the web server would serve it).
//
//   PARENT/.countersign-SITENAME/   mode 0700, owned by the user that applies updates (default location;
//                                   `--state-dir` picks another, which must be on the site's file system)
//     lock                  held while an apply or recover runs (lib/lock.ts)
//     journal               the write-ahead journal of a commit in progress (lib/installer/journal.ts)
//     staging/SLOT          new files, written and fsynced before the commit (mode 0700 directory)
//     backups/SLOT          hard links to replaced files and deleted files, until the commit is complete
//     state.json            which phase last completed, for which bundle (so phases can run one at a time)
//     needs-attention.json  present after a post-update step failed or was interrupted: every apply is
//                           refused (NEEDS_ATTENTION) until `countersign recover --site DIR --clear`
import { chmodSync, existsSync, lstatSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { commitPending, tempPathFor, writeDurably } from '../durable.js';
import { InstallError, StoreError, UsageError } from '../errors.js';
import { acquireLock, type HeldLock } from '../lock.js';
import { formatTimestamp } from '../time.js';
import { errnoOf, lstatOrMissing, readSmallFile } from './fsutil.js';

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
  if (!statSync(root).isDirectory()) throw new UsageError('IO', `the site ${site} is not a directory`);
  if (root === sep) throw new UsageError('USAGE', 'the site root cannot be /');
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
  };
}

function stateDirProblem(paths: SitePaths, message: string): InstallError {
  return new InstallError('PREFLIGHT_FAILED', `state directory ${paths.stateDir}: ${message}`, { problems: [{ code: 'STATE_DIR', path: paths.stateDir, message }] });
}

/**
 * Creates the state directory (mode 0700) if needed and checks it: a real directory (not a link),
 * owned by this user, closed to everyone else (a group/other mode is tightened to 0700).
 */
export function ensureStateDir(paths: SitePaths): void {
  if (!lstatOrMissing(paths.stateDir)) {
    try {
      mkdirSync(paths.stateDir, 0o700);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') {
        throw stateDirProblem(paths, `cannot create it (${errnoOf(err)}); create it owned by the user that applies updates, mode 0700, or pass --state-dir`);
      }
    }
  }
  const st = lstatSync(paths.stateDir);
  if (st.isSymbolicLink()) throw stateDirProblem(paths, 'is a symbolic link; refusing to follow it');
  if (!st.isDirectory()) throw stateDirProblem(paths, 'is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw stateDirProblem(paths, `is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) chmodSync(paths.stateDir, 0o700);
}

/** Takes the site's lock; another apply or recover holding it for SITE_LOCK_TIMEOUT_MS is SITE_BUSY. */
export async function lockSite(paths: SitePaths, timeoutMs = SITE_LOCK_TIMEOUT_MS): Promise<HeldLock> {
  try {
    return await acquireLock(paths.lock, { timeoutMs });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'STORE_LOCKED') {
      throw new InstallError('SITE_BUSY', `another countersign apply or recover is working on ${paths.root} (lock ${paths.lock}); try again later`, err.details);
    }
    throw err;
  }
}

export function removeWorkDirs(paths: SitePaths): void {
  rmSync(paths.staging, { recursive: true, force: true });
  rmSync(paths.backups, { recursive: true, force: true });
}

export function hasWorkDirs(paths: SitePaths): boolean {
  return lstatOrMissing(paths.staging) !== undefined || lstatOrMissing(paths.backups) !== undefined;
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
    const text = readSmallFile(paths.phase);
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
  writeJsonDurably(paths.phase, { format: 1, ...state, updated: formatTimestamp(now) });
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
  if (!lstatOrMissing(paths.attention)) return null;
  try {
    const v = JSON.parse(readSmallFile(paths.attention) ?? '') as AttentionMarker;
    if (v?.format === 1 && typeof v.message === 'string') return v;
  } catch {
    // fall through
  }
  return { format: 0, code: 'UNREADABLE', message: `${paths.attention} exists but cannot be read` };
}

export function writeAttention(paths: SitePaths, marker: Omit<AttentionMarker, 'format' | 'since'>, now = new Date()): void {
  writeJsonDurably(paths.attention, { format: 1, ...marker, since: formatTimestamp(now) });
}

export function clearAttention(paths: SitePaths): boolean {
  if (!lstatOrMissing(paths.attention)) return false;
  rmSync(paths.attention, { force: true });
  return true;
}
