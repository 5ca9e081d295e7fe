// The in-process runner: applies a verified bundle to a site in three phases (spec/journal.md, "The Trusted
// Installer"). Decisions live in pure modules (plan.ts, journal.ts, version-file.ts); this file does
// the I/O in order:
//   check  verify the bundle completely (signatures, quorum, expiry, applicability, rollback, archive
//          digests) before any byte of the archive is written; detect the installed version; preflight
//          (preflight.ts, plan.ts): expected hashes, no link on any path, free space, same file system, no case-fold
//          collision; an unfinished journal is recovered first.
//   files  stage and read back (stage.ts), commit under the journal (commit.ts), record the install.
//   post   run the post-update steps (post.ts); a failure leaves the files new and the site marked
//          "needs attention" until an operator clears it.
import { resolve } from 'node:path';
import { openBundleFile } from '../node/bundle-file.js';
import { openEnvelope } from '../core/envelope.js';
import { FormatError, InstallError, UsageError, VerificationError, type Reason } from '../core/errors.js';
import { manifestFromPayload, type Manifest } from '../core/manifest.js';
import type { TrustedPolicy } from '../core/policy.js';
import { publicSigner } from '../core/quorum.js';
import { installedKey, siteFor, verifyWithStore, type TrustStore } from '../core/trust-state.js';
import { logCheckFor } from '../log/check-logged.js';
import { openStore } from '../node/trust-store.js';
import { formatTimestamp } from '../core/time.js';
import { parseVersion } from '../core/version.js';
import { verifyBundle, type BundleInput, type Limits, type Verified } from '../core/verify.js';
import { commitPlan, finishCommitted } from './commit.js';
import { noProgress, type ProgressEvent, type ProgressSink } from './events.js';
import { lstatOrMissing } from './fsutil.js';
import { describeFault, Points, type InstallHooks } from './hooks.js';
import { detectInstalledVersion, type DetectedVersion } from './inspect.js';
import { JOURNAL_FORMAT, type JournalBegin } from './journal.js';
import { fault, PinnedDir } from './pinned-dir.js';
import { countSteps, describeSteps, type LocalChange, type Plan, type Step } from './plan.js';
import { DEFAULT_POST_TIMEOUT_MS, describeStepFailure, runPostUpdate, type PostStepResult } from './post.js';
import { checkPostCommands, preflight, preflightFailed, refuseRiskyKeep, type VerifiedRelease } from './preflight.js';
import { readJournal, recoverLocked, type RecoverAction } from './recover.js';
import { stageFiles } from './stage.js';
import { siteTarget, targetReasons, type Target } from './target.js';
import {
  clearAttention,
  ensureStateDir,
  lockSite,
  readAttention,
  readPhaseState,
  removeWorkDirs,
  sitePaths,
  writeAttention,
  writePhaseState,
  type Phase,
  type SitePaths,
} from './state.js';

export type ApplyPhase = Phase | 'all';
export const APPLY_PHASES: readonly ApplyPhase[] = ['check', 'files', 'post', 'all'];

export interface ApplyOptions {
  /** The site root (the directory the manifest's paths are relative to). */
  site: string;
  /** A site trust store (countersign trust init): its policy, revocations and installed versions. Give this or `trusted`. */
  store?: string;
  /** A trusted policy (loadTrustedPolicy), when the site keeps no store. */
  trusted?: TrustedPolicy;
  /** With `trusted`: the version installed now; default: what the site's version file says. */
  installed?: string;
  /** The product and component this site runs (a release for another is WRONG_TARGET); default: what the site's version files say. */
  product?: string;
  component?: string;
  /** Default 'all'. */
  phase?: ApplyPhase;
  /** Verify and preflight only; report every step that would be taken; write nothing at all. */
  dryRun?: boolean;
  /** Keep locally modified files (skip their ops, report them) instead of refusing with LOCAL_CHANGES. */
  keepLocal?: boolean;
  /** With keepLocal: keep local files even from a release rated Critical or above (else KEEP_LOCAL_REFUSED). */
  keepLocalDespiteRisk?: boolean;
  /** Accept directories the update writes into that others can write (group/other-writable, another owner): for in-process setups where the web server owns the code. */
  allowSharedWrite?: boolean;
  /** Timeout of each post-update step; default 300 s. */
  postTimeoutMs?: number;
  /** Environment of the post-update steps; default process.env. */
  postEnv?: NodeJS.ProcessEnv;
  /** Default: PARENT/.countersign-SITENAME beside the site (lib/installer/state.ts). */
  stateDir?: string;
  /** Reference time, fixed once; default the clock. */
  now?: Date;
  limits?: Partial<Limits>;
  onProgress?: ProgressSink;
  /** Test-only fault injection (lib/installer/hooks.ts). */
  hooks?: InstallHooks;
}

