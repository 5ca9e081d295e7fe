// A C2SP witness (c2sp.org/tlog-witness `add-checkpoint`): it cosigns a log's checkpoint only when it is consistent
// with the latest one it cosigned for that origin, persists the new state before answering, and keeps the request
// as evidence whenever it refuses a checkpoint the log really signed but that does not extend its view (a fork).
//
// Answers: 200 the cosignature line; 400 a malformed request or old > size; 403 no trusted log signature;
// 404 unknown origin; 409 old is not the size held (body "<size>\n", text/x.tlog.size), or the same size with
// another root (the spec's answer; LOG.md said 422); 422 the consistency proof does not verify.
// A witness given a `check` (a state auditor, auditor.ts) also cosigns only what that check accepts: 422 with the
// refusal's code ("CODE: message"), or 503 when it could not check (the log's tiles unreachable): fail closed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bytesEqual, fromUtf8 } from '../core/bytes.js';
import { CountersignError, DistributionError, UsageError } from '../core/errors.js';
import { parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import type { Cosigner } from './cosignature.js';
import { emptyRoot, verifyConsistency } from './merkle.js';
import { decodeBase64, ed25519Verifier, formatNote, verifyNote, type NoteVerifier } from './note.js';
import type { WitnessStore } from './witness-store.js';
import { Points, type InstallHooks } from '../installer/hooks.js';

/** A request is a size line, at most 63 proof lines, a blank line and a checkpoint with its signatures. */
export const MAX_ADD_CHECKPOINT_BYTES = 128 * 1024;
const MAX_PROOF_LINES = 63;

export interface WitnessAnswer {
  status: number;
  body: string;
  contentType: string;
}

export interface WitnessOptions {
  cosigner: Cosigner;
  /** TEST-ONLY fault points (lib/installer/hooks.ts): before the new state commits, and after, before the answer. */
  hooks?: InstallHooks;
  /** The logs this witness serves, as vkeys; the origin of each is its key name. */
  logs: readonly string[];
  store: WitnessStore;
  now?: () => Date;
  /**
   * A further condition on a checkpoint that extends the witness's view, run under its state lock before the state is
   * written: resolves to what to do once the cosignature is given (commit what the check learned), or throws a coded
   * refusal.
   */
  check?: (checkpoint: SignedCheckpoint) => Promise<(() => void) | void>;
}

export class Witness {
  readonly #cosigner: Cosigner;
  readonly #logs = new Map<string, NoteVerifier[]>();
  readonly #store: WitnessStore;
  readonly #now: () => Date;
  readonly #points: Points;
  readonly #check: WitnessOptions['check'];

  constructor(opts: WitnessOptions) {
    this.#points = new Points(opts.hooks);
    this.#check = opts.check;
    this.#cosigner = opts.cosigner;
    for (const vkey of opts.logs) {
      const v = ed25519Verifier(vkey);
      this.#logs.set(v.name, [...(this.#logs.get(v.name) ?? []), v]);
    }
    this.#store = opts.store;
    this.#now = opts.now ?? (() => new Date());
  }

  get vkey(): string {
    return this.#cosigner.vkey;
  }

  /** Handles one add-checkpoint body. */
  async addCheckpoint(body: Uint8Array): Promise<WitnessAnswer> {
    let request: { old: number; proof: Uint8Array[]; checkpoint: SignedCheckpoint; text: string };
    try {
      request = parseRequest(body);
    } catch (err) {
      return text(400, `malformed add-checkpoint request: ${(err as Error).message}\n`);
    }
    const { old, proof, checkpoint } = request;
    const verifiers = this.#logs.get(checkpoint.origin);
    if (!verifiers) return text(404, `unknown origin ${checkpoint.origin}\n`);
    try {
      verifyNote(checkpoint.note, verifiers);
    } catch {
      return text(403, 'no valid signature by a trusted key of this log\n');
    }
    if (old > checkpoint.size) return text(400, `old size ${old} is above the checkpoint size ${checkpoint.size}\n`);
    const now = this.#now();
    const answer = await this.#store.locked(async (tx) => {
      const held = await tx.get(checkpoint.origin);
      const heldSize = held?.size ?? 0;
      const fork = async (reason: string) =>
        tx.keepEvidence({ origin: checkpoint.origin, reason, request: request.text, held: held?.checkpoint ?? null, received: now.toISOString() });
      if (old !== heldSize) {
        return { status: 409, body: `${heldSize}\n`, contentType: 'text/x.tlog.size' };
      }
      if (old === checkpoint.size) {
        const heldRoot = held?.root ?? emptyRoot();
        if (!bytesEqual(heldRoot, checkpoint.root)) {
          await fork(`same size ${old}, another root`);
          return text(409, `size ${old} is held with another root\n`);
        }
      } else if (old === 0) {
        if (proof.length !== 0) return text(422, 'a proof from size 0 must be empty\n');
      } else {
        try {
          verifyConsistency(old, checkpoint.size, held!.root, checkpoint.root, proof);
        } catch (err) {
          if (!(err instanceof CountersignError)) throw err;
          await fork(`inconsistent with size ${old}: ${err.message}`);
          return text(422, `the consistency proof from ${old} to ${checkpoint.size} does not verify\n`);
        }
      }
      let commit: (() => void) | void = undefined;
      if (this.#check) {
        try {
          commit = await this.#check(checkpoint);
        } catch (err) {
          if (!(err instanceof CountersignError)) throw err;
          const operational = err instanceof UsageError || err instanceof DistributionError;
          return text(operational ? 503 : 422, `${err.code}: ${err.message}\n`);
        }
      }
      // Persisted (the transaction commits) before the cosignature leaves.
      await tx.put({
        origin: checkpoint.origin,
        size: checkpoint.size,
        root: checkpoint.root,
        checkpoint: formatNote(checkpoint.note),
        updated: now.toISOString(),
      });
      this.#points.hit('witness: state written, not committed');
      const line = this.#cosigner.cosign(checkpoint.note.text, Math.floor(now.getTime() / 1000));
      return { status: 200, body: `${line.line}\n`, contentType: 'text/plain; charset=utf-8', commit };
    });
    if (answer.status === 200) this.#points.hit('witness: state committed, not answered');
    const { commit, ...reply } = answer as WitnessAnswer & { commit?: (() => void) | void };
    if (commit) commit();
    return reply;
  }

  /** The HTTP handler: POST <prefix>/add-checkpoint, capped; everything else 404/405. */
  handler(prefix = ''): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
    return async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://witness').pathname;
      if (path !== `${prefix}/add-checkpoint`) return send(res, text(404, 'not found\n'));
      if (req.method !== 'POST') return send(res, { ...text(405, 'POST only\n') }, { Allow: 'POST' });
      const body = await readCapped(req, MAX_ADD_CHECKPOINT_BYTES);
      if (!body) return send(res, text(413, `the request is larger than ${MAX_ADD_CHECKPOINT_BYTES} bytes\n`));
      send(res, await this.addCheckpoint(body));
    };
  }
}

