// The commit: the plan's steps, all announced in the write-ahead journal with its begin record (one write,
// fdatasync'ed) before the first is taken, then taken one at a time, once the staged files' flush (begun by
// stage.ts, run while the journal and backups are written) is done; then every touched directory is fsynced and
// the commit record is written. A failure before the commit record is durable rolls every logged step back, last first.
//
// How each step is taken, and undone (undo checks what is on disk, so it is idempotent: it is safe for
// a step that never happened, half happened, or was already undone):
//   mkdir   mkdir PATH (0755)                                   undo: rmdir PATH if it is an empty directory
//   add     link staging/SLOT → PATH (fails if PATH exists)      undo: unlink PATH if it is still that file (dev/ino)
//   modify  link PATH → backups/SLOT (every modify's, before the  undo: rename backups/SLOT → PATH if the backup exists
//           first step; then one fsync of backups/), check its
//           hash again, rename staging/SLOT over PATH
//   delete  rename PATH → backups/SLOT, check its hash again     undo: rename backups/SLOT → PATH if the backup exists
//   rmdir   rmdir PATH (left alone if no longer empty)          undo: mkdir PATH with its old mode if it is missing
//
// Every action goes through directories pinned by descriptor (lib/installer/pinned-dir.ts): each
// directory on the way is opened from the pinned site root one component at a time, never following a
// link, and must be the directory the preflight checked (dev/ino); before each step the chain is
// checked to be still in place, and once more before the commit record. A directory swapped after it
// was checked therefore never redirects an action: the action lands in the directory that was checked.
// A staged file is re-identified (dev/ino, recorded in the journal) before it is linked or renamed.
import { fchmodSync, linkSync, mkdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { InstallError } from '../core/errors.js';
import { recordInstall } from '../node/trust-store.js';
import type { ProgressSink } from './events.js';
import { allDone, hashFile, lstatBig, lstatOrMissing } from './fsutil.js';
import { describeFault, type Points } from './hooks.js';
import { JournalWriter, type JournalBegin, type JournalStep } from './journal.js';
import { fault, identityOf, PinnedDir, PinnedTree } from './pinned-dir.js';
import { parentOf, type Plan, type Step } from './plan.js';
import type { Staged, StagedFile } from './stage.js';
import { clearWorkDirs, pinnedState, removeWorkDirs, statePath, workDirs, writePhaseState, type SitePaths } from './state.js';
import { errnoOf } from '../core/errno.js';

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function journalStepOf(step: Step, staged: ReadonlyMap<number, StagedFile>): JournalStep {
  switch (step.op) {
    case 'mkdir':
      return { op: 'mkdir', path: step.path };
    case 'add':
    case 'modify': {
      const s = staged.get(step.slot);
      if (!s) throw new Error(`internal: ${step.path} was not staged`);
      return { op: step.op, path: step.path, slot: step.slot, dev: s.dev, ino: s.ino };
    }
    case 'delete':
      return { op: 'delete', path: step.path, slot: step.slot };
    case 'rmdir':
      return { op: 'rmdir', path: step.path, mode: step.mode.toString(8).padStart(4, '0') };
  }
}

function changedSince(path: string, expected: string, found: string): InstallError {
  return new InstallError('LOCAL_CHANGES', `${path} changed while the update was running (SHA-256 ${found}, expected ${expected})`, {
    files: [{ path, expected, found }],
  });
}

/** Throws ESTALE unless staging/SLOT is still the very file staged (dev/ino as the journal records them). */
function reidentify(staging: PinnedDir, step: { path: string; slot: number; dev: string; ino: string }): void {
  const st = lstatBig(staging.at(String(step.slot)));
  if (!st || !st.isFile() || identityOf(st) !== `${step.dev}:${step.ino}`) {
    throw fault('ESTALE', `staging/${step.slot} is no longer the file staged for ${step.path}`);
  }
}

interface Work {
  tree: PinnedTree;
  staging: PinnedDir;
  backups: PinnedDir;
  /** Directories whose entries changed: fsynced before the commit record. */
  touched: Set<PinnedDir>;
  /** The directory the last step acted in, checked in place then: the steps of one directory come one after another. */
  last?: { rel: string; dir: PinnedDir };
}

/**
 * The pinned directory `rel` for a step: its chain is checked in place (dirInPlace) when a run of steps in it
 * begins, not again for each step of the run; every step acts through the pinned descriptor all the same, and
 * assertAllInPlace before the commit record catches a directory moved away during the run (and rolls back).
 */
function dirFor(w: Work, rel: string): PinnedDir {
  if (w.last && w.last.rel === rel && !w.last.dir.closed) return w.last.dir;
  const dir = w.tree.dirInPlace(rel);
  w.last = { rel, dir };
  return dir;
}

function takeStep(w: Work, step: Step, record: JournalStep, points: Points): void {
  const parent = parentOf(step.path);
  const name = nameOf(step.path);
  const dir = dirFor(w, parent);
  w.touched.add(dir);
  switch (step.op) {
    case 'mkdir': {
      mkdirSync(dir.at(name), 0o755);
      points.hit(`mkdir ${step.path}`);
      const made = w.tree.made(step.path);
      fchmodSync(made.fd, 0o755); // whatever the umask
      w.touched.add(made);
      return;
    }
    case 'add': {
      const slot = String(step.slot);
      reidentify(w.staging, record as Extract<JournalStep, { op: 'add' }>);
      linkSync(w.staging.at(slot), dir.at(name)); // EEXIST if anything appeared there: never replaced
      points.hit(`linked ${step.path}`);
      unlinkSync(w.staging.at(slot));
      return;
    }
    case 'modify': {
      // The backup link was made, and backups/ fsynced, before the first step (backUp).
      const slot = String(step.slot);
      const { sha256 } = hashFile(w.backups.at(slot));
      if (sha256 !== step.previousSha256) throw changedSince(step.path, step.previousSha256, sha256);
      reidentify(w.staging, record as Extract<JournalStep, { op: 'modify' }>);
      renameSync(w.staging.at(slot), dir.at(name));
      points.hit(`replaced ${step.path}`);
      return;
    }
    case 'delete': {
      const slot = String(step.slot);
      renameSync(dir.at(name), w.backups.at(slot));
      points.hit(`moved ${step.path} to backups`);
      const { sha256 } = hashFile(w.backups.at(slot));
      if (sha256 !== step.previousSha256) throw changedSince(step.path, step.previousSha256, sha256);
      return;
    }
    case 'rmdir': {
      try {
        rmdirSync(dir.at(name));
        w.tree.forget(step.path);
      } catch (err) {
        // Something appeared in it since the preflight: it stays, with what it holds.
        if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errnoOf(err))) throw err;
      }
      points.hit(`rmdir ${step.path}`);
      return;
    }
  }
}

