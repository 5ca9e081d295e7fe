// A job: from a whole spooled bundle to the client's answer. It waits for its site's turn (queue.ts), is
// dropped if its client has gone, verifies the bundle as the daemon (the worker verifies it again: it trusts
// nothing the daemon says), and has a worker apply it as the site's owner.
import { closeSync, lstatSync, openSync } from 'node:fs';
import { openBundleFile, type OpenedInput } from '../../node/bundle-file.js';
import { CountersignError, StoreError, UsageError, VerificationError, toReason } from '../../core/errors.js';
import { publicSigner } from '../../core/quorum.js';
import { verifyWithStore } from '../../core/trust-state.js';
import { logCheckFor } from '../../log/check-logged.js';
import { openStore, storeFiles } from '../../node/trust-store.js';
import type { Verified } from '../../core/verify.js';
import type { SiteConfig } from './config.js';
import { answerFor, internal, refusal, type FinalLine, type WorkerOutcome } from './protocol.js';
import type { Reservation } from './queue.js';
import type { Connection } from './socket.js';
import type { Spooled } from './spool.js';
import { applyArgs, recoverArgs } from './worker.js';

/** What jobs share with the daemon that runs them. */
export interface JobContext {
  log: (entry: Record<string, unknown>) => void;
  /** The reference time for verification. */
  now: () => Date;
  /** How often a queued job tells its client it is still waiting (DaemonOptions.heartbeatMs). */
  heartbeatMs: number;
  /** The daemon is stopping: a job whose turn comes is refused. */
  closing: () => boolean;
  /** Runs a worker for a site to its end (runWorker with the daemon's command, jobTimeoutMs and spawn). */
  worker: (site: SiteConfig, args: string[], stdin: number | 'ignore', onProgress?: (e: Record<string, unknown>) => void) => Promise<WorkerOutcome>;
  /** Keeps a job until it settles, so that close() waits for it. */
  track: <T>(p: Promise<T>) => Promise<T>;
}

/** A whole bundle, spooled, for a site. */
export interface Submission {
  site: SiteConfig;
  job: string;
  spool: Spooled;
  bytes: number;
}

export async function recoverSite(ctx: JobContext, site: SiteConfig, why: string): Promise<void> {
  const outcome = await ctx.worker(site, recoverArgs(site), 'ignore');
  ctx.log({ event: 'recover', site: site.name, why, ...outcomeSummary(outcome) });
}

/** Seals the spooled bundle and puts its job in line at `place`; from here the job owns the place and the file. */
export async function queueJob(ctx: JobContext, conn: Connection, { site, job, spool, bytes }: Submission, place: Reservation): Promise<void> {
  const { log } = ctx;
  try {
    await spool.seal();
  } catch (err) {
    place.release();
    spool.discard();
    log({ event: 'spool-error', site: site.name, job, error: (err as Error).message });
    return conn.answer(refusal('IO', 'the installer cannot write its spool; see its log', site.name));
  }
  const ahead = place.ahead();
  conn.progress({ event: 'received', bytes, ...(ahead > 0 && { queued: ahead }) });
  let heartbeat: NodeJS.Timeout | undefined;
  if (ahead > 0) {
    log({ event: 'queued', site: site.name, job, ahead });
    heartbeat = setInterval(() => conn.progress({ event: 'waiting', ahead: place.ahead() }), ctx.heartbeatMs);
    heartbeat.unref();
    conn.onEnd(() => clearInterval(heartbeat));
  }
  void ctx.track(
    place.run(() => {
      clearInterval(heartbeat);
      return runJob(ctx, site, job, spool, conn);
    }),
  );
}

/** A job, when its turn comes. */
async function runJob(ctx: JobContext, site: SiteConfig, job: string, spool: Spooled, conn: Connection): Promise<void> {
  const { log } = ctx;
  try {
    if (conn.ended) return log({ event: 'dropped', site: site.name, job, why: 'the client went away while the job waited' });
    if (ctx.closing()) return conn.answer(refusal('SHUTTING_DOWN', 'the installer is stopping; the job was not started', site.name, job));
    conn.progress({ event: 'started', job });
    const verdict = await verifySpooled(site, spool.path, ctx.now(), log, job);
    if (!verdict.ok) return conn.answer({ ...verdict.refusal, site: site.name, job });
    const m = verdict.manifest;
    log({ event: 'verified', site: site.name, job, product: m.product, component: m.component, version: m.version });
    conn.progress({ event: 'verified', product: m.product, component: m.component, version: m.version, signedBy: verdict.signedBy });
    const fd = openSync(spool.path, 'r');
    let outcome: WorkerOutcome;
    try {
      conn.progress({ event: 'worker', uid: site.uid, gid: site.gid });
      outcome = await ctx.worker(site, applyArgs(site), fd, (event) => conn.progress(event, 'worker'));
    } finally {
      closeSync(fd);
    }
    const final = { ...answerFor(outcome), site: site.name, job };
    for (const step of postSteps(outcome.result)) log({ event: 'post', site: site.name, job, ...step });
    log({ event: 'applied', site: site.name, job, ok: final.ok, code: final.code, ...outcomeSummary(outcome) });
    if (outcome.timedOut || outcome.signal)
      await recoverSite(ctx, site, `the worker of job ${job} was ${outcome.timedOut ? 'killed after jobTimeoutMs' : `ended by ${outcome.signal}`}`);
    conn.answer(final);
  } catch (err) {
    conn.answer({ ...internal(err, log, site.name), job });
  } finally {
    spool.discard();
  }
}

