import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildRelease } from '../lib/node/build.js';
import { ThreadedArchiveSink } from '../lib/node/archive-sink.js';
import { tempDir } from './support/tmp.js';
import { releaseRequest } from './support/build-inputs.js';

/** Builds `source` into a file, on the worker thread or not; returns the archive bytes and the summary. */
function buildTo(dir: string, source: string, threaded: boolean) {
  const file = join(dir, `${threaded ? 'threaded' : 'inline'}.tar`);
  const fd = openSync(file, 'wx', 0o644);
  try {
    const built = buildRelease(releaseRequest(source), fd, { threaded });
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
    const sizes = [0, 1, 511, 512, 513, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20, 5_000_000, 100, 4096, 0, 2 << 20, 0];
    sizes.forEach((size, i) => {
      const path = join(source, `d${i % 3}`, `f${String(i).padStart(2, '0')}.bin`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(size));
    });
    // Empty files last: the final entries, hashed when the archive ends.
    writeFileSync(join(source, 'zz-empty-a'), '');
    writeFileSync(join(source, 'zz-empty-b'), '');
    const inline = buildTo(dir, source, false);
    const threaded = buildTo(dir, source, true);
    expect(threaded.bytes.equals(inline.bytes)).to.equal(true);
    expect(threaded.built.archive.sha256).to.equal(createHash('sha256').update(inline.bytes).digest('hex'));
    expect(threaded.built.archive.size).to.equal(inline.bytes.length);
    expect(Buffer.from(threaded.built.payloadBytes).equals(Buffer.from(inline.built.payloadBytes))).to.equal(true);
    // The entry digests come from the worker: each is the SHA-256 of that file's bytes.
    for (const f of threaded.built.manifest.files) {
      if (f.op === 'delete') continue;
      expect(f.sha256, f.path).to.equal(
        createHash('sha256')
          .update(readFileSync(join(source, f.path)))
          .digest('hex'),
      );
    }
  });

  it('hashes each announced entry on the worker, across slot edges, and refuses an entry left short', () => {
    const dir = tempDir();
    const fd = openSync(join(dir, 'entries.bin'), 'wx', 0o644);
    try {
      const sink = new ThreadedArchiveSink(fd, 4);
      const contents = [randomBytes(5 << 20), Buffer.alloc(0), randomBytes(3), randomBytes((2 << 20) - 7)];
      for (const content of contents) {
        sink.write(randomBytes(512)); // a header: not part of any entry
        sink.beginEntry(content.length);
        // In uneven pieces, as a reader might hand them over.
        for (let at = 0; at < content.length; at += 777_777) sink.write(content.subarray(at, at + 777_777));
      }
      sink.write(new Uint8Array(1024));
      expect(sink.digests().entries).to.deep.equal(contents.map((c) => createHash('sha256').update(c).digest('hex')));
      sink.release();
      expect(() => sink.beginEntry(1)).to.throw(/after the end/);
    } finally {
      closeSync(fd);
    }
    const fd2 = openSync(join(dir, 'short.bin'), 'wx', 0o644);
    try {
      const sink = new ThreadedArchiveSink(fd2, 1);
      sink.beginEntry(10);
      sink.write(new Uint8Array(5));
      expect(() => sink.digests()).to.throw(/shorter than announced/);
      sink.release();
      const extra = new ThreadedArchiveSink(fd2, 0);
      expect(() => extra.beginEntry(1)).to.throw(/more entries than announced/);
      extra.release();
    } finally {
      closeSync(fd2);
    }
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