/** The first half of a modify: link PATH → backups/SLOT. All are made before any step is taken; one fsync of backups/ then makes them durable. */
function backUp(w: Work, step: Extract<Step, { op: 'modify' }>, points: Points): void {
  const dir = dirFor(w, parentOf(step.path));
  linkSync(dir.at(nameOf(step.path)), w.backups.at(String(step.slot)));
  points.hit(`backed up ${step.path}`);
}

export interface CommitContext {
  paths: SitePaths;
  plan: Plan;
  staged: Staged;
  begin: JournalBegin;
  points: Points;
  progress: ProgressSink;
  now: Date;
}

/**
 * Commits the plan under the journal. Resolves once the commit record is durable; throws COMMIT_FAILED
 * after rolling back (the tree is the old release again), or ROLLBACK_FAILED if the rollback could not
 * finish (the journal is kept for `countersign recover`).
 */
export async function commitPlan(ctx: CommitContext): Promise<void> {
  const { paths, plan, points, progress } = ctx;
  // Every step is logged with the begin record, in one write and one fdatasync, before the first is taken: a crash
  // leaves steps logged and not taken, whose undo finds nothing to undo (as for a crash between a record and its step).
  const records = plan.steps.map((step) => journalStepOf(step, ctx.staged.files));
  let journal: JournalWriter;
  try {
    journal = JournalWriter.create(pinnedState(paths), 'journal', paths.journal, ctx.begin, records);
  } catch (err) {
    await ctx.staged.settled; // the flush holds staging/'s descriptor until it is done
    rmSync(statePath(paths, 'journal'), { force: true });
    removeWorkDirs(paths);
    throw new InstallError('COMMIT_FAILED', `cannot start the journal ${paths.journal} (${describeFault(err)}); nothing in the site was touched`, {
      cause: errnoOf(err),
    });
  }
  const logged: JournalStep[] = [];
  let tree: PinnedTree | undefined;
  let current: Step | undefined;
  let doing = 'the start of the commit'; // what a failure is reported at
  let begun = 0; // steps begun in the site (the last may have failed half-way)
  try {
    try {
      points.hit('journal begin');
      tree = new PinnedTree(PinnedDir.open(paths.root), (rel) => plan.checkedDirs.get(rel));
      if (tree.root.id !== paths.rootId || tree.root.id !== plan.checkedDirs.get(''))
        throw fault('ESTALE', `the site root ${paths.root} is not the directory the preflight checked`);
      const { staging, backups } = workDirs(paths);
      if (!staging || !backups) throw fault('ENOENT', 'the staging or backups directory is missing');
      const w: Work = { tree, staging, backups, touched: new Set() };
      logged.push(...records);
      records.forEach((step, i) => points.hit(`logged step ${i + 1}: ${step.op} ${step.path}`));
      // Every backup link, before any file it keeps is replaced. Made while the staged files' flush (begun by stageFiles)
      // runs: a backup is only a second name in backups/ for a file of the site, and nothing in the site changes before
      // the wait below, so a crash here leaves the old release whatever of the journal and the backups reached the disk.
      const modifies = plan.steps.filter((step) => step.op === 'modify');
      for (const step of modifies) {
        current = step;
        doing = `the backup of ${step.path}`;
        backUp(w, step, points);
      }
      current = undefined;
      // One wait for all the first step needs durable, issued together: the journal's records, the backups, the staged files.
      doing = 'the flush of the journal, the backups and the staged files';
      await allDone([journal.flushBegin(), ...(modifies.length > 0 ? [backups.fsyncAsync()] : []), ctx.staged.durable]);
      points.hit('journal flushed');
      if (modifies.length > 0) points.hit('backups fsynced');
      points.hit('staged files fsynced');
      plan.steps.forEach((step, i) => {
        current = step;
        doing = `${step.op} ${step.path}`;
        begun = i + 1;
        takeStep(w, step, records[i]!, points);
        progress({ event: 'file', n: i + 1, total: plan.steps.length, op: step.op, path: step.path });
      });
      current = undefined;
      doing = 'the final fsync and commit record';
      tree.assertAllInPlace(); // nothing moved away behind the steps already taken
      // One flush per touched directory and one of backups/, issued together so the file system can group them.
      await Promise.all([...[...w.touched].filter((dir) => !dir.closed), backups].map((dir) => dir.fsyncAsync()));
      points.hit('directories fsynced');
      journal.commit();
    } catch (err) {
      await ctx.staged.settled; // the flush holds staging/'s descriptor until it is done
      journal.close();
      const what = doing;
      const cause = err instanceof InstallError ? err.message : describeFault(err);
      let undone: UndoReport;
      try {
        // Only directories pinned by this commit can hold what it did: a step never acts elsewhere.
        const pinned = tree;
        undone = rollback(paths, (rel) => pinned?.cached(rel), pinned, logged, points, progress);
      } catch (rollbackErr) {
        throw new InstallError(
          'ROLLBACK_FAILED',
          `the update failed at ${what} (${cause}), and rolling it back failed too (${describeFault(rollbackErr)}); the journal is kept: run countersign recover --site ${paths.root}`,
          { failedAt: what, cause, rollbackCause: describeFault(rollbackErr) },
        );
      }
      throw new InstallError(
        'COMMIT_FAILED',
        `the update failed at ${what} (${cause}); ${begun === 0 ? 'no step had changed the site' : `rolled back the ${begun} step${begun === 1 ? '' : 's'} begun`}: the site is the old release again`,
        {
          failedAt: current ? { op: current.op, path: current.path } : null,
          cause,
          ...(err instanceof InstallError && { causeCode: err.code, causeDetails: err.details }),
          errno: err instanceof InstallError ? undefined : errnoOf(err),
          rolledBack: undone.undone,
          begun,
          warnings: undone.warnings,
        },
      );
    }
  } finally {
    tree?.close();
  }
  journal.close();
  // From here on the update is committed: a failure must never roll it back, only leave it for recovery to finish.
  try {
    points.hit('logged commit');
  } catch (err) {
    throw finishFailed(paths, ctx.begin, err);
  }
  progress({ event: 'committed', steps: logged.length });
}