function text(status: number, body: string): WitnessAnswer {
  return { status, body, contentType: 'text/plain; charset=utf-8' };
}

function send(res: ServerResponse, a: WitnessAnswer, headers: Record<string, string> = {}): void {
  res.writeHead(a.status, { 'Content-Type': a.contentType, 'Cache-Control': 'no-store', ...headers });
  res.end(a.body);
}

/** The body, or undefined when it is larger than `max` (the rest is not read). */
export async function readCapped(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function parseRequest(body: Uint8Array): { old: number; proof: Uint8Array[]; checkpoint: SignedCheckpoint; text: string } {
  const all = fromUtf8(body, 'add-checkpoint request');
  const blank = all.indexOf('\n\n');
  if (blank < 0) throw new Error('no blank line before the checkpoint');
  const head = all.slice(0, blank).split('\n');
  const m = /^old (0|[1-9][0-9]*)$/.exec(head[0] ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new Error('the first line is not "old <size>"');
  const proofLines = head.slice(1);
  if (proofLines.length > MAX_PROOF_LINES) throw new Error(`more than ${MAX_PROOF_LINES} proof lines`);
  const proof = proofLines.map((l) => {
    const h = decodeBase64(l, 'a proof hash', 'BAD_PROOF');
    if (h.length !== 32) throw new Error('a proof hash is not 32 bytes');
    return h;
  });
  return { old: Number(m[1]), proof, checkpoint: parseSignedCheckpoint(all.slice(blank + 2)), text: all };
}

/** The add-checkpoint body for `note`, from size `old` with `proof` (the log's side). */
export function addCheckpointBody(old: number, proof: readonly Uint8Array[], note: string): string {
  return `old ${old}\n${proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('')}\n${note}`;
}
