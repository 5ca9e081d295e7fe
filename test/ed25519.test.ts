import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Point } from '@noble/ed25519';
import { fromHex, toHex, utf8 } from '../lib/core/bytes.js';
import { generateSeed, isStrongPublicKey, keyId, publicKeyFromSeed, signMessage, TORSION_PROBE_JWK, verifyStrict } from '../lib/core/ed25519.js';
import { libsodiumVerifies, mixedOrderKey, signForMixedOrderKey } from './support/torsion.js';

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function vectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/ed25519/${name}`, import.meta.url), 'utf8')) as T;
}

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function bigintTo32LE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

function withBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/**
 * Runs `fn` while OpenSSL's verify (crypto.verify, which lib/ed25519.ts calls through the
 * node:crypto default export) accepts everything, so only our own strictness checks can reject.
 */
function withPermissiveOpenSSL<T>(fn: () => T): T {
  const original = crypto.verify;
  crypto.verify = (() => true) as unknown as typeof crypto.verify;
  try {
    return fn();
  } finally {
    crypto.verify = original;
  }
}

const SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const PUB = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');

// All 8 points of small order: the multiples of an order-8 point (the torsion group is cyclic).
const T8 = Point.fromBytes(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'), false);
const SMALL_ORDER_POINTS: Point[] = [];
for (let k = 0, p = Point.ZERO; k < 8; k++, p = p.add(T8)) SMALL_ORDER_POINTS.push(p);
const SMALL_ORDER_ENCODINGS = SMALL_ORDER_POINTS.map((p) => p.toBytes());

// Non-canonical encodings that lenient decoders map to small-order points (libsodium's list):
// x = 0 with the sign bit set, and y = p, p + 1 (≡ 0, 1) with either sign bit.
const NON_CANONICAL_SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000080', // identity, sign bit set
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // (0, -1), sign bit set
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

describe('ed25519: speccheck (libsodium row: only case 3 verifies)', () => {
  const cases = vectors<{ message: string; pub_key: string; signature: string }[]>('speccheck_cases.json');
  it('has the 12 cases of speccheck_results.md', () => {
    expect(cases).to.have.length(12);
  });
  cases.forEach((c, i) => {
    it(`speccheck case ${i}`, () => {
      expect(verifyStrict(fromHex(c.signature), fromHex(c.message), fromHex(c.pub_key))).to.equal(i === 3);
    });
  });
});

describe('ed25519: RFC 8032 section 7.1', () => {
  const cases = vectors<{ priv: string; pub: string; msg: string; sig: string }[]>('rfc8032.json');
  cases.forEach((c, i) => {
    it(`rfc8032 test ${i + 1} (${c.msg.length / 2}-byte message)`, () => {
      const seed = fromHex(c.priv);
      const msg = fromHex(c.msg);
      const pub = publicKeyFromSeed(seed);
      const sig = signMessage(msg, seed);
      expect(toHex(pub)).to.equal(c.pub);
      expect(toHex(sig)).to.equal(c.sig);
      expect(isStrongPublicKey(pub)).to.equal(true);
      expect(verifyStrict(sig, msg, pub)).to.equal(true);
      expect(verifyStrict(fromHex(c.sig), msg, fromHex(c.pub))).to.equal(true);
      for (const bit of [0, 255, 256, 511]) expect(verifyStrict(withBit(sig, bit), msg, pub), `sig bit ${bit}`).to.equal(false);
      expect(verifyStrict(sig, msg, withBit(pub, 0)), 'pub bit 0').to.equal(false);
      if (msg.length > 0) expect(verifyStrict(sig, withBit(msg, 0), pub), 'msg bit 0').to.equal(false);
      else expect(verifyStrict(sig, new Uint8Array(1), pub), 'msg extended').to.equal(false);
    });
  });
});

describe('ed25519: Wycheproof EdDSA verify', () => {
  type WTest = { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' };
  const file = vectors<{ numberOfTests: number; testGroups: { publicKey: { pk: string }; tests: WTest[] }[] }>('wycheproof_ed25519_test.json');
  it(`holds numberOfTests (${file.numberOfTests}) tests, none 'acceptable'`, () => {
    const all = file.testGroups.flatMap((g) => g.tests);
    expect(all).to.have.length(file.numberOfTests);
    // No 'acceptable' results in this file. Were any added, libsodium's verdict decides
    // (e.g. accept mixed-order keys, reject small-order R); they would need a per-tcId expectation.
    expect(all.filter((t) => t.result === 'acceptable')).to.deep.equal([]);
  });
  for (const group of file.testGroups) {
    for (const t of group.tests) {
      it(`wycheproof tcId ${t.tcId}: ${t.comment || t.flags.join(', ')}`, () => {
        // Lengths vary on purpose (truncated/extended signatures); fromHex keeps them as-is.
        expect(verifyStrict(fromHex(t.sig), fromHex(t.msg), fromHex(group.publicKey.pk))).to.equal(t.result === 'valid');
      });
    }
  }
});

describe('ed25519: isStrongPublicKey', () => {
  it('derives 8 distinct small-order points (order divides 8, T8 has order exactly 8)', () => {
    expect(T8.double().double().is0()).to.equal(false);
    expect(T8.double().double().double().is0()).to.equal(true);
    expect(new Set(SMALL_ORDER_ENCODINGS.map(toHex)).size).to.equal(8);
    expect(toHex(SMALL_ORDER_ENCODINGS[0]!)).to.equal('0100000000000000000000000000000000000000000000000000000000000000');
    expect(SMALL_ORDER_ENCODINGS.map(toHex)).to.include('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
  });
  SMALL_ORDER_POINTS.forEach((_, k) => {
    it(`rejects small-order point [${k}]T8`, () => {
      expect(isStrongPublicKey(SMALL_ORDER_ENCODINGS[k]!)).to.equal(false);
    });
  });
  for (const hex of NON_CANONICAL_SMALL_ORDER) {
    it(`rejects non-canonical small-order encoding ${hex}`, () => {
      expect(isStrongPublicKey(fromHex(hex))).to.equal(false);
    });
  }
  it('rejects y >= p for a large-order point (y = p + 4), verifies against its canonical spelling', () => {
    // y = 4 is on the curve; p + 4 is a second spelling of it that libsodium refuses.
    const canonical = fromHex('0400000000000000000000000000000000000000000000000000000000000000');
    const nonCanonical = fromHex('f1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(Point.fromBytes(nonCanonical, true).equals(Point.fromBytes(canonical, false))).to.equal(true);
    // No y < 19 gives a point in the prime-order subgroup, so both fail admission; the canonical
    // spelling rule shows in verifyStrict, with OpenSSL's own verdict taken out.
    const sig = signMessage(utf8('y = 4'), SEED);
    expect(withPermissiveOpenSSL(() => verifyStrict(sig, utf8('y = 4'), canonical))).to.equal(true);
    expect(withPermissiveOpenSSL(() => verifyStrict(sig, utf8('y = 4'), nonCanonical))).to.equal(false);
    expect(isStrongPublicKey(canonical)).to.equal(false);
    expect(isStrongPublicKey(nonCanonical)).to.equal(false);
  });
  it('rejects an encoding that is not a curve point (y = 2)', () => {
    const y2 = fromHex('0200000000000000000000000000000000000000000000000000000000000000');
    expect(() => Point.fromBytes(y2, true)).to.throw();
    expect(isStrongPublicKey(y2)).to.equal(false);
  });
  it('rejects wrong lengths and non-bytes without throwing', () => {
    expect(isStrongPublicKey(PUB.subarray(0, 31))).to.equal(false);
    expect(isStrongPublicKey(new Uint8Array([...PUB, 0]))).to.equal(false);
    expect(isStrongPublicKey(new Uint8Array(0))).to.equal(false);
    expect(isStrongPublicKey(toHex(PUB) as unknown as Uint8Array)).to.equal(false);
  });
  it('accepts a normal key and the base point', () => {
    expect(isStrongPublicKey(PUB)).to.equal(true);
    expect(isStrongPublicKey(Point.BASE.toBytes())).to.equal(true);
  });
  SMALL_ORDER_POINTS.slice(1).forEach((T, k) => {
    it(`refuses the mixed-order key A + [${k + 1}]T8 (not in the prime-order subgroup)`, () => {
      const mixed = Point.fromBytes(PUB).add(T);
      expect(mixed.double().double().double().is0(), 'not of small order').to.equal(false);
      expect(isStrongPublicKey(mixed.toBytes())).to.equal(false);
    });
  });

  it('gives the same verdict on repeated (cached) calls', () => {
    for (let i = 0; i < 3; i++) {
      expect(isStrongPublicKey(PUB)).to.equal(true);
      expect(isStrongPublicKey(SMALL_ORDER_ENCODINGS[1]!)).to.equal(false);
    }
  });
});

/** The admission rule as first written (lib/core/ed25519.ts before X25519): strict decoding, not of small order, [L]A = O by double-and-add. */
function referenceAdmits(encoding: Uint8Array): boolean {
  let A: Point;
  try {
    A = Point.fromBytes(encoding, false);
  } catch {
    return false;
  }
  if (A.double().double().double().is0()) return false;
  let acc = Point.ZERO;
  for (const bit of L.toString(2)) {
    acc = acc.double();
    if (bit === '1') acc = acc.add(A);
  }
  return acc.is0();
}

describe('ed25519: isStrongPublicKey equals the [L]A = O reference formula', () => {
  it("the X25519 probe holds the scalar 5L - 1 and the base point's u = 9, little-endian", () => {
    const le = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse().toString('base64url');
    expect(TORSION_PROBE_JWK.d).to.equal(le(5n * L - 1n));
    expect(TORSION_PROBE_JWK.x).to.equal(le(9n));
    // 5L - 1 survives X25519's clamping (a multiple of 8, bit 254 set, bit 255 clear), and its public key is u = 9.
    expect((5n * L - 1n) % 8n).to.equal(0n);
    expect((5n * L - 1n) >> 254n).to.equal(1n);
    const probe = crypto.createPrivateKey({ key: TORSION_PROBE_JWK, format: 'jwk' });
    expect(crypto.createPublicKey(probe).export({ format: 'jwk' }).x).to.equal(TORSION_PROBE_JWK.x);
  });
  it('on random keys plus each of the 8 torsion offsets (A + [j]T8, j = 0..7), both verdicts seen', () => {
    const seen = new Set<boolean>();
    for (let i = 0; i < 40; i++) {
      const A = Point.fromBytes(publicKeyFromSeed(generateSeed()));
      SMALL_ORDER_POINTS.forEach((T, j) => {
        const key = A.add(T).toBytes();
        const expected = referenceAdmits(key);
        expect(isStrongPublicKey(key), `${toHex(key)} (offset ${j})`).to.equal(expected);
        expect(expected, `offset ${j}`).to.equal(j === 0);
        seen.add(expected);
      });
    }
    expect([...seen].sort()).to.deep.equal([false, true]);
  });
  it('on random 32-byte strings (most that decode are points of mixed order), the small-order points and the base point', () => {
    const inputs = [...Array.from({ length: 300 }, () => new Uint8Array(crypto.randomBytes(32))), ...SMALL_ORDER_ENCODINGS, Point.BASE.toBytes()];
    let points = 0;
    for (const key of inputs) {
      try {
        Point.fromBytes(key, false);
        points++;
      } catch {
        // not a point: refused by both
      }
      expect(isStrongPublicKey(key), toHex(key)).to.equal(referenceAdmits(key));
    }
    expect(points, 'inputs that are curve points').to.be.greaterThan(100);
  });
  it('a y of no curve point (its u on the twist) is refused by the X25519 probe, and no signature verifies under it even with OpenSSL accepting everything', () => {
    // lib/core/ed25519.ts admits a key on the probe alone, without decoding it: this is the claim that makes that sound.
    const sig = signMessage(utf8('twist'), SEED);
    let twist = 0;
    for (let i = 0; i < 200; i++) {
      const key = new Uint8Array(crypto.randomBytes(32));
      key[31]! &= 0x7f; // y < 2^255; the few y >= p are refused as well
      try {
        Point.fromBytes(key, false);
        continue;
      } catch {
        twist++;
      }
      expect(isStrongPublicKey(key), toHex(key)).to.equal(false);
      expect(
        withPermissiveOpenSSL(() => verifyStrict(sig, utf8('twist'), key)),
        toHex(key),
      ).to.equal(false);
    }
    expect(twist, 'inputs that are no curve point').to.be.greaterThan(50);
  });
});

describe('ed25519: mixed-order keys, a key-admission rule and not a signature verdict', () => {
  // libsodium verifies signatures against A + T, so verifyStrict must too (a PHP site verifying
  // with ext-sodium reaches the same verdict); such keys are kept out of policies instead.
  const msg = utf8('one secret, two keys');
  for (const j of [1, 2, 4]) {
    it(`a signature for A + [${j}]T8 made with A's secret: libsodium and verifyStrict accept it, isStrongPublicKey refuses the key`, async () => {
      const key = mixedOrderKey(SEED, j);
      const sig = signForMixedOrderKey(msg, SEED, j);
      expect(await libsodiumVerifies(sig, msg, key), 'libsodium').to.equal(true);
      expect(verifyStrict(sig, msg, key), 'verifyStrict').to.equal(true);
      expect(await libsodiumVerifies(signMessage(msg, SEED), msg, PUB), 'and A itself').to.equal(true);
      expect(isStrongPublicKey(key)).to.equal(false);
      expect(isStrongPublicKey(PUB)).to.equal(true);
    });
  }
  it('libsodium and verifyStrict agree on mutated mixed-order signatures', async () => {
    const key = mixedOrderKey(SEED);
    const sig = signForMixedOrderKey(msg, SEED);
    for (const bit of [0, 7, 200, 255, 256, 300, 511]) {
      const bad = withBit(sig, bit);
      expect(verifyStrict(bad, msg, key), `bit ${bit}`).to.equal(await libsodiumVerifies(bad, msg, key));
    }
  });
});

