// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text "<origin>\n<size>\n<base64 root>\n[extension\n]…",
// signed by the log as a signed note whose key name is the origin.
import { toBase64 } from '../core/bytes.js';
import { LogError } from './errors.js';
import { HASH_BYTES } from './merkle.js';
import { decodeBase64, parseNote, verifyNote, type Note, type NoteVerifier, type VerifiedNote } from './note.js';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** Opaque extension lines, in order (not recommended by the spec; carried so the signed text is reproduced). */
  extensions: string[];
}

const SIZE = /^(0|[1-9][0-9]*)$/;

const bad = (message: string): LogError => new LogError('BAD_CHECKPOINT', message);

/** Parses a checkpoint's note text (final newline included). Sizes above 2^53 - 1 are refused. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw bad('a checkpoint text ends in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('a checkpoint has an origin, a size and a root hash line');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('the checkpoint origin is empty');
  if (!SIZE.test(size) || !Number.isSafeInteger(Number(size)))
    throw bad(`the checkpoint size ${JSON.stringify(size)} is not a decimal below 2^53 without leading zeros`);
  const hash = decodeBase64(root, 'the checkpoint root hash', 'BAD_CHECKPOINT');
  if (hash.length !== HASH_BYTES) throw bad('the checkpoint root hash is not 32 bytes');
  if (extensions.some((l) => l.length === 0)) throw bad('a checkpoint extension line is empty');
  return { origin, size: Number(size), root: hash, extensions };
}

export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw bad('the origin is one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw bad('the size is an integer in [0, 2^53)');
  if (c.root.length !== HASH_BYTES) throw bad('the root hash is 32 bytes');
  if (c.extensions.some((l) => l.length === 0 || l.includes('\n'))) throw bad('extension lines are non-empty single lines');
  return [c.origin, String(c.size), toBase64(c.root), ...c.extensions].map((l) => `${l}\n`).join('');
}

export interface SignedCheckpoint extends Checkpoint {
  /** The note as parsed (text and every signature line, known or not). */
  note: Note;
}

/** Parses a signed checkpoint note without verifying any signature (callers verify with openCheckpoint). */
export function parseSignedCheckpoint(note: Uint8Array | string): SignedCheckpoint {
  const parsed = parseNote(note);
  return { ...parseCheckpoint(parsed.text), note: parsed };
}

/**
 * Opens a checkpoint signed by `log`: the note must verify with the log's key (BAD_NOTE otherwise) and its origin
 * must be the log key's name (BAD_CHECKPOINT), so a checkpoint of another log with a reused key is refused too.
 */
export function openCheckpoint(note: Uint8Array | string | SignedCheckpoint, log: NoteVerifier): SignedCheckpoint & { verified: VerifiedNote['verified'] } {
  const cp = typeof note === 'object' && 'note' in note ? note : parseSignedCheckpoint(note);
  if (cp.origin !== log.name)
    throw new LogError('BAD_CHECKPOINT', `the checkpoint is for origin ${JSON.stringify(cp.origin)}, not ${JSON.stringify(log.name)}`, {
      origin: cp.origin,
      expected: log.name,
    });
  const { verified } = verifyNote(cp.note, [log]);
  return { ...cp, verified };
}