export interface ApplyResult {
  site: string;
  stateDir: string;
  product: string;
  component: string;
  /** The version installed before (null: unknown, e.g. --phase post). */
  from: string | null;
  to: string;
  /** SHA-256 of the manifest payload: identifies the release across phases. */
  bundle: string;
  signedBy: Array<{ id: string; name: string }>;
  /** The phases this run completed, in order (a dry run completes none). */
  phases: Phase[];
  dryRun: boolean;
  /** What the site's version file says, when one was found. */
  detected: DetectedVersion | null;
  /** The file written last, when the release writes one. */
  versionFile: string | null;
  /** Every step, in commit order: what a dry run would do, or what the files phase did. */
  changes: Array<{ op: Step['op']; path: string }>;
  counts: Record<Step['op'], number>;
  /** Locally modified files kept with keepLocal (their ops skipped). */
  kept: LocalChange[];
  /** Files were kept: the release is installed only in part (the store keeps the version before and names them). */
  partial: boolean;
  /** The post-update steps run (or, in a dry run or a run without the post phase, to be run: exitCode null). */
  post: PostStepResult[];
  postUpdate: string[][];
  /** What the automatic recovery before this run did. */
  recovered: { action: RecoverAction; steps: number; update: unknown; warnings: string[] } | null;
  timings: Partial<Record<Phase, number>>;
}

/** Opens the bundle file (a regular file: /dev/stdin works when fd 0 is one), applies it, and closes it. */
export async function applyBundle(bundlePath: string, opts: ApplyOptions): Promise<ApplyResult> {
  const input = await openBundleFile(bundlePath);
  try {
    return await applyOpened(input, opts);
  } finally {
    await input.close();
  }
}

function checkOptions(opts: ApplyOptions): ApplyPhase {
  if ((opts.store === undefined) === (opts.trusted === undefined)) throw new UsageError('USAGE', 'give exactly one of a trust store or a trusted policy');
  if (opts.store !== undefined && opts.installed !== undefined)
    throw new UsageError('USAGE', 'with a trust store, the installed version comes from the store (countersign trust record)');
  if (opts.installed !== undefined) {
    try {
      parseVersion(opts.installed);
    } catch (err) {
      throw new UsageError('USAGE', `installed version: ${(err as Error).message}`);
    }
  }
  const phase = opts.phase ?? 'all';
  if (!APPLY_PHASES.includes(phase)) throw new UsageError('USAGE', `phase ${JSON.stringify(phase)} is not one of ${APPLY_PHASES.join(', ')}`);
  if (opts.postTimeoutMs !== undefined && !(Number.isFinite(opts.postTimeoutMs) && opts.postTimeoutMs > 0))
    throw new UsageError('USAGE', 'the post-update timeout must be a positive number');
  return phase;
}

