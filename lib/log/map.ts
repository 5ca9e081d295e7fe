// The log's verifiable state: a sparse Merkle map from 32-byte keys to byte values, with proofs of presence and of
// absence (spec/log.md "State map"). Pure: bytes in, a root, a proof, or LogError('BAD_MAP_PROOF') out.
//
// The tree is the full binary tree of depth 256 over the key bits, most significant bit of key[0] first: bit j of the
// key picks the child at depth j (0 left, 1 right). Hashes (SHA-256; prefixes 0x02/0x03, distinct from RFC 6962's):
//   empty subtree                      = 32 zero bytes
//   a subtree holding exactly one leaf = leaf(key, value) = SHA-256(0x02 ‖ key ‖ SHA-256(value))   (at any depth)
//   any other subtree                  = SHA-256(0x03 ‖ hash(left) ‖ hash(right))
// So a leaf sits at the shallowest depth where it is alone (compact, as Diem's Jellyfish Merkle tree), and a proof
// for key K holds the siblings of K's path from the root down to depth d, where K's subtree is empty or one leaf:
//   presence: that leaf is K's                               (no `other`)
//   absence:  the subtree is empty                           (no `other`), or
//             it is another key's leaf (`other`: its key and value hash), whose key shares K's first d bits.
// The deepest sibling of a proof with d > 0 is never empty (its parent would hold at most one leaf and be that leaf).
//
// In memory the map is a crit-bit (Patricia) tree held in typed arrays: an internal node per branching, each caching
// its hash at its own depth (the single-child levels above it are hashed when its parent is); set() marks the path
// dirty and root() rehashes only dirty nodes, so k updates cost O(k log n) hashes.
import { hash } from 'node:crypto';
import { LogError } from './errors.js';

export const MAP_KEY_BYTES = 32;
const HASH_BYTES = 32;
/** Key bits: the deepest a leaf or a proof can go. */
export const MAP_MAX_DEPTH = 256;

/** Siblings root-down, one per level down to the depth where the key's subtree is empty or one leaf; an empty
 * sibling is 32 zero bytes (the encoding turns it into a bitmap bit). `other`: absence shown by another leaf there. */
export interface MapProof {
  siblings: Uint8Array[];
  other?: { key: Uint8Array; valueHash: Uint8Array };
}

const ZERO = new Uint8Array(HASH_BYTES);
const LEAF_PREFIX = 0x02;
const NODE_PREFIX = 0x03;
const scratch = Buffer.alloc(1 + 2 * HASH_BYTES);

// One-shot node:crypto hash: a createHash object per node was a third of the build time.
function sha256(data: Uint8Array): Uint8Array {
  return hash('sha256', data, 'buffer');
}

function hash3(prefix: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== HASH_BYTES || b.length !== HASH_BYTES) throw new RangeError('map hashes and keys are 32 bytes');
  scratch[0] = prefix;
  scratch.set(a, 1);
  scratch.set(b, 1 + HASH_BYTES);
  return hash('sha256', scratch, 'buffer');
}

const leafHash = (key: Uint8Array, valueHash: Uint8Array): Uint8Array => hash3(LEAF_PREFIX, key, valueHash);
const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => hash3(NODE_PREFIX, left, right);

// What this module hands out is a plain Uint8Array of its own (node:crypto gives Buffers, whose slice() is a view).
const own = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** SHA-256(0x02 ‖ key ‖ valueHash), valueHash = SHA-256(value). */
export function mapLeafHash(key: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return own(leafHash(key, valueHash));
}

/** SHA-256(0x03 ‖ left ‖ right). */
export function mapNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return own(nodeHash(left, right));
}

/** The key of a record: SHA-256(utf8(JSON.stringify(path))). */
export function mapKey(path: readonly string[]): Uint8Array {
  if (!Array.isArray(path) || !path.every((p) => typeof p === 'string')) throw new TypeError('a map path is an array of strings');
  return own(sha256(new TextEncoder().encode(JSON.stringify(path))));
}

function bitOf(bytes: Uint8Array, offset: number, i: number): number {
  return (bytes[offset + (i >> 3)]! >> (7 - (i & 7))) & 1;
}

