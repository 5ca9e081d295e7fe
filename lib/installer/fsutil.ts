// Small file-system helpers of the installer: reading and hashing without following links,
// and turning errno errors into messages that say what was being done.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type BigIntStats, type Stats } from 'node:fs';
import { errnoOf } from '../core/errno.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** lstat that answers undefined for a missing path (ENOENT, or ENOTDIR: a parent is not a directory). */
export function lstatOrMissing(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export function lstatBig(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

const buffer = Buffer.alloc(1 << 20);

/** What hashFile says of a file, from the one fstat of its open descriptor. */
export interface HashedFile {
  sha256: string;
  size: number;
  /** st_mode and st_dev as numbers (both fit a double). */
  mode: number;
  devNumber: number;
}

/**
 * SHA-256 and size of a regular file, opened without following a symbolic link (ELOOP) and checked
 * to be a regular file after opening; also its mode and device, taken from one fstat of the open descriptor.
 */
export function hashFile(path: string): HashedFile {
  const fd = openSync(path, READ_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
    return { ...hashOpenFile(fd), mode: st.mode, devNumber: st.dev };
  } finally {
    closeSync(fd);
  }
}

/**
 * SHA-256 and size of an open regular file, read from its start (pread: the descriptor's offset is left alone).
 * A read of a regular file comes back short only at its end (on Linux's local file systems), so a short read ends the
 * loop without one more read; where one could come back short sooner, the digest is of a prefix and the check it feeds fails.
 */
export function hashOpenFile(fd: number): { sha256: string; size: number } {
  const hash = createHash('sha256');
  let size = 0;
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, size);
    hash.update(buffer.subarray(0, n));
    size += n;
    if (n < buffer.length) break;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Waits for every promise to settle (so no flush is left running on a descriptor the caller may close next), then rethrows the first failure. */
export async function allDone(promises: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Reads a small regular file without following links; undefined when it is missing. */
export function readSmallFile(path: string, max = 1 << 20): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const out = Buffer.alloc(max);
    let done = 0;
    while (done < max) {
      const n = readSync(fd, out, done, max - done, null);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
