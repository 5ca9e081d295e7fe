// Shared by the archive verification tests: a chunk source that counts what was pulled, and the ArchiveError a promise rejects with.
import { expect } from 'chai';
import { ArchiveError } from '../../lib/core/errors.js';

/** Yields `bytes` in chunks of `size` and counts how many chunks were pulled and whether return() ran. */
export function counted(bytes: Uint8Array, size: number) {
  const stats = { pulled: 0, closed: false };
  async function* gen() {
    try {
      for (let at = 0; at < bytes.length; at += size) {
        stats.pulled++;
        yield bytes.subarray(at, at + size);
      }
    } finally {
      stats.closed = true;
    }
  }
  return { chunks: gen(), stats };
}

export async function failure(p: Promise<unknown>): Promise<ArchiveError> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(ArchiveError);
    return err as ArchiveError;
  }
  expect.fail('expected an ArchiveError');
}