/** Applies an opened bundle (see applyBundle). */
export async function applyOpened(input: BundleInput, opts: ApplyOptions): Promise<ApplyResult> {
  const phase = checkOptions(opts);
  const now = opts.now ?? new Date();
  const paths = sitePaths(opts.site, opts.stateDir);
  const progress = opts.onProgress ?? noProgress;
  if (opts.dryRun) return dryRun(input, opts, phase, paths, now, progress);

  ensureStateDir(paths);
  const lock = await lockSite(paths);
  try {
    const points = new Points(opts.hooks);
    const recovery = await recoverLocked(paths, points, progress, now, opts.store === undefined ? null : resolve(opts.store));
    const recovered =
      recovery.action === 'none' ? null : { action: recovery.action, steps: recovery.steps, update: recovery.update, warnings: recovery.warnings };
    refuseIfNeedsAttention(paths);
    const run = new PhaseRun(progress);

    if (phase === 'post') {
      const { v, post, from } = await run.phase('post', async () => {
        const v = await verifyRelease(input, opts, now, paths, 'post');
        progress(verifiedEvent(v));
        const state = readPhaseState(paths);
        if (!state || state.bundle !== v.verified.payloadSha256 || (state.phase !== 'files' && state.phase !== 'post')) {
          throw new InstallError(
            'PHASE_ORDER',
            `the post phase runs after the files phase of the same release; ${state ? `the last phase completed here is ${state.phase} of ${state.product} ${state.component} ${state.to}` : 'no phase has completed here'}`,
            {
              state,
            },
          );
        }
        return { v, post: await postPhase(paths, v.manifest, v.verified.payloadSha256, opts, progress, now), from: state.from };
      });
      return result(paths, v, null, { phases: run.phases, post, recovered, timings: run.timings, dryRun: false, from });
    }

    // Phase 1: check.
    const { v, plan } = await run.phase('check', async () => {
      const v = await verifyRelease(input, opts, now, paths, 'apply');
      progress(verifiedEvent(v));
      const plan = preflight(paths, v, opts, false);
      refuseRiskyKeep(plan, v.manifest, opts);
      if (phase === 'all') checkPostCommands(paths, v.manifest, opts);
      progress({ event: 'plan', counts: countSteps(plan.steps), kept: plan.kept.length });
      return { v, plan };
    });
    const begin: JournalBegin = {
      t: 'begin',
      format: JOURNAL_FORMAT,
      site: paths.root,
      root: paths.rootId,
      bundle: v.verified.payloadSha256,
      product: v.manifest.product,
      component: v.manifest.component,
      from: v.from,
      to: v.manifest.version,
      store: v.storeDir,
      created: formatTimestamp(now),
      ...(plan.kept.length > 0 && { kept: plan.kept.map((k) => k.path) }),
    };
    if (phase === 'check') {
      writePhaseState(paths, { bundle: begin.bundle, product: begin.product, component: begin.component, from: begin.from, to: begin.to, phase: 'check' }, now);
      return result(paths, v, plan, { phases: run.phases, post: [], recovered, timings: run.timings, dryRun: false, from: v.from });
    }

    // Phase 2: files.
    await run.phase('files', async () => {
      if (!input.archive) throw new FormatError('MALFORMED', 'the bundle holds no archive');
      let staged;
      try {
        staged = await stageFiles(input.archive, v.manifest, plan, paths, points);
      } catch (err) {
        removeWorkDirs(paths);
        throw err;
      }
      progress({ event: 'staged', files: plan.stagedFiles, bytes: plan.stagedBytes });
      try {
        await commitPlan({ paths, plan, staged, begin, points, progress, now });
      } finally {
        await staged.settled; // whatever failed, no flush is left running on a descriptor of staging/
      }
      await finishCommitted(paths, begin, points, now);
    });
    if (phase === 'files') return result(paths, v, plan, { phases: run.phases, post: [], recovered, timings: run.timings, dryRun: false, from: v.from });

    // Phase 3: post-update.
    const post = await run.phase('post', () => postPhase(paths, v.manifest, begin.bundle, opts, progress, now));
    return result(paths, v, plan, { phases: run.phases, post, recovered, timings: run.timings, dryRun: false, from: v.from });
  } finally {
    lock.release();
  }
}

/** The phases a run has completed, in order, and how long each took; each runs between its start and done events. */
class PhaseRun {
  readonly phases: Phase[] = [];
  readonly timings: ApplyResult['timings'] = {};
  constructor(private readonly progress: ProgressSink) {}

  async phase<T>(phase: Phase, body: () => Promise<T>): Promise<T> {
    const t = Date.now();
    this.progress({ event: 'phase', phase, status: 'start' });
    const value = await body();
    this.timings[phase] = Date.now() - t;
    this.phases.push(phase);
    this.progress({ event: 'phase', phase, status: 'done' });
    return value;
  }
}