function finishFailed(paths: SitePaths, begin: JournalBegin, err: unknown): InstallError {
  return new InstallError(
    'FINISH_FAILED',
    `the new release (${begin.product} ${begin.component} ${begin.to}) is in place, but finishing failed (${describeFault(err)}); run countersign recover --site ${paths.root}${begin.store === null ? '' : ` --store ${begin.store}`} to finish`,
    { cause: describeFault(err), ...((err as { code?: string }).code && { causeCode: (err as { code?: string }).code }) },
  );
}

// ---------------------------------------------------------------------------------------------
// Undo

export interface UndoReport {
  undone: number;
  /** Things left in place because they are not what this update made (e.g. a file added in a new directory by someone else). */
  warnings: string[];
}

/**
 * Where undo finds the directory `rel`: pinned (never through a link), or undefined when this step
 * cannot have acted there (not pinned by the commit being rolled back; missing, when `missingOk`, in a
 * recovery). A recovery walks from the pinned root and throws for a link planted on the way.
 */
export type UndoDirs = (rel: string, missingOk: boolean) => PinnedDir | undefined;

/** Undoes one logged step if it took effect (see the table at the top); returns a warning when something is left alone. */
export function undoStep(dirs: UndoDirs, tree: PinnedTree | undefined, backups: PinnedDir | undefined, step: JournalStep): string | null {
  const name = nameOf(step.path);
  switch (step.op) {
    case 'mkdir': {
      const dir = dirs(parentOf(step.path), true);
      const st = dir && lstatOrMissing(dir.at(name));
      if (!dir || !st) return null;
      if (!st.isDirectory()) return `left ${step.path}: not the directory this update created`;
      try {
        rmdirSync(dir.at(name));
      } catch (err) {
        if (errnoOf(err) === 'ENOTEMPTY' || errnoOf(err) === 'EEXIST')
          return `left ${step.path}: the directory this update created holds files it did not put there`;
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
      tree?.forget(step.path);
      return null;
    }
    case 'add': {
      const dir = dirs(parentOf(step.path), true);
      const st = dir && lstatBig(dir.at(name));
      if (!dir || !st) return null;
      if (!st.isFile() || identityOf(st) !== `${step.dev}:${step.ino}`) return `left ${step.path}: not the file this update added`;
      unlinkSync(dir.at(name));
      return null;
    }
    case 'modify':
    case 'delete': {
      const backup = backups?.at(String(step.slot));
      if (!backup || !lstatOrMissing(backup)) return null; // never backed up, so never replaced or moved
      const dir = dirs(parentOf(step.path), false);
      if (!dir) throw fault('ENOENT', `${parentOf(step.path) || 'the site root'} is not the directory ${step.path} was backed up from`);
      renameSync(backup, dir.at(name));
      return null;
    }
    case 'rmdir': {
      const dir = dirs(parentOf(step.path), false);
      if (!dir || lstatOrMissing(dir.at(name))) return null;
      const mode = Number.parseInt(step.mode, 8);
      mkdirSync(dir.at(name), mode);
      if (tree) fchmodSync(tree.made(step.path).fd, mode);
      return null;
    }
  }
}

/**
 * Undoes `steps` last first through pinned directories, makes it durable, then removes staging, backups
 * and the journal. Throws (leaving the journal) when an undo fails, e.g. because a link was planted on the way.
 */
export function rollback(
  paths: SitePaths,
  dirs: UndoDirs,
  tree: PinnedTree | undefined,
  steps: readonly JournalStep[],
  points: Points,
  progress: ProgressSink,
): UndoReport {
  const warnings: string[] = [];
  const { backups } = workDirs(paths);
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    const warning = undoStep(dirs, tree, backups, step);
    if (warning) warnings.push(warning);
    points.hit(`undone step ${i + 1}: ${step.op} ${step.path}`);
    progress({ event: 'rollback', n: i + 1, op: step.op, path: step.path });
  }
  for (const dir of tree?.all() ?? []) dir.fsync();
  removeWorkDirs(paths);
  removeJournal(paths);
  points.hit('rolled back');
  return { undone: steps.length, warnings };
}

