// C2SP signed-note (c2sp.org/signed-note): a text ending in a newline, a blank line, then signature lines
// "— <name> base64(keyID[4] || signature)". Verifier keys (vkeys) are "<name>+<hex keyID>+base64(type || key)".
// Verification is the project's strict Ed25519 (libsodium's verdicts), never node:crypto's alone.
import { createHash } from 'node:crypto';
import { concatBytes, fromUtf8, toBase64, utf8 } from '../core/bytes.js';
import { isStrongPublicKey, publicKeyFromSeed, signMessage, verifyStrict } from '../core/ed25519.js';
import { LogError } from './errors.js';

/** Signature types (signed-note §Signature types). */
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;

/** Notes larger than this are refused before parsing (a checkpoint with 100 Ed25519 cosignatures is ~12 KiB). */
export const MAX_NOTE_BYTES = 64 * 1024;
/** As Go's sumdb/note: more signature lines than this is a malformed note (the spec asks for at least 16). */
export const MAX_SIGNATURES = 100;

const SIG_PREFIX = '\u2014 ';
// Go's unicode.IsSpace set: no key name may hold one (names are separated from signatures by a space).
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
// Control characters other than newline are refused anywhere in a note (signed-note §Format).
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/u;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the 4-byte key id. */
  signature: Uint8Array;
  /** The line as it appears, without the final newline. */
  line: string;
}

export interface Note {
  /** The signed text, final newline included. */
  text: string;
  signatures: NoteSignature[];
}

/** A key that can check a signature line: the name and key id select it, `verify` gives the verdict. */
export interface NoteVerifier {
  name: string;
  keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  name: string;
  keyId: number;
  sign(text: Uint8Array): Uint8Array;
}

const bad = (message: string, details?: Record<string, unknown>): LogError => new LogError('BAD_NOTE', message, details);

/** Key names: non-empty, no Unicode space, no "+" (and, in a note, no control character). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !UNICODE_SPACE.test(name) && !name.includes('+') && !CONTROL.test(name);
}

/** Strict standard base64 (RFC 4648 §4, padded, canonical). */
export function decodeBase64(text: string, what: string, code: 'BAD_NOTE' | 'BAD_VKEY' | 'BAD_CHECKPOINT' | 'BAD_PROOF' = 'BAD_NOTE'): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (!BASE64.test(text) || bytes.toString('base64') !== text) throw new LogError(code, `${what} is not canonical padded base64`);
  return new Uint8Array(bytes);
}

/** SHA-256(name || 0x0A || type || publicKey)[:4] as a big-endian uint32. */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = createHash('sha256')
    .update(utf8(`${name}\n`))
    .update(new Uint8Array([type]))
    .update(publicKey)
    .digest();
  return h.readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

/** Splits a note into its text and signature lines; refuses anything the format does not allow. */
export function parseNote(note: Uint8Array | string): Note {
  const bytes = typeof note === 'string' ? utf8(note) : note;
  if (bytes.length > MAX_NOTE_BYTES) throw bad(`the note is ${bytes.length} bytes; the limit is ${MAX_NOTE_BYTES}`);
  const text = typeof note === 'string' ? note : fromUtfNote(bytes);
  if (CONTROL.test(text)) throw bad('the note holds a control character other than newline');
  // The text is separated from the signatures by the last blank line.
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw bad('the note has no blank line before its signatures');
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw bad('the note has no signature lines, or they do not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw bad(`the note has ${lines.length} signature lines; the limit is ${MAX_SIGNATURES}`);
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw bad('a signature line does not start with an em dash and a space', { line });
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    if (space < 0 || !isValidKeyName(name)) throw bad('a signature line has no valid key name', { line });
    const raw = decodeBase64(rest.slice(space + 1), 'a note signature');
    if (raw.length < 5) throw bad('a note signature is shorter than a key id and one byte', { line });
    return { name, keyId: Buffer.from(raw).readUInt32BE(0), signature: raw.subarray(4), line };
  });
  return { text: body, signatures };
}

function fromUtfNote(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes, 'the note');
  } catch {
    throw bad('the note is not valid UTF-8');
  }
}

/** The note's text followed by a blank line and its signature lines. */
export function formatNote(note: Note): string {
  if (!note.text.endsWith('\n')) throw bad('the note text must end in a newline');
  return `${note.text}\n${note.signatures.map((s) => `${s.line}\n`).join('')}`;
}

/** One signature line for `signature` (key id prepended) by the key `name`/`keyId`. */
export function signatureLine(name: string, keyId: number, signature: Uint8Array): NoteSignature {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId);
  return { name, keyId, signature, line: `${SIG_PREFIX}${name} ${toBase64(concatBytes(id, signature))}` };
}

/**
 * Signs `text` with each signer and returns the note. Existing signatures in `note` by other keys are kept
 * (a witness adds its line to the log's); one by the same key is replaced.
 */
