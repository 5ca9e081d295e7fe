// `log serve`: the sequencer as an HTTP service, and the log's static read API.
//
//   POST /add            a signed document (envelope JSON: a signed manifest, policy or revocation), capped in size
//                        and rate-limited per address; answered once its batch is published: 200 {index, duplicate},
//                        4xx {code, message} when refused, 503 when the witness quorum did not cosign (fail closed:
//                        the entry keeps its index, the same document again returns it once published)
//   GET  /checkpoint     no-cache;   /tile/…, /manifest/…  immutable;   /index/… (lookup hints) no-cache
//
// Batches are sequenced about once a second (or at once when many are waiting). With witnesses, a checkpoint is
// published only once the quorum has cosigned it, and the newest one is re-cosigned at least hourly when idle.
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize } from 'node:path';
import { CountersignError, UsageError } from '../core/errors.js';
import { stringifyForOutput } from '../core/json.js';
import { RateLimiter } from '../distribution/rate-limit.js';
import { cosignatureVerifier } from './cosignature.js';
import { parseSignedCheckpoint } from './checkpoint.js';
import { parseNote, verifyNote, formatNote, type NoteVerifier } from './note.js';
import { submissionFor, type AddOutcome, type Sequencer, type Submission } from './sequencer.js';
import { fetchConsistencyProof, openLogSource } from './tile-reader.js';
import { parseTilePath } from './tiles.js';
import { addCheckpointBody, readCapped } from './witness.js';
import { LOOKUP_DIR, MANIFEST_DIR } from './publish.js';

/** A signed document's envelope: manifests are the largest (a file list), policies at most 256 KiB. */
export const MAX_SUBMISSION_BYTES = 4 * 1024 * 1024;
const BATCH_MAX = 256;
const WITNESS_TIMEOUT_MS = 10_000;

export interface WitnessConfig {
  name: string;
  /** The witness's submission prefix; add-checkpoint is POSTed below it. */
  url: string;
  vkey: string;
}

