// Fast sequential reads of a file range for streaming verification.
// Two reused buffers: while the consumer hashes one chunk, the next read is already in flight.
// On these machines that comes within a few percent of pure hashing speed, where default
// 64 KiB streams lose 25–150% (docs/STACK.md). A range that one chunk holds is read in place: a small
// bundle's verify then starts no thread pool, nor loads node:fs/promises (~5 M instructions of a ~210 M verify).
import { closeSync, openSync, read, readSync } from 'node:fs';

export const DEFAULT_CHUNK_SIZE = 1 << 20;

/**
 * Yields the bytes of `path` from `start` for `length` bytes (default: to end of file), in chunks
 * of at most `chunkSize` bytes (default 1 MiB).
 *
 * The chunks are views into two buffers that are reused: a chunk is valid only until the consumer
 * asks for the next one (the read after next overwrites it). Consume each chunk completely —
 * hash it, parse it, copy what must be kept — before pulling the next.
 *
 * A file shorter than start + length simply yields fewer bytes: the consumer counts what it got
 * (a short archive is a verification failure, not an I/O error). Stopping early (break, return(),
 * or a throw inside `for await`) closes the file.
 */
export async function* readFileChunks(
  path: string,
  start = 0,
  length = Number.POSITIVE_INFINITY,
  options: { chunkSize?: number } = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkRange(start, length, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  if (length === 0) return;
  const fd = openSync(path, 'r');
  try {
    yield* readFdChunks(fd, start, length, options);
  } finally {
    closeSync(fd);
  }
}

/** One read of up to `length` bytes at `position` into `buffer`, on the thread pool: the bytes read. */
function readAt(fd: number, buffer: Uint8Array, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))));
}

/**
 * The same, from a file the caller already holds open (and closes). Reading through one descriptor
 * means every pass sees the same file, even if its path is replaced in between. Close the descriptor only
 * once the iteration has ended (as `for await` ends it, even on a throw or break): a read may still be in
 * flight while the generator waits at a chunk, and only its return() waits for that read.
 */
export async function* readFdChunks(
  fd: number,
  start = 0,
  length = Number.POSITIVE_INFINITY,
  options: { chunkSize?: number } = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkRange(start, length, chunkSize);
  if (length === 0) return;
  if (length <= chunkSize) {
    // A small range needs no 1 MiB buffer (a process verifying many small bundles would pay for them).
    const buffer = new Uint8Array(length);
    let got = 0;
    for (let n = -1; got < length && n !== 0; got += n) n = readSync(fd, buffer, got, length - got, start + got);
    if (got > 0) yield buffer.subarray(0, got);
    return;
  }
  let pending: Promise<number> | null = null;
  try {
    let current = new Uint8Array(chunkSize);
    let spare = new Uint8Array(chunkSize);
    let position = start;
    let remaining = length;
    const readInto = (buffer: Uint8Array) => readAt(fd, buffer, Math.min(chunkSize, remaining), position);
    pending = readInto(current);
    for (;;) {
      const bytesRead = await pending;
      pending = null;
      if (bytesRead === 0) return; // end of file
      position += bytesRead;
      remaining -= bytesRead;
      // The consumer finished with `spare` when it asked for the chunk now in `current`.
      if (remaining > 0) pending = readInto(spare);
      yield current.subarray(0, bytesRead);
      if (pending === null) return;
      [current, spare] = [spare, current];
    }
  } finally {
    // Never let the caller close the descriptor under a read still in flight.
    if (pending !== null) await pending.catch(() => undefined);
  }
}

function checkRange(start: number, length: number, chunkSize: number): void {
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('start must be a non-negative integer');
  if (length !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(length) || length < 0)) {
    throw new RangeError('length must be a non-negative integer');
  }
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError('chunkSize must be a positive integer');
}