export function signNote(note: Note | string, signers: readonly NoteSigner[]): string {
  const base: Note = typeof note === 'string' ? { text: note, signatures: [] } : note;
  if (!base.text.endsWith('\n') || CONTROL.test(base.text)) throw bad('a note text ends in a newline and holds no control characters');
  const text = utf8(base.text);
  const kept = base.signatures.filter((s) => !signers.some((k) => k.name === s.name && k.keyId === s.keyId));
  const added = signers.map((k) => signatureLine(k.name, k.keyId, k.sign(text)));
  return formatNote({ text: base.text, signatures: [...kept, ...added] });
}

export interface VerifiedNote extends Note {
  /** The signatures a known key verified, one per key (the first line of that key), in note order. */
  verified: Array<{ verifier: NoteVerifier; signature: NoteSignature }>;
}

/**
 * Verifies a note: signatures by unknown (name, key id) pairs are ignored; every signature by a known key must
 * verify (else the whole note is refused, as signed-note says clients should); at least one must. Refusals are
 * BAD_NOTE.
 */
export function verifyNote(note: Uint8Array | string | Note, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const parsed = typeof note === 'object' && 'text' in note ? note : parseNote(note);
  const text = utf8(parsed.text);
  const verified: VerifiedNote['verified'] = [];
  for (const signature of parsed.signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (verifier === undefined) continue;
    if (!verifier.verify(text, signature.signature)) {
      throw bad(`the signature by ${signature.name} (key id ${hex8(signature.keyId)}) does not verify`, { name: signature.name, keyId: hex8(signature.keyId) });
    }
    if (!verified.some((v) => v.verifier === verifier)) verified.push({ verifier, signature });
  }
  if (verified.length === 0) throw bad('no known key signed the note', { signers: parsed.signatures.map((s) => `${s.name}+${hex8(s.keyId)}`) });
  return { ...parsed, verified };
}

/** A parsed vkey: name, key id, signature type and public key. */
export interface Vkey {
  name: string;
  keyId: number;
  type: number;
  publicKey: Uint8Array;
}

/**
 * Parses `<name>+<hex8 key id>+base64(type || key)`: only Ed25519 (0x01) and cosignature/v1 (0x04) keys, the id
 * must be the one the name, type and key give, and the key must be one a policy may admit (canonical, not of
 * small order, in the prime-order subgroup). Refusals are BAD_VKEY.
 */
export function parseVkey(text: string): Vkey {
  const fail = (why: string): never => {
    throw new LogError('BAD_VKEY', `vkey ${JSON.stringify(text.slice(0, 200))}: ${why}`);
  };
  // Names hold no "+", but base64 may: split at the first two only (as Go's note.NewVerifier does).
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) fail('not <name>+<key id>+<key>');
  const [name, id, key] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  if (!isValidKeyName(name)) fail('the key name is empty or holds a space or control character');
  if (!/^[0-9a-f]{8}$/.test(id)) fail('the key id is not 8 lower-case hex digits');
  let raw: Uint8Array = new Uint8Array();
  try {
    raw = decodeBase64(key, 'the key', 'BAD_VKEY');
  } catch (err) {
    fail((err as Error).message);
  }
  const type = raw[0];
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) fail(`signature type ${type} is not Ed25519 (1) or cosignature/v1 (4)`);
  const publicKey = raw.subarray(1);
  if (publicKey.length !== 32) fail('an Ed25519 key is 32 bytes');
  if (!isStrongPublicKey(publicKey)) fail('the key is not canonical, of small order, or outside the prime-order subgroup');
  const keyId = computeKeyId(name, type!, publicKey);
  if (hex8(keyId) !== id) fail(`the key id is ${hex8(keyId)}, not ${id}`);
  return { name, keyId, type: type!, publicKey };
}

export function formatVkey(name: string, type: number, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new LogError('BAD_VKEY', `${JSON.stringify(name)} is not a valid key name`);
  return `${name}+${hex8(computeKeyId(name, type, publicKey))}+${toBase64(concatBytes(new Uint8Array([type]), publicKey))}`;
}

/** A verifier for an Ed25519 (type 0x01) vkey: strict Ed25519 over the note text. */
export function ed25519Verifier(vkey: Vkey | string): NoteVerifier {
  const key = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  if (key.type !== SIG_ED25519) throw new LogError('BAD_VKEY', `${key.name}: not an Ed25519 (type 1) note key`);
  return { name: key.name, keyId: key.keyId, verify: (text, signature) => verifyStrict(signature, text, key.publicKey) };
}

/** A signer for an Ed25519 note key from its 32-byte seed. */
export function ed25519Signer(name: string, seed: Uint8Array): NoteSigner & { vkey: string } {
  const publicKey = publicKeyFromSeed(seed);
  const vkey = formatVkey(name, SIG_ED25519, publicKey);
  return { name, keyId: computeKeyId(name, SIG_ED25519, publicKey), vkey, sign: (text) => signMessage(text, seed) };
}
