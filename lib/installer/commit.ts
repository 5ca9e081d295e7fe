// The commit: the plan's steps, one at a time, each announced in the write-ahead journal (fdatasync'ed)
// before it is taken; then every touched directory is fsynced and the commit record is written. A
// failure before the commit record is durable rolls every logged step back, last first.
//
// How each step is taken, and undone (undo checks what is on disk, so it is idempotent: it is safe for
// a step that never happened, half happened, or was already undone):
//   mkdir   mkdir PATH (0755)                                   undo: rmdir PATH if it is an empty directory
//   add     link staging/SLOT → PATH (fails if PATH exists)      undo: unlink PATH if it is still that file (dev/ino)
//   modify  link PATH → backups/SLOT, fsync backups/, check its  undo: rename backups/SLOT → PATH if the backup exists
//           hash again, rename staging/SLOT over PATH
//   delete  rename PATH → backups/SLOT, check its hash again     undo: rename backups/SLOT → PATH if the backup exists
//   rmdir   rmdir PATH (left alone if no longer empty)          undo: mkdir PATH with its old mode if it is missing
// Before each action on the site, every directory on the way to the path is checked to be a real
// directory (lstat), so a link planted since the preflight is never followed.
import { chmodSync, linkSync, mkdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InstallError } from '../errors.js';
import { recordInstall } from '../store.js';
import type { ProgressSink } from './events.js';
import { errnoOf, fsyncDirStrict, hashFile, lstatBig, lstatOrMissing } from './fsutil.js';
import { describeFault, type Points } from './hooks.js';
import { JournalWriter, type JournalBegin, type JournalStep } from './journal.js';
import { ancestors, type Plan, type Step } from './plan.js';
import type { StagedFile } from './stage.js';
import { removeWorkDirs, writePhaseState, type SitePaths } from './state.js';

/** Throws unless every directory on the way to `rel` is a real directory (no link, nothing else). */
export function assertRealParents(root: string, rel: string): void {
  for (const dir of ancestors(rel)) {
    const st = lstatOrMissing(join(root, dir));
    if (!st) throw Object.assign(new Error(`${dir} is missing`), { code: 'ENOENT' });
    if (st.isSymbolicLink()) throw Object.assign(new Error(`${dir} is a symbolic link (refusing to follow it)`), { code: 'ELOOP' });
    if (!st.isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  }
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

function takeStep(paths: SitePaths, step: Step, points: Points, touched: Set<string>): void {
  const abs = join(paths.root, step.path);
  assertRealParents(paths.root, step.path);
  touched.add(dirname(abs));
  switch (step.op) {
    case 'mkdir': {
      mkdirSync(abs, 0o755);
      points.hit(`mkdir ${step.path}`);
      chmodSync(abs, 0o755); // whatever the umask
      touched.add(abs);
      return;
    }
    case 'add': {
      const staged = join(paths.staging, String(step.slot));
      linkSync(staged, abs); // EEXIST if anything appeared there: never replaced
      points.hit(`linked ${step.path}`);
      unlinkSync(staged);
      return;
    }
    case 'modify': {
      const backup = join(paths.backups, String(step.slot));
      linkSync(abs, backup);
      fsyncDirStrict(paths.backups); // the backup is durable before the file it keeps is replaced
      points.hit(`backed up ${step.path}`);
      const { sha256 } = hashFile(backup);
      if (sha256 !== step.previousSha256) throw changedSince(step.path, step.previousSha256, sha256);
      renameSync(join(paths.staging, String(step.slot)), abs);
      points.hit(`replaced ${step.path}`);
      return;
    }
    case 'delete': {
      const backup = join(paths.backups, String(step.slot));
      renameSync(abs, backup);
      points.hit(`moved ${step.path} to backups`);
      const { sha256 } = hashFile(backup);
      if (sha256 !== step.previousSha256) throw changedSince(step.path, step.previousSha256, sha256);
      return;
    }
    case 'rmdir': {
      try {
        rmdirSync(abs);
      } catch (err) {
        // Something appeared in it since the preflight: it stays, with what it holds.
        if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errnoOf(err))) throw err;
      }
      points.hit(`rmdir ${step.path}`);
      return;
    }
  }
}

