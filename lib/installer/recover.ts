// Recovery: finishes whatever an interrupted apply left. It runs before every apply (under the same
// lock) and as `countersign recover --site DIR`.
//   - a journal without a commit record: every logged step is undone, last first → the old release;
//   - a journal with a commit record: the install is recorded and the work files removed → the new release;
//   - no journal, but staging or backups left over (a crash while staging): they are removed.
// `clear` also removes the "needs attention" marker a failed post-update step left (after an operator
// has looked at the site). Recovery never guesses: an unreadable journal is JOURNAL_CORRUPT, and
// nothing is touched. Nor does it trust the journal with where to write: the site is the one recovery
// was given, and the install is recorded only in the trust store it was configured with; a journal
// naming another site or another store is JOURNAL_CORRUPT. Every undo goes through directories pinned
// by descriptor, walked from the site root without following a link (lib/installer/pinned-dir.ts), and
// only when that root is the directory the journal says the steps acted in (begin.root, DEV:INO).
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { InstallError, UsageError } from '../core/errors.js';
import { finishCommitted, removeJournal, rollbackFresh } from './commit.js';
import { noProgress, type ProgressSink } from './events.js';
import { lstatOrMissing } from './fsutil.js';
import { describeFault, Points, type InstallHooks } from './hooks.js';
import { MAX_JOURNAL_BYTES, parseJournal, type ParsedJournal } from './journal.js';
import {
  clearAttention,
  ensureStateDir,
  hasWorkDirs,
  lockSite,
  readAttention,
  removeWorkDirs,
  sitePaths,
  statePath,
  type AttentionMarker,
  type SitePaths,
} from './state.js';
import { errnoOf } from '../core/errno.js';

export interface RecoverOptions {
  /** The state directory, when not the default beside the site. */
  stateDir?: string;
  /** The site's trust store, where a committed update is recorded. Without it, only an uncommitted update can be recovered (rolled back). */
  store?: string;
  /** Remove the "needs attention" marker (after an operator has checked the site). */
  clear?: boolean;
  now?: Date;
  onProgress?: ProgressSink;
  /** Test-only fault injection (lib/installer/hooks.ts). */
  hooks?: InstallHooks;
}

export type RecoverAction = 'none' | 'rolled-back' | 'completed' | 'cleaned';

export interface RecoverResult {
  site: string;
  stateDir: string;
  /** none: nothing was unfinished; rolled-back: an uncommitted update was undone (the old release); completed: a committed one was finished (the new release); cleaned: left-over staging was removed. */
  action: RecoverAction;
  /** Journal steps undone (rolled-back) or found committed (completed). */
  steps: number;
  /** The interrupted update, when there was one. */
  update: { product: string; component: string; from: string | null; to: string; bundle: string } | null;
  warnings: string[];
  /** Whether --clear removed a marker. */
  cleared: boolean;
  /** The marker still present after this run (null: none). */
  needsAttention: AttentionMarker | { format: 0; code: 'UNREADABLE'; message: string } | null;
}

/** `countersign recover`: takes the site's lock and recovers (see the top of this file). */
export async function recoverSite(site: string, opts: RecoverOptions = {}): Promise<RecoverResult> {
  const paths = sitePaths(site, opts.stateDir);
  if (!lstatOrMissing(paths.stateDir)) {
    return { site: paths.root, stateDir: paths.stateDir, action: 'none', steps: 0, update: null, warnings: [], cleared: false, needsAttention: null };
  }
  ensureStateDir(paths);
  const lock = await lockSite(paths);
  try {
    const result = await recoverLocked(paths, new Points(opts.hooks), opts.onProgress ?? noProgress, opts.now ?? new Date(), opts.store);
    const cleared = opts.clear ? clearAttention(paths) : false;
    return { ...result, cleared, needsAttention: readAttention(paths) };
  } finally {
    lock.release();
  }
}

