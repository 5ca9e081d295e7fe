// Reading a release tree for the build: the read-ahead worker gives exactly what FileReader gives, and
// refuses (through FileReader) exactly what it refuses; the tree walk decodes names as before.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildRelease, scanTree } from '../lib/node/build.js';
import { FileReader, PrefetchingReader, type TreeFile, type TreeReader } from '../lib/node/tree-reader.js';
import { tempDir } from './support/tmp.js';
import { hasMkfifo, releaseRequest } from './support/build-inputs.js';

/** Bytes that tell files apart (a file's content identifies it). */
function bytesOf(size: number, seed: number): Buffer {
  return Buffer.alloc(size, `file ${seed}: `);
}

function writeFiles(root: string, files: Array<{ path: string; size: number; mode?: number }>): TreeFile[] {
  return files.map(({ path, size, mode }, i) => {
    const absolute = join(root, path);
    mkdirSync(dirname(absolute), { recursive: true });
    writeFileSync(absolute, bytesOf(size, i));
    if (mode !== undefined) chmodSync(absolute, mode);
    return { path, absolute };
  });
}

/** Each read as the caller sees it (copied: a read's bytes are valid only until the next), or the error thrown. */
function readAll(reader: TreeReader, files: readonly TreeFile[]): Array<{ sha256: string; size: number; mode: string } | { code: unknown; message: string }> {
  try {
    return files.map((f) => {
      try {
        const { content, mode } = reader.read(f);
        return { sha256: createHash('sha256').update(content).digest('hex'), size: content.length, mode };
      } catch (err) {
        const e = err as { code?: unknown; message: string };
        return { code: e.code, message: e.message };
      }
    });
  } finally {
    reader.close();
  }
}

function prefetched(files: readonly TreeFile[]): PrefetchingReader {
  const reader = new PrefetchingReader();
  reader.start(files);
  return reader;
}

describe('tree reader: reading ahead on a worker thread', () => {
  it('gives the same bytes and modes as FileReader, across ring wraps, empty files and files too big to read ahead', () => {
    const root = tempDir();
    // 8 MiB ring, files up to 4 MiB read ahead: these wrap it several times and leave two to the main thread.
    const sizes = [0, 1, 511, 3_000_000, 4 << 20, (4 << 20) + 1, 700_000, 0, 6_000_000, ...Array.from({ length: 40 }, (_, i) => (i * 97_531) % 900_000)];
    const files = writeFiles(
      root,
      sizes.map((size, i) => ({ path: `d${i % 4}/f${String(i).padStart(3, '0')}`, size, mode: i % 3 === 0 ? 0o755 : 0o644 })),
    );
    const expected = readAll(new FileReader(), files);
    expect(readAll(prefetched(files), files)).to.deep.equal(expected);
    expect(expected.map((r) => ('size' in r ? r.size : -1))).to.deep.equal(sizes);
  });

  it('refuses what FileReader refuses, with the same error, when a file was replaced after the walk', function () {
    const root = tempDir();
    const files = writeFiles(root, [
      { path: 'a-ok', size: 10 },
      { path: 'b-link', size: 10 },
      { path: 'c-setuid', size: 10, mode: 0o4755 },
      { path: 'd-dir', size: 10 },
      { path: 'e-missing', size: 10 },
      { path: 'f-fifo', size: 10 },
      { path: 'g-sticky', size: 10, mode: 0o1644 },
      { path: 'h-ok', size: 100_000, mode: 0o700 },
    ]);
    // What the walk saw as regular files are now a link, a directory, nothing and a FIFO.
    rmSync(files[1]!.absolute);
    symlinkSync('a-ok', files[1]!.absolute);
    rmSync(files[3]!.absolute);
    mkdirSync(files[3]!.absolute);
    rmSync(files[4]!.absolute);
    rmSync(files[5]!.absolute);
    if (hasMkfifo()) execFileSync('mkfifo', [files[5]!.absolute]);
    else writeFileSync(files[5]!.absolute, 'no mkfifo here');
    const expected = readAll(new FileReader(), files);
    expect(expected.map((r) => ('code' in r ? r.code : 'ok'))).to.deep.equal([
      'ok',
      'UNSAFE_PATH',
      'UNSAFE_PATH',
      'UNSAFE_PATH',
      'IO',
      hasMkfifo() ? 'UNSAFE_PATH' : 'ok',
      'UNSAFE_PATH',
      'ok',
    ]);
    expect(readAll(prefetched(files), files)).to.deep.equal(expected);
  });

  it('reads a file asked for out of order, or after close(), itself', () => {
    const root = tempDir();
    const files = writeFiles(
      root,
      Array.from({ length: 20 }, (_, i) => ({ path: `f${String(i).padStart(2, '0')}`, size: 1000 + i })),
    );
    const expected = readAll(new FileReader(), files);
    const shuffled = [files[0]!, files[2]!, files[1]!, ...files.slice(3)];
    expect(readAll(prefetched(files), shuffled)).to.deep.equal([expected[0], expected[2], expected[1], ...expected.slice(3)]);
    const reader = prefetched(files);
    reader.read(files[0]!);
    reader.close();
    expect(readAll(reader, files.slice(1))).to.deep.equal(expected.slice(1));
  });

  it('a build gives the same archive and manifest with and without reading ahead, with and without a base tree', () => {
    const dir = tempDir();
    const source = join(dir, 'src');
    const base = join(dir, 'base');
    const tree = (root: string, salt: number) =>
      writeFiles(
        root,
        Array.from({ length: 300 }, (_, i) => ({
          path: `m${i % 7}/s${i % 3}/f${String(i + (salt && i % 11 === 0 ? 1000 : 0)).padStart(3, '0')}.php`,
          size: (i * 7919 + (salt && i % 5 === 0 ? 1 : 0)) % 70_000,
          mode: i % 5 ? 0o644 : 0o755,
        })),
      );
    tree(source, 1);
    tree(base, 0);
    const request = releaseRequest(source);
    const build = (withBase: boolean, prefetch: boolean, threaded: boolean) => {
      const file = join(dir, `${withBase}-${prefetch}-${threaded}.tar`);
      const fd = openSync(file, 'wx', 0o644);
      try {
        const built = buildRelease(withBase ? { ...request, base } : request, fd, { prefetch, threaded });
        return { archive: readFileSync(file), payload: Buffer.from(built.payloadBytes), ops: built.manifest.files.map((f) => f.op) };
      } finally {
        closeSync(fd);
      }
    };
    for (const withBase of [false, true]) {
      const plain = build(withBase, false, false);
      if (withBase) expect(new Set(plain.ops)).to.deep.equal(new Set(['add', 'modify', 'delete']));
      for (const [prefetch, threaded] of [
        [true, false],
        [true, true],
        [false, true],
      ] as const) {
        const other = build(withBase, prefetch, threaded);
        const what = `base ${withBase}, prefetch ${prefetch}, threaded ${threaded}`;
        expect(other.archive.equals(plain.archive), `archive, ${what}`).to.equal(true);
        expect(other.payload.equals(plain.payload), `manifest, ${what}`).to.equal(true);
      }
    }
  });
});

