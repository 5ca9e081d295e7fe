// Key files: a public key to hand around, and a secret key sealed under a passphrase.
//
// Secret key file: the 32-byte Ed25519 seed encrypted with XChaCha20-Poly1305 under a key that
// scrypt derives from the passphrase. The associated data binds the ciphertext to the key id, and
// the key id to the public key, so no header can be swapped without the decryption failing.
import { randomBytes, scrypt } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesEqual, fromBase64, toBase64, utf8 } from './bytes.js';
import { keyId, publicKeyFromSeed } from './ed25519.js';
import { CountersignError, KeyError } from './errors.js';
import type * as generated from './generated/types.js';
import { validateFile, type FileSchemaName } from './file-schema.js';
import { PUBLIC_KEY_FILE_TYPE, SECRET_KEY_FILE_TYPE } from './file-types.js';

export { PUBLIC_KEY_FILE_TYPE, SECRET_KEY_FILE_TYPE };
export const UNENCRYPTED_WARNING = 'UNENCRYPTED: for tests and demos only';

/** scrypt cost written by default: 2^17 × r 8 × 128 bytes = 128 MiB and a fraction of a second. */
export const DEFAULT_SCRYPT_N = 2 ** 17;
/** Cost bounds accepted when reading or writing; a file outside them is refused before any work. */
export const MIN_SCRYPT_N = 2 ** 14;
/**
 * 2^17 is the most that fits the 256 MiB memory cap (scrypt needs 128·r·N bytes), so a hostile key
 * file can never make us allocate more than that, nor compute for long.
 */
export const MAX_SCRYPT_N = 2 ** 17;
export const SCRYPT_R = 8;
export const MAX_SCRYPT_P = 4;
export const SCRYPT_MAXMEM = 256 * 1024 * 1024;

const KEY_BYTES = 32;
const SALT_BYTES = 32;
const MIN_SALT_BYTES = 16;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const MAX_NAME_LENGTH = 200;
const MAX_FILE_LENGTH = 64 * 1024;
const AAD_PREFIX = 'countersign-secret-key:v1:';

// Control, format (zero-width, bidi) and private-use characters, lone surrogates, line separators and
// Hangul fillers would let a name disguise itself on a terminal; the schemas' name pattern says the same.
const BAD_NAME_CHARS = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/u;

export interface PublicKeyFile {
  publicKey: Uint8Array;
  name: string;
  keyid: string;
}

export interface SecretKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  name: string;
  keyid: string;
  /** False for an unencrypted test/demo key file. */
  encrypted: boolean;
}

export interface EncryptOptions {
  /** scrypt cost, a power of two from 2^14 to 2^17; tests use 2^14 for speed. */
  N?: number;
}

function formatError(message: string): KeyError {
  return new KeyError('KEY_FORMAT', message);
}

function checkBytes(value: unknown, length: number, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) throw formatError(`${what} must be ${length} bytes`);
  return value;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME_LENGTH || BAD_NAME_CHARS.test(name)) {
    throw formatError(`the key name must be 1 to ${MAX_NAME_LENGTH} printable characters`);
  }
  return name;
}

/** Checks that `seed` is the secret half of `publicKey`. */
function checkKeyPair(seed: Uint8Array, publicKey: Uint8Array): void {
  if (!bytesEqual(publicKeyFromSeed(seed), publicKey)) throw formatError('the secret key does not belong to the public key in the file');
}

function checkScryptParams(N: unknown, r: unknown, p: unknown): { N: number; r: number; p: number } {
  if (typeof N !== 'number' || !Number.isInteger(N) || N < MIN_SCRYPT_N || N > MAX_SCRYPT_N || (N & (N - 1)) !== 0) {
    throw formatError(`scrypt N must be a power of two from 2^14 to 2^${Math.log2(MAX_SCRYPT_N)}`);
  }
  if (r !== SCRYPT_R) throw formatError(`scrypt r must be ${SCRYPT_R}`);
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > MAX_SCRYPT_P) throw formatError(`scrypt p must be from 1 to ${MAX_SCRYPT_P}`);
  return { N, r, p };
}

function aad(keyid: string): Uint8Array {
  return utf8(AAD_PREFIX + keyid);
}