export interface CommitContext {
  paths: SitePaths;
  plan: Plan;
  staged: ReadonlyMap<number, StagedFile>;
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
export function commitPlan(ctx: CommitContext): void {
  const { paths, plan, points, progress } = ctx;
  let journal: JournalWriter;
  try {
    journal = JournalWriter.create(paths.journal, ctx.begin, points);
  } catch (err) {
    rmSync(paths.journal, { force: true });
    removeWorkDirs(paths);
    throw new InstallError('COMMIT_FAILED', `cannot start the journal ${paths.journal} (${describeFault(err)}); nothing in the site was touched`, { cause: errnoOf(err) });
  }
  const logged: JournalStep[] = [];
  const touched = new Set<string>();
  let current: Step | undefined;
  try {
    for (const step of plan.steps) {
      current = step;
      const record = journalStepOf(step, ctx.staged);
      journal.step(record);
      logged.push(record);
      takeStep(paths, step, points, touched);
      progress({ event: 'file', n: logged.length, total: plan.steps.length, op: step.op, path: step.path });
    }
    current = undefined;
    for (const dir of touched) if (lstatOrMissing(dir)) fsyncDirStrict(dir);
    fsyncDirStrict(paths.backups);
    points.hit('directories fsynced');
    journal.commit();
  } catch (err) {
    journal.close();
    const what = current ? `${current.op} ${current.path}` : 'the final fsync and commit record';
    const cause = err instanceof InstallError ? err.message : describeFault(err);
    let undone: UndoReport;
    try {
      undone = rollback(paths, logged, points, progress);
    } catch (rollbackErr) {
      throw new InstallError(
        'ROLLBACK_FAILED',
        `the update failed at ${what} (${cause}), and rolling it back failed too (${describeFault(rollbackErr)}); the journal is kept: run countersign recover --site ${paths.root}`,
        { failedAt: what, cause, rollbackCause: describeFault(rollbackErr) },
      );
    }
    throw new InstallError('COMMIT_FAILED', `the update failed at ${what} (${cause}); rolled back ${undone.undone} step${undone.undone === 1 ? '' : 's'}: the site is the old release again`, {
      failedAt: current ? { op: current.op, path: current.path } : null,
      cause,
      ...(err instanceof InstallError && { causeCode: err.code, causeDetails: err.details }),
      errno: err instanceof InstallError ? undefined : errnoOf(err),
      rolledBack: undone.undone,
      warnings: undone.warnings,
    });
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
    `the new release (${begin.product} ${begin.component} ${begin.to}) is in place, but finishing failed (${describeFault(err)}); run countersign recover --site ${paths.root} to finish`,
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

/** Undoes one logged step if it took effect (see the table at the top); returns a warning when something is left alone. */
export function undoStep(paths: SitePaths, step: JournalStep): string | null {
  const abs = join(paths.root, step.path);
  switch (step.op) {
    case 'mkdir': {
      const st = lstatOrMissing(abs);
      if (!st) return null;
      if (!st.isDirectory() || st.isSymbolicLink()) return `left ${step.path}: not the directory this update created`;
      assertRealParents(paths.root, step.path);
      try {
        rmdirSync(abs);
      } catch (err) {
        if (errnoOf(err) === 'ENOTEMPTY' || errnoOf(err) === 'EEXIST') return `left ${step.path}: the directory this update created holds files it did not put there`;
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
      return null;
    }
    case 'add': {
      const st = lstatBig(abs);
      if (!st) return null;
      if (!st.isFile() || st.ino.toString() !== step.ino || st.dev.toString() !== step.dev) return `left ${step.path}: not the file this update added`;
      assertRealParents(paths.root, step.path);
      unlinkSync(abs);
      return null;
    }
    case 'modify':
    case 'delete': {
      const backup = join(paths.backups, String(step.slot));
      if (!lstatOrMissing(backup)) return null; // never backed up, so never replaced or moved
      assertRealParents(paths.root, step.path);
      renameSync(backup, abs);
      return null;
    }
    case 'rmdir': {
      if (lstatOrMissing(abs)) return null;
      assertRealParents(paths.root, step.path);
      const mode = Number.parseInt(step.mode, 8);
      mkdirSync(abs, mode);
      chmodSync(abs, mode);
      return null;
    }
  }
}

/**
 * Undoes `steps` last first, makes it durable, then removes staging, backups and the journal.
 * Throws (leaving the journal) when an undo fails, e.g. because a link was planted on the way.
 */
export function rollback(paths: SitePaths, steps: readonly JournalStep[], points: Points, progress: ProgressSink): UndoReport {
  const warnings: string[] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    const warning = undoStep(paths, step);
    if (warning) warnings.push(warning);
    points.hit(`undone step ${i + 1}: ${step.op} ${step.path}`);
    progress({ event: 'rollback', n: i + 1, op: step.op, path: step.path });
  }
  const dirs = new Set(steps.map((s) => dirname(join(paths.root, s.path))));
  for (const dir of dirs) if (lstatOrMissing(dir)?.isDirectory()) fsyncDirStrict(dir); // a link planted there is not ours to sync
  removeWorkDirs(paths);
  removeJournal(paths);
  points.hit('rolled back');
  return { undone: steps.length, warnings };
}

export function removeJournal(paths: SitePaths): void {
  rmSync(paths.journal, { force: true });
  fsyncDirStrict(paths.stateDir);
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
    removeWorkDirs(paths);
    points.hit('staging and backups removed');
    removeJournal(paths);
    points.hit('journal removed');
  } catch (err) {
    throw finishFailed(paths, begin, err);
  }
}
