// C2SP tlog-cosignature, Ed25519 `cosignature/v1` (c2sp.org/tlog-cosignature): a note signature line whose
// 76-byte blob is keyID(4, type 0x04) || u64 big-endian timestamp || Ed25519 signature over
// "cosignature/v1\ntime <T>\n" followed by the checkpoint's note text (extension lines and final newline included).
// Meaning: at time T this is the largest consistent tree the cosigner has seen for this origin.
import { concatBytes, utf8 } from '../core/bytes.js';
import { publicKeyFromSeed, signMessage, verifyStrict } from '../core/ed25519.js';
import { LogError } from './errors.js';
import { computeKeyId, formatVkey, parseVkey, SIG_COSIGNATURE_V1, signatureLine, type NoteSignature, type NoteVerifier, type Vkey } from './note.js';

/** Timestamp (8) + Ed25519 signature (64): the bytes after the key id. */
export const COSIGNATURE_BYTES = 72;
const MAX_TIMESTAMP = (1n << 63n) - 1n;

/** The message a cosigner signs for checkpoint text `text` at POSIX time `timestamp` (seconds). */
export function cosignatureMessage(text: string | Uint8Array, timestamp: bigint | number): Uint8Array {
  const t = BigInt(timestamp);
  if (t < 0n || t > MAX_TIMESTAMP) throw new LogError('BAD_NOTE', `a cosignature timestamp is in [0, 2^63): ${t}`);
  return concatBytes(utf8(`cosignature/v1\ntime ${t}\n`), typeof text === 'string' ? utf8(text) : text);
}

/** The timestamp of a 72-byte cosignature (after the key id), or null when the length or value is not one. */
export function cosignatureTimestamp(signature: Uint8Array): number | null {
  if (signature.length !== COSIGNATURE_BYTES) return null;
  const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  return t > MAX_TIMESTAMP ? null : Number(t);
}

export interface Cosigner {
  name: string;
  keyId: number;
  vkey: string;
  /** The signature line for checkpoint text `text` at `timestamp` (POSIX seconds). */
  cosign(text: string, timestamp: number): NoteSignature;
}

/** A cosigner from its name and 32-byte Ed25519 seed. */
export function cosigner(name: string, seed: Uint8Array): Cosigner {
  const publicKey = publicKeyFromSeed(seed);
  const keyId = computeKeyId(name, SIG_COSIGNATURE_V1, publicKey);
  return {
    name,
    keyId,
    vkey: formatVkey(name, SIG_COSIGNATURE_V1, publicKey),
    cosign(text, timestamp) {
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new LogError('BAD_NOTE', 'a cosignature timestamp is a non-negative integer');
      const ts = new Uint8Array(8);
      new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp));
      return signatureLine(name, keyId, concatBytes(ts, signMessage(cosignatureMessage(text, timestamp), seed)));
    },
  };
}

/** A note verifier for a cosignature/v1 (type 0x04) vkey: strict Ed25519 over the timestamped message. */
export function cosignatureVerifier(vkey: Vkey | string): NoteVerifier {
  const key = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  if (key.type !== SIG_COSIGNATURE_V1) throw new LogError('BAD_VKEY', `${key.name}: not a cosignature/v1 (type 4) key`);
  return {
    name: key.name,
    keyId: key.keyId,
    verify(text, signature) {
      const t = cosignatureTimestamp(signature);
      if (t === null) return false;
      const ts = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
      return verifyStrict(signature.subarray(8), cosignatureMessage(text, ts), key.publicKey);
    },
  };
}
