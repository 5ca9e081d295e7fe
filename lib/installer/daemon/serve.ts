// The installer daemon (`countersign installer serve`): receives bundles on a local socket, verifies each
// one itself against the site's trust store, and has a worker running as the site's owner apply it.
//
// Who can do what:
//   - The socket is mode 0660, group config.socketGid (config.ts): its members are the clients (the
//     CMS, drush, cron). A client names a configured site and sends a bundle; that is all it can say
//     (protocol.ts). The tree, the owner, the store and the command all come from the config.
//   - The daemon (root, to change ids) spools the bundle in its own 0700 directory, fsyncs it, and verifies it
//     as itself (openStore + verifyWithStore). Anything that fails is refused with every reason, and no
//     worker is started. Only a verified manifest bundle goes further.
//   - The worker (worker.ts) runs `countersign apply /dev/stdin --site ROOT --store STORE --json
//     --progress` as the owner's uid/gid, with the spooled file as its stdin. It verifies again (it trusts
//     nothing the daemon says) and does all file work and the post-update steps; its progress events are
//     streamed to the client, and its JSON result is the answer.
//   - One job per site at a time, sites concurrently, a bounded line per site (queue.ts), joined
//     only once the whole bundle has arrived.
//
// Availability: what a member of the socket group can still do to the others, and the bounds on it.
//   - Before naming a site, a connection has headerTimeoutMs (default 5 s) to send its header; at most
//     maxConnections (default 64) connections are served at once, the rest closed unanswered. A client that
//     keeps reconnecting can hold that global bound, and so refuse everyone, only while it keeps doing so.
//   - After its header, a connection counts against its site: at most maxConnectionsPerSite (default 4) may
//     be sending a bundle for one site at once; more for that site are refused (TOO_MANY_CONNECTIONS), other
//     sites are not affected. Each one must keep sending (idleTimeoutMs) and finish within receiveTimeoutMs,
//     so stalled uploads can refuse new submissions for a site for at most receiveTimeoutMs at a time.
//   - Uploads never hold queue places: a complete bundle queues behind at most maxQueue complete ones, and
//     jobs already queued are never delayed by uploads. Every refusal is logged.
//   The socket group is the trust boundary: to keep groups from delaying each other, run one daemon per group.
//   - At start, every site is recovered (`countersign recover --site ROOT` as its owner) before its first
//     job; and again right after a worker was killed (timeout) or died of a signal.
//
// The daemon's answer to a client (the final line) is
//   { ok, code?, message?, exit, site, job, reasons?, result? }
// where `reasons` are the daemon's own verification findings and `result` is the worker's JSON result.
// Store errors are answered with their code only; the details (which may quote the file) go to the log.
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync, statSync, unlinkSync, chownSync, chmodSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { openBundleFile, type OpenedInput } from '../../bundle-file.js';
import { CountersignError, StoreError, UsageError, VerificationError, toReason } from '../../errors.js';
import { publicSigner } from '../../quorum.js';
import { openStore, storeFiles, verifyWithStore } from '../../store.js';
import type { Verified } from '../../verify.js';
import type { InstallerConfig, SiteConfig } from './config.js';
import { encodeLine, MAX_HEADER_BYTES, MAX_PROGRESS_LINE_BYTES, parseHeader, type DaemonCode, type FinalLine, type RequestHeader } from './protocol.js';
import { stringifyForOutput } from '../../json.js';
import { SiteQueue, type Reservation } from './queue.js';
import { applyArgs, recoverArgs, runWorker, workerCommand, type SpawnFunction, type WorkerCommand, type WorkerOutcome } from './worker.js';

export interface DaemonOptions {
  /** The socket path. */
  socket: string;
  /** How to start the CLI for workers; default workerCommand(config.cli). */
  worker?: WorkerCommand;
  /** Replaces child_process.spawn (tests count spawns with it). */
  spawn?: SpawnFunction;
  /** One structured entry per event; default: a JSON line on stderr. */
  log?: (entry: Record<string, unknown>) => void;
  /** The reference time for verification; default: the clock. */
  now?: () => Date;
  /** Recover every site at start (default true). */
  recover?: boolean;
  /**
   * While a job waits for its site, a `waiting` progress line is sent this often (default 10 s). It tells the
   * client it is still in line, and tells the daemon whether the client is still there: a paused socket sees
   * no hang-up until something is written to it, and a job whose client has gone is dropped, not run.
   */
  heartbeatMs?: number;
}

