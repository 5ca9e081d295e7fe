// Verification step 7 (spec/verification.md, spec/bundle.md "Archive verification"): the archive is exactly the one
// the manifest describes. Pure: the caller supplies the bytes (lib/node/file-chunks.ts reads a file range fast).
// Chunks are hashed as given (views, never copied) and never kept, so reused read buffers are fine.
//
// Format 2 manifests (archive.mtime): the archive is rebuilt from the manifest while it streams. Our writer is
// deterministic, so the add/modify ops in path byte order and the mtime fix every byte but the contents: each
// header must be, byte for byte, the block encodeHeader writes for its op; each entry's content is hashed once
// against the op's SHA-256; each padding must be zero; the end marker must be two zero blocks at exactly the
// declared size. Together these fix every archive byte (up to SHA-256 of the contents), so the archive's own
// digest is implied: it is recomputed only with `checkDigest` (the default, kept by sign and assemble so the
// SHA-256 mirrors check is right), and verifyBundle turns it off. That is one hashing pass over the archive.
//
// Format 1 manifests (archive.sha512, no mtime): the entries' mtime is not signed, so the archive digests are what
// bind the headers. SHA-256 and SHA-512 of the whole archive are checked, the tar is parsed strictly
// (lib/core/tar.ts TarReader) and each entry compared with its op, as before format 2.
//
// Which error wins (the thrown ArchiveError's code is the first reason; `details.reasons` lists
// every reason found, at most MAX_REASONS of them):
// 0. Before any byte is read: op paths breaking the path rules as a set → UNSAFE_PATH; more
//    add/modify ops than maxEntries → SIZE_LIMIT. The manifest itself is unusable.
// 1. More bytes than expected.size → DIGEST_MISMATCH at once ("archive longer than declared"); the
//    rest of the stream is not pulled. The declared size is a signed fact, and a hostile mirror must
//    not be able to make us read without bound. Fewer → DIGEST_MISMATCH at the end.
// 2. Digests that were computed (format 1 always; format 2 with checkDigest) and differ → DIGEST_MISMATCH,
//    the headline: the bytes are not the signed bytes, and the problems below follow as further reasons.
// 3. A structural problem: ARCHIVE_MALFORMED, UNSAFE_PATH, SIZE_LIMIT. Format 1: the tar reader's first.
//    Format 2: the first block that is not the rebuilt one, diagnosed by parsing it (tar.ts parseHeader): a
//    header that does not parse → its tar code; a path the manifest does not install → ENTRY_EXTRA; the op's
//    own path with another size, mode or mtime → ENTRY_MISMATCH; a later op's path → ENTRY_MISSING (the
//    expected entry was skipped); a path seen already, exactly or after case folding → UNSAFE_PATH; a zero
//    block → ENTRY_MISSING for every op left. Nothing after the first such block is interpreted, and unless a
//    digest is still being computed the rest of the stream is not pulled.
// 4. Entry comparison, in this order of precedence: ENTRY_EXTRA (content nobody signed off, or a
//    file the manifest deletes), ENTRY_MISMATCH (size, SHA-256, mode or mtime differ from the op),
//    ENTRY_MISSING (an add/modify op without entry). In format 2 a content SHA-256 that differs does not stop
//    the walk, so every such entry is reported.
// Duplicate entry paths, exact or after case folding, are UNSAFE_PATH, never ENTRY_EXTRA.
import { createHash, type Hash } from 'node:crypto';
import { ArchiveError, FormatError, type ArchiveCode, type Reason, toReason } from './errors.js';
import type { AddOp, ArchiveRef, FileOp, ModifyOp } from './manifest.js';
import { checkPathSet, PathSet, sortByPathBytes } from './paths.js';
import { BLOCK_SIZE, DEFAULT_MAX_ENTRIES, encodeHeader, paddingOf, parseHeader, TAR_MAX_NUMBER, TarReader, type TarHeader } from './tar.js';

