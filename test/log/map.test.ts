import { expect } from 'chai';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  decodeMapProof,
  encodeMapProof,
  MAP_KEY_BYTES,
  mapKey,
  mapLeafHash,
  mapNodeHash,
  SparseMap,
  verifyMapProof,
  type MapProof,
} from '../../lib/log/map.js';
import { codeOf } from '../support/codes.js';

const VECTORS = fileURLToPath(new URL('../vectors/map/', import.meta.url));
const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ZERO = new Uint8Array(32);
/** Deterministic keys and values (seeded by name). */
const keyOf = (seed: string, i: number): Uint8Array => sha256(utf8(`${seed}/${i}`));
const valueOf = (i: number, salt = 0): Uint8Array => utf8(JSON.stringify({ index: i, salt }));
const bitOf = (k: Uint8Array, i: number): number => (k[i >> 3]! >> (7 - (i & 7))) & 1;

/** The map's hash by its definition, from scratch (no caching, no crit-bit tree). */
function referenceRoot(entries: [Uint8Array, Uint8Array][], depth = 0): Uint8Array {
  if (entries.length === 0) return ZERO;
  if (entries.length === 1) return sha256(new Uint8Array([2]), entries[0]![0], sha256(entries[0]![1]));
  const left = entries.filter(([k]) => !bitOf(k, depth));
  const right = entries.filter(([k]) => bitOf(k, depth));
  return sha256(new Uint8Array([3]), referenceRoot(left, depth + 1), referenceRoot(right, depth + 1));
}

function mapOf(entries: [Uint8Array, Uint8Array][]): SparseMap {
  const m = new SparseMap();
  for (const [k, v] of entries) m.set(k, v);
  return m;
}

function entriesOf(seed: string, n: number): [Uint8Array, Uint8Array][] {
  return Array.from({ length: n }, (_, i) => [keyOf(seed, i), valueOf(i)]);
}

const refused = (root: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: MapProof): string =>
  codeOf(() => verifyMapProof(root, key, value, proof));

