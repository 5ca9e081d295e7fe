// Writes test/vectors/map/*.json: state-map known answers for every implementation (test/log/map.test.ts turns each
// into named tests; the PHP side can check the same). Run: npx tsx test/log/map-vectors.generate.ts
// Each file: {id, comment, records?: [{path, key, value}], keys?: [{path, key}], root, proofs: [{comment, key, value,
// proof, expect}]}; key/value/root hex (value null: absence), proof base64 of encodeMapProof, expect valid|invalid.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeMapProof, mapKey, mapLeafHash, mapNodeHash, SparseMap, type MapProof } from '../../lib/log/map.js';

const DIR = fileURLToPath(new URL('../vectors/map/', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

interface Vector {
  id: string;
  comment: string;
  records?: { path: string[]; key: string; value: string }[];
  keys?: { path: string[]; key: string }[];
  root: string;
  proofs: { comment: string; key: string; value: string | null; proof: string; expect: 'valid' | 'invalid' }[];
}

function build(paths: string[][]): { map: SparseMap; records: NonNullable<Vector['records']> } {
  const map = new SparseMap();
  const records = paths.map((path, i) => {
    const value = utf8(JSON.stringify({ index: i, revoked: null }));
    map.set(mapKey(path), value);
    return { path, key: hex(mapKey(path)), value: hex(value) };
  });
  return { map, records };
}

function proofCase(comment: string, key: Uint8Array, value: Uint8Array | undefined, proof: MapProof | Uint8Array, expect: 'valid' | 'invalid') {
  const bytes = proof instanceof Uint8Array ? proof : encodeMapProof(proof);
  return { comment, key: hex(key), value: value === undefined ? null : hex(value), proof: b64(bytes), expect };
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

const vectors: Vector[] = [];
const release = (i: number): string[] => ['release', 'wordpress.org/plugins/example', 'example', 'plugin', `1.0.${i}`];

{
  const map = new SparseMap();
  const k = mapKey(['root']);
  vectors.push({
    id: 'empty',
    comment: 'the empty map: root is 32 zero bytes; every key is absent with an empty proof',
    records: [],
    root: hex(map.root()),
    proofs: [
      proofCase('absent from the empty map', k, undefined, map.prove(k), 'valid'),
      proofCase('present in the empty map (no)', k, utf8('{}'), map.prove(k), 'invalid'),
    ],
  });
}

{
  const { map, records } = build([['root']]);
  const k = mapKey(['root']);
  const v = new Uint8Array(Buffer.from(records[0]!.value, 'hex'));
  const other = mapKey(['provider', 'drupal/core']);
  vectors.push({
    id: 'one-record',
    comment: 'one record: the root is its leaf hash; proofs have no siblings',
    records,
    root: hex(map.root()),
    proofs: [
      proofCase('present', k, v, map.prove(k), 'valid'),
      proofCase('present with another value', k, utf8('{"index":1,"revoked":null}'), map.prove(k), 'invalid'),
      proofCase('another key absent: the only leaf is in its place', other, undefined, map.prove(other), 'valid'),
      proofCase('the present key claimed absent', k, undefined, map.prove(k), 'invalid'),
      proofCase(
        'the present key claimed absent by naming itself as the other leaf',
        k,
        undefined,
        { siblings: [], other: { key: k, valueHash: sha256(v) } },
        'invalid',
      ),
    ],
  });
}

{
  const paths = [['root'], ['provider', 'wordpress.org/plugins/example'], ...Array.from({ length: 14 }, (_, i) => release(i))];
  const { map, records } = build(paths);
  const proofs: Vector['proofs'] = [];
  for (const r of records) {
    const k = new Uint8Array(Buffer.from(r.key, 'hex'));
    proofs.push(proofCase(`present: ${JSON.stringify(r.path)}`, k, new Uint8Array(Buffer.from(r.value, 'hex')), map.prove(k), 'valid'));
  }
  for (const path of [release(99), ['provider', 'drupal/core'], ['release', '', 'drupal', 'core', '10.0.0']]) {
    const k = mapKey(path);
    const p = map.prove(k);
    proofs.push(proofCase(`absent (${p.other ? 'another leaf' : 'an empty subtree'} in its place): ${JSON.stringify(path)}`, k, undefined, p, 'valid'));
  }
  const k = mapKey(release(3));
  const v = new Uint8Array(Buffer.from(records[5]!.value, 'hex'));
  const good = encodeMapProof(map.prove(k));
  proofs.push(proofCase('a flipped bit in the first sibling', k, v, flip(good, 8 * (3 + Math.ceil(map.prove(k).siblings.length / 8))), 'invalid'));
  proofs.push(proofCase('truncated by one byte', k, v, good.subarray(0, good.length - 1), 'invalid'));
  proofs.push(proofCase('one trailing byte', k, v, new Uint8Array([...good, 0]), 'invalid'));
  proofs.push(proofCase('unknown kind byte', k, v, new Uint8Array([2, ...good.subarray(1)]), 'invalid'));
  proofs.push(proofCase('the value of another record', k, new Uint8Array(Buffer.from(records[6]!.value, 'hex')), good, 'invalid'));
  proofs.push(proofCase('the present key claimed absent', k, undefined, good, 'invalid'));
  const shallow = records.map((r) => new Uint8Array(Buffer.from(r.key, 'hex'))).find((x) => map.prove(x).siblings.length % 8 !== 0)!;
  const sp = encodeMapProof(map.prove(shallow));
  const pad = sp.slice();
  pad[3 + (map.prove(shallow).siblings.length >> 3)]! |= 1;
  const sv = map.get(shallow)!;
  proofs.push(proofCase('the same proof with a bitmap bit set past its depth (a second spelling)', shallow, sv, pad, 'invalid'));
  proofs.push(
    proofCase(
      'kind 2 with the 128 more bytes its length rule would ask',
      shallow,
      sv,
      new Uint8Array([2, ...sp.subarray(1), ...new Uint8Array(128)]),
      'invalid',
    ),
  );
  const absent = mapKey(release(99));
  proofs.push(proofCase('an absent key claimed present', absent, v, map.prove(absent), 'invalid'));
  vectors.push({ id: 'sixteen-records', comment: 'a root record, a provider record and 14 releases', records, root: hex(map.root()), proofs });
}

{
  // Trees no honest map builds, hashed by hand as a lying sequencer could: each proof matches its root by hash and
  // is refused by a structural rule alone.
  const k = mapKey(['root']);
  const v = utf8('{"index":0,"revoked":null}');
  const keyWithBit0 = (bit: number): Uint8Array => {
    for (let i = 0; ; i++) {
      const c = mapKey(['provider', `p${i}/x`]);
      if (c[0]! >> 7 === bit) return c;
    }
  };
  const mine = k[0]! >> 7;
  const far = keyWithBit0(1 - mine);
  const s = sha256(utf8('some subtree'));
  const farLeaf = mapLeafHash(far, sha256(v));
  const offPathRoot = mine ? mapNodeHash(s, farLeaf) : mapNodeHash(farLeaf, s);
  const loneLeaf = mapLeafHash(k, sha256(v));
  const nonMinimalRoot = mine ? mapNodeHash(new Uint8Array(32), loneLeaf) : mapNodeHash(loneLeaf, new Uint8Array(32));
  const a = mapLeafHash(keyWithBit0(0), sha256(v));
  const b = mapLeafHash(keyWithBit0(1), sha256(v));
  vectors.push({
    id: 'malicious-trees',
    comment: 'hand-hashed roots of trees no honest map builds; each proof hashes to its root and is refused by a rule',
    root: hex(offPathRoot),
    proofs: [
      proofCase(
        "absence shown by a leaf whose key is off the key's path (its first bit differs)",
        k,
        undefined,
        { siblings: [s], other: { key: far, valueHash: sha256(v) } },
        'invalid',
      ),
    ],
  });
  vectors.push({
    id: 'non-minimal',
    comment: 'a lone leaf hashed as a node beside an empty subtree: the deepest sibling of a proof is never empty',
    root: hex(nonMinimalRoot),
    proofs: [
      proofCase('presence one level below where the leaf is alone (depth 1, empty sibling)', k, v, new Uint8Array([0, 0, 1, 0]), 'invalid'),
      proofCase('the same with the empty sibling spelled in full', k, v, new Uint8Array([0, 0, 1, 0x80, ...new Uint8Array(32)]), 'invalid'),
    ],
  });
  vectors.push({
    id: 'node-as-leaf',
    comment: 'domain separation: a node (two leaves) read as a leaf whose key and value hash are its children',
    root: hex(mapNodeHash(a, b)),
    proofs: [
      proofCase(
        'absence shown by an "other leaf" made of the root node\'s children',
        k,
        undefined,
        { siblings: [], other: { key: a, valueHash: b } },
        'invalid',
      ),
    ],
  });
}

vectors.push({
  id: 'keys',
  comment: 'mapKey(path) = SHA-256(UTF-8 of JSON.stringify(path)): RFC 8785 for an array of strings ("/" and non-ASCII literal)',
  keys: [
    ['root'],
    ['provider', 'wordpress.org/plugins/wordfence'],
    ['release', '', 'drupal', 'core', '10.2.0'],
    ['release', 'drupal/core', 'x"y\\z', 'é/漢', '\u0001\n'],
  ].map((path) => ({
    path,
    key: hex(mapKey(path)),
  })),
  root: hex(new Uint8Array(32)),
  proofs: [],
});

mkdirSync(DIR, { recursive: true });
for (const v of vectors) writeFileSync(`${DIR}${v.id}.json`, JSON.stringify(v, null, 2) + '\n');
console.log(`wrote ${vectors.length} vectors to ${DIR}`);