// ---------------------------------------------------------------------------------------------
// Verification, as the daemon

type Verdict = { ok: true; manifest: Extract<Verified['document'], { kind: 'manifest' }>['manifest']; signedBy: string[] } | { ok: false; refusal: FinalLine };

async function verifySpooled(site: SiteConfig, path: string, now: Date, log: (e: Record<string, unknown>) => void, job: string): Promise<Verdict> {
  let input: OpenedInput | undefined;
  try {
    checkStoreFile(site.store);
    const store = await openStore(site.store);
    input = await openBundleFile(path);
    const verified = await verifyWithStore(store, input, { now, ...logCheckFor(store, now) });
    if (verified.document.kind !== 'manifest' || !input.isBundle) {
      return {
        ok: false,
        refusal: refusal(
          'NOT_AN_UPDATE',
          verified.document.kind !== 'manifest'
            ? `this is a signed ${verified.document.kind}, not an update bundle (use countersign trust update)`
            : 'this is a bare signed manifest, not a bundle with its archive',
          undefined,
          undefined,
          1,
        ),
      };
    }
    return { ok: true, manifest: verified.document.manifest, signedBy: verified.quorum.signedBy.map((s) => publicSigner(s).name) };
  } catch (err) {
    if (err instanceof StoreError) {
      // The store is the site's: its details (which may quote the file) go to the log, not to the client.
      log({ event: 'store-error', site: site.name, job, code: err.code, message: err.message, details: err.details });
      return {
        ok: false,
        refusal: refusal(err.code, `the trust store of site ${site.name} cannot be used (${err.code}); the installer's log says why`, undefined, undefined, 2),
      };
    }
    if (err instanceof VerificationError) {
      log({ event: 'rejected', site: site.name, job, code: err.code, reasons: err.reasons.map((r) => r.code) });
      return { ok: false, refusal: { ok: false, code: err.code, message: err.message, exit: 1, reasons: err.reasons } };
    }
    if (err instanceof UsageError) {
      log({ event: 'verify-error', site: site.name, job, code: err.code, message: err.message });
      return { ok: false, refusal: refusal(err.code, err.message, undefined, undefined, 2) };
    }
    if (err instanceof CountersignError) {
      log({ event: 'rejected', site: site.name, job, code: err.code });
      return { ok: false, refusal: { ok: false, code: err.code, message: err.message, exit: 1, reasons: [toReason(err)] } };
    }
    throw err;
  } finally {
    await input?.close();
  }
}

/** state.json must be a regular file, not a link or a FIFO the daemon (root) would follow or block on. */
function checkStoreFile(dir: string): void {
  const path = storeFiles(dir).state;
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return; // missing: openStore says STORE_MISSING
  }
  if (!info.isFile()) throw new StoreError('STORE_CORRUPT', `${path} is not a regular file (a symlink or special file is refused)`, { path });
}

// ---------------------------------------------------------------------------------------------
// What the log says of a worker

/** The post-update steps a worker's result (or its POST_UPDATE_FAILED details) reports: argv, how each ended, its output (escaped, bounded by the worker). */
function postSteps(result: WorkerOutcome['result']): Array<Record<string, unknown>> {
  const post = (result?.post ?? (result?.details as Record<string, unknown> | undefined)?.post) as unknown;
  if (!Array.isArray(post)) return [];
  return post
    .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null)
    .map(({ step, argv, exitCode, signal, timedOut, spawnError, durationMs, stdout, stderr }) => ({
      step,
      argv,
      exitCode,
      signal,
      timedOut,
      spawnError,
      durationMs,
      stdout,
      stderr,
    }));
}

function outcomeSummary(o: WorkerOutcome): Record<string, unknown> {
  return {
    pid: o.pid,
    exitCode: o.exitCode,
    ...(o.signal && { signal: o.signal }),
    ...(o.timedOut && { timedOut: true }),
    ...(o.spawnError && { spawnError: o.spawnError }),
    ...(o.result && { result: o.result }),
    ...(o.stderrTail.length > 0 && { stderr: o.stderrTail }),
  };
}
