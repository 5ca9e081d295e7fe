// Phase 1's checks of the site, after the bundle verified and before anything is written (spec/journal.md):
// the plan's problems, who can write where, the state directory's file system, free space and hard links,
// local changes, the post-update steps' programs, and --keep-local against the release's risk. Any
// failure is PREFLIGHT_FAILED (every problem), LOCAL_CHANGES or KEEP_LOCAL_REFUSED, nothing touched.
import { closeSync, constants, linkSync, openSync, rmSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InstallError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { riskLevelRank } from '../core/risk.js';
import { isSameRelease } from '../core/version.js';
import type { Verified } from '../core/verify.js';
import { lstatOrMissing } from './fsutil.js';
import { errnoOf } from '../core/errno.js';
import { inspectRootParents, inspectSite, type DetectedVersion } from './inspect.js';
import { pinningUnavailable } from './pinned-dir.js';
import { checkSpace, planUpdate, rootParentProblems, sharedWriteProblems, type LocalChange, type Plan, type Problem } from './plan.js';
import { missingCommands } from './post.js';
import { stateDirProblems, statePath, type SitePaths } from './state.js';

/** The options of an apply (ApplyOptions) that the preflight reads. */
export interface PreflightOptions {
  store?: string;
  keepLocal?: boolean;
  keepLocalDespiteRisk?: boolean;
  allowSharedWrite?: boolean;
  postEnv?: NodeJS.ProcessEnv;
}

export interface VerifiedRelease {
  verified: Verified;
  manifest: Manifest;
  /** The installed version (null in the post phase, where it is not checked). */
  from: string | null;
  detected: DetectedVersion | null;
  storeDir: string | null;
}

/** Phase 1's checks of the site (after verification): throws PREFLIGHT_FAILED or LOCAL_CHANGES, else returns the plan. */
export function preflight(paths: SitePaths, v: VerifiedRelease, opts: PreflightOptions, dry: boolean): Plan {
  const facts = inspectSite(paths, v.manifest);
  const plan = planUpdate(v.manifest, facts, { keepLocal: opts.keepLocal });
  const problems = [...plan.problems];
  if (!opts.allowSharedWrite) problems.push(...sharedWriteProblems(plan, facts));
  // Not waived by allowSharedWrite (plan.ts rootParentProblems): whoever can swap the root redirects everything.
  problems.push(...rootParentProblems(inspectRootParents(paths.root), paths.owner));
  if (dry) problems.push(...stateDirProblems(paths)); // a real run refuses these in ensureStateDir
  const unpinnable = pinningUnavailable();
  if (unpinnable !== null)
    problems.push({ code: 'UNSUPPORTED_PLATFORM', message: `the installer acts only through directories pinned by descriptor, and ${unpinnable}` });
  if (v.detected && v.from !== null && !isSameRelease(v.detected.version, v.from)) {
    problems.push({
      code: 'VERSION_MISMATCH',
      path: v.detected.path,
      message: `${v.detected.path} says ${v.detected.version}, but ${opts.store !== undefined ? 'the trust store records' : 'the installed version given is'} ${v.from}; if the site was changed by hand, record it (countersign trust record)`,
    });
  }
  // Staging must be on the site's file system (rename() is atomic only within one), and hold the new files.
  const where = dry && !lstatOrMissing(paths.stateDir) ? dirname(paths.stateDir) : paths.stateDir;
  try {
    if (statSync(where).dev !== facts.dev) {
      problems.push({
        code: 'OTHER_FILESYSTEM',
        path: paths.stateDir,
        message: `the state directory ${paths.stateDir} is on another file system than the site; pass a --state-dir on the site's file system (outside the web root)`,
      });
    }
    const space = checkSpace(plan, statfsSync(where), where);
    if (space) problems.push(space);
  } catch (err) {
    problems.push({ code: 'STATE_DIR', path: where, message: `cannot examine ${where}: ${errnoOf(err)}` });
  }
  if (!dry) {
    const hardLinks = probeHardLinks(paths);
    if (hardLinks) problems.push(hardLinks);
  }
  if (problems.length > 0) throw preflightFailed(problems, plan.localChanges);
  if (plan.localChanges.length > 0) {
    const versionFileKept = opts.keepLocal && plan.localChanges.some((c) => c.path === plan.versionFile || c.path === v.manifest.versionFile);
    const list = plan.localChanges.map((c) => `${c.path} (${c.found === null ? 'missing' : 'modified'})`).join(', ');
    throw new InstallError(
      'LOCAL_CHANGES',
      versionFileKept
        ? `the version file cannot be kept: the site would report the new version with an old ${list}; nothing was touched`
        : `${plan.localChanges.length} file${plan.localChanges.length === 1 ? ' was' : 's were'} changed on this site since the installed release, nothing was touched: ${list}${opts.keepLocal ? '' : ' (--keep-local keeps them and applies the rest)'}`,
      { files: plan.localChanges },
    );
  }
  return plan;
}

/** Hard-link backups need a file system that supports hard links; probed once in the state directory. */
function probeHardLinks(paths: SitePaths): Problem | null {
  const probe = statePath(paths, 'link-probe');
  const linked = statePath(paths, 'link-probe.link');
  rmSync(probe, { force: true });
  rmSync(linked, { force: true });
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    linkSync(probe, linked);
    return null;
  } catch (err) {
    return {
      code: 'NO_HARD_LINKS',
      path: paths.stateDir,
      message: `cannot make a hard link in ${paths.stateDir} (${errnoOf(err)}); backups need a file system with hard links`,
    };
  } finally {
    rmSync(probe, { force: true });
    rmSync(linked, { force: true });
  }
}

/** Every post-update step's program must exist before any file is touched: else PREFLIGHT_FAILED (POST_COMMAND_MISSING) naming it. */
export function checkPostCommands(paths: SitePaths, manifest: Manifest, opts: PreflightOptions): void {
  const missing = missingCommands(manifest.postUpdate, paths.root, opts.postEnv);
  if (missing.length === 0) return;
  throw preflightFailed(
    missing.map(({ step, command }) => ({
      code: 'POST_COMMAND_MISSING',
      message: `post-update step ${step + 1} runs ${JSON.stringify(command)}, which is ${command.includes('/') ? 'not an executable file' : 'not found on the PATH'} here (${command.includes('/') ? `relative to ${paths.root}` : 'as the steps will run'}); install it, or run --phase files and the steps by hand`,
    })),
    [],
  );
}

/** Keeping local files from a Critical or Highly Critical release may keep the vulnerable code: only when asked for in so many words. */
export function refuseRiskyKeep(plan: Plan, manifest: Manifest, opts: PreflightOptions): void {
  if (plan.kept.length === 0 || opts.keepLocalDespiteRisk || !manifest.risk || riskLevelRank(manifest.risk.level) < riskLevelRank('Critical')) return;
  throw new InstallError(
    'KEEP_LOCAL_REFUSED',
    `${manifest.product} ${manifest.component} ${manifest.version} is rated ${manifest.risk.level}; keeping ${plan.kept.map((k) => k.path).join(', ')} may keep the vulnerable code, so --keep-local is refused for it (--keep-local-despite-risk keeps them anyway); nothing was touched`,
    { level: manifest.risk.level, files: plan.kept },
  );
}

export function preflightFailed(problems: Problem[], localChanges: LocalChange[]): InstallError {
  const list = problems.map((p) => `${p.code}: ${p.message}`).join('; ');
  return new InstallError('PREFLIGHT_FAILED', `preflight refused the update, nothing was touched: ${list}`, { problems, localChanges });
}
