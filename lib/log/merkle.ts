// RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, proofs and their verification. Pure: hashes come from a
// `hashAt(level, index)` callback (an in-memory tree, tiles, a database), so a proof can be built by a sequencer
// and checked offline by a site with the same code.
//
// Sizes and indexes are JavaScript numbers up to 2^53 - 1, halved with arithmetic (never 32-bit `>>`), so a log
// past 2^32 entries is handled like any other.
import { createHash } from 'node:crypto';
import { bytesEqual } from '../core/bytes.js';
import { LogError } from './errors.js';

export const HASH_BYTES = 32;

/** The hash of the complete subtree of 2^level leaves starting at leaf index * 2^level. */
export type HashAt = (level: number, index: number) => Uint8Array;

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, entry);
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** MTH({}) = SHA-256(""). */
export function emptyRoot(): Uint8Array {
  return sha256();
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new LogError('BAD_PROOF', `${what} ${n} is not an integer in [0, 2^53)`);
}

/** The largest power of two strictly below n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}

/** log2 of a power of two. */
function levelOf(width: number): number {
  return Math.round(Math.log2(width));
}

/**
 * MTH(D[start:end]) from complete-subtree hashes: a complete aligned subtree is one `hashAt`, anything else splits
 * at the largest power of two (RFC 6962 §2.1), so the ranges asked for are always aligned.
 */
export function subtreeHash(start: number, end: number, hashAt: HashAt): Uint8Array {
  const n = end - start;
  if (n === 0) return emptyRoot();
  if (isPowerOfTwo(n) && start % n === 0) return hashAt(levelOf(n), start / n);
  const k = splitPoint(n);
  return nodeHash(subtreeHash(start, start + k, hashAt), subtreeHash(start + k, end, hashAt));
}

/** MTH of a list of leaf hashes (tests, small trees). */
export function rootOf(leafHashes: readonly Uint8Array[]): Uint8Array {
  return subtreeHash(0, leafHashes.length, memoryHashAt(leafHashes));
}

/** A `hashAt` over leaf hashes held in memory (computes each requested complete subtree). */
export function memoryHashAt(leafHashes: readonly Uint8Array[]): HashAt {
  const at: HashAt = (level, index) => {
    if (level === 0) {
      const h = leafHashes[index];
      if (h === undefined) throw new RangeError(`no leaf ${index}`);
      return h;
    }
    return nodeHash(at(level - 1, 2 * index), at(level - 1, 2 * index + 1));
  };
  return at;
}

/** PATH(m, D[start:end]) of RFC 6962 §2.1.1, leaf's sibling first. */
function path(m: number, start: number, end: number, hashAt: HashAt): Uint8Array[] {
  const n = end - start;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m - start < k) return [...path(m, start, start + k, hashAt), subtreeHash(start + k, end, hashAt)];
  return [...path(m, start + k, end, hashAt), subtreeHash(start, start + k, hashAt)];
}

/** The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1). */
export function inclusionProof(index: number, size: number, hashAt: HashAt): Uint8Array[] {
  checkSize(size, 'tree size');
  checkSize(index, 'leaf index');
  if (index >= size) throw new LogError('BAD_PROOF', `leaf index ${index} is not below tree size ${size}`);
  return path(index, 0, size, hashAt);
}

/** SUBPROOF(m, D[start:end], b) of RFC 6962 §2.1.2. */
function subproof(m: number, start: number, end: number, complete: boolean, hashAt: HashAt): Uint8Array[] {
  const n = end - start;
  if (m === n) return complete ? [] : [subtreeHash(start, end, hashAt)];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(m, start, start + k, complete, hashAt), subtreeHash(start + k, end, hashAt)];
  return [...subproof(m - k, start + k, end, false, hashAt), subtreeHash(start, start + k, hashAt)];
}

/** The consistency proof from the tree of `m` leaves to the tree of `n` leaves, 0 < m <= n (RFC 6962 §2.1.2). */
export function consistencyProof(m: number, n: number, hashAt: HashAt): Uint8Array[] {
  checkSize(m, 'first size');
  checkSize(n, 'second size');
  if (m === 0 || m > n) throw new LogError('LOG_INCONSISTENT', `no consistency proof from size ${m} to size ${n}`);
  return subproof(m, 0, n, true, hashAt);
}

function isHash(h: Uint8Array): boolean {
  return h instanceof Uint8Array && h.length === HASH_BYTES;
}