// Same function as noble's scrypt (@noble/hashes/scrypt.js), but OpenSSL's native one: several times faster.
function deriveKey(passphrase: string, salt: Uint8Array, params: { N: number; r: number; p: number }): Promise<Uint8Array> {
  // NFC, so the same passphrase typed on systems that compose accents differently gives the same key.
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  return new Promise<Uint8Array>((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: SCRYPT_MAXMEM }, (err, key) => {
      secret.fill(0);
      // Never pass OpenSSL's message through: it is about parameters, and says nothing about the passphrase.
      if (err) reject(formatError('scrypt refused the key file parameters'));
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Parses a key file's JSON and checks it against its schema (exact members, types, printable name). */
function parseKeyJson<T>(text: string, expectedType: string, schema: FileSchemaName): T {
  if (typeof text !== 'string') throw formatError('key file is not text');
  if (text.length > MAX_FILE_LENGTH) throw formatError('key file is too large');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw formatError('key file is not valid JSON');
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (type !== expectedType) {
    if (type === PUBLIC_KEY_FILE_TYPE) throw formatError('this is a public key file, not a secret key file');
    if (type === SECRET_KEY_FILE_TYPE) throw formatError('this is a secret key file, not a public key file');
    throw formatError(`key file type is not ${expectedType}`);
  }
  try {
    return validateFile<T>(schema, value, 'key file');
  } catch (err) {
    throw err instanceof CountersignError ? formatError(err.message) : err;
  }
}

function base64Field(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string') throw formatError(`${what} is not a base64 string`);
  try {
    return fromBase64(value, what);
  } catch {
    throw formatError(`${what} is not standard padded base64`);
  }
}

/** The public key and its checked id; the key id must be the SHA-256 of the key bytes. */
function readPublicHalf(obj: generated.PublicKey | generated.SecretKey): { publicKey: Uint8Array; keyid: string; name: string } {
  const publicKey = base64Field(obj.publicKey, 'publicKey');
  if (publicKey.length !== KEY_BYTES) throw formatError(`publicKey must be ${KEY_BYTES} bytes`);
  const keyid = keyId(publicKey);
  if (obj.keyid !== keyid) throw formatError('keyid is not the SHA-256 of publicKey');
  return { publicKey, keyid, name: checkName(obj.name) };
}

// ---- public key files ----

export function formatPublicKeyFile(publicKey: Uint8Array, name: string): string {
  checkBytes(publicKey, KEY_BYTES, 'public key');
  return pretty({ type: PUBLIC_KEY_FILE_TYPE, keyid: keyId(publicKey), name: checkName(name), publicKey: toBase64(publicKey) } satisfies generated.PublicKey);
}

/** Reads a public key file; the key id is recomputed from the key bytes, never trusted. */
export function parsePublicKeyFile(text: string): PublicKeyFile {
  return readPublicHalf(parseKeyJson<generated.PublicKey>(text, PUBLIC_KEY_FILE_TYPE, 'public-key'));
}

// ---- secret key files ----

/** Seals `seed` under `passphrase`; returns the key file text. */
export async function encryptSecretKey(seed: Uint8Array, publicKey: Uint8Array, name: string, passphrase: string, opts: EncryptOptions = {}): Promise<string> {
  checkBytes(seed, KEY_BYTES, 'seed');
  checkBytes(publicKey, KEY_BYTES, 'public key');
  checkName(name);
  checkKeyPair(seed, publicKey);
  if (typeof passphrase !== 'string' || passphrase === '') throw new KeyError('BAD_PASSPHRASE', 'the passphrase must not be empty');
  const params = checkScryptParams(opts.N ?? DEFAULT_SCRYPT_N, SCRYPT_R, 1);
  const keyid = keyId(publicKey);
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
  const key = await deriveKey(passphrase, salt, params);
  try {
    const ciphertext = xchacha20poly1305(key, nonce, aad(keyid)).encrypt(seed);
    return pretty({
      type: SECRET_KEY_FILE_TYPE,
      keyid,
      name,
      publicKey: toBase64(publicKey),
      kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: toBase64(salt) },
      cipher: { name: 'xchacha20-poly1305', nonce: toBase64(nonce) },
      ciphertext: toBase64(ciphertext),
    } satisfies generated.SecretKey);
  } finally {
    key.fill(0);
  }
}

/** An unencrypted secret key file, marked as such: for tests and demos only. */
export function unencryptedSecretKey(seed: Uint8Array, publicKey: Uint8Array, name: string): string {
  checkBytes(seed, KEY_BYTES, 'seed');
  checkBytes(publicKey, KEY_BYTES, 'public key');
  checkName(name);
  checkKeyPair(seed, publicKey);
  return pretty({
    type: SECRET_KEY_FILE_TYPE,
    keyid: keyId(publicKey),
    name,
    publicKey: toBase64(publicKey),
    kdf: null,
    cipher: null,
    seed: toBase64(seed),
    warning: UNENCRYPTED_WARNING,
  } satisfies generated.SecretKey);
}

/**
 * Reads a secret key file. Every parameter is checked against fixed bounds before scrypt runs.
 * A wrong passphrase and a modified file are the same BAD_PASSPHRASE; no error ever quotes the passphrase.
 */
export async function decryptSecretKey(text: string, passphrase: string | undefined): Promise<SecretKey> {
  const obj = parseKeyJson<generated.SecretKey>(text, SECRET_KEY_FILE_TYPE, 'secret-key');

  if (obj.kdf === null && obj.cipher === null) {
    if (obj.warning !== UNENCRYPTED_WARNING) throw formatError(`an unencrypted key file must carry the warning ${JSON.stringify(UNENCRYPTED_WARNING)}`);
    const { publicKey, keyid, name } = readPublicHalf(obj);
    const seed = base64Field(obj.seed, 'seed');
    if (seed.length !== KEY_BYTES) throw formatError(`seed must be ${KEY_BYTES} bytes`);
    checkKeyPair(seed, publicKey);
    return { seed, publicKey, name, keyid, encrypted: false };
  }

  const { publicKey, keyid, name } = readPublicHalf(obj);
  const params = checkScryptParams(obj.kdf.N, obj.kdf.r, obj.kdf.p);
  const salt = base64Field(obj.kdf.salt, 'kdf salt');
  if (salt.length < MIN_SALT_BYTES || salt.length > SALT_BYTES) throw formatError(`kdf salt must be ${MIN_SALT_BYTES} to ${SALT_BYTES} bytes`);
  const nonce = base64Field(obj.cipher.nonce, 'cipher nonce');
  if (nonce.length !== NONCE_BYTES) throw formatError(`cipher nonce must be ${NONCE_BYTES} bytes`);
  const ciphertext = base64Field(obj.ciphertext, 'ciphertext');
  if (ciphertext.length !== KEY_BYTES + TAG_BYTES) throw formatError(`ciphertext must be ${KEY_BYTES + TAG_BYTES} bytes`);

  if (passphrase === undefined || passphrase === '') throw new KeyError('BAD_PASSPHRASE', 'this key is encrypted; a passphrase is needed');
  if (typeof passphrase !== 'string') throw new KeyError('BAD_PASSPHRASE', 'the passphrase is not a string');

  const key = await deriveKey(passphrase, salt, params);
  let seed: Uint8Array;
  try {
    seed = xchacha20poly1305(key, nonce, aad(keyid)).decrypt(ciphertext);
  } catch {
    throw new KeyError('BAD_PASSPHRASE', `wrong passphrase for key ${name} (${keyid.slice(0, 16)}), or the key file was modified`, { keyid });
  } finally {
    key.fill(0);
  }
  checkKeyPair(seed, publicKey);
  return { seed, publicKey, name, keyid, encrypted: true };
}

/**
 * Whether a secret key file is encrypted, to decide whether to ask for a passphrase. Only the
 * type is checked here; decryptSecretKey checks everything else. Not a secret key file: KEY_FORMAT.
 */
export function secretKeyIsEncrypted(text: string): boolean {
  const obj = parseKeyJson<generated.SecretKey>(text, SECRET_KEY_FILE_TYPE, 'secret-key');
  return !(obj.kdf === null && obj.cipher === null);
}