/** The first bit where a (at aOff) and b (at bOff) differ, or -1 when the 32 bytes are equal. */
function firstDiff(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < MAP_KEY_BYTES; i++) {
    const x = a[aOff + i]! ^ b[bOff + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return -1;
}

function isZero(h: Uint8Array): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

function equal32(a: Uint8Array, b: Uint8Array): boolean {
  return firstDiff(a, 0, b, 0) < 0;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== MAP_KEY_BYTES) throw new RangeError(`a map key is ${MAP_KEY_BYTES} bytes`);
}

function grow<T extends Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  (b as Uint8Array).set(a);
  return b;
}

// A node reference: an internal node i is i (>= 0), a leaf j is ~j (< 0).
const NO_ROOT = 0x7fffffff;

export class SparseMap {
  // internal nodes: crit bit, children, own hash (at depth bit), hash valid
  #bit = new Uint16Array(16);
  #left = new Int32Array(16);
  #right = new Int32Array(16);
  #hash = new Uint8Array(16 * HASH_BYTES);
  #clean = new Uint8Array(16);
  #nodes = 0;
  #freeNodes: number[] = [];
  // leaves: key, leaf hash, value (bytes [offset, offset + length) of #bytes; one pool, not an array per value)
  #keys = new Uint8Array(16 * MAP_KEY_BYTES);
  #leafHash = new Uint8Array(16 * HASH_BYTES);
  #offset = new Float64Array(16);
  #length = new Uint32Array(16);
  #leaves = 0;
  #freeLeaves: number[] = [];
  #bytes = new Uint8Array(1024);
  #used = 0;
  #live = 0;
  #root = NO_ROOT;
  #size = 0;
  readonly #path = new Int32Array(MAP_MAX_DEPTH + 1);

  get size(): number {
    return this.#size;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    const leaf = this.#find(key);
    return leaf < 0 ? undefined : this.#value(leaf).slice();
  }

