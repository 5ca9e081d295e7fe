// Mixed-order keys for the torsion tests: A + T for a real key A and a small-order point T, and
// signatures for A + T made with A's secret scalar that libsodium itself accepts.
import crypto from 'node:crypto';
import { Point } from '@noble/ed25519';
import sodium from 'libsodium-wrappers';
import { publicKeyFromSeed } from '../../lib/core/ed25519.js';

export const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** A point of order exactly 8; its multiples are the 8 small-order points (the torsion group is cyclic). */
export const T8 = Point.fromBytes(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex'), false);

function le(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

/** [j]T8. */
export function torsion(j: number): Point {
  let p = Point.ZERO;
  for (let i = 0; i < j; i++) p = p.add(T8);
  return p;
}

/** RFC 8032's secret scalar a of a seed: the clamped low half of SHA-512(seed). */
export function secretScalar(seed: Uint8Array): bigint {
  const h = crypto.createHash('sha512').update(seed).digest();
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  return le(h.subarray(0, 32));
}

/** The encoding of A + [j]T8, A the public key of `seed` (j = 1 by default: a torsion part of order 8). */
export function mixedOrderKey(seed: Uint8Array, j = 1): Uint8Array {
  return Point.fromBytes(publicKeyFromSeed(seed)).add(torsion(j)).toBytes();
}

/**
 * A signature by `seed`'s secret a for the mixed-order key A' = A + T (T = [j]T8) that passes the
 * cofactorless check [S]B - [k]A' == R. With R = rB + T' and S = r + k·a: [S]B - [k]A' = rB - [k]T,
 * so it holds exactly when T' = -[k]T. k = SHA-512(R || A' || M) mod L depends on R, so pick T' = [i]T
 * and retry with fresh r until k happens to satisfy it (one try in ord(T) on average).
 * `nonce` gives the 64 bytes r is taken from at each attempt (random unless a caller needs fixed output).
 */
export function signForMixedOrderKey(
  message: Uint8Array,
  seed: Uint8Array,
  j = 1,
  nonce: (attempt: number) => Uint8Array = () => crypto.randomBytes(64),
): Uint8Array {
  const a = secretScalar(seed);
  const key = mixedOrderKey(seed, j);
  const T = torsion(j);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const i = attempt % 8;
    const r = le(nonce(attempt)) % L;
    const R = Point.BASE.multiply(r)
      .add(T.multiplyUnsafe(BigInt(i)))
      .toBytes();
    const k = le(crypto.createHash('sha512').update(R).update(key).update(message).digest()) % L;
    if (
      !T.multiplyUnsafe(BigInt(i))
        .add(T.multiplyUnsafe(k % 8n))
        .is0()
    )
      continue; // T' != -[k]T
    return new Uint8Array([...R, ...le32((r + k * a) % L)]);
  }
  throw new Error('no signature found for the mixed-order key');
}

/** libsodium's own verdict (crypto_sign_verify_detached), not ours. */
export async function libsodiumVerifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  await sodium.ready;
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}
