// The installer daemon's socket protocol (one request per connection), shared by the daemon and the client.
//
//   client -> daemon   one header line: a JSON object, then "\n", at most MAX_HEADER_BYTES in all:
//                        {"site": "example", "size": 1234567}
//                      with exactly these two keys (any other key is refused with BAD_REQUEST: a client
//                      names a configured site and nothing else; paths, users, stores and commands come
//                      only from the daemon's configuration), then exactly `size` bytes: the bundle file.
//                      Bytes after those are never read.
//   daemon -> client   JSON lines (each one object, "\n"-terminated; a progress line is at most
//                      MAX_PROGRESS_LINE_BYTES, the final one at most MAX_LINE_BYTES):
//                        {"progress": {...event...}, "source": "daemon" | "worker"}   zero or more
//                        {"ok": true|false, "code"?, "message"?, "exit": 0|1|2, "site"?, "job"?,
//                         "reasons"?, "result"?, "stderr"?}                                            exactly one, last
//                      The final line is the one with an "ok" key; the daemon closes the connection after it.
//                      "reasons": every verification finding, when the daemon itself rejected the bundle (no
//                      worker ran). "result": the worker's own JSON result (`countersign apply --json`), whose
//                      ok/code/message the top level repeats. "stderr": the last lines a failed worker printed
//                      that were not progress events. Progress events with source "worker" are the worker's
//                      own (`apply --progress`), passed on as they are; those of the daemon are, in order:
//                      accepted {site, job, size}, received {bytes, queued?: jobs ahead}, waiting {ahead}
//                      (every heartbeat while queued), started {job}, verified {product, component, version,
//                      signedBy}, worker {uid, gid}.
//                      `exit` is what `countersign installer submit` exits with: 0 applied, 1 rejected or the
//                      update failed, 2 the request could not be served (usage, limits, I/O, a store error).
//
// Bounds: the header must arrive in MAX_HEADER_BYTES and within headerTimeoutMs; a declared size above the
// daemon's maxBundleBytes is refused (BUNDLE_TOO_LARGE) before any of the bundle is read; beyond
// maxConnectionsPerSite bundles arriving for one site, TOO_MANY_CONNECTIONS; a client that sends nothing for
// idleTimeoutMs, or has not sent everything within receiveTimeoutMs, is answered TIMEOUT. A queue place is
// taken once the whole bundle is in (QUEUE_FULL then). Once the bundle is in, the client
// just waits; if it goes away (seen at the next heartbeat: the daemon does not read from it any more), a
// queued job is dropped, and a running one runs to its end (and is logged).
import { UsageError, type CountersignError } from '../../core/errors.js';
import { parseStrictJson } from '../../core/json.js';
import { stringifyForOutput } from '../../core/json.js';

/** The header line, newline included. */
export const MAX_HEADER_BYTES = 4096;
/** A progress line; a longer event from a worker is replaced by a note that it was cut. */
export const MAX_PROGRESS_LINE_BYTES = 64 * 1024;
/**
 * Any answer line, the final one included: it carries the worker's result, which lists every file an update
 * changed (a worker may print 4 MiB of result, see worker.ts). Longer, it is replaced by a short one.
 */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