describe('ed25519: our strict checks, with OpenSSL made to accept everything', () => {
  const msg = utf8('countersign strict checks');
  const sig = signMessage(msg, SEED);

  it('the permissive stub is effective (a wrong signature passes through it)', () => {
    expect(verifyStrict(withBit(sig, 300), msg, PUB)).to.equal(false);
    expect(withPermissiveOpenSSL(() => verifyStrict(withBit(sig, 300), msg, PUB))).to.equal(true);
  });
  it('rejects S + L (still < 2^253): fails if the S < L check is removed', () => {
    const s = leToBigint(sig.subarray(32));
    expect(s + L < 1n << 253n).to.equal(true);
    const malleated = new Uint8Array([...sig.subarray(0, 32), ...bigintTo32LE(s + L)]);
    expect(verifyStrict(malleated, msg, PUB)).to.equal(false);
    expect(withPermissiveOpenSSL(() => verifyStrict(malleated, msg, PUB))).to.equal(false);
    // S = L - 1 is the largest S that passes our own check.
    const edge = new Uint8Array([...sig.subarray(0, 32), ...bigintTo32LE(L - 1n)]);
    expect(withPermissiveOpenSSL(() => verifyStrict(edge, msg, PUB))).to.equal(true);
  });
  for (const [name, hexes] of [
    ['canonical', SMALL_ORDER_ENCODINGS.map(toHex)],
    ['non-canonical', NON_CANONICAL_SMALL_ORDER],
  ] as const) {
    it(`rejects every ${name} small-order R`, () => {
      for (const r of hexes) {
        const forged = new Uint8Array([...fromHex(r), ...sig.subarray(32)]);
        expect(
          withPermissiveOpenSSL(() => verifyStrict(forged, msg, PUB)),
          r,
        ).to.equal(false);
      }
    });
  }
  it('rejects small-order and non-canonical public keys', () => {
    for (const pk of [...SMALL_ORDER_ENCODINGS, ...NON_CANONICAL_SMALL_ORDER.map((h) => fromHex(h))]) {
      expect(
        withPermissiveOpenSSL(() => verifyStrict(sig, msg, pk)),
        toHex(pk),
      ).to.equal(false);
    }
  });
});