describe('tree reader: the worker thread ends', () => {
  it('after close() without start() (a walk or path check that failed), after close() midway, and after the last file', async () => {
    const root = tempDir();
    const files = writeFiles(
      root,
      Array.from({ length: 200 }, (_, i) => ({ path: `f${String(i).padStart(3, '0')}`, size: 100_000 })),
    );
    const neverStarted = new PrefetchingReader();
    neverStarted.close();
    const midway = prefetched(files);
    midway.read(files[0]!);
    midway.close();
    const finished = prefetched(files.slice(0, 3));
    for (const f of files.slice(0, 3)) finished.read(f);
    const within = (p: Promise<void>) => Promise.race([p.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(await within(neverStarted.whenEnded())).to.equal('ended');
    expect(await within(midway.whenEnded())).to.equal('ended');
    expect(await within(finished.whenEnded())).to.equal('ended');
  });
});

describe('tree walk: file names', () => {
  it('lists a well-formed name holding U+FFFD as it is, beside its neighbours', () => {
    const root = tempDir();
    writeFiles(root, [
      { path: 'a/ok\uFFFD.txt', size: 1 },
      { path: 'a/plain.txt', size: 1 },
      { path: 'b/plain.txt', size: 1 },
    ]);
    expect(scanTree(root).map((f) => f.path)).to.deep.equal(['a/ok\uFFFD.txt', 'a/plain.txt', 'b/plain.txt']);
  });

  for (const [what, bytes] of [
    ['a stray continuation byte', [0x62, 0x61, 0x64, 0xff]],
    ['an encoded surrogate', [0x73, 0xed, 0xa0, 0x80]],
    ['an overlong encoding', [0x6f, 0xc0, 0xaf]],
  ] as const) {
    it(`refuses a name that is not UTF-8 (${what}): UNSAFE_PATH, even beside well-formed names`, () => {
      const root = tempDir();
      writeFiles(root, [{ path: 'd/plain.txt', size: 1 }]);
      writeFileSync(Buffer.concat([Buffer.from(join(root, 'd') + '/'), Buffer.from(bytes)]), 'x');
      let error: { code?: unknown; details?: { rule?: string } } | undefined;
      try {
        scanTree(root);
      } catch (err) {
        error = err as typeof error;
      }
      expect(error?.code).to.equal('UNSAFE_PATH');
      expect(error?.details?.rule).to.equal('file name is not valid UTF-8');
    });
  }
});