export interface Daemon {
  readonly socket: string;
  /** Settles when the start-up recovery of every site has finished. */
  readonly recovered: Promise<void>;
  /** Stops accepting, refuses what waits, lets running workers finish, removes the socket. */
  close(): Promise<void>;
}

const SPOOL_MODE = 0o700;
/** The spooled bundle: only the daemon writes it; 0444 lets the worker re-open its stdin (/proc/self/fd/0). */
const SPOOL_FILE_MODE = 0o444;
const SOCKET_MODE = 0o660;
/** After the final line, how long a client gets to read it before the connection is cut. */
const LINGER_MS = 2000;

export async function startDaemon(config: InstallerConfig, opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? ((entry) => process.stderr.write(stringifyForOutput({ time: new Date().toISOString(), ...entry }) + '\n'));
  const now = opts.now ?? (() => new Date());
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const command = opts.worker ?? workerCommand(config.cli);
  prepareSpool(config.spool);
  await clearStaleSocket(opts.socket);

  const queues = new Map<string, SiteQueue>([...config.sites.keys()].map((name) => [name, new SiteQueue(name, config.maxQueue + 1)]));
  const connections = new Set<Connection>();
  /** Per site: connections that named it and are still sending their bundle. */
  const uploads = new Map<string, number>();
  const jobs = new Set<Promise<unknown>>();
  let closing = false;
  let jobCounter = 0;
  const track = <T>(p: Promise<T>): Promise<T> => {
    jobs.add(p);
    void p.finally(() => jobs.delete(p)).catch(() => undefined);
    return p;
  };
  const worker = (site: SiteConfig, args: string[], stdin: number | 'ignore', onProgress?: (e: Record<string, unknown>) => void) =>
    runWorker({ site, command, args, stdin, timeoutMs: config.jobTimeoutMs, spawn: opts.spawn, onProgress });

  const recoverSite = async (site: SiteConfig, why: string): Promise<void> => {
    const outcome = await worker(site, recoverArgs(site), 'ignore');
    log({ event: 'recover', site: site.name, why, ...outcomeSummary(outcome) });
  };

  // ---- one connection: header, bundle, then its job ----
  const serve = (socket: Socket): void => {
    const conn = new Connection(socket, log);
    connections.add(conn);
    socket.on('close', () => connections.delete(conn));
    if (closing) return conn.answer(refusal('SHUTTING_DOWN', 'the installer is stopping'));
    socket.setTimeout(config.idleTimeoutMs, () => conn.answer(refusal('TIMEOUT', `nothing received for ${config.idleTimeoutMs} ms`)));
    const headerDeadline = setTimeout(() => conn.answer(refusal('TIMEOUT', `no header line within ${config.headerTimeoutMs} ms`)), config.headerTimeoutMs);
    headerDeadline.unref();
    const deadline = setTimeout(() => conn.answer(refusal('TIMEOUT', `the bundle did not arrive within ${config.receiveTimeoutMs} ms`)), config.receiveTimeoutMs);
    deadline.unref();
    conn.onEnd(() => {
      clearTimeout(headerDeadline);
      clearTimeout(deadline);
    });

    let head = Buffer.alloc(0);
    let header: RequestHeader | undefined;
    let site: SiteConfig | undefined;
    let place: Reservation | undefined;
    let spool: Spooled | undefined;
    let received = 0;
    const job = `${Date.now().toString(36)}-${(++jobCounter).toString(36)}-${randomBytes(3).toString('hex')}`;
    let uploading = false;
    const uploadDone = () => {
      if (!uploading) return;
      uploading = false;
      const n = uploads.get(site!.name)! - 1;
      if (n === 0) uploads.delete(site!.name);
      else uploads.set(site!.name, n);
    };
    conn.onEnd(() => {
      uploadDone();
      // Once the whole bundle is in, the job owns its place and its spooled file (and frees both).
      if (conn.waiting) return;
      place?.release();
      spool?.discard();
    });

    const onHeader = (line: string): boolean => {
      try {
        header = parseHeader(line);
      } catch (err) {
        conn.answer(refusal('BAD_REQUEST', (err as Error).message));
        return false;
      }
      site = config.sites.get(header.site);
      if (!site) {
        conn.answer(refusal('UNKNOWN_SITE', `no site ${JSON.stringify(header.site)} is configured here`));
        return false;
      }
      if (header.size > config.maxBundleBytes) {
        conn.answer(refusal('BUNDLE_TOO_LARGE', `the bundle is ${header.size} bytes; this installer takes at most ${config.maxBundleBytes}`, site.name));
        return false;
      }
      if ((uploads.get(site.name) ?? 0) >= config.maxConnectionsPerSite) {
        conn.answer(refusal('TOO_MANY_CONNECTIONS', `site ${site.name} already has ${config.maxConnectionsPerSite} bundles arriving; try again later`, site.name));
        return false;
      }
      uploads.set(site.name, (uploads.get(site.name) ?? 0) + 1);
      uploading = true;
      clearTimeout(headerDeadline);
      log({ event: 'accepted', site: site.name, job, size: header.size });
      conn.progress({ event: 'accepted', site: site.name, job, size: header.size });
      return true;
    };

    const onData = async (chunk: Buffer): Promise<void> => {
      if (!header) {
        const nl = chunk.indexOf(0x0a);
        const upto = nl === -1 ? chunk.length : nl;
        if (head.length + upto + 1 > MAX_HEADER_BYTES) return conn.answer(refusal('BAD_REQUEST', `the header line is longer than ${MAX_HEADER_BYTES} bytes`));
        head = Buffer.concat([head, chunk.subarray(0, upto)]);
        if (nl === -1) return;
        if (!onHeader(head.toString('utf8'))) return;
        chunk = chunk.subarray(nl + 1);
        try {
          spool = await Spooled.create(config.spool, site!.name, job);
        } catch (err) {
          log({ event: 'spool-error', site: site!.name, job, error: (err as Error).message });
          return conn.answer(refusal('IO', 'the installer cannot write its spool; see its log', site!.name));
        }
        if (conn.ended) return spool.discard();
      }
      const size = header!.size;
      const take = chunk.subarray(0, size - received);
      if (take.length > 0) {
        try {
          await spool!.write(take);
        } catch (err) {
          log({ event: 'spool-error', site: site!.name, job, error: (err as Error).message });
          return conn.answer(refusal('IO', 'the installer cannot write its spool; see its log', site!.name));
        }
        received += take.length;
      }
      if (received === size) {
        socket.removeListener('data', dataListener);
        socket.pause(); // anything after the bundle is never read
        socket.setTimeout(0);
        clearTimeout(deadline);
        uploadDone();
        place = queues.get(site!.name)!.reserve();
        if (!place) return conn.answer(refusal('QUEUE_FULL', `site ${site!.name} already has ${config.maxQueue} jobs waiting; try again later`, site!.name));
        conn.waiting = true;
        await queueJob();
      }
    };
    // Chunks are handled one at a time (the socket is paused meanwhile); the client's end may be seen
    // while the last one is still being written, and counts only once it is.
    let busy = false;
    let clientEnded = false;
    const endedEarly = () => {
      if (!conn.waiting) conn.answer(refusal('BAD_REQUEST', header ? `the connection ended after ${received} of ${header.size} bytes` : 'the connection ended before a header line'));
    };
    const dataListener = (chunk: Buffer) => {
      socket.pause();
      busy = true;
      onData(chunk).then(
        () => {
          busy = false;
          if (clientEnded) endedEarly();
          else if (!conn.ended && !conn.waiting) socket.resume();
        },
        (err) => conn.answer(internal(err, log, site?.name)),
      );
    };
    socket.on('data', dataListener);
    socket.on('end', () => {
      clientEnded = true;
      if (!busy) endedEarly();
    });

    const queueJob = async (): Promise<void> => {
      try {
        await spool!.seal();
      } catch (err) {
        place!.release();
        spool!.discard();
        log({ event: 'spool-error', site: site!.name, job, error: (err as Error).message });
        return conn.answer(refusal('IO', 'the installer cannot write its spool; see its log', site!.name));
      }
      const ahead = place!.ahead();
      conn.progress({ event: 'received', bytes: received, ...(ahead > 0 && { queued: ahead }) });
      let heartbeat: NodeJS.Timeout | undefined;
      if (ahead > 0) {
        log({ event: 'queued', site: site!.name, job, ahead });
        heartbeat = setInterval(() => conn.progress({ event: 'waiting', ahead: place!.ahead() }), heartbeatMs);
        heartbeat.unref();
        conn.onEnd(() => clearInterval(heartbeat));
      }
      void track(
        place!.run(() => {
          clearInterval(heartbeat);
          return runJob(site!, job, spool!, conn);
        }),
      );
    };
  };

  // ---- a job, when its turn comes ----
  const runJob = async (site: SiteConfig, job: string, spool: Spooled, conn: Connection): Promise<void> => {
    try {
      if (conn.ended) return log({ event: 'dropped', site: site.name, job, why: 'the client went away while the job waited' });
      if (closing) return conn.answer(refusal('SHUTTING_DOWN', 'the installer is stopping; the job was not started', site.name, job));
      conn.progress({ event: 'started', job });
      const verdict = await verifySpooled(site, spool.path, now(), log, job);
      if (!verdict.ok) return conn.answer({ ...verdict.refusal, site: site.name, job });
      const m = verdict.manifest;
      log({ event: 'verified', site: site.name, job, product: m.product, component: m.component, version: m.version });
      conn.progress({ event: 'verified', product: m.product, component: m.component, version: m.version, signedBy: verdict.signedBy });
      const fd = openSync(spool.path, 'r');
      let outcome: WorkerOutcome;
      try {
        conn.progress({ event: 'worker', uid: site.uid, gid: site.gid });
        outcome = await worker(site, applyArgs(site), fd, (event) => conn.progress(event, 'worker'));
      } finally {
        closeSync(fd);
      }
      const final = { ...answerFor(outcome), site: site.name, job };
      for (const step of postSteps(outcome.result)) log({ event: 'post', site: site.name, job, ...step });
      log({ event: 'applied', site: site.name, job, ok: final.ok, code: final.code, ...outcomeSummary(outcome) });
      if (outcome.timedOut || outcome.signal) await recoverSite(site, `the worker of job ${job} was ${outcome.timedOut ? 'killed after jobTimeoutMs' : `ended by ${outcome.signal}`}`);
      conn.answer(final);
    } catch (err) {
      conn.answer({ ...internal(err, log, site.name), job });
    } finally {
      spool.discard();
    }
  };

  // ---- listening ----
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, serve);
  server.maxConnections = config.maxConnections;
  await listen(server, opts.socket, config.socketGid);
  const socketIno = statSync(opts.socket).ino;
  log({ event: 'listening', socket: opts.socket, sites: [...config.sites.keys()], gid: config.socketGid });

  const recovered = opts.recover === false ? Promise.resolve() : Promise.all([...config.sites.values()].map((site) => track(queues.get(site.name)!.reserveInternal().run(() => recoverSite(site, 'start'))))).then(() => undefined);

  return {
    socket: opts.socket,
    recovered,
    close: async () => {
      if (closing) return;
      closing = true;
      for (const q of queues.values()) q.close();
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const conn of connections) if (!conn.waiting) conn.answer(refusal('SHUTTING_DOWN', 'the installer is stopping'));
      while (jobs.size > 0) await Promise.allSettled([...jobs]);
      for (const conn of connections) conn.destroy();
      await closed;
      // libuv unlinks the socket on close; make sure, but never remove one that is no longer ours.
      try {
        if (statSync(opts.socket).ino === socketIno) unlinkSync(opts.socket);
      } catch {
        // gone
      }
      log({ event: 'stopped' });
    },
  };
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
    const verified = await verifyWithStore(store, input, { now });
    if (verified.document.kind !== 'manifest' || !input.isBundle) {
      return { ok: false, refusal: refusal('NOT_AN_UPDATE', verified.document.kind !== 'manifest' ? `this is a signed ${verified.document.kind}, not an update bundle (use countersign trust update)` : 'this is a bare signed manifest, not a bundle with its archive', undefined, undefined, 1) };
    }
    return { ok: true, manifest: verified.document.manifest, signedBy: verified.quorum.signedBy.map((s) => publicSigner(s).name) };
  } catch (err) {
    if (err instanceof StoreError) {
      // The store is the site's: its details (which may quote the file) go to the log, not to the client.
      log({ event: 'store-error', site: site.name, job, code: err.code, message: err.message, details: err.details });
      return { ok: false, refusal: refusal(err.code, `the trust store of site ${site.name} cannot be used (${err.code}); the installer's log says why`, undefined, undefined, 2) };
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
// Answers

function refusal(code: DaemonCode | CountersignError['code'], message: string, site?: string, job?: string, exit: 0 | 1 | 2 = exitFor(code)): FinalLine {
  return { ok: false, code, message, exit, ...(site !== undefined && { site }), ...(job !== undefined && { job }) };
}

function exitFor(code: string): 1 | 2 {
  return code === 'NOT_AN_UPDATE' || code === 'WORKER_FAILED' || code === 'WORKER_TIMEOUT' ? 1 : 2;
}

function internal(err: unknown, log: (e: Record<string, unknown>) => void, site?: string): FinalLine {
  log({ event: 'internal-error', site, error: (err as Error)?.stack ?? String(err) });
  return refusal('WORKER_FAILED', 'the installer failed internally; see its log', site, undefined, 1);
}

/** The answer for a worker's outcome: its own result when it gave a consistent one, else WORKER_*. */
export function answerFor(outcome: WorkerOutcome): FinalLine {
  const r = outcome.result;
  const stderr = outcome.stderrTail.length > 0 ? { stderr: outcome.stderrTail } : {};
  if (outcome.timedOut) return { ...refusal('WORKER_TIMEOUT', 'the worker ran too long and was killed; recovery ran after it'), ...stderr };
  if (outcome.spawnError && outcome.exitCode !== 0) return { ...refusal('WORKER_FAILED', `the worker could not be started: ${outcome.spawnError}`), ...stderr };
  if (outcome.signal) return { ...refusal('WORKER_FAILED', `the worker was ended by ${outcome.signal}; recovery ran after it`), ...stderr, ...(r && { result: r }) };
  const exit = outcome.exitCode;
  if (r && r.ok === true && exit === 0) return { ok: true, exit: 0, result: r };
  if (r && r.ok === false && (exit === 1 || exit === 2)) {
    return { ok: false, code: typeof r.code === 'string' ? r.code : 'WORKER_FAILED', ...(typeof r.message === 'string' && { message: r.message }), exit, result: r };
  }
  return { ...refusal('WORKER_FAILED', r ? `the worker exited ${exit} with a result that says ok: ${String(r.ok)}` : `the worker exited ${exit} without a JSON result`), ...stderr, ...(r && { result: r }) };
}

/** The post-update steps a worker's result (or its POST_UPDATE_FAILED details) reports: argv, how each ended, its output (escaped, bounded by the worker). */
function postSteps(result: WorkerOutcome['result']): Array<Record<string, unknown>> {
  const post = (result?.post ?? (result?.details as Record<string, unknown> | undefined)?.post) as unknown;
  if (!Array.isArray(post)) return [];
  return post.filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null).map(({ step, argv, exitCode, signal, timedOut, spawnError, durationMs, stdout, stderr }) => ({ step, argv, exitCode, signal, timedOut, spawnError, durationMs, stdout, stderr }));
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

/** A client connection: progress lines, then exactly one final line, then the end. */
class Connection {
  ended = false;
  /** The whole bundle is in; the client is waiting for its job. */
  waiting = false;
  private readonly endHooks: Array<() => void> = [];
  constructor(
    private readonly socket: Socket,
    private readonly log: (e: Record<string, unknown>) => void,
  ) {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') log({ event: 'socket-error', error: err.code ?? err.message });
    });
    socket.on('close', () => this.end());
  }

  onEnd(hook: () => void): void {
    if (this.ended) hook();
    else this.endHooks.push(hook);
  }

  progress(event: Record<string, unknown>, source: 'daemon' | 'worker' = 'daemon'): void {
    if (this.ended || this.socket.destroyed) return;
    this.socket.write(encodeLine({ progress: event, source }, () => ({ progress: { event: 'cut', note: 'a progress event longer than the line limit was left out' }, source }), MAX_PROGRESS_LINE_BYTES));
  }

  answer(final: FinalLine): void {
    if (this.ended) return;
    if (!this.socket.destroyed) {
      this.socket.write(encodeLine(final, () => ({ ok: final.ok, code: final.code, message: final.message ?? 'the full answer was longer than the line limit; see the log', exit: final.exit, site: final.site, job: final.job })));
      this.socket.end();
      this.socket.pause();
      setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    }
    if (final.ok === false && !this.waiting) this.log({ event: 'refused', code: final.code, message: final.message, site: final.site });
    this.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const hook of this.endHooks.splice(0)) hook();
  }
}