describe('ed25519: platform assumption, OpenSSL compares R byte-exactly (cofactorless)', () => {
  // Build signatures with [S]B - [k]A = identity exactly: S = k·a mod L, for R spelled as the
  // canonical identity (0100..00) and as y = p + 1 (a non-canonical identity).
  const a = (() => {
    const h = crypto.createHash('sha512').update(SEED).digest();
    h[0]! &= 248;
    h[31]! &= 127;
    h[31]! |= 64;
    return leToBigint(h.subarray(0, 32));
  })();
  const msg = utf8('identity R');
  const forge = (r: Uint8Array): Uint8Array => {
    const k = leToBigint(crypto.createHash('sha512').update(r).update(PUB).update(msg).digest()) % L;
    return new Uint8Array([...r, ...bigintTo32LE((k * a) % L)]);
  };
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(PUB).toString('base64url') }, format: 'jwk' });

  it('OpenSSL accepts canonical small-order R (so our own R check is needed)', () => {
    const sig = forge(fromHex('0100000000000000000000000000000000000000000000000000000000000000'));
    expect(crypto.verify(null, msg, key, sig)).to.equal(true);
    expect(verifyStrict(sig, msg, PUB)).to.equal(false);
  });
  it('OpenSSL rejects a non-canonical spelling of the same R', () => {
    const sig = forge(fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'));
    expect(crypto.verify(null, msg, key, sig)).to.equal(false);
    expect(verifyStrict(sig, msg, PUB)).to.equal(false);
  });
});