/** Reads the journal, if there is one; throws JOURNAL_CORRUPT when it cannot be read as one. */
export function readJournal(paths: SitePaths): ParsedJournal | undefined {
  let fd: number;
  try {
    fd = openSync(statePath(paths, 'journal'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw new InstallError('JOURNAL_CORRUPT', `cannot read the journal ${paths.journal}: ${errnoOf(err)}; nothing was touched`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InstallError('JOURNAL_CORRUPT', `${paths.journal} is not a regular file; nothing was touched`);
    if (st.size > MAX_JOURNAL_BYTES)
      throw new InstallError('JOURNAL_CORRUPT', `${paths.journal} is ${st.size} bytes, larger than any journal countersign writes; nothing was touched`);
    return parseJournal(readFileSync(fd).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

function storeKey(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The store a recovery may record the install in: the configured one (`store`; null: the caller verifies
 * against no store), which the journal must name; undefined (not configured): nothing is recorded, and a
 * committed update that needs recording is refused (USAGE: pass the store).
 */
function storeFor(paths: SitePaths, journalStore: string | null, store: string | null | undefined, committed: boolean): string | null {
  if (journalStore === null) return null; // verified against no store: nothing to record anywhere
  if (store === undefined) {
    if (!committed) return null; // a rollback never writes to a store
    throw new UsageError(
      'USAGE',
      `the interrupted update in ${paths.stateDir} is committed and must be recorded in its trust store; run countersign recover --site ${paths.root} --store STORE`,
    );
  }
  if (store === null || storeKey(store) !== storeKey(journalStore)) {
    throw new InstallError(
      'JOURNAL_CORRUPT',
      `the journal in ${paths.stateDir} names the trust store ${journalStore}, but this site's is ${store ?? 'none (a trusted policy was given)'}; nothing was touched`,
      { journalStore, store },
    );
  }
  return store;
}

/** Recovery while the caller holds the site's lock (apply runs it first). `store`: see storeFor. */
export async function recoverLocked(
  paths: SitePaths,
  points: Points,
  progress: ProgressSink,
  now: Date,
  store?: string | null,
): Promise<Omit<RecoverResult, 'cleared' | 'needsAttention'>> {
  const base = { site: paths.root, stateDir: paths.stateDir };
  const journal = readJournal(paths);
  if (!journal) {
    if (!hasWorkDirs(paths)) return { ...base, action: 'none', steps: 0, update: null, warnings: [] };
    removeWorkDirs(paths);
    progress({ event: 'recover', action: 'cleaned', steps: 0 });
    return { ...base, action: 'cleaned', steps: 0, update: null, warnings: [] };
  }
  const begin = journal.begin;
  if (begin === null) {
    // The journal was being created when the process stopped: no step was ever taken under it.
    removeWorkDirs(paths);
    removeJournal(paths);
    progress({ event: 'recover', action: 'cleaned', steps: 0 });
    return { ...base, action: 'cleaned', steps: 0, update: null, warnings: [] };
  }
  if (begin.site !== paths.root) {
    throw new InstallError('JOURNAL_CORRUPT', `the journal in ${paths.stateDir} belongs to the site ${begin.site}, not ${paths.root}; nothing was touched`, {
      journalSite: begin.site,
    });
  }
  // The journal names the directory the steps acted in; an older journal does not, and then the root pinned at this run's start stands in.
  if (begin.root !== undefined && begin.root !== paths.rootId) {
    throw new InstallError(
      'JOURNAL_CORRUPT',
      `the journal in ${paths.stateDir} was written for the site root directory ${begin.root}, but ${paths.root} is now the directory ${paths.rootId} (moved or replaced since); nothing was touched`,
      { journalRoot: begin.root, root: paths.rootId },
    );
  }
  const update = { product: begin.product, component: begin.component, from: begin.from, to: begin.to, bundle: begin.bundle };
  const recordIn = storeFor(paths, begin.store, store, journal.committed);
  if (journal.committed) {
    await finishCommitted(paths, { ...begin, store: recordIn }, points, now);
    progress({ event: 'recover', action: 'completed', steps: journal.steps.length });
    return { ...base, action: 'completed', steps: journal.steps.length, update, warnings: [] };
  }
  let report;
  try {
    report = rollbackFresh(paths, begin.root ?? paths.rootId, journal.steps, points, progress);
  } catch (err) {
    throw new InstallError(
      'ROLLBACK_FAILED',
      `rolling back the interrupted update of ${begin.product} ${begin.component} to ${begin.to} failed (${describeFault(err)}); the journal is kept, nothing more was done. Fix the cause, then run countersign recover --site ${paths.root} again`,
      { cause: describeFault(err), update },
    );
  }
  progress({ event: 'recover', action: 'rolled-back', steps: journal.steps.length });
  return { ...base, action: 'rolled-back', steps: journal.steps.length, update, warnings: report.warnings };
}