/** Everything a real run checks, nothing written: not the state directory, not the lock. */
async function dryRun(input: BundleInput, opts: ApplyOptions, phase: ApplyPhase, paths: SitePaths, now: Date, progress: ProgressSink): Promise<ApplyResult> {
  if (lstatOrMissing(paths.stateDir)) {
    refuseIfNeedsAttention(paths);
    const journal = readJournal(paths);
    if (journal?.begin) {
      throw preflightFailed(
        [
          {
            code: 'UNFINISHED_JOURNAL',
            path: paths.journal,
            message: `an interrupted update (${journal.begin.product} ${journal.begin.component} ${journal.begin.to}) awaits recovery; a real apply would roll it back first (countersign recover --site ${paths.root})`,
          },
        ],
        [],
      );
    }
  }
  if (phase === 'post') {
    const v = await verifyRelease(input, opts, now, paths, 'post');
    const state = readPhaseState(paths);
    if (!state || state.bundle !== v.verified.payloadSha256 || (state.phase !== 'files' && state.phase !== 'post')) {
      throw new InstallError('PHASE_ORDER', 'the post phase runs after the files phase of the same release', { state });
    }
    return result(paths, v, null, { phases: [], post: plannedPost(v.manifest), recovered: null, timings: {}, dryRun: true, from: state.from });
  }
  const v = await verifyRelease(input, opts, now, paths, 'apply');
  const plan = preflight(paths, v, opts, true);
  refuseRiskyKeep(plan, v.manifest, opts);
  if (phase !== 'check') checkPostCommands(paths, v.manifest, opts);
  progress({ event: 'plan', counts: countSteps(plan.steps), kept: plan.kept.length });
  return result(paths, v, plan, {
    phases: [],
    post: phase === 'check' ? [] : plannedPost(v.manifest),
    recovered: null,
    timings: {},
    dryRun: true,
    from: v.from,
  });
}

function plannedPost(manifest: Manifest): PostStepResult[] {
  return manifest.postUpdate.map((argv, step) => ({
    step,
    argv,
    exitCode: null,
    signal: null,
    timedOut: false,
    spawnError: null,
    durationMs: 0,
    stdout: '',
    stderr: '',
    ok: false,
  }));
}

function refuseIfNeedsAttention(paths: SitePaths): void {
  const marker = readAttention(paths);
  if (marker) {
    throw new InstallError(
      'NEEDS_ATTENTION',
      `the site needs attention (${marker.code}: ${marker.message}); updates are refused until an operator checks it and runs countersign recover --site ${paths.root} --clear`,
      { marker, attention: paths.attention },
    );
  }
}

/**
 * Verifies the bundle completely. 'apply': as this site, applicability and rollback included (with a
 * store: its installed versions; else `installed`, or the site's version file). 'post': signatures,
 * quorum, expiry, revocations and archive only (the files phase already installed this release).
 */