export const SITE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Codes the daemon answers with itself, besides the verification codes of lib/core/errors.ts (a bundle that
 * fails verification is answered with its first reason's code and every reason) and the STORE_* codes.
 */
export type DaemonCode =
  /** The header is not one JSON object of exactly {site, size}, or is too long. Exit 2. */
  | 'BAD_REQUEST'
  /** The site named is not in the daemon's configuration. Exit 2. */
  | 'UNKNOWN_SITE'
  /** The declared size is above maxBundleBytes; nothing of the bundle was read. Exit 2. */
  | 'BUNDLE_TOO_LARGE'
  /** The site already has maxQueue complete bundles waiting. Exit 2: try again later. */
  | 'QUEUE_FULL'
  /** The site already has maxConnectionsPerSite bundles arriving. Exit 2: try again later. */
  | 'TOO_MANY_CONNECTIONS'
  /** The client went quiet (idleTimeoutMs) or too slow (receiveTimeoutMs). Exit 2. */
  | 'TIMEOUT'
  /** The daemon is stopping; a queued job was not started. Exit 2. */
  | 'SHUTTING_DOWN'
  /** The bundle verified, but it is not an update (a policy, a revocation, or a bare envelope). Exit 1. */
  | 'NOT_AN_UPDATE'
  /** The worker could not be started, died, or did not answer with one JSON result. Exit 1. */
  | 'WORKER_FAILED'
  /** The worker ran past jobTimeoutMs and was killed; recovery ran after it. Exit 1. */
  | 'WORKER_TIMEOUT'
  /** The spool could not be written. Exit 2. */
  | 'IO';

export interface RequestHeader {
  site: string;
  size: number;
}

export interface ProgressLine {
  progress: Record<string, unknown>;
  source: 'daemon' | 'worker';
}

export interface FinalLine {
  ok: boolean;
  code?: string;
  message?: string;
  exit: 0 | 1 | 2;
  site?: string;
  job?: string;
  [key: string]: unknown;
}

/** What a worker run came to (runWorker, worker.ts); the final line is built from it (answerFor). */
export interface WorkerOutcome {
  /** The worker's exit code, or null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Its one JSON result on stdout, when it printed one. */
  result?: Record<string, unknown>;
  timedOut: boolean;
  /** The spawn itself failed (e.g. EPERM changing ids, ENOENT for the site root). */
  spawnError?: string;
  /** The last lines of stderr that were not progress events. */
  stderrTail: string[];
  pid?: number;
}

/** Parses and checks the header line (without its newline). Throws UsageError('USAGE') with the reason. */
export function parseHeader(text: string): RequestHeader {
  let value: unknown;
  try {
    // Strict: a key given twice is refused, not silently the last one.
    value = parseStrictJson(text, 'the header');
  } catch (err) {
    throw new UsageError('USAGE', (err as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('USAGE', 'the header is not a JSON object');
  const keys = Object.keys(value);
  const extra = keys.filter((k) => k !== 'site' && k !== 'size');
  if (extra.length > 0) {
    throw new UsageError('USAGE', `the header may only name a site and a size; refused: ${extra.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}`);
  }
  const { site, size } = value as Record<string, unknown>;
  if (typeof site !== 'string' || site.length === 0 || site.length > 64) throw new UsageError('USAGE', 'the header needs "site", a site name');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
    throw new UsageError('USAGE', 'the header needs "size", the bundle length in bytes (a positive integer)');
  return { site, size };
}

export function encodeHeader(header: RequestHeader): Buffer {
  const line = Buffer.from(JSON.stringify({ site: header.site, size: header.size }) + '\n', 'utf8');
  if (line.length > MAX_HEADER_BYTES) throw new UsageError('USAGE', `the site name is too long`);
  return line;
}

/** One answer line; a line over `max` bytes is replaced by `fallback` (which must be short). */
export function encodeLine(value: ProgressLine | FinalLine, fallback: () => ProgressLine | FinalLine, max = MAX_LINE_BYTES): string {
  const text = stringifyForOutput(value) + '\n';
  if (Buffer.byteLength(text) <= max) return text;
  return stringifyForOutput(fallback()) + '\n';
}

export function isFinalLine(value: unknown): value is FinalLine {
  return typeof value === 'object' && value !== null && typeof (value as FinalLine).ok === 'boolean';
}

// ---------------------------------------------------------------------------------------------
// Answers

export function refusal(code: DaemonCode | CountersignError['code'], message: string, site?: string, job?: string, exit: 0 | 1 | 2 = exitFor(code)): FinalLine {
  return { ok: false, code, message, exit, ...(site !== undefined && { site }), ...(job !== undefined && { job }) };
}

function exitFor(code: string): 1 | 2 {
  return code === 'NOT_AN_UPDATE' || code === 'WORKER_FAILED' || code === 'WORKER_TIMEOUT' ? 1 : 2;
}

export function internal(err: unknown, log: (e: Record<string, unknown>) => void, site?: string): FinalLine {
  log({ event: 'internal-error', site, error: (err as Error)?.stack ?? String(err) });
  return refusal('WORKER_FAILED', 'the installer failed internally; see its log', site, undefined, 1);
}

/** The answer for a worker's outcome: its own result when it gave a consistent one, else WORKER_*. */
export function answerFor(outcome: WorkerOutcome): FinalLine {
  const r = outcome.result;
  const stderr = outcome.stderrTail.length > 0 ? { stderr: outcome.stderrTail } : {};
  if (outcome.timedOut) return { ...refusal('WORKER_TIMEOUT', 'the worker ran too long and was killed; recovery ran after it'), ...stderr };
  if (outcome.spawnError && outcome.exitCode !== 0) return { ...refusal('WORKER_FAILED', `the worker could not be started: ${outcome.spawnError}`), ...stderr };
  if (outcome.signal)
    return { ...refusal('WORKER_FAILED', `the worker was ended by ${outcome.signal}; recovery ran after it`), ...stderr, ...(r && { result: r }) };
  const exit = outcome.exitCode;
  if (r && r.ok === true && exit === 0) return { ok: true, exit: 0, result: r };
  if (r && r.ok === false && (exit === 1 || exit === 2)) {
    return {
      ok: false,
      code: typeof r.code === 'string' ? r.code : 'WORKER_FAILED',
      ...(typeof r.message === 'string' && { message: r.message }),
      exit,
      result: r,
    };
  }
  return {
    ...refusal(
      'WORKER_FAILED',
      r ? `the worker exited ${exit} with a result that says ok: ${String(r.ok)}` : `the worker exited ${exit} without a JSON result`,
    ),
    ...stderr,
    ...(r && { result: r }),
  };
}

/** Splits a byte stream into lines of at most `max` bytes; a longer line is reported, not buffered. */
export class LineSplitter {
  private buffered: Buffer[] = [];
  private length = 0;
  private overlong = false;
  constructor(
    private readonly max: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.overlong) {
        if (this.length + (end - start) > this.max) {
          this.overlong = true;
          this.buffered = [];
          this.length = 0;
          this.onOverlong();
        } else {
          this.buffered.push(chunk.subarray(start, end));
          this.length += end - start;
        }
      }
      if (nl === -1) return;
      if (!this.overlong) this.onLine(Buffer.concat(this.buffered).toString('utf8'));
      this.buffered = [];
      this.length = 0;
      this.overlong = false;
      start = nl + 1;
    }
  }

  /** The unterminated rest, if any (e.g. output cut off when a process ended). */
  flush(): void {
    if (this.length > 0 && !this.overlong) this.onLine(Buffer.concat(this.buffered).toString('utf8'));
    this.buffered = [];
    this.length = 0;
  }
}