/** Parses --witness NAME=URL=VKEY (the vkey starts with NAME+, so a URL with "=" in it still parses). */
export function parseWitnessFlag(text: string): WitnessConfig {
  const eq = text.indexOf('=');
  const name = text.slice(0, eq);
  const at = text.indexOf(`=${name}+`, eq + 1);
  if (eq <= 0 || at < 0) throw new Error(`--witness ${JSON.stringify(text)} is not NAME=URL=VKEY (the vkey's name being NAME)`);
  const url = text.slice(eq + 1, at);
  const vkey = text.slice(at + 1);
  if (!/^https?:\/\//.test(url)) throw new Error(`--witness ${name}: ${JSON.stringify(url)} is not an http(s) URL`);
  cosignatureVerifier(vkey);
  return { name, url: url.replace(/\/+$/, ''), vkey };
}

export interface LogServerOptions {
  sequencer: Sequencer;
  witnesses: readonly WitnessConfig[];
  /** Cosignatures required before a checkpoint is published (0 without witnesses). */
  quorum: number;
  batchMs?: number;
  recosignMs?: number;
  /** Submissions per address per minute. */
  submissionsPerMinute?: number;
  log: (line: string) => void;
  now?: () => Date;
}

interface Waiting {
  submission: Submission;
  resolve: (answer: { status: number; body: Record<string, unknown> }) => void;
}

export class LogServer {
  readonly #seq: Sequencer;
  readonly #witnesses: ReadonlyArray<WitnessConfig & { verifier: NoteVerifier }>;
  readonly #quorum: number;
  readonly #log: (line: string) => void;
  readonly #now: () => Date;
  readonly #limiter: RateLimiter;
  readonly #batchMs: number;
  readonly #recosignMs: number;
  #queue: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #recosign: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(opts: LogServerOptions) {
    this.#seq = opts.sequencer;
    this.#witnesses = opts.witnesses.map((w) => ({ ...w, verifier: cosignatureVerifier(w.vkey) }));
    this.#quorum = opts.quorum;
    this.#log = opts.log;
    this.#now = opts.now ?? (() => new Date());
    this.#limiter = new RateLimiter({ burst: opts.submissionsPerMinute ?? 120, windowMs: 60_000 });
    this.#batchMs = opts.batchMs ?? 1000;
    this.#recosignMs = opts.recosignMs ?? 3_600_000;
  }

  /** Publishes what a previous run committed, gets cosignatures when witnessed, and starts the re-cosign timer. */
  async start(): Promise<void> {
    await this.#cosignAndPublish();
    if (this.#witnesses.length > 0) {
      this.#recosign = setInterval(() => void this.#serial(async () => void (await this.#cosignAndPublish(true))), this.#recosignMs);
      this.#recosign.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#recosign);
    clearTimeout(this.#timer);
    await this.#serial(() => this.#runBatch());
  }

  handler(): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
    return async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://log').pathname;
      if (path === '/add') return this.#add(req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { ok: false, code: 'USAGE', message: 'GET, or POST /add' });
      return this.#static(path, req, res);
    };
  }

  async #add(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { ok: false, code: 'USAGE', message: 'POST a signed document to /add' });
    const address = req.socket.remoteAddress ?? 'unknown';
    if (!this.#limiter.hit(address, Date.now())) {
      req.resume();
      res.setHeader('Retry-After', String(Math.ceil(this.#limiter.retryAfterMs(address, Date.now()) / 1000)));
      return sendJson(res, 429, { ok: false, code: 'RATE_LIMITED', message: 'too many submissions from this address; retry later' });
    }
    const body = await readCapped(req, MAX_SUBMISSION_BYTES);
    if (!body)
      return sendJson(res, 413, {
        ok: false,
        code: 'TOO_LARGE',
        message: `a submission is at most ${MAX_SUBMISSION_BYTES} bytes (send the envelope, not the bundle)`,
      });
    let submission: Submission;
    try {
      submission = submissionFor(body);
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      return sendJson(res, 400, { ok: false, code: err.code, message: err.message });
    }
    const answer = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve) => {
      this.#queue.push({ submission, resolve });
      this.#schedule();
    });
    sendJson(res, answer.status, answer.body);
  }

  #schedule(): void {
    if (this.#queue.length >= BATCH_MAX) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#serial(() => this.#runBatch());
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#serial(() => this.#runBatch());
      }, this.#batchMs);
    }
  }

  /** One batch or cosigning round at a time. */
  #serial(fn: () => Promise<void>): Promise<void> {
    this.#running = this.#running.then(fn).catch((err) => this.#log(`error: ${(err as Error).message}`));
    return this.#running;
  }

  async #runBatch(): Promise<void> {
    const batch = this.#queue.splice(0, BATCH_MAX);
    if (batch.length === 0) return;
    if (this.#queue.length > 0 && !this.#stopped) this.#schedule();
    let outcomes: AddOutcome[];
    try {
      outcomes = await this.#seq.add(batch.map((w) => w.submission));
    } catch (err) {
      const e = err instanceof CountersignError ? err : undefined;
      for (const w of batch)
        w.resolve({
          status: 503,
          body: { ok: false, code: e?.code ?? 'INTERNAL', message: `the log could not sequence the batch: ${(err as Error).message}` },
        });
      throw err;
    }
    const published = await this.#cosignAndPublish();
    const added = outcomes.filter((o) => o.ok && !o.duplicate).length;
    if (added > 0) this.#log(`sequenced ${added} new entr${added === 1 ? 'y' : 'ies'}; published size ${published?.size ?? 'none'}`);
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (!o.ok) {
        const code = o.error.code;
        return w.resolve({ status: o.error instanceof UsageError ? 400 : 422, body: { ok: false, code, message: o.error.message, details: o.error.details } });
      }
      if (!published || published.size <= o.index) {
        return w.resolve({
          status: 503,
          body: {
            ok: false,
            code: 'WITNESS_QUORUM_NOT_MET',
            message: `entry ${o.index} is sequenced but not yet published: the witness quorum has not cosigned; retry`,
            index: o.index,
          },
        });
      }
      w.resolve({ status: 200, body: { ok: true, index: o.index, duplicate: o.duplicate, size: published.size } });
    });
  }

  /**
   * With witnesses: asks each for a cosignature of the database's checkpoint (when it has none yet, or `refresh`),
   * records the cosigned form once the quorum is met, and publishes. Without: publishes the log-signed checkpoint.
   */
  async #cosignAndPublish(refresh = false): Promise<{ size: number; note: string } | undefined> {
    if (this.#witnesses.length === 0) return this.#seq.publish();
    const cp = await this.#seq.store.checkpoint();
    if (cp.cosigned === null || refresh) {
      const lines = (await Promise.all(this.#witnesses.map((w) => this.#askWitness(w, cp.note, cp.size)))).filter((l): l is string => l !== undefined);
      if (lines.length >= this.#quorum) {
        const base = parseNote(cp.note);
        const cosigned = formatNote({ text: base.text, signatures: [...base.signatures, ...parseNote(`${base.text}\n${lines.join('')}`).signatures] });
        const at = this.#now().toISOString();
        await this.#seq.store.locked((log) => log.setCosigned(cp.size, cp.root, cosigned, at));
        this.#log(`checkpoint ${cp.size} cosigned by ${lines.length} of ${this.#witnesses.length} witnesses (quorum ${this.#quorum})`);
      } else {
        this.#log(
          `checkpoint ${cp.size} NOT published: witness quorum not met (${lines.length} of ${this.#quorum} required cosigned); readers keep the last witnessed checkpoint (fail closed)`,
        );
      }
    }
    return this.#seq.publish();
  }

  /** One witness's cosignature line for `note`, or undefined (logged). Learns the witness's size from a 409. */
  async #askWitness(w: WitnessConfig & { verifier: NoteVerifier }, note: string, size: number): Promise<string | undefined> {
    try {
      let old = await this.#seq.store.locked((log) => log.witnessSize(w.name));
      for (let attempt = 0; attempt < 2; attempt++) {
        if (old > size) {
          this.#log(`witness ${w.name} holds size ${old}, above ${size}: skipped`);
          return undefined;
        }
        const proof = old > 0 && old < size ? await fetchConsistencyProof(openLogSource(this.#seq.tiles.dir), old, size) : [];
        const res = await fetch(`${w.url}/add-checkpoint`, {
          method: 'POST',
          body: addCheckpointBody(old, proof, note),
          signal: AbortSignal.timeout(WITNESS_TIMEOUT_MS),
          redirect: 'error',
        });
        const text = (await res.text()).slice(0, 64 * 1024);
        if (res.status === 409 && res.headers.get('content-type')?.startsWith('text/x.tlog.size') && /^(0|[1-9][0-9]*)\n$/.test(text)) {
          old = Number(text.trim());
          await this.#seq.store.locked((log) => log.setWitnessSize(w.name, old));
          continue;
        }
        if (res.status !== 200) {
          this.#log(`witness ${w.name} refused checkpoint ${size}: HTTP ${res.status} ${text.trim().slice(0, 200)}`);
          return undefined;
        }
        const lines = text.split('\n').filter((l) => l !== '');
        const verified = verifyNote(`${parseSignedCheckpoint(note).note.text}\n${lines.map((l) => `${l}\n`).join('')}`, [w.verifier]);
        await this.#seq.store.locked((log) => log.setWitnessSize(w.name, size));
        return `${verified.verified[0]!.signature.line}\n`;
      }
      return undefined;
    } catch (err) {
      this.#log(`witness ${w.name} unreachable or invalid for checkpoint ${size}: ${(err as Error).message}`);
      return undefined;
    }
  }

  #static(path: string, req: IncomingMessage, res: ServerResponse): void {
    const rel = path.slice(1);
    let cache: string;
    if (rel === 'checkpoint') cache = 'no-cache';
    else if (parseTilePath(rel)) cache = 'public, max-age=31536000, immutable';
    else if (new RegExp(`^${MANIFEST_DIR}/[0-9a-f]{64}$`).test(rel)) cache = 'public, max-age=31536000, immutable';
    else if (new RegExp(`^${LOOKUP_DIR}/[0-9a-f]{64}$`).test(rel)) cache = 'no-cache';
    else return sendText(res, 404, 'not found\n');
    const file = normalize(join(this.#seq.tiles.dir, rel));
    let body: Buffer;
    try {
      if (!statSync(file).isFile()) return sendText(res, 404, 'not found\n');
      body = readFileSync(file);
    } catch {
      return sendText(res, 404, 'not found\n');
    }
    res.writeHead(200, {
      'Content-Type': rel === 'checkpoint' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'Cache-Control': cache,
      'Content-Length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = stringifyForOutput(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}