// ---------------------------------------------------------------------------------------------
// The spool

class Spooled {
  private fh: FileHandle | undefined;
  private discarded = false;
  private constructor(readonly path: string) {}

  static async create(dir: string, site: string, job: string): Promise<Spooled> {
    const spooled = new Spooled(join(dir, `${site}.${job}.bundle`));
    spooled.fh = await open(spooled.path, 'wx', 0o600);
    return spooled;
  }

  async write(bytes: Buffer): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += (await this.fh!.write(bytes, at, bytes.length - at)).bytesWritten;
  }

  /** fsync, then read-only for everyone (the worker re-opens its stdin); the directory stays 0700. */
  async seal(): Promise<void> {
    const fh = this.fh!;
    await fh.sync();
    await fh.chmod(SPOOL_FILE_MODE);
    await fh.close();
    this.fh = undefined;
  }

  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    const fh = this.fh;
    this.fh = undefined;
    void fh?.close().catch(() => undefined);
    rmSync(this.path, { force: true });
  }
}

function prepareSpool(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: SPOOL_MODE });
  } catch (err) {
    throw new UsageError('IO', `cannot create the spool ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const info = lstatSync(dir);
  if (!info.isDirectory()) throw new UsageError('USAGE', `the spool ${dir} is not a directory`);
  if (info.uid !== process.getuid!()) throw new UsageError('USAGE', `the spool ${dir} is owned by uid ${info.uid}, not by the daemon (uid ${process.getuid!()})`);
  if ((info.mode & 0o777) !== SPOOL_MODE) chmodSync(dir, SPOOL_MODE);
  // Bundles left by a daemon that stopped mid-job: their clients are gone.
  for (const name of readdirSync(dir)) if (name.endsWith('.bundle')) rmSync(join(dir, name), { force: true });
}

/** Removes a socket nobody listens on; refuses a live one, or anything that is not a socket. */
async function clearStaleSocket(path: string): Promise<void> {
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket()) throw new UsageError('USAGE', `${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((done) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
  if (live) throw new UsageError('USAGE', `another installer is listening on ${path}`);
  unlinkSync(path);
}

/** Listens with the socket created 0660 (umask, so it is never more open), then gives it its group. */
async function listen(server: Server, path: string, gid: number): Promise<void> {
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      // listen() binds a Unix socket synchronously, so the umask is restored before anything else runs.
      const umask = process.umask(0o117);
      try {
        server.listen(path, () => {
          server.removeListener('error', fail);
          done();
        });
      } finally {
        process.umask(umask);
      }
    });
  } catch (err) {
    throw new UsageError('IO', `cannot listen on ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    chownSync(path, process.getuid!(), gid);
    chmodSync(path, SOCKET_MODE);
  } catch (err) {
    server.close();
    throw new UsageError('IO', `cannot give ${path} group ${gid}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