  /** Sets key to a copy of value; undefined deletes it. */
  set(key: Uint8Array, value: Uint8Array | undefined): void {
    checkKey(key);
    if (value === undefined) return this.#delete(key);
    if (!(value instanceof Uint8Array)) throw new TypeError('a map value is bytes');
    if (this.#root === NO_ROOT) {
      this.#root = ~this.#newLeaf(key, value);
      this.#size = 1;
      return;
    }
    let r = this.#root;
    while (r >= 0) r = bitOf(key, 0, this.#bit[r]!) ? this.#right[r]! : this.#left[r]!;
    const found = ~r;
    const c = firstDiff(key, 0, this.#keys, found * MAP_KEY_BYTES);
    if (c < 0) {
      this.#setLeaf(found, key, value);
      this.#dirty(key, MAP_MAX_DEPTH);
      return;
    }
    const leaf = ~this.#newLeaf(key, value);
    let parent = -1;
    let side = 0;
    r = this.#root;
    while (r >= 0 && this.#bit[r]! < c) {
      this.#clean[r] = 0;
      parent = r;
      side = bitOf(key, 0, this.#bit[r]!);
      r = side ? this.#right[r]! : this.#left[r]!;
    }
    const n = this.#newNode();
    this.#bit[n] = c;
    if (bitOf(key, 0, c)) ((this.#left[n] = r), (this.#right[n] = leaf));
    else ((this.#left[n] = leaf), (this.#right[n] = r));
    if (parent < 0) this.#root = n;
    else if (side) this.#right[parent] = n;
    else this.#left[parent] = n;
    this.#size++;
  }

  /** The map's root hash (32 zero bytes when empty). */
  root(): Uint8Array {
    if (this.#root === NO_ROOT) return ZERO.slice();
    return own(this.#at(this.#root, 0));
  }

  /** A proof that key holds its value, or that it is absent. */
  prove(key: Uint8Array): MapProof {
    checkKey(key);
    const siblings: Uint8Array[] = [];
    if (this.#root === NO_ROOT) return { siblings };
    let r = this.#root;
    let depth = 0;
    while (r >= 0) {
      const b = this.#bit[r]!;
      if (depth < b) {
        const rep = this.#anyKey(r);
        for (; depth < b; depth++) {
          if (bitOf(key, 0, depth) !== bitOf(this.#keys, rep, depth)) {
            siblings.push(own(this.#at(r, depth + 1)));
            return { siblings };
          }
          siblings.push(ZERO.slice());
        }
      }
      const right = bitOf(key, 0, b);
      siblings.push(own(this.#at(right ? this.#left[r]! : this.#right[r]!, b + 1)));
      r = right ? this.#right[r]! : this.#left[r]!;
      depth = b + 1;
    }
    const leaf = ~r;
    const off = leaf * MAP_KEY_BYTES;
    if (firstDiff(key, 0, this.#keys, off) < 0) return { siblings };
    return { siblings, other: { key: this.#keys.slice(off, off + MAP_KEY_BYTES), valueHash: own(sha256(this.#value(leaf))) } };
  }

  /** An independent copy (O(n) memory copy, no hashing). */
  clone(): SparseMap {
    const m = new SparseMap();
    m.#bit = this.#bit.slice();
    m.#left = this.#left.slice();
    m.#right = this.#right.slice();
    m.#hash = this.#hash.slice();
    m.#clean = this.#clean.slice();
    m.#nodes = this.#nodes;
    m.#freeNodes = this.#freeNodes.slice();
    m.#keys = this.#keys.slice();
    m.#leafHash = this.#leafHash.slice();
    m.#offset = this.#offset.slice();
    m.#length = this.#length.slice();
    m.#leaves = this.#leaves;
    m.#freeLeaves = this.#freeLeaves.slice();
    m.#bytes = this.#bytes.slice(0, Math.max(this.#used, 1024));
    m.#used = this.#used;
    m.#live = this.#live;
    m.#root = this.#root;
    m.#size = this.#size;
    return m;
  }

  #find(key: Uint8Array): number {
    if (this.#root === NO_ROOT) return -1;
    let r = this.#root;
    while (r >= 0) r = bitOf(key, 0, this.#bit[r]!) ? this.#right[r]! : this.#left[r]!;
    return firstDiff(key, 0, this.#keys, ~r * MAP_KEY_BYTES) < 0 ? ~r : -1;
  }

  /** Marks the internal nodes on key's path above depth `below` as needing a new hash. */
  #dirty(key: Uint8Array, below: number): void {
    let r = this.#root;
    while (r >= 0 && this.#bit[r]! < below) {
      this.#clean[r] = 0;
      r = bitOf(key, 0, this.#bit[r]!) ? this.#right[r]! : this.#left[r]!;
    }
  }

  #delete(key: Uint8Array): void {
    if (this.#root === NO_ROOT) return;
    const path = this.#path;
    let depth = 0;
    let r = this.#root;
    while (r >= 0) {
      path[depth++] = r;
      r = bitOf(key, 0, this.#bit[r]!) ? this.#right[r]! : this.#left[r]!;
    }
    const leaf = ~r;
    if (firstDiff(key, 0, this.#keys, leaf * MAP_KEY_BYTES) >= 0) return;
    this.#freeLeaf(leaf);
    this.#size--;
    if (depth === 0) {
      this.#root = NO_ROOT;
      return;
    }
    const p = path[depth - 1]!;
    const sibling = this.#left[p] === r ? this.#right[p]! : this.#left[p]!;
    this.#freeNodes.push(p);
    if (depth === 1) {
      this.#root = sibling;
      return;
    }
    const gp = path[depth - 2]!;
    if (this.#left[gp] === p) this.#left[gp] = sibling;
    else this.#right[gp] = sibling;
    for (let i = 0; i < depth - 1; i++) this.#clean[path[i]!] = 0;
  }

  /** The hash of subtree r seen as the subtree at `depth` (at most r's own depth): a leaf is its leaf hash at any
   * depth; an internal node's hash is extended upward through the empty levels between `depth` and its bit. */
  #at(r: number, depth: number): Uint8Array {
    if (r < 0) return this.#leafHash.subarray(~r * HASH_BYTES, ~r * HASH_BYTES + HASH_BYTES);
    const b = this.#bit[r]!;
    let h = this.#own(r);
    if (depth < b) {
      const rep = this.#anyKey(r);
      for (let j = b - 1; j >= depth; j--) h = bitOf(this.#keys, rep, j) ? nodeHash(ZERO, h) : nodeHash(h, ZERO);
    }
    return h;
  }

  #own(r: number): Uint8Array {
    const off = r * HASH_BYTES;
    if (!this.#clean[r]) {
      const b = this.#bit[r]! + 1;
      this.#hash.set(nodeHash(this.#at(this.#left[r]!, b), this.#at(this.#right[r]!, b)), off);
      this.#clean[r] = 1;
    }
    return this.#hash.subarray(off, off + HASH_BYTES);
  }

  /** The offset in #keys of some key under r (all keys under r share their bits above r's crit bit). */
  #anyKey(r: number): number {
    while (r >= 0) r = this.#left[r]!;
    return ~r * MAP_KEY_BYTES;
  }

  #newNode(): number {
    const n = this.#freeNodes.pop() ?? this.#nodes++;
    if (n >= this.#bit.length) {
      const cap = this.#bit.length * 2;
      this.#bit = grow(this.#bit, cap);
      this.#left = grow(this.#left, cap);
      this.#right = grow(this.#right, cap);
      this.#clean = grow(this.#clean, cap);
      this.#hash = grow(this.#hash, cap * HASH_BYTES);
    }
    this.#clean[n] = 0;
    return n;
  }

  #newLeaf(key: Uint8Array, value: Uint8Array): number {
    const leaf = this.#freeLeaves.pop() ?? this.#leaves++;
    if (leaf >= this.#length.length) {
      const cap = this.#length.length * 2;
      this.#keys = grow(this.#keys, cap * MAP_KEY_BYTES);
      this.#leafHash = grow(this.#leafHash, cap * HASH_BYTES);
      this.#offset = grow(this.#offset, cap);
      this.#length = grow(this.#length, cap);
    }
    this.#length[leaf] = 0;
    this.#setLeaf(leaf, key, value);
    return leaf;
  }

  #setLeaf(leaf: number, key: Uint8Array, value: Uint8Array): void {
    this.#keys.set(key, leaf * MAP_KEY_BYTES);
    this.#leafHash.set(leafHash(key, sha256(value)), leaf * HASH_BYTES);
    this.#live -= this.#length[leaf]!;
    this.#length[leaf] = 0;
    if (this.#used + value.length > this.#bytes.length) this.#makeRoom(value.length);
    this.#bytes.set(value, this.#used);
    this.#offset[leaf] = this.#used;
    this.#length[leaf] = value.length;
    this.#used += value.length;
    this.#live += value.length;
  }

  #freeLeaf(leaf: number): void {
    this.#live -= this.#length[leaf]!;
    this.#length[leaf] = 0;
    this.#freeLeaves.push(leaf);
  }

  #value(leaf: number): Uint8Array {
    return this.#bytes.subarray(this.#offset[leaf]!, this.#offset[leaf]! + this.#length[leaf]!);
  }

  /** Room for `more` value bytes: a pool twice the live bytes, with the overwritten and deleted values dropped. */
  #makeRoom(more: number): void {
    const bytes = new Uint8Array(Math.max(1024, 2 * (this.#live + more)));
    let at = 0;
    for (let leaf = 0; leaf < this.#leaves; leaf++) {
      if (this.#length[leaf] === 0) continue;
      bytes.set(this.#value(leaf), at);
      this.#offset[leaf] = at;
      at += this.#length[leaf]!;
    }
    this.#bytes = bytes;
    this.#used = at;
  }
}

function bad(message: string, details?: Record<string, unknown>): never {
  throw new LogError('BAD_MAP_PROOF', message, details);
}

function is32(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_BYTES;
}

/** The structural rules of a proof (any encoding of it): at most 256 siblings of 32 bytes, the deepest not empty. */
function checkShape(proof: MapProof): void {
  if (typeof proof !== 'object' || proof === null || !Array.isArray(proof.siblings)) bad('a map proof has siblings');
  const s = proof.siblings;
  if (s.length > MAP_MAX_DEPTH) bad(`a map proof is at most ${MAP_MAX_DEPTH} levels deep`, { depth: s.length });
  if (!s.every(is32)) bad('a map proof sibling is 32 bytes');
  if (s.length > 0 && isZero(s[s.length - 1]!)) bad('the deepest sibling of a map proof is empty (not minimal)');
  const o = proof.other;
  if (o !== undefined && (typeof o !== 'object' || o === null || !is32(o.key) || !is32(o.valueHash)))
    bad("a map proof's other leaf is a 32-byte key and a 32-byte value hash");
}

/**
 * Checks that `proof` shows key → value under root (value undefined: key absent). Throws LogError('BAD_MAP_PROOF')
 * otherwise.
 */
export function verifyMapProof(root: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: MapProof): void {
  if (!is32(root)) bad('a map root is 32 bytes');
  if (!is32(key)) bad(`a map key is ${MAP_KEY_BYTES} bytes`);
  if (value !== undefined && !(value instanceof Uint8Array)) bad('a map value is bytes');
  checkShape(proof);
  const depth = proof.siblings.length;
  let h: Uint8Array;
  if (value !== undefined) {
    if (proof.other) bad('a proof of presence shows no other leaf');
    h = leafHash(key, sha256(value));
  } else if (proof.other) {
    const at = firstDiff(key, 0, proof.other.key, 0);
    const shared = at < 0 ? MAP_MAX_DEPTH : at; // leading bits the two keys share
    if (at < 0) bad("an absence proof's other leaf is the key itself");
    if (shared < depth) bad("an absence proof's other leaf is not on the key's path", { depth, divergesAt: at });
    h = leafHash(proof.other.key, proof.other.valueHash);
  } else h = ZERO;
  for (let j = depth - 1; j >= 0; j--) {
    const s = proof.siblings[j]!;
    h = bitOf(key, 0, j) ? nodeHash(s, h) : nodeHash(h, s);
  }
  if (!equal32(h, root)) bad(value === undefined ? 'the map proof does not show the key absent' : 'the map proof does not show the key with this value');
}

// Encoding: kind (0x00: no other leaf, 0x01: other leaf follows) ‖ depth (uint16 big-endian, ≤ 256) ‖ bitmap of
// ceil(depth/8) bytes (bit j, most significant first, set iff sibling j is not empty; unused bits zero) ‖ the
// non-empty siblings root-down, 32 bytes each (none all-zero) ‖ [other key ‖ other value hash]. Nothing after.

export function encodeMapProof(proof: MapProof): Uint8Array {
  checkShape(proof);
  const s = proof.siblings;
  const depth = s.length;
  const bitmap = Math.ceil(depth / 8);
  const full = s.filter((h) => !isZero(h));
  const out = new Uint8Array(3 + bitmap + full.length * HASH_BYTES + (proof.other ? 2 * HASH_BYTES : 0));
  out[0] = proof.other ? 1 : 0;
  out[1] = depth >> 8;
  out[2] = depth & 0xff;
  let at = 3 + bitmap;
  for (let j = 0; j < depth; j++) {
    if (isZero(s[j]!)) continue;
    out[3 + (j >> 3)]! |= 0x80 >> (j & 7);
    out.set(s[j]!, at);
    at += HASH_BYTES;
  }
  if (proof.other) {
    out.set(proof.other.key, at);
    out.set(proof.other.valueHash, at + HASH_BYTES);
  }
  return out;
}

export function decodeMapProof(bytes: Uint8Array): MapProof {
  if (!(bytes instanceof Uint8Array) || bytes.length < 3) bad('a map proof is truncated');
  const kind = bytes[0]!;
  if (kind > 1) bad(`unknown map proof kind ${kind}`);
  const depth = (bytes[1]! << 8) | bytes[2]!;
  if (depth > MAP_MAX_DEPTH) bad(`a map proof is at most ${MAP_MAX_DEPTH} levels deep`, { depth });
  const bitmap = Math.ceil(depth / 8);
  if (bytes.length < 3 + bitmap) bad('a map proof is truncated');
  if (depth % 8 !== 0 && (bytes[2 + bitmap]! & (0xff >> (depth % 8))) !== 0) bad("a map proof's bitmap has bits past its depth");
  let full = 0;
  for (let j = 0; j < depth; j++) full += bitOf(bytes, 3, j);
  const length = 3 + bitmap + full * HASH_BYTES + kind * 2 * HASH_BYTES;
  if (bytes.length !== length)
    bad(bytes.length < length ? 'a map proof is truncated' : 'a map proof has trailing bytes', { length: bytes.length, expected: length });
  const siblings: Uint8Array[] = [];
  let at = 3 + bitmap;
  for (let j = 0; j < depth; j++) {
    if (!bitOf(bytes, 3, j)) {
      siblings.push(ZERO.slice());
      continue;
    }
    const h = new Uint8Array(bytes.subarray(at, at + HASH_BYTES));
    if (isZero(h)) bad('a map proof spells an empty sibling in full (not minimal)', { level: j });
    siblings.push(h);
    at += HASH_BYTES;
  }
  const proof: MapProof = { siblings };
  if (kind === 1)
    proof.other = { key: new Uint8Array(bytes.subarray(at, at + HASH_BYTES)), valueHash: new Uint8Array(bytes.subarray(at + HASH_BYTES, at + 2 * HASH_BYTES)) };
  checkShape(proof);
  return proof;
}