const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * RFC 9162 §2.1.3.2. Throws LogError BAD_PROOF unless `proof` proves `leaf` is at `index` in the tree of `size`
 * leaves whose root is `root`. Every hash must be 32 bytes.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): void {
  const fail = (why: string): never => {
    throw new LogError('BAD_PROOF', `inclusion proof of leaf ${index} in tree size ${size} does not verify: ${why}`, { index, size });
  };
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(index) || index < 0 || size < 0) fail('index or size out of range');
  if (index >= size) fail('the index is not below the size');
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) fail('a hash is not 32 bytes');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) fail('the proof is too long');
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      // Levels where the node is the right edge's last, with no sibling, are skipped (RFC 9162 step 4b).
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('the proof is too short');
  if (!bytesEqual(r, root)) fail('the computed root differs');
}

/**
 * RFC 9162 §2.1.4.2. Throws LogError LOG_INCONSISTENT unless `proof` shows the tree of size `m` with root `rootM`
 * is a prefix of the tree of size `n` with root `rootN`. As transparency-dev/merkle, m = 0 is refused (a proof from
 * the empty tree proves nothing; callers treat an empty tree as consistent with everything) and m = n needs an
 * empty proof and equal roots.
 */
export function verifyConsistency(m: number, n: number, rootM: Uint8Array, rootN: Uint8Array, proof: readonly Uint8Array[]): void {
  const fail = (why: string): never => {
    throw new LogError('LOG_INCONSISTENT', `the tree of size ${m} is not shown to be a prefix of the tree of size ${n}: ${why}`, { m, n });
  };
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0) fail('size out of range');
  if (m > n) fail('the first size is larger');
  if (m === 0) fail('a proof from the empty tree proves nothing');
  if (!isHash(rootM) || !isHash(rootN) || !proof.every(isHash)) fail('a hash is not 32 bytes');
  if (m === n) {
    if (proof.length !== 0) fail('equal sizes take an empty proof');
    if (!bytesEqual(rootM, rootN)) fail('same size, different roots');
    return;
  }
  if (proof.length === 0) fail('the proof is empty');
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) fail('the proof is too long');
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('the proof is too short');
  if (!bytesEqual(fr, rootM)) fail('the first root differs');
  if (!bytesEqual(sr, rootN)) fail('the second root differs');
}

/** A hash the tree holds: the complete subtree at (level, index). */
export interface TreeNode {
  level: number;
  index: number;
  hash: Uint8Array;
}

/**
 * The right edge of a growing tree (a compact range, as Tessera and Sunlight keep): the roots of the complete
 * subtrees, largest first, one per set bit of the size. Enough to append and to compute the root, never the old
 * leaves; a sequencer restarts from (size, hashes).
 */
export class TreeEdge {
  #size: number;
  readonly #hashes: Uint8Array[];

  constructor(size = 0, hashes: readonly Uint8Array[] = []) {
    checkSize(size, 'tree size');
    let bits = 0;
    for (let s = size; s > 0; s = half(s)) if (odd(s)) bits++;
    if (hashes.length !== bits || !hashes.every(isHash)) throw new LogError('BAD_PROOF', `a right edge of size ${size} has ${bits} hashes of 32 bytes`);
    this.#size = size;
    this.#hashes = [...hashes];
  }

  /** The edge persisted as (size, hashes), e.g. in a database row: restarting is O(log n). */
  static fromHashes(size: number, hashes: readonly Uint8Array[]): TreeEdge {
    return new TreeEdge(size, hashes);
  }

  get size(): number {
    return this.#size;
  }

  /** The complete-subtree roots, largest (leftmost) first. */
  get hashes(): readonly Uint8Array[] {
    return [...this.#hashes];
  }

  /** Appends a leaf hash; returns every complete subtree this append finished (the leaf first, then upwards). */
  append(leaf: Uint8Array): TreeNode[] {
    if (!isHash(leaf)) throw new LogError('BAD_PROOF', 'a leaf hash is 32 bytes');
    const index = this.#size;
    const made: TreeNode[] = [{ level: 0, index, hash: leaf }];
    let h = leaf;
    let level = 0;
    for (let s = index; odd(s); s = half(s)) {
      h = nodeHash(this.#hashes.pop()!, h);
      level++;
      made.push({ level, index: Math.floor(index / 2 ** level), hash: h });
    }
    this.#hashes.push(h);
    this.#size = index + 1;
    return made;
  }

  /** MTH of the tree so far. */
  root(): Uint8Array {
    if (this.#hashes.length === 0) return emptyRoot();
    let r = this.#hashes[this.#hashes.length - 1]!;
    for (let i = this.#hashes.length - 2; i >= 0; i--) r = nodeHash(this.#hashes[i]!, r);
    return r;
  }
}

/** The (level, index) of every complete subtree `build` reads through its HashAt: what a tile reader must fetch. */
export function nodesRead(build: (hashAt: HashAt) => unknown): Array<{ level: number; index: number }> {
  const seen = new Map<string, { level: number; index: number }>();
  build((level, index) => {
    seen.set(`${level}/${index}`, { level, index });
    return new Uint8Array(HASH_BYTES);
  });
  return [...seen.values()];
}
