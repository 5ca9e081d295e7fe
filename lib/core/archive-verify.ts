// Verification step 7 (spec/verification.md): the archive is exactly the one the manifest describes.
// Pure: the caller supplies the bytes (lib/node/file-chunks.ts reads a file range fast).
//
// One pass over the bytes does everything: count them, feed SHA-256 and SHA-512 of the whole
// archive, parse the tar (lib/core/tar.ts) and SHA-256 each wanted entry's content. Chunks are hashed
// as given (views, never copied) and never kept, so reused read buffers are fine.
//
// Which error wins (the thrown ArchiveError's code is the first reason; `details.reasons` lists
// every reason found, at most MAX_REASONS of them):
// 0. Before any byte is read: op paths breaking the path rules as a set → UNSAFE_PATH; more
//    add/modify ops than maxEntries → SIZE_LIMIT. The manifest itself is unusable.
// 1. More bytes than expected.size → DIGEST_MISMATCH at once ("archive longer than declared"); the
//    rest of the stream is not pulled. The declared size is a signed fact, and a hostile mirror must
//    not be able to make us read without bound.
// 2. At the end: size, SHA-256, SHA-512 differ → DIGEST_MISMATCH. The digests are what the quorum
//    signed; when the bytes are not the signed bytes that is the headline, and the tar or entry
//    problems below (if any) follow as further reasons.
// 3. A tar problem (ARCHIVE_MALFORMED, UNSAFE_PATH, SIZE_LIMIT from lib/core/tar.ts). Parsing stops at
//    the first one but hashing continues to the end, so rule 2 can still take precedence. Entries
//    are then not compared (a half-parsed archive would only add noise about "missing" entries).
// 4. Entry comparison, in this order of precedence: ENTRY_EXTRA (content nobody signed off, or a
//    file the manifest deletes), ENTRY_MISMATCH (size, SHA-256 or mode differ from the op),
//    ENTRY_MISSING (an add/modify op without entry).
// Duplicate entry paths, exact or after case folding, are UNSAFE_PATH (rule 3), never ENTRY_EXTRA.
import { createHash, type Hash } from 'node:crypto';
import { ArchiveError, FormatError, type ArchiveCode, type Reason, toReason } from './errors.js';
import type { AddOp, ArchiveRef, FileOp, ModifyOp } from './manifest.js';
import { checkPathSet } from './paths.js';
import { DEFAULT_MAX_ENTRIES, TarReader, type TarHeader } from './tar.js';

export interface ArchiveLimits {
  /** Most entries (and add/modify ops) accepted. Default 100,000. */
  maxEntries?: number;
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

interface SeenEntry {
  header: TarHeader;
  sha256: string | null; // null: not wanted, content not hashed
}

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
  if (!HEX128.test(expected.sha512)) throw new FormatError('MALFORMED', 'archive sha512 is not 128 lower-case hex digits');
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
  const wanted = new Map<string, AddOp | ModifyOp>();
  const deleted = new Set<string>();
  for (const op of ops) {
    if (op.op === 'delete') deleted.add(op.path);
    else wanted.set(op.path, op);
  }
  if (wanted.size > maxEntries) {
    throw new ArchiveError('SIZE_LIMIT', `manifest lists ${wanted.size} files to install, more than the limit of ${maxEntries}`, { maxEntries });
  }

  const archive256 = createHash('sha256');
  const archive512 = createHash('sha512');
  let total = 0;
  const seen: SeenEntry[] = [];
  let entryHash: Hash | null = null;
  const reader = new TarReader(
    {
      onEntryStart(header) {
        entryHash = wanted.has(header.path) ? createHash('sha256') : null;
      },
      onEntryData(data) {
        entryHash?.update(data);
      },
      onEntryEnd(header) {
        seen.push({ header, sha256: entryHash === null ? null : entryHash.digest('hex') });
        entryHash = null;
      },
    },
    { maxEntries },
  );
  let tarError: ArchiveError | null = null;
  const parse = (step: () => void) => {
    try {
      step();
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      tarError = err;
    }
  };

  for await (const chunk of chunks) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('archive chunks must be Uint8Array (a string chunk would be hashed as text)');
    if (chunk.length === 0) continue;
    total += chunk.length;
    if (total > expected.size) {
      // Leaving the loop by throwing calls the iterator's return(): nothing more is pulled.
      const reasons = [
        reason('DIGEST_MISMATCH', `archive longer than declared (more than ${expected.size} bytes)`, { expectedSize: expected.size, bytesRead: total }),
      ];
      if (tarError !== null) reasons.push(toReason(tarError));
      fail(reasons);
    }
    archive256.update(chunk);
    archive512.update(chunk);
    if (tarError === null) parse(() => reader.push(chunk));
  }
  if (tarError === null) parse(() => reader.end());

  const reasons: Reason[] = [];
  if (total < expected.size) {
    reasons.push(
      reason('DIGEST_MISMATCH', `archive shorter than declared (${total} of ${expected.size} bytes)`, { expectedSize: expected.size, bytesRead: total }),
    );
  } else {
    const sha256 = archive256.digest('hex');
    const sha512 = archive512.digest('hex');
    const differ = [...(sha256 !== expected.sha256 ? ['SHA-256'] : []), ...(sha512 !== expected.sha512 ? ['SHA-512'] : [])];
    if (differ.length > 0) {
      reasons.push(
        reason('DIGEST_MISMATCH', `archive ${differ.join(' and ')} differ from the manifest`, {
          expected: { sha256: expected.sha256, sha512: expected.sha512 },
          actual: { sha256, sha512 },
        }),
      );
    }
  }
  if (tarError !== null) {
    reasons.push(toReason(tarError));
  } else {
    const found = new Set<string>();
    for (const { header, sha256 } of seen) {
      const op = wanted.get(header.path);
      if (op === undefined) {
        const why = deleted.has(header.path) ? 'the manifest deletes this file' : 'not in the manifest';
        reasons.push(reason('ENTRY_EXTRA', `archive entry ${JSON.stringify(header.path)}: ${why}`, { path: header.path }));
        continue;
      }
      found.add(header.path);
      const differ: string[] = [];
      if (header.size !== op.size) differ.push(`size ${header.size} ≠ ${op.size}`);
      if (sha256 !== op.sha256) differ.push('SHA-256');
      if (header.mode !== op.mode) differ.push(`mode ${header.mode} ≠ ${op.mode}`);
      if (differ.length > 0) {
        reasons.push(
          reason('ENTRY_MISMATCH', `archive entry ${JSON.stringify(header.path)} differs from its ${op.op} op: ${differ.join(', ')}`, {
            path: header.path,
            expected: { size: op.size, sha256: op.sha256, mode: op.mode },
            actual: { size: header.size, sha256, mode: header.mode },
          }),
        );
      }
    }
    for (const [path, op] of wanted) {
      if (!found.has(path)) reasons.push(reason('ENTRY_MISSING', `no archive entry for ${op.op} op ${JSON.stringify(path)}`, { path }));
    }
  }
  if (reasons.length > 0) fail(reasons);
}