async function verifyRelease(input: BundleInput, opts: ApplyOptions, now: Date, paths: SitePaths, mode: 'apply' | 'post'): Promise<VerifiedRelease> {
  let verified: Verified;
  let from: string | null = null;
  let detected: DetectedVersion | null = null;
  let looked = false; // the version files were read (through the peeked manifest: the same bytes as the verified one)
  if (opts.store !== undefined) {
    const store = await openStore(opts.store);
    if (mode === 'apply') {
      const peeked = peekManifest(input);
      const found = peeked ? siteTarget(paths, peeked, opts) : null;
      if (found?.problem) {
        await verifyWithStore(store, input, { now, limits: opts.limits, ...logCheckFor(store, now) }); // a bad bundle is reported as such, not as an unknown site
        throw preflightFailed([found.problem], []);
      }
      const wrong = peeked && found ? targetReasons(peeked, found.target) : [];
      verified = await withReasons(wrong, () => verifyWithStore(store, input, { now, limits: opts.limits, ...logCheckFor(store, now) }));
    } else {
      verified = await verifyBundle(input, { trusted: store.trusted, now, revocations: store.revocations, limits: opts.limits });
    }
    const m = manifestOf(verified);
    if (mode === 'apply') from = siteFor(store, m.product, m.component)!.installed;
    else if (!installedHere(store, m)) {
      throw new InstallError('PHASE_ORDER', `the trust store does not record ${m.product} ${m.component} ${m.version} as installed; run the files phase first`);
    }
  } else {
    let installed = opts.installed;
    let target: Target = {};
    if (mode === 'apply' && opts.product !== undefined && opts.component !== undefined && installed !== undefined) {
      // All three given: siteTarget would answer them without looking at the site, and nothing needs the version file
      // before the verification, so it is read after it (from the verified manifest) and the envelope is parsed once.
      target = { product: opts.product, component: opts.component };
    } else if (mode === 'apply') {
      const peeked = peekManifest(input);
      if (peeked) {
        const found = siteTarget(paths, peeked, opts);
        target = found.target;
        if (found.problem) {
          await verifyBundle(input, { trusted: opts.trusted!, now, site: target, limits: opts.limits });
          throw preflightFailed([found.problem], []);
        }
        detected = detectInstalledVersion(paths, peeked);
        looked = true;
        installed ??= detected?.version;
        if (installed === undefined) {
          // Verify anyway, so a bad bundle is reported as such rather than as an unknown version.
          await verifyBundle(input, { trusted: opts.trusted!, now, site: target, limits: opts.limits });
          throw preflightFailed(
            [
              {
                code: 'VERSION_UNKNOWN',
                message: `cannot tell which version of ${peeked.product} ${peeked.component} the site runs (no version file found among ${[peeked.versionFile, 'the usual ones'].filter(Boolean).join(', ')}); pass the installed version`,
              },
            ],
            [],
          );
        }
      }
    }
    verified = await verifyBundle(input, { trusted: opts.trusted!, now, site: mode === 'apply' ? { ...target, installed } : {}, limits: opts.limits });
    from = mode === 'apply' ? (installed ?? null) : null;
  }
  const manifest = manifestOf(verified);
  if (mode === 'apply' && !looked) detected = detectInstalledVersion(paths, manifest);
  // The journal names the store by an absolute path: a recovery may run from another working directory.
  return { verified, manifest, from, detected, storeDir: opts.store === undefined ? null : resolve(opts.store) };
}

/** The store records this release as installed, in full or in part (apply --keep-local). */
function installedHere(store: TrustStore, m: Manifest): boolean {
  const entry = store.state.installed[installedKey(m.product, m.component)];
  return entry?.version === m.version || entry?.partial?.version === m.version;
}

/** Runs a verification, adding `extra` reasons to its VerificationError, or throwing them when it passed. */
async function withReasons(extra: Reason[], verify: () => Promise<Verified>): Promise<Verified> {
  let verified: Verified;
  try {
    verified = await verify();
  } catch (err) {
    if (err instanceof VerificationError && extra.length > 0) throw new VerificationError([...err.reasons, ...extra]);
    throw err;
  }
  if (extra.length > 0) throw new VerificationError(extra);
  return verified;
}

function verifiedEvent(v: VerifiedRelease): ProgressEvent {
  return {
    event: 'verified',
    product: v.manifest.product,
    component: v.manifest.component,
    from: v.from,
    to: v.manifest.version,
    signedBy: v.verified.quorum.signedBy.map((s) => s.name),
  };
}

function manifestOf(verified: Verified): Manifest {
  if (verified.document.kind !== 'manifest') {
    throw new FormatError(
      'WRONG_TYPE',
      `this is a signed ${verified.document.kind}, not a release bundle; apply installs releases (a policy or revocation goes to countersign trust update)`,
      { found: verified.document.kind },
    );
  }
  return verified.document.manifest;
}