describe('ed25519: API', () => {
  it('verifyStrict never throws on wrong lengths or types', () => {
    const sig = signMessage(utf8('x'), SEED);
    expect(verifyStrict(sig, utf8('x'), PUB)).to.equal(true);
    expect(verifyStrict(sig.subarray(0, 63), utf8('x'), PUB)).to.equal(false);
    expect(verifyStrict(new Uint8Array([...sig, 0]), utf8('x'), PUB)).to.equal(false);
    expect(verifyStrict(sig, utf8('x'), PUB.subarray(1))).to.equal(false);
    expect(verifyStrict(sig, 'x' as unknown as Uint8Array, PUB)).to.equal(false);
    expect(verifyStrict(null as unknown as Uint8Array, utf8('x'), PUB)).to.equal(false);
  });
  it('accepts subarray views (non-zero byteOffset)', () => {
    const sig = signMessage(utf8('view'), SEED);
    const buf = new Uint8Array([7, ...PUB, ...sig, 9]);
    expect(verifyStrict(buf.subarray(33, 97), utf8('view'), buf.subarray(1, 33))).to.equal(true);
    expect(isStrongPublicKey(buf.subarray(1, 33))).to.equal(true);
  });
  it('generateSeed gives 32 fresh bytes that sign and verify', () => {
    const s1 = generateSeed();
    const s2 = generateSeed();
    expect(s1).to.be.instanceOf(Uint8Array).with.length(32);
    expect(toHex(s1)).to.not.equal(toHex(s2));
    const pub = publicKeyFromSeed(s1);
    expect(isStrongPublicKey(pub)).to.equal(true);
    const msg = utf8('round trip');
    expect(verifyStrict(signMessage(msg, s1), msg, pub)).to.equal(true);
    expect(verifyStrict(signMessage(msg, s1), msg, publicKeyFromSeed(s2))).to.equal(false);
  });
  it('signing is deterministic', () => {
    expect(toHex(signMessage(utf8('same'), SEED))).to.equal(toHex(signMessage(utf8('same'), SEED)));
  });
  it('wrong-length seeds throw KeyError KEY_FORMAT', () => {
    expect(() => signMessage(utf8('x'), SEED.subarray(1)))
      .to.throw()
      .with.property('code', 'KEY_FORMAT');
    expect(() => publicKeyFromSeed(new Uint8Array(64)))
      .to.throw()
      .with.property('code', 'KEY_FORMAT');
  });
  it('keyId is the lower-case hex SHA-256 of the raw key', () => {
    expect(keyId(PUB)).to.equal('21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9');
  });
});
