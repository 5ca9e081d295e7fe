// C2SP tlog-proof (c2sp.org/tlog-proof@v1), the offline proof a bundle carries:
//   c2sp.org/tlog-proof@v1
//   extra <base64>            (optional; here always the log entry's bytes)
//   index <decimal>
//   <base64 hash>             (zero or more: the inclusion proof, leaf's sibling first)
//                             (an empty line)
//   <the checkpoint note, verbatim, with its signature and cosignature lines>
import { toBase64 } from '../core/bytes.js';
import { type SignedCheckpoint, parseSignedCheckpoint } from './checkpoint.js';
import { LogError } from './errors.js';
import { HASH_BYTES } from './merkle.js';
import { decodeBase64, formatNote, MAX_NOTE_BYTES } from './note.js';

const HEADER = 'c2sp.org/tlog-proof@v1';
/** A proof of a tree up to 2^63 leaves has at most 63 hashes. */
const MAX_PROOF_HASHES = 63;
/** Extra (a 16 KiB entry in base64), 63 hash lines and a checkpoint note fit well within this. */
export const MAX_PROOF_BYTES = 128 * 1024;
const INDEX = /^index (0|[1-9][0-9]*)$/;

export interface TlogProof {
  /** Opaque, unauthenticated extra data: countersign puts the log entry here. */
  extra?: Uint8Array;
  index: number;
  /** The inclusion proof hashes. */
  proof: Uint8Array[];
  /** The checkpoint, parsed (its note keeps every signature line). */
  checkpoint: SignedCheckpoint;
}

const bad = (message: string): LogError => new LogError('BAD_PROOF', message);

export function formatProof(p: { extra?: Uint8Array; index: number; proof: readonly Uint8Array[]; checkpoint: string | SignedCheckpoint }): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw bad('the index is a non-negative integer');
  if (p.proof.length > MAX_PROOF_HASHES || p.proof.some((h) => h.length !== HASH_BYTES)) throw bad('the inclusion proof is at most 63 hashes of 32 bytes');
  if (p.extra !== undefined && p.extra.length === 0) throw bad('extra data, when present, is not empty');
  const checkpoint = typeof p.checkpoint === 'string' ? p.checkpoint : formatNote(p.checkpoint.note);
  const lines = [HEADER, ...(p.extra ? [`extra ${toBase64(p.extra)}`] : []), `index ${p.index}`, ...p.proof.map(toBase64), ''];
  return `${lines.join('\n')}\n${checkpoint}`;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw bad('the proof is not valid UTF-8');
  }
}

/** Parses a tlog-proof; anything but its one spelling is BAD_PROOF (a malformed checkpoint inside is BAD_CHECKPOINT or BAD_NOTE). */
export function parseProof(input: Uint8Array | string): TlogProof {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_PROOF_BYTES) throw bad(`the proof is ${size} bytes; the limit is ${MAX_PROOF_BYTES}`);
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw bad('the proof has no empty line before its checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpointNote = text.slice(blank + 2);
  if (checkpointNote.length > MAX_NOTE_BYTES) throw bad('the checkpoint note is too large');
  if (head[0] !== HEADER) throw bad(`the proof does not start with ${HEADER}`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (head[at]?.startsWith('extra ')) {
    extra = decodeBase64(head[at]!.slice('extra '.length), 'the extra data', 'BAD_PROOF');
    if (extra.length === 0) throw bad('extra data, when present, is not empty');
    at++;
  }
  const index = INDEX.exec(head[at] ?? '');
  if (!index || !Number.isSafeInteger(Number(index[1]))) throw bad('the proof has no "index <decimal>" line (no leading zeros, below 2^53)');
  const hashes = head.slice(at + 1).map((line) => {
    const h = decodeBase64(line, 'an inclusion proof hash', 'BAD_PROOF');
    if (h.length !== HASH_BYTES) throw bad('an inclusion proof hash is not 32 bytes');
    return h;
  });
  if (hashes.length > MAX_PROOF_HASHES) throw bad('the inclusion proof has more than 63 hashes');
  const checkpoint = parseSignedCheckpoint(checkpointNote);
  return { ...(extra ? { extra } : {}), index: Number(index[1]), proof: hashes, checkpoint };
}
