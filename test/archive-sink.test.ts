import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildRelease, type ReleaseRequest } from '../lib/node/build.js';
import { ThreadedArchiveSink } from '../lib/node/archive-sink.js';
import { tempDir } from './support/tmp.js';

function request(source: string): ReleaseRequest {
  return {
    source,
    product: 'drupal',
    component: 'core',
    version: '10.2.4',
    appliesTo: [],
    postUpdate: [],
    created: new Date('2026-11-20T00:00:00Z'),
    expires: new Date('2026-12-20T00:00:00Z'),
    policyVersion: 1,
    mtime: 0,
    versionFile: null,
  };
}

/** Builds `source` into a file, on the worker thread or not; returns the archive bytes and the summary. */
function buildTo(dir: string, source: string, threaded: boolean) {
  const file = join(dir, `${threaded ? 'threaded' : 'inline'}.tar`);
  const fd = openSync(file, 'wx', 0o644);
  try {
    const built = buildRelease(request(source), fd, { threaded });
    return { bytes: readFileSync(file), built };
  } finally {
    closeSync(fd);
  }
}

describe('build: archive hashed and written on a worker thread', () => {
  it('writes the same bytes, digests and manifest as the inline writer, across many ring slots', () => {
    const dir = tempDir();
    const source = join(dir, 'src');
    // Sizes around the 1 MiB slot and 512-byte block edges, and enough data to wrap the 8-slot ring.
    const sizes = [0, 1, 511, 512, 513, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20, 5_000_000, 100, 4096];
    sizes.forEach((size, i) => {
      const path = join(source, `d${i % 3}`, `f${i}.bin`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(size));
    });
    const inline = buildTo(dir, source, false);
    const threaded = buildTo(dir, source, true);
    expect(threaded.bytes.equals(inline.bytes)).to.equal(true);
    expect(threaded.built.archive.sha256).to.equal(createHash('sha256').update(inline.bytes).digest('hex'));
    expect(threaded.built.archive.size).to.equal(inline.bytes.length);
    expect(Buffer.from(threaded.built.payloadBytes).equals(Buffer.from(inline.built.payloadBytes))).to.equal(true);
  });

  it('a failing write surfaces as an error with its errno code, not a hang', () => {
    const dir = tempDir();
    const file = join(dir, 'ro.tar');
    writeFileSync(file, '');
    const fd = openSync(file, 'r'); // writing to a read-only descriptor: EBADF
    try {
      const sink = new ThreadedArchiveSink(fd);
      let thrown: unknown;
      try {
        sink.write(new Uint8Array(100));
        sink.digests();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(Error);
      expect((thrown as NodeJS.ErrnoException).code).to.equal('EBADF');
      sink.release();
    } finally {
      closeSync(fd);
    }
  });

  it('release() stops the worker before the descriptor is closed', () => {
    const dir = tempDir();
    const file = join(dir, 'abandoned.tar');
    const fd = openSync(file, 'wx', 0o644);
    const sink = new ThreadedArchiveSink(fd);
    sink.write(new Uint8Array(3 << 20).fill(7));
    sink.release();
    closeSync(fd);
    // Whatever reached the file before the stop, nothing arrives after it.
    const size = readFileSync(file).length;
    expect(size % (1 << 20)).to.equal(0);
    expect(size).to.be.at.most(3 << 20);
  });
});
