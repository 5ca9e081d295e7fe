// The installer daemon (`countersign installer serve`): receives bundles on a local socket, verifies each
// one itself against the site's trust store, and has a worker running as the site's owner apply it.
//
// Who can do what:
//   - The socket is mode 0660, group config.socketGid (config.ts): its members are the clients (the
//     CMS, drush, cron). A client names a configured site and sends a bundle; that is all it can say
//     (protocol.ts). The tree, the owner, the store and the command all come from the config.
//   - The daemon (root, to change ids) spools the bundle in its own 0700 directory (spool.ts), fsyncs it, and verifies it
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
import { statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { stringifyForOutput } from '../../core/json.js';
import type { InstallerConfig } from './config.js';
import { queueJob, recoverSite, type JobContext } from './job.js';
import { internal, refusal } from './protocol.js';
import { SiteQueue } from './queue.js';
import { receive, Uploads } from './receive.js';
import { clearStaleSocket, Connection, listen } from './socket.js';
import { prepareSpool } from './spool.js';
import { runWorker, workerCommand, type SpawnFunction, type WorkerCommand } from './worker.js';

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

export async function startDaemon(config: InstallerConfig, opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? ((entry) => process.stderr.write(stringifyForOutput({ time: new Date().toISOString(), ...entry }) + '\n'));
  const command = opts.worker ?? workerCommand(config.cli);
  prepareSpool(config.spool);
  await clearStaleSocket(opts.socket);

  const queues = new Map<string, SiteQueue>([...config.sites.keys()].map((name) => [name, new SiteQueue(name, config.maxQueue + 1)]));
  const connections = new Set<Connection>();
  const uploads = new Uploads(config.maxConnectionsPerSite);
  const jobs = new Set<Promise<unknown>>();
  let closing = false;
  let jobCounter = 0;
  const ctx: JobContext = {
    log,
    now: opts.now ?? (() => new Date()),
    heartbeatMs: opts.heartbeatMs ?? 10_000,
    closing: () => closing,
    worker: (site, args, stdin, onProgress) => runWorker({ site, command, args, stdin, timeoutMs: config.jobTimeoutMs, spawn: opts.spawn, onProgress }),
    track: <T>(p: Promise<T>): Promise<T> => {
      jobs.add(p);
      void p.finally(() => jobs.delete(p)).catch(() => undefined);
      return p;
    },
  };

  // One connection: its submission (receive.ts), then a queue place once the whole bundle is in, then its job.
  const serve = async (socket: Socket): Promise<void> => {
    const conn = new Connection(socket, log);
    connections.add(conn);
    socket.on('close', () => connections.delete(conn));
    if (closing) return conn.answer(refusal('SHUTTING_DOWN', 'the installer is stopping'));
    const job = `${Date.now().toString(36)}-${(++jobCounter).toString(36)}-${randomBytes(3).toString('hex')}`;
    let site: string | undefined;
    try {
      const submission = await receive(socket, conn, config, uploads, job, log);
      if (!submission) return;
      site = submission.site.name;
      const place = queues.get(site)!.reserve();
      if (!place) return conn.answer(refusal('QUEUE_FULL', `site ${site} already has ${config.maxQueue} jobs waiting; try again later`, site));
      conn.waiting = true;
      await queueJob(ctx, conn, submission, place);
    } catch (err) {
      conn.answer(internal(err, log, site));
    }
  };

  // ---- listening ----
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => void serve(socket));
  server.maxConnections = config.maxConnections;
  await listen(server, opts.socket, config.socketGid);
  const socketIno = statSync(opts.socket).ino;
  log({ event: 'listening', socket: opts.socket, sites: [...config.sites.keys()], gid: config.socketGid });

  const recovered =
    opts.recover === false
      ? Promise.resolve()
      : Promise.all(
          [...config.sites.values()].map((site) =>
            ctx.track(
              queues
                .get(site.name)!
                .reserveInternal()
                .run(() => recoverSite(ctx, site, 'start')),
            ),
          ),
        ).then(() => undefined);

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
