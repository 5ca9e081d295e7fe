// Strict Ed25519 whose verdicts equal libsodium's crypto_sign_verify_detached, so a site
// verifying with PHP ext-sodium accepts exactly the signatures this tool accepts.
//
// Verification = our own cheap strictness checks (libsodium's rules) + OpenSSL for the group
// equation. OpenSSL (node:crypto) alone is too permissive: it accepts small-order public keys,
// small-order R and public keys whose x = 0 carries a set sign bit. A key in the prime-order subgroup
// is recognised with one X25519 in OpenSSL, which also proves it a curve point; noble decodes only the
// other keys, strictly; we never call noble code that builds base-point tables (~50 ms).
//
// Two rules, on purpose: a signature verdict (verifyStrict) and a key-admission rule
// (isStrongPublicKey). libsodium verifies against mixed-order keys A + T (T of small order), and
// so does verifyStrict: changing that verdict would make this tool and PHP ext-sodium disagree on
// the same bytes. But one secret a yields signatures that verify for both aB and aB + T (pick
// R = rB + T' so that the torsion cancels in the cofactorless equation), so a policy listing both
// would count one person twice. Keys are therefore admitted only when in the prime-order subgroup
// ([L]A = identity); every key a signature is counted for has passed that admission first.
import crypto, { type KeyObject } from 'node:crypto';
import { etc, Point } from '@noble/ed25519';
import { KeyError } from './errors.js';

const SEED_BYTES = 32;
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** Order of the prime-order subgroup: L = 2^252 + 27742317777372353535851937790883648493. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
/** The field prime 2^255 - 19. */
const P = (1n << 255n) - 19n;

// Every encoding that decodes, even leniently, to one of the 8 points of small order, with the
// x-sign bit masked off: libsodium's ge25519_has_small_order() list, used unchanged for R.
// (y = 0 order 4; y = 1 identity; two order-8 y's; y = p-1 order 2; y = p and y = p+1, the
// non-canonical spellings of 0 and 1.)
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => new Uint8Array(Buffer.from(h, 'hex')));

function hasSmallOrderEncoding(point: Uint8Array): boolean {
  return SMALL_ORDER_Y.some((y) => {
    for (let i = 0; i < 31; i++) if (point[i] !== y[i]) return false;
    return (point[31]! & 0x7f) === y[31];
  });
}

function scalarLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}

/** libsodium's public-key rules, uncached: whether the key decodes to a point that is not of small order. */
function decodesStrictly(publicKey: Uint8Array): boolean {
  try {
    // Strict (non-ZIP-215) decoding: libsodium rejects y >= p (ge25519_is_canonical), points not on
    // the curve (ge25519_frombytes), and x = 0 with the sign bit set (those are small order, below).
    Point.fromBytes(publicKey, false);
  } catch {
    return false;
  }
  // Small-order keys make forgeries trivial and are refused by libsodium (ge25519_has_small_order, the
  // same list): a canonical point is of small order exactly when its y is one of the five on the list.
  return !hasSmallOrderEncoding(publicKey);
}

/** The key's y (its 255 low bits, little-endian) when it is canonical (y < p), else null. */
function canonicalY(publicKey: Uint8Array): bigint | null {
  // Through hex: one native conversion, where 32 BigInt steps run interpreted in a short-lived process.
  const y = BigInt(`0x${Buffer.from(publicKey).reverse().toString('hex')}`) & Y_BITS;
  return y < P ? y : null;
}

const Y_BITS = (1n << 255n) - 1n;

// The X25519 private key holding the scalar 5L - 1: a multiple of 8 between 2^254 and 2^255, so X25519's clamping
// leaves it unchanged. Its public key is u = 9, since [5L - 1]B = -B for the base point B of order L. Imported as
// a JWK, which OpenSSL takes as raw bytes, not through its DER decoders (~1.5 ms on first use). Made on first use,
// from d = le32(5L - 1) and x = le32(9) in base64url (test/ed25519.test.ts recomputes both).
let torsionProbe: KeyObject | undefined;
export const TORSION_PROBE_JWK = Object.freeze({
  kty: 'OKP',
  crv: 'X25519',
  d: 'oCPN0IPvW7gvENYuWeFaaAAAAAAAAAAAAAAAAAAAAFA',
  x: 'CQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
});

/** The 32 little-endian bytes of 0 <= n < 2^256. */
function le32(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
}

/**
 * [L]A == O for the point A whose y is given, not of small order: A is a curve point with no torsion component.
 * Write A = A0 + T (A0 of order dividing L, T of order dividing 8): [5L - 1]A = -A0, since 8 divides 5L - 1.
 * X25519 with the scalar 5L - 1 therefore returns u(A0), the Montgomery u = (1 + y) / (1 - y) of A0 (which
 * -A0 shares), and u(A0) = u(A) exactly when A0 = +-A, that is (A not of small order) when T = O. One X25519 in
 * OpenSSL (~0.1 ms) instead of 253 doublings and 73 additions by hand in BigInt (~2.6 ms); test/ed25519.test.ts
 * compares the two over random and mixed-order keys. X25519 is only arithmetic here (RFC 7748's ladder, defined
 * for every u): the verdict is this comparison.
 *
 * It also answers whether y is a curve point's at all, so no square root is taken for a key that passes: a y that
 * is no point's gives a u on the quadratic twist, whose order is 4L' (L' = 2^253 - 55484635554744707071703875581767296995,
 * prime); there the ladder computes [5L - 1]Q, which is +-Q only if Q's order divides 5L or 5L - 2 (both odd, and
 * neither a multiple of L'), so never, and a Q of order dividing 4 gives the all-zero result OpenSSL refuses. A u
 * of the curve is a point's with that y (v != 0: u = 0 is y = -1, of small order; u^2 + Au + 1 has no root).
 */