function flipped(b: Uint8Array, bit: number): Uint8Array {
  const out = new Uint8Array(b);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

/** A key that shares exactly the first `bits` bits with k. */
function neighbour(k: Uint8Array, bits: number): Uint8Array {
  return flipped(k, bits);
}

describe('state map (lib/log/map.ts)', () => {
  it('mapKey is SHA-256 of the JSON text of the path', () => {
    expect(MAP_KEY_BYTES).to.equal(32);
    const path = ['provider', 'wordpress.org/plugins/x'];
    expect(hex(mapKey(path))).to.equal(hex(sha256(utf8('["provider","wordpress.org/plugins/x"]'))));
    expect(hex(mapKey(['a', 'b']))).to.not.equal(hex(mapKey(['a,b'])));
  });

  it('hashes a leaf as SHA-256(0x02 ‖ key ‖ SHA-256(value)) and a node as SHA-256(0x03 ‖ left ‖ right)', () => {
    const k = keyOf('h', 0);
    const v = valueOf(0);
    expect(hex(mapLeafHash(k, sha256(v)))).to.equal(hex(sha256(new Uint8Array([2]), k, sha256(v))));
    const r = keyOf('h', 1);
    expect(hex(mapNodeHash(k, r))).to.equal(hex(sha256(new Uint8Array([3]), k, r)));
    expect(hex(mapOf([[k, v]]).root())).to.equal(hex(sha256(new Uint8Array([2]), k, sha256(v))));
  });

  for (const n of [0, 1, 2, 3, 100, 1000]) {
    it(`proves presence and absence in a map of ${n} records, and its root is the map's definition`, () => {
      const entries = entriesOf(`size${n}`, n);
      const m = mapOf(entries);
      const root = m.root();
      expect(m.size).to.equal(n);
      expect(hex(root)).to.equal(hex(referenceRoot(entries)));
      for (const [k, v] of entries) {
        expect(hex(m.get(k)!)).to.equal(hex(v));
        const p = decodeMapProof(encodeMapProof(m.prove(k)));
        expect(p.other).to.equal(undefined);
        verifyMapProof(root, k, v, p);
        expect(refused(root, k, undefined, p), 'a presence proof read as absence').to.equal('BAD_MAP_PROOF');
        expect(refused(root, k, valueOf(-1), p), 'another value').to.equal('BAD_MAP_PROOF');
      }
      // absent keys: random ones, and neighbours sharing long prefixes with present keys (deep, with another leaf)
      const absent = [
        ...Array.from({ length: 100 }, (_, i) => keyOf(`absent${n}`, i)),
        ...entries.slice(0, 50).map(([k], i) => neighbour(k, 5 + ((i * 37) % 250))),
      ];
      let withOther = 0;
      for (const k of absent) {
        expect(m.get(k)).to.equal(undefined);
        const p = decodeMapProof(encodeMapProof(m.prove(k)));
        if (p.other) withOther++;
        verifyMapProof(root, k, undefined, p);
        expect(refused(root, k, valueOf(0), p), 'an absence proof read as presence').to.equal('BAD_MAP_PROOF');
      }
      if (n > 0) expect(withOther).to.be.greaterThan(0);
    });
  }

  it('the empty map: root 32 zero bytes, every key absent with an empty proof, nothing present', () => {
    const m = new SparseMap();
    const k = keyOf('empty', 0);
    expect(hex(m.root())).to.equal(hex(ZERO));
    expect(m.prove(k)).to.deep.equal({ siblings: [] });
    verifyMapProof(ZERO, k, undefined, m.prove(k));
    expect(refused(ZERO, k, new Uint8Array(0), m.prove(k))).to.equal('BAD_MAP_PROOF');
    expect(hex(encodeMapProof(m.prove(k)))).to.equal('000000');
  });

  describe('every tamper is refused', () => {
    const entries = entriesOf('tamper', 300);
    const m = mapOf(entries);
    const root = m.root();
    const [k, v] = entries[17]!;
    const absentEmpty = Array.from({ length: 50 }, (_, i) => keyOf('tamper-absent', i)).find((x) => !m.prove(x).other)!;
    const absentOther = neighbour(k, 200);
    const cases: [string, Uint8Array, Uint8Array | undefined][] = [
      ['presence', k, v],
      ['absence (empty subtree)', absentEmpty, undefined],
      ['absence (another leaf)', absentOther, undefined],
    ];
    for (const [name, key, value] of cases) {
      it(`${name}: every bit of every sibling, of the key, the value, the root and the other leaf`, () => {
        const p = m.prove(key);
        verifyMapProof(root, key, value, p);
        expect(p.siblings.length).to.be.greaterThan(0);
        if (name.includes('another')) expect(p.other).to.not.equal(undefined);
        for (let j = 0; j < p.siblings.length; j++)
          for (let bit = 0; bit < 256; bit++) {
            const siblings = p.siblings.slice();
            siblings[j] = flipped(siblings[j]!, bit);
            expect(refused(root, key, value, { ...p, siblings }), `sibling ${j} bit ${bit}`).to.equal('BAD_MAP_PROOF');
          }
        for (let bit = 0; bit < 256; bit++) {
          // an absence proof also shows absent every key with the same first d bits (another in the same empty place)
          const same = value === undefined && bit >= p.siblings.length && hex(flipped(key, bit)) !== hex(p.other?.key ?? ZERO);
          if (same) verifyMapProof(root, flipped(key, bit), value, p);
          else expect(refused(root, flipped(key, bit), value, p), `key bit ${bit}`).to.equal('BAD_MAP_PROOF');
          expect(refused(flipped(root, bit), key, value, p), `root bit ${bit}`).to.equal('BAD_MAP_PROOF');
          if (p.other) {
            expect(refused(root, key, value, { ...p, other: { ...p.other, key: flipped(p.other.key, bit) } }), `other key bit ${bit}`).to.equal(
              'BAD_MAP_PROOF',
            );
            expect(refused(root, key, value, { ...p, other: { ...p.other, valueHash: flipped(p.other.valueHash, bit) } }), `value hash bit ${bit}`).to.equal(
              'BAD_MAP_PROOF',
            );
          }
        }
        if (value)
          for (let bit = 0; bit < value.length * 8; bit++) expect(refused(root, key, flipped(value, bit), p), `value bit ${bit}`).to.equal('BAD_MAP_PROOF');
        expect(refused(root, key, value, { siblings: p.siblings.slice(1), other: p.other }), 'a level dropped').to.equal('BAD_MAP_PROOF');
        expect(refused(root, key, value, { siblings: [...p.siblings, keyOf('x', 1)], other: p.other }), 'a level added').to.equal('BAD_MAP_PROOF');
      });
    }

    it('a proof of absence for a present key, and of presence for an absent key', () => {
      expect(refused(root, k, undefined, m.prove(k))).to.equal('BAD_MAP_PROOF');
      expect(refused(root, k, undefined, m.prove(absentOther))).to.equal('BAD_MAP_PROOF');
      expect(refused(root, absentOther, v, m.prove(absentOther))).to.equal('BAD_MAP_PROOF');
      expect(refused(root, absentOther, v, m.prove(k))).to.equal('BAD_MAP_PROOF');
    });

    it('a present key claimed absent by naming its own leaf as the other leaf', () => {
      const p = m.prove(k);
      expect(refused(root, k, undefined, { siblings: p.siblings, other: { key: k, valueHash: sha256(v) } })).to.equal('BAD_MAP_PROOF');
    });

    it('a presence proof that also carries an other leaf', () => {
      const p = m.prove(k);
      expect(refused(root, k, v, { ...p, other: m.prove(absentOther).other! })).to.equal('BAD_MAP_PROOF');
    });

    it('a proof from another map', () => {
      const other = mapOf([...entries.slice(0, 299), [keyOf('tamper', 299), valueOf(299, 1)]]);
      expect(refused(root, k, v, other.prove(k))).to.equal('BAD_MAP_PROOF');
      expect(refused(other.root(), k, v, m.prove(k))).to.equal('BAD_MAP_PROOF');
      expect(refused(root, absentEmpty, undefined, mapOf(entries.slice(0, 150)).prove(absentEmpty))).to.equal('BAD_MAP_PROOF');
    });
  });

  describe('structural rules (each proof below hashes to its hand-built root)', () => {
    const k = keyOf('struct', 0);
    const v = valueOf(0);
    const mine = bitOf(k, 0);
    const pair = (a: Uint8Array, b: Uint8Array): Uint8Array => (mine ? mapNodeHash(b, a) : mapNodeHash(a, b));

    it("refuses absence shown by a leaf whose key is off the key's path", () => {
      const far = neighbour(k, 0);
      const s = keyOf('struct', 1);
      const root = pair(mapLeafHash(far, sha256(v)), s);
      expect(refused(root, k, undefined, { siblings: [s], other: { key: far, valueHash: sha256(v) } })).to.equal('BAD_MAP_PROOF');
      // the same leaf one level up, where it shares the (empty) prefix, is a valid proof of absence
      verifyMapProof(mapLeafHash(far, sha256(v)), k, undefined, { siblings: [], other: { key: far, valueHash: sha256(v) } });
    });

    it('refuses a proof whose deepest sibling is empty (a lone leaf hashed below where it is alone)', () => {
      const leaf = mapLeafHash(k, sha256(v));
      expect(refused(pair(leaf, ZERO), k, v, { siblings: [ZERO] })).to.equal('BAD_MAP_PROOF');
      expect(refused(pair(ZERO, ZERO), k, undefined, { siblings: [ZERO] })).to.equal('BAD_MAP_PROOF');
      // an empty sibling above a non-empty one is fine
      const s = keyOf('struct', 2);
      const deep = bitOf(k, 1) ? mapNodeHash(s, leaf) : mapNodeHash(leaf, s);
      verifyMapProof(pair(deep, ZERO), k, v, { siblings: [ZERO, s] });
    });

    it('refuses a node read as a leaf (leaf and node prefixes differ)', () => {
      const a = keyOf('struct', 3);
      const b = keyOf('struct', 4);
      expect(refused(mapNodeHash(a, b), k, undefined, { siblings: [], other: { key: a, valueHash: b } })).to.equal('BAD_MAP_PROOF');
      verifyMapProof(mapLeafHash(a, b), k, undefined, { siblings: [], other: { key: a, valueHash: b } });
    });

    it('refuses more than 256 levels, in a proof and in an encoding', () => {
      const siblings = Array.from({ length: 257 }, (_, i) => keyOf('deep', i));
      expect(codeOf(() => encodeMapProof({ siblings }))).to.equal('BAD_MAP_PROOF');
      expect(refused(ZERO, k, undefined, { siblings })).to.equal('BAD_MAP_PROOF');
      const bytes = new Uint8Array([0, 1, 1, ...new Uint8Array(33).fill(0xff).map((x, i) => (i === 32 ? 0x80 : x)), ...siblings.flatMap((s) => [...s])]);
      expect(codeOf(() => decodeMapProof(bytes))).to.equal('BAD_MAP_PROOF');
      // 256 levels is the most a proof holds, and encodes
      const p256 = { siblings: siblings.slice(0, 256) };
      expect(decodeMapProof(encodeMapProof(p256)).siblings.length).to.equal(256);
    });

    it('refuses hashes and keys that are not 32 bytes', () => {
      const p = { siblings: [keyOf('s', 0)] };
      expect(refused(ZERO, k.subarray(0, 31), undefined, p)).to.equal('BAD_MAP_PROOF');
      expect(refused(ZERO.subarray(0, 31), k, undefined, p)).to.equal('BAD_MAP_PROOF');
      expect(refused(ZERO, k, undefined, { siblings: [new Uint8Array(33).fill(1)] })).to.equal('BAD_MAP_PROOF');
      expect(refused(ZERO, k, undefined, { siblings: [], other: { key: k.subarray(1), valueHash: k } })).to.equal('BAD_MAP_PROOF');
    });
  });

  describe('encoding: one byte string per proof', () => {
    const entries = entriesOf('enc', 200);
    const m = mapOf(entries);
    const proofs = [m.prove(entries[3]![0]), m.prove(keyOf('enc-absent', 0)), m.prove(neighbour(entries[5]![0], 100)), new SparseMap().prove(keyOf('e', 0))];

    it('round-trips, and decode then encode gives back the same bytes', () => {
      for (const p of proofs) {
        const bytes = encodeMapProof(p);
        const back = decodeMapProof(bytes);
        expect(back).to.deep.equal(p);
        expect(hex(encodeMapProof(back))).to.equal(hex(bytes));
      }
    });

    it('refuses every truncation and every extension', () => {
      for (const p of proofs) {
        const bytes = encodeMapProof(p);
        for (let n = 0; n < bytes.length; n++)
          expect(
            codeOf(() => decodeMapProof(bytes.subarray(0, n))),
            `truncated to ${n}`,
          ).to.equal('BAD_MAP_PROOF');
        expect(codeOf(() => decodeMapProof(new Uint8Array([...bytes, 0])))).to.equal('BAD_MAP_PROOF');
        expect(codeOf(() => decodeMapProof(new Uint8Array([...bytes, ...new Uint8Array(32)])))).to.equal('BAD_MAP_PROOF');
      }
    });

    it('refuses an unknown kind, bitmap bits past the depth, an empty sibling spelled in full, an empty deepest sibling', () => {
      const bytes = encodeMapProof(proofs[0]!);
      expect(codeOf(() => decodeMapProof(new Uint8Array([2, ...bytes.subarray(1)])))).to.equal('BAD_MAP_PROOF');
      expect(
        codeOf(() => decodeMapProof(new Uint8Array([2, ...bytes.subarray(1), ...new Uint8Array(128)]))),
        'kind 2, lengths adding up',
      ).to.equal('BAD_MAP_PROOF');
      expect(codeOf(() => decodeMapProof(new Uint8Array([1, ...bytes.subarray(1)])))).to.equal('BAD_MAP_PROOF');
      // [kind 0, depth 2, bitmap 01000000, the one non-empty sibling]
      const s = keyOf('s', 0);
      expect(hex(encodeMapProof({ siblings: [ZERO, s] }))).to.equal(`00000240${hex(s)}`);
      decodeMapProof(new Uint8Array([0, 0, 2, 0x40, ...s]));
      // a bitmap bit past the depth: a second spelling of the same proof
      expect(codeOf(() => decodeMapProof(new Uint8Array([0, 0, 2, 0x60, ...s])))).to.equal('BAD_MAP_PROOF');
      expect(codeOf(() => decodeMapProof(new Uint8Array([0, 0, 2, 0x41, ...s])))).to.equal('BAD_MAP_PROOF');
      expect(codeOf(() => decodeMapProof(new Uint8Array([0, 0, 2, 0xc0, ...ZERO, ...s])))).to.equal('BAD_MAP_PROOF');
      expect(codeOf(() => decodeMapProof(new Uint8Array([0, 0, 2, 0x80, ...s])))).to.equal('BAD_MAP_PROOF');
      expect(codeOf(() => encodeMapProof({ siblings: [s, ZERO] }))).to.equal('BAD_MAP_PROOF');
    });
  });

  it('hands out plain Uint8Arrays of its own (no Buffer views into its state or the caller bytes)', () => {
    const entries = entriesOf('plain', 20);
    const m = mapOf(entries);
    const absent = neighbour(entries[0]![0], 100);
    const outputs = [m.root(), mapKey(['a']), mapLeafHash(ZERO, ZERO), mapNodeHash(ZERO, ZERO), m.get(entries[1]![0])!];
    for (const p of [m.prove(entries[0]![0]), m.prove(absent)]) outputs.push(...p.siblings, ...(p.other ? [p.other.key, p.other.valueHash] : []));
    const encoded = Buffer.from(encodeMapProof(m.prove(absent)));
    const decoded = decodeMapProof(encoded);
    outputs.push(...decoded.siblings, decoded.other!.key, decoded.other!.valueHash);
    for (const o of outputs) expect(Buffer.isBuffer(o)).to.equal(false);
    encoded.fill(0);
    verifyMapProof(m.root(), absent, undefined, decoded);
  });

  describe('updates', () => {
    it('deleting restores the previous root, and a missing key is a no-op', () => {
      const entries = entriesOf('del', 500);
      const m = mapOf(entries.slice(0, 400));
      const before = m.root();
      for (const [k, v] of entries.slice(400)) m.set(k, v);
      expect(m.size).to.equal(500);
      expect(hex(m.root())).to.not.equal(hex(before));
      for (const [k] of entries.slice(400)) m.set(k, undefined);
      expect(m.size).to.equal(400);
      expect(hex(m.root())).to.equal(hex(before));
      m.set(keyOf('del-missing', 0), undefined);
      expect(m.size).to.equal(400);
      expect(hex(m.root())).to.equal(hex(before));
      for (const [k] of entries.slice(0, 400)) m.set(k, undefined);
      expect(m.size).to.equal(0);
      expect(hex(m.root())).to.equal(hex(ZERO));
    });

    it('the root does not depend on the order of inserts, updates and deletes (seeded property)', () => {
      const ops = fc.array(fc.record({ key: fc.nat(40), value: fc.option(fc.nat(5), { nil: undefined }), prefix: fc.boolean() }), { maxLength: 120 });
      fc.assert(
        fc.property(ops, fc.infiniteStream(fc.nat()), (list, shuffle) => {
          // keys 0..40, half of them sharing a 12-bit prefix so that runs of single-child levels occur
          const key = (i: number, prefix: boolean): Uint8Array => {
            const k = keyOf('order', i);
            if (prefix) ((k[0] = 0xab), (k[1] = k[1]! & 0x0f));
            return k;
          };
          const m = new SparseMap();
          const last = new Map<string, [Uint8Array, Uint8Array]>();
          for (const op of list) {
            const k = key(op.key, op.prefix);
            const v = op.value === undefined ? undefined : valueOf(op.value, op.key);
            m.set(k, v);
            if (v) last.set(hex(k), [k, v]);
            else last.delete(hex(k));
            m.root(); // interleave hashing with updates
          }
          const final = [...last.values()];
          const it = shuffle[Symbol.iterator]();
          const shuffled = final.map((e) => [it.next().value as number, e] as const).sort((a, b) => a[0] - b[0]);
          const other = mapOf(shuffled.map(([, e]) => e));
          expect(hex(m.root())).to.equal(hex(other.root()));
          expect(hex(m.root())).to.equal(hex(referenceRoot(final)));
          expect(m.size).to.equal(final.length);
          for (const [k, v] of final) expect(hex(m.get(k)!)).to.equal(hex(v));
          const clone = m.clone();
          clone.set(keyOf('order', 99), valueOf(1));
          expect(hex(m.root())).to.equal(hex(referenceRoot(final)));
        }),
        { seed: 13, numRuns: 200 },
      );
    });

    it('keeps its own copy of values: changing the caller bytes or what get returns changes nothing', () => {
      const m = new SparseMap();
      const k = keyOf('copy', 0);
      const v = valueOf(0);
      m.set(k, v);
      const root = m.root();
      v[0] = 0;
      m.get(k)![0] = 0;
      expect(hex(m.get(k)!)).to.equal(hex(valueOf(0)));
      expect(hex(m.root())).to.equal(hex(root));
    });

    it('replaces a large value by a small one when the value pool is full (the old value is not kept)', () => {
      const m = new SparseMap();
      const k = keyOf('big', 0);
      m.set(k, new Uint8Array(1000).fill(7));
      m.set(k, new Uint8Array(100).fill(8));
      expect(hex(m.get(k)!)).to.equal(hex(new Uint8Array(100).fill(8)));
    });

    it('keeps values intact across many overwrites (the value pool is compacted)', () => {
      const entries = entriesOf('pool', 50);
      const m = mapOf(entries);
      for (let round = 1; round <= 40; round++) for (const [k] of entries.slice(0, 25)) m.set(k, valueOf(round, round));
      for (const [k, v] of entries.slice(25)) expect(hex(m.get(k)!)).to.equal(hex(v));
      for (const [k] of entries.slice(0, 25)) expect(hex(m.get(k)!)).to.equal(hex(valueOf(40, 40)));
    });
  });

  describe('vectors (test/vectors/map)', () => {
    for (const file of readdirSync(VECTORS).filter((f) => f.endsWith('.json'))) {
      const v = JSON.parse(readFileSync(`${VECTORS}${file}`, 'utf8')) as {
        id: string;
        comment: string;
        records?: { path: string[]; key: string; value: string }[];
        keys?: { path: string[]; key: string }[];
        root: string;
        proofs: { comment: string; key: string; value: string | null; proof: string; expect: 'valid' | 'invalid' }[];
      };
      const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
      if (v.records)
        it(`${v.id}: ${v.comment}: the root`, () => {
          const m = new SparseMap();
          for (const r of v.records!) {
            expect(hex(mapKey(r.path))).to.equal(r.key);
            m.set(bytes(r.key), bytes(r.value));
          }
          expect(hex(m.root())).to.equal(v.root);
        });
      for (const k of v.keys ?? []) it(`${v.id}: ${JSON.stringify(k.path)}`, () => expect(hex(mapKey(k.path))).to.equal(k.key));
      for (const p of v.proofs)
        it(`${v.id}: ${p.comment} (${p.expect})`, () => {
          const check = (): void =>
            verifyMapProof(
              bytes(v.root),
              bytes(p.key),
              p.value === null ? undefined : bytes(p.value),
              decodeMapProof(new Uint8Array(Buffer.from(p.proof, 'base64'))),
            );
          if (p.expect === 'valid') check();
          else expect(codeOf(check)).to.equal('BAD_MAP_PROOF');
        });
    }
  });
});