function peekManifest(input: BundleInput): Manifest | undefined {
  try {
    const opened = openEnvelope(input.envelopeBytes);
    return opened.kind === 'manifest' ? manifestFromPayload(opened.payloadBytes) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The post-update steps, run in the site root pinned by descriptor (their working directory is
 * /proc/self/fd/N, so a root renamed away and replaced after the commit never gets them run in the
 * replacement, nor in a root other than the one this run pinned at its start, paths.rootId).
 */
async function postPhase(
  paths: SitePaths,
  manifest: Manifest,
  bundle: string,
  opts: ApplyOptions,
  progress: ProgressSink,
  now: Date,
): Promise<PostStepResult[]> {
  const release = { bundle, product: manifest.product, component: manifest.component, version: manifest.version };
  const done = () => {
    const state = readPhaseState(paths);
    writePhaseState(
      paths,
      {
        bundle,
        product: manifest.product,
        component: manifest.component,
        from: state?.bundle === bundle ? state.from : null,
        to: manifest.version,
        phase: 'post',
      },
      now,
    );
  };
  if (manifest.postUpdate.length === 0) {
    done();
    return [];
  }
  // Written first, so a crash in the middle of a step also leaves the site marked.
  writeAttention(
    paths,
    {
      code: 'POST_UPDATE_INTERRUPTED',
      message: `the post-update steps of ${manifest.product} ${manifest.component} ${manifest.version} were started and did not finish`,
      ...release,
    },
    now,
  );
  let root: PinnedDir;
  try {
    root = PinnedDir.open(paths.root);
    if (root.id !== paths.rootId) {
      root.close();
      throw fault('ESTALE', `${paths.root} is no longer the directory that was updated (moved or replaced since the preflight)`);
    }
  } catch (err) {
    const message = `the post-update steps of ${manifest.product} ${manifest.component} ${manifest.version} were not run: ${describeFault(err)}`;
    writeAttention(paths, { code: 'POST_UPDATE_FAILED', message, ...release }, now);
    throw new InstallError(
      'POST_UPDATE_FAILED',
      `${message}; the site needs attention, and updates are refused until an operator runs countersign recover --site ${paths.root} --clear`,
      {
        cause: describeFault(err),
        post: [],
        attention: paths.attention,
      },
    );
  }
  let results: PostStepResult[];
  try {
    results = await runPostUpdate(manifest.postUpdate, {
      cwd: root.self,
      timeoutMs: opts.postTimeoutMs ?? DEFAULT_POST_TIMEOUT_MS,
      env: opts.postEnv,
      progress,
    });
  } finally {
    root.close();
  }
  const failed = results.find((r) => !r.ok);
  if (failed) {
    const message = `post-update step ${failed.step + 1} of ${manifest.postUpdate.length} failed: ${describeStepFailure(failed)}`;
    writeAttention(paths, { code: 'POST_UPDATE_FAILED', message, step: failed.step, argv: failed.argv, ...release }, now);
    throw new InstallError(
      'POST_UPDATE_FAILED',
      `${message}. The new files of ${manifest.product} ${manifest.component} ${manifest.version} stay in place; the site needs attention, and updates are refused until an operator runs countersign recover --site ${paths.root} --clear (then apply --phase post runs the steps again)`,
      {
        step: failed.step,
        argv: failed.argv,
        exitCode: failed.exitCode,
        signal: failed.signal,
        timedOut: failed.timedOut,
        spawnError: failed.spawnError,
        stdout: failed.stdout,
        stderr: failed.stderr,
        post: results,
        attention: paths.attention,
      },
    );
  }
  done();
  clearAttention(paths);
  return results;
}

function result(
  paths: SitePaths,
  v: VerifiedRelease,
  plan: Plan | null,
  extra: {
    phases: Phase[];
    post: PostStepResult[];
    recovered: ApplyResult['recovered'];
    timings: ApplyResult['timings'];
    dryRun: boolean;
    from: string | null;
  },
): ApplyResult {
  const steps = plan?.steps ?? [];
  return {
    site: paths.root,
    stateDir: paths.stateDir,
    product: v.manifest.product,
    component: v.manifest.component,
    from: extra.from,
    to: v.manifest.version,
    bundle: v.verified.payloadSha256,
    signedBy: v.verified.quorum.signedBy.map(publicSigner),
    phases: extra.phases,
    dryRun: extra.dryRun,
    detected: v.detected,
    versionFile: plan?.versionFile ?? null,
    changes: describeSteps(steps),
    counts: countSteps(steps),
    kept: plan?.kept ?? [],
    partial: (plan?.kept.length ?? 0) > 0,
    post: extra.post,
    postUpdate: v.manifest.postUpdate,
    recovered: extra.recovered,
    timings: extra.timings,
  };
}