function inPrimeOrderSubgroup(y: bigint): boolean {
  const u = le32(etc.mod((1n + y) * etc.invert(etc.mod(1n - y, P), P), P)); // y != 1: not of small order
  torsionProbe ??= crypto.createPrivateKey({ key: TORSION_PROBE_JWK, format: 'jwk' });
  const peer = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: u.toString('base64url') }, format: 'jwk' });
  try {
    return crypto.diffieHellman({ privateKey: torsionProbe, publicKey: peer }).equals(u);
  } catch {
    return false; // OpenSSL refuses an all-zero result, which only a point of small order gives
  }
}

interface KeyVerdict {
  /** The key to verify with under libsodium's rules; null when every signature must fail. */
  key: KeyObject | null;
  /** Admissible to a policy: `key` is set and the point is in the prime-order subgroup. */
  admissible: boolean;
}

// Verdict per public key (hex). Policies list a handful of keys, so a small map that is simply
// emptied when full is enough.
const KEY_CACHE_LIMIT = 256;
const keyCache = new Map<string, KeyVerdict>();

function verdictFor(publicKey: Uint8Array): KeyVerdict {
  const view = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength);
  const hex = view.toString('hex');
  const cached = keyCache.get(hex);
  if (cached !== undefined) return cached;
  const y = hasSmallOrderEncoding(publicKey) ? null : canonicalY(publicKey);
  const admissible = y !== null && inPrimeOrderSubgroup(y);
  // A key in the subgroup is a curve point (see inPrimeOrderSubgroup); only one outside it is decoded the slow way,
  // since libsodium still verifies against a mixed-order key.
  const verdict: KeyVerdict = { key: null, admissible };
  if (admissible || (y !== null && decodesStrictly(publicKey)))
    verdict.key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: view.toString('base64url') }, format: 'jwk' });
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(hex, verdict);
  return verdict;
}

/**
 * True when `publicKey` may enter a policy or trust store: 32 bytes, the canonical encoding (y < p)
 * of a curve point, not of small order, and in the prime-order subgroup ([L]A = identity). Mixed-order
 * keys (prime-order point plus torsion) are refused here although libsodium, and verifyStrict,
 * verify signatures against them: see the top of this file.
 */
export function isStrongPublicKey(publicKey: Uint8Array): boolean {
  if (!isBytes(publicKey, PUBLIC_KEY_BYTES)) return false;
  try {
    return verdictFor(publicKey).admissible;
  } catch {
    return false;
  }
}

/**
 * Verifies an Ed25519 signature with libsodium's rules (RFC 8032 plus: S < L, public key canonical
 * and not of small order, R not of small order, cofactorless equation). Never throws.
 */
export function verifyStrict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    // Wrong lengths are malformed input, not a reason to throw on a verification path.
    if (!isBytes(signature, SIGNATURE_BYTES) || !isBytes(message) || !isBytes(publicKey, PUBLIC_KEY_BYTES)) return false;
    // S < L (RFC 8032 5.1.7, libsodium sc25519_is_canonical): otherwise S + kL are extra valid
    // spellings of one signature (malleability). OpenSSL checks this too; we do not rely on it.
    if (scalarLE(signature.subarray(32)) >= L) return false;
    // R must not be of small order (libsodium ge25519_has_small_order(sig)), else signatures under
    // weak/torsioned setups verify for many messages. Any non-canonical or off-curve R can never
    // verify: OpenSSL, like libsodium, re-encodes the computed [S]B - [k]A canonically and compares
    // the 32 bytes exactly, so we spare the ~0.1 ms of decoding R ourselves.
    if (hasSmallOrderEncoding(signature.subarray(0, 32))) return false;
    // Public key canonical, on the curve, not of small order (cached per key).
    const { key } = verdictFor(publicKey);
    if (key === null) return false;
    // Cofactorless equation R == [S]B - [SHA-512(R || A || M)]A, byte-exact on R, as libsodium.
    return crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** 32 fresh random bytes from the OS CSPRNG: an Ed25519 private key seed (RFC 8032). */
export function generateSeed(): Uint8Array {
  return new Uint8Array(crypto.randomBytes(SEED_BYTES));
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): fixed 16-byte prefix, then the 32 seed bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (!isBytes(seed, SEED_BYTES)) throw new KeyError('KEY_FORMAT', `an Ed25519 seed must be ${SEED_BYTES} bytes`);
  // Signing with node:crypto avoids noble's base-point table set-up (~50 ms) and is ~25x faster.
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The 32-byte public key of a 32-byte seed. Throws KeyError KEY_FORMAT on a wrong-length seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const jwk = crypto.createPublicKey(privateKeyFromSeed(seed)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

/** Deterministic RFC 8032 Ed25519 signature (64 bytes). Throws KeyError KEY_FORMAT on a wrong-length seed. */
export function signMessage(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.sign(null, message, privateKeyFromSeed(seed)));
}

/** Key id: lower-case hex SHA-256 of the raw public key bytes (callers check the key itself). */
export function keyId(publicKey: Uint8Array): string {
  return crypto.createHash('sha256').update(publicKey).digest('hex');
}