/**
 * Rolls back with a tree of its own, walked from the pinned site root (a recovery: no pins survive the
 * crashed process); the root must be `rootId` (DEV:INO), else nothing is undone (ESTALE).
 */
export function rollbackFresh(paths: SitePaths, rootId: string, steps: readonly JournalStep[], points: Points, progress: ProgressSink): UndoReport {
  const tree = new PinnedTree(PinnedDir.open(paths.root));
  try {
    if (tree.root.id !== rootId)
      throw fault(
        'ESTALE',
        `the site root ${paths.root} is the directory ${tree.root.id}, not ${rootId}, the one the update acted in (moved or replaced since)`,
      );
    return rollback(paths, (rel, missingOk) => (missingOk ? tree.dirOrMissing(rel) : tree.dir(rel)), tree, steps, points, progress);
  } finally {
    tree.close();
  }
}

export function removeJournal(paths: SitePaths): void {
  rmSync(statePath(paths, 'journal'), { force: true });
  pinnedState(paths).fsync();
}

// ---------------------------------------------------------------------------------------------
// After the commit record

/**
 * Completes a committed update (right after the commit, or in a recovery): records the install in the
 * trust store, marks the files phase done, removes staging, backups and the journal. Each stage is
 * idempotent. Throws FINISH_FAILED (the journal stays, so `countersign recover` finishes it later).
 */
export async function finishCommitted(paths: SitePaths, begin: JournalBegin, points: Points, now: Date): Promise<void> {
  try {
    if (begin.store !== null) {
      await recordInstall(begin.store, begin.product, begin.component, begin.to, { now, kept: begin.kept });
      points.hit('install recorded in the trust store');
    }
    writePhaseState(paths, { bundle: begin.bundle, product: begin.product, component: begin.component, from: begin.from, to: begin.to, phase: 'files' }, now);
    points.hit('phase state written');
    await clearWorkDirs(paths);
    points.hit('staging and backups removed');
    removeJournal(paths);
    points.hit('journal removed');
  } catch (err) {
    throw finishFailed(paths, begin, err);
  }
}