export interface ArchiveLimits {
  /** Most entries (and add/modify ops) accepted. Default 100,000. */
  maxEntries?: number;
  /**
   * Format 2: also hash the whole archive against `archive.sha256` (default true). The rebuilt layout already
   * fixes every byte, so verifyBundle passes false; writers and signers keep it, so the digest a mirror checks
   * is right. Format 1 always checks both digests.
   */
  checkDigest?: boolean;
}

/** Reasons carried in an error's details; the count of all reasons is always given. */
export const MAX_REASONS = 100;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const RANK: Record<ArchiveCode, number> = {
  DIGEST_MISMATCH: 0,
  ARCHIVE_MALFORMED: 1,
  UNSAFE_PATH: 1,
  SIZE_LIMIT: 1,
  ENTRY_EXTRA: 2,
  ENTRY_MISMATCH: 3,
  ENTRY_MISSING: 4,
};
const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

type WantedOp = AddOp | ModifyOp;

function reason(code: ArchiveCode, message: string, details?: Record<string, unknown>): Reason {
  return details === undefined ? { code, message } : { code, message, details };
}

function fail(reasons: Reason[]): never {
  const sorted = reasons
    .map((r, i) => ({ r, i }))
    .sort((a, b) => RANK[a.r.code as ArchiveCode] - RANK[b.r.code as ArchiveCode] || a.i - b.i)
    .map((x) => x.r);
  const first = sorted[0]!;
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more: ${[...new Set(sorted.slice(1).map((r) => r.code))].join(', ')})` : '';
  throw new ArchiveError(first.code as ArchiveCode, first.message + more, {
    ...first.details,
    reasons: sorted.slice(0, MAX_REASONS),
    reasonCount: sorted.length,
  });
}

function checkRef(expected: ArchiveRef): void {
  if (!Number.isSafeInteger(expected.size) || expected.size < 0) throw new FormatError('MALFORMED', 'archive size is not a non-negative integer');
  if (!HEX64.test(expected.sha256)) throw new FormatError('MALFORMED', 'archive sha256 is not 64 lower-case hex digits');
  if ('mtime' in expected) {
    if (!Number.isSafeInteger(expected.mtime) || expected.mtime < 0 || expected.mtime > TAR_MAX_NUMBER) {
      throw new FormatError('MALFORMED', `archive mtime is not an integer in [0, ${TAR_MAX_NUMBER}]`);
    }
  } else if (!HEX128.test(expected.sha512)) {
    throw new FormatError('MALFORMED', 'archive sha512 is not 128 lower-case hex digits');
  }
}

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function mismatch(op: WantedOp, differ: string[], actual: Record<string, unknown>, expected: Record<string, unknown> = {}): Reason {
  return reason('ENTRY_MISMATCH', `archive entry ${JSON.stringify(op.path)} differs from its ${op.op} op: ${differ.join(', ')}`, {
    path: op.path,
    expected: { size: op.size, sha256: op.sha256, mode: op.mode, ...expected },
    actual,
  });
}

function missing(op: WantedOp): Reason {
  return reason('ENTRY_MISSING', `no archive entry for ${op.op} op ${JSON.stringify(op.path)}`, { path: op.path });
}

function extra(path: string, deleted: ReadonlySet<string>): Reason {
  const why = deleted.has(path) ? 'the manifest deletes this file' : 'not in the manifest';
  return reason('ENTRY_EXTRA', `archive entry ${JSON.stringify(path)}: ${why}`, { path });
}

/** The structure check of one archive format: fed every chunk in order, then asked what it found. */
interface ArchiveCheck {
  /** False once nothing after this chunk can change the verdict (the walk has stopped). */
  push(chunk: Uint8Array): boolean;
  /** The input is over; returns every reason found (empty: the structure is exactly as expected). */
  end(): Reason[];
}

/**
 * Format 2: walks the archive the manifest implies (header, content, padding per op in path byte order, then
 * the end marker) and compares each block with the one rebuilt from the manifest.
 */
class RebuiltArchive implements ArchiveCheck {
  private readonly entries: WantedOp[];
  private index = 0;
  private phase: 'header' | 'data' | 'padding' | 'end' | 'done' = 'header';
  /** Bytes left in the current content or padding; end-marker blocks left in phase 'end'. */
  private remaining = 0;
  private hash: Hash | null = null;
  /** The current op's header (rebuilt when its turn comes, so memory does not grow with the entry count), or an end block. */
  private expected: Uint8Array = ZERO_BLOCK;
  /** A header or end block split across chunks. */
  private readonly block = new Uint8Array(BLOCK_SIZE);
  private fill = 0;
  private offset = 0;
  private stopped = false;
  private readonly reasons: Reason[] = [];

  constructor(
    wanted: ReadonlyMap<string, WantedOp>,
    private readonly deleted: ReadonlySet<string>,
    private readonly mtime: number,
  ) {
    this.entries = sortByPathBytes(wanted.values());
    this.startEntry();
  }

  push(chunk: Uint8Array): boolean {
    const length = chunk.length;
    let at = 0;
    while (at < length && !this.stopped) {
      if (this.phase === 'data') {
        const n = Math.min(this.remaining, length - at);
        this.hash!.update(n === length ? chunk : chunk.subarray(at, at + n));
        at += n;
        this.offset += n;
        this.remaining -= n;
        if (this.remaining === 0) this.endContent();
      } else if (this.phase === 'padding') {
        const n = Math.min(this.remaining, length - at);
        if (!allZero(chunk.subarray(at, at + n))) {
          const op = this.entries[this.index]!;
          return this.stop(
            reason('ARCHIVE_MALFORMED', `archive entry ${JSON.stringify(op.path)}: padding after the content is not zero`, { offset: this.offset }),
          );
        }
        at += n;
        this.offset += n;
        this.remaining -= n;
        if (this.remaining === 0) this.nextEntry();
      } else if (this.phase === 'done') {
        return this.stop(reason('ARCHIVE_MALFORMED', `data after the end-of-archive marker (at byte ${this.offset})`, { offset: this.offset }));
      } else {
        let block: Uint8Array;
        if (this.fill === 0 && length - at >= BLOCK_SIZE) {
          block = chunk.subarray(at, at + BLOCK_SIZE);
          at += BLOCK_SIZE;
        } else {
          const n = Math.min(BLOCK_SIZE - this.fill, length - at);
          this.block.set(chunk.subarray(at, at + n), this.fill);
          this.fill += n;
          at += n;
          if (this.fill < BLOCK_SIZE) break;
          this.fill = 0;
          block = this.block;
        }
        this.onBlock(block);
        this.offset += BLOCK_SIZE;
      }
    }
    return !this.stopped;
  }

  end(): Reason[] {
    if (!this.stopped && this.phase !== 'done') {
      const op = this.entries[this.index];
      const where = this.phase === 'end' ? 'in the end-of-archive marker' : `at archive entry ${JSON.stringify(op!.path)}`;
      this.reasons.push(reason('ARCHIVE_MALFORMED', `archive truncated ${where} (byte ${this.offset + this.fill})`, { offset: this.offset + this.fill }));
    }
    return this.reasons;
  }

  private stop(found: Reason | Reason[]): false {
    this.reasons.push(...(Array.isArray(found) ? found : [found]));
    this.stopped = true;
    return false;
  }

  private startEntry(): void {
    const op = this.entries[this.index];
    if (op === undefined) {
      this.phase = 'end';
      this.remaining = 2;
      this.expected = ZERO_BLOCK;
      return;
    }
    this.phase = 'header';
    try {
      this.expected = encodeHeader({ path: op.path, mode: op.mode, size: op.size, mtime: this.mtime });
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      this.stop(toReason(err));
    }
  }

  private onBlock(block: Uint8Array): void {
    if (!sameBytes(block, this.expected)) {
      this.stop(this.phase === 'end' && this.remaining === 1 ? this.badEnd() : this.diagnose(block));
      return;
    }
    if (this.phase === 'end') {
      if (--this.remaining === 0) this.phase = 'done';
      return;
    }
    const op = this.entries[this.index]!;
    this.hash = createHash('sha256');
    this.remaining = op.size;
    this.phase = 'data';
    if (op.size === 0) this.endContent();
  }

  private endContent(): void {
    const op = this.entries[this.index]!;
    const sha256 = this.hash!.digest('hex');
    this.hash = null;
    if (sha256 !== op.sha256) this.reasons.push(mismatch(op, ['SHA-256'], { size: op.size, sha256, mode: op.mode }));
    this.remaining = paddingOf(op.size);
    if (this.remaining > 0) this.phase = 'padding';
    else this.nextEntry();
  }

  private nextEntry(): void {
    this.index++;
    this.startEntry();
  }

  private badEnd(): Reason {
    return reason('ARCHIVE_MALFORMED', `the second end-of-archive block (at byte ${this.offset}) is not zero`, { offset: this.offset });
  }

  /** Why a block is not the rebuilt one: parse it as the tar reader would, and compare what it says with the manifest. */
  private diagnose(block: Uint8Array): Reason | Reason[] {
    const op = this.entries[this.index];
    if (op !== undefined && allZero(block)) return this.entries.slice(this.index).map(missing);
    let header: TarHeader;
    try {
      header = parseHeader(block, this.index);
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      return { ...toReason(err), details: { ...err.details, offset: this.offset } };
    }
    if (op !== undefined && header.path === op.path) {
      const differ: string[] = [];
      if (header.size !== op.size) differ.push(`size ${header.size} ≠ ${op.size}`);
      if (header.mode !== op.mode) differ.push(`mode ${header.mode} ≠ ${op.mode}`);
      if (header.mtime !== this.mtime) differ.push(`mtime ${header.mtime} ≠ ${this.mtime}`);
      // Unreachable while parseHeader insists on the canonical encoding of what it parsed; kept so a change there fails closed.
      if (differ.length === 0) return reason('ARCHIVE_MALFORMED', `archive entry ${JSON.stringify(op.path)}: header is not the one rebuilt from the manifest`);
      return mismatch(op, differ, { size: header.size, mode: header.mode, mtime: header.mtime }, { mtime: this.mtime });
    }
    try {
      const seen = new PathSet();
      for (const e of this.entries.slice(0, this.index)) seen.add(e.path);
      seen.add(header.path);
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      return toReason(err);
    }
    // Not seen yet: either a path the manifest does not install, or a later op's (so this op's entry was skipped).
    if (op === undefined || !this.entries.some((e) => e.path === header.path)) return extra(header.path, this.deleted);
    return missing(op);
  }
}

/** Format 1: the strict tar reader, then every entry compared with its op (the headers' mtime is bound by the digests). */
class ParsedArchive implements ArchiveCheck {
  private readonly seen: Array<{ header: TarHeader; sha256: string | null }> = [];
  private entryHash: Hash | null = null;
  private readonly reader: TarReader;
  private tarError: ArchiveError | null = null;

  constructor(
    private readonly wanted: ReadonlyMap<string, WantedOp>,
    private readonly deleted: ReadonlySet<string>,
    maxEntries: number,
  ) {
    this.reader = new TarReader(
      {
        onEntryStart: (header) => {
          this.entryHash = wanted.has(header.path) ? createHash('sha256') : null;
        },
        onEntryData: (data) => {
          this.entryHash?.update(data);
        },
        onEntryEnd: (header) => {
          this.seen.push({ header, sha256: this.entryHash === null ? null : this.entryHash.digest('hex') });
          this.entryHash = null;
        },
      },
      { maxEntries },
    );
  }

  push(chunk: Uint8Array): boolean {
    if (this.tarError === null) this.parse(() => this.reader.push(chunk));
    return this.tarError === null;
  }

  end(): Reason[] {
    if (this.tarError === null) this.parse(() => this.reader.end());
    if (this.tarError !== null) return [toReason(this.tarError)];
    const reasons: Reason[] = [];
    const found = new Set<string>();
    for (const { header, sha256 } of this.seen) {
      const op = this.wanted.get(header.path);
      if (op === undefined) {
        reasons.push(extra(header.path, this.deleted));
        continue;
      }
      found.add(header.path);
      const differ: string[] = [];
      if (header.size !== op.size) differ.push(`size ${header.size} ≠ ${op.size}`);
      if (sha256 !== op.sha256) differ.push('SHA-256');
      if (header.mode !== op.mode) differ.push(`mode ${header.mode} ≠ ${op.mode}`);
      if (differ.length > 0) reasons.push(mismatch(op, differ, { size: header.size, sha256, mode: header.mode }));
    }
    for (const [path, op] of this.wanted) if (!found.has(path)) reasons.push(missing(op));
    return reasons;
  }

  private parse(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      this.tarError = err;
    }
  }
}

/**
 * Resolves when the streamed archive is byte-for-byte the one `expected` describes and holds
 * exactly the files the add/modify ops promise; otherwise throws ArchiveError (see the order of
 * precedence at the top of this file). Consumes each chunk before pulling the next.
 */
export async function verifyArchiveStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  expected: ArchiveRef,
  ops: readonly FileOp[],
  limits: ArchiveLimits = {},
): Promise<void> {
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  checkRef(expected);
  checkPathSet(ops.map((op) => op.path));
  const wanted = new Map<string, WantedOp>();
  const deleted = new Set<string>();
  for (const op of ops) {
    if (op.op === 'delete') deleted.add(op.path);
    else wanted.set(op.path, op);
  }
  if (wanted.size > maxEntries) {
    throw new ArchiveError('SIZE_LIMIT', `manifest lists ${wanted.size} files to install, more than the limit of ${maxEntries}`, { maxEntries });
  }

  const rebuilt = 'mtime' in expected;
  const check: ArchiveCheck = rebuilt ? new RebuiltArchive(wanted, deleted, expected.mtime) : new ParsedArchive(wanted, deleted, maxEntries);
  const digests: Array<{ name: string; hash: Hash; expected: string }> = [];
  if (!rebuilt || (limits.checkDigest ?? true)) digests.push({ name: 'SHA-256', hash: createHash('sha256'), expected: expected.sha256 });
  if (!rebuilt) digests.push({ name: 'SHA-512', hash: createHash('sha512'), expected: expected.sha512 });

  let total = 0;
  let walking = true;
  for await (const chunk of chunks) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('archive chunks must be Uint8Array (a string chunk would be hashed as text)');
    if (chunk.length === 0) continue;
    total += chunk.length;
    if (total > expected.size) {
      // Leaving the loop by throwing calls the iterator's return(): nothing more is pulled.
      fail([
        reason('DIGEST_MISMATCH', `archive longer than declared (more than ${expected.size} bytes)`, { expectedSize: expected.size, bytesRead: total }),
        ...(walking ? [] : check.end()),
      ]);
    }
    for (const d of digests) d.hash.update(chunk);
    if (walking) walking = check.push(chunk);
    // Nothing left to learn from the rest: stop pulling it (the iterator's return() runs).
    if (!walking && digests.length === 0) break;
  }

  const reasons: Reason[] = [];
  if (walking || digests.length > 0) {
    if (total < expected.size) {
      reasons.push(
        reason('DIGEST_MISMATCH', `archive shorter than declared (${total} of ${expected.size} bytes)`, { expectedSize: expected.size, bytesRead: total }),
      );
    } else {
      const actual = digests.map((d) => ({ ...d, actual: d.hash.digest('hex') }));
      const differ = actual.filter((d) => d.actual !== d.expected);
      if (differ.length > 0) {
        reasons.push(
          reason('DIGEST_MISMATCH', `archive ${differ.map((d) => d.name).join(' and ')} differ from the manifest`, {
            expected: Object.fromEntries(actual.map((d) => [d.name.replace('-', '').toLowerCase(), d.expected])),
            actual: Object.fromEntries(actual.map((d) => [d.name.replace('-', '').toLowerCase(), d.actual])),
          }),
        );
      }
    }
  }
  reasons.push(...check.end());
  if (reasons.length > 0) fail(reasons);
}
