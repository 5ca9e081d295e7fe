import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ArchiveError, type ArchiveCode } from '../lib/core/errors.js';
import { checkPathSet, sortByPathBytes, type FileMode } from '../lib/core/paths.js';
import { END, FIELD, GOOD_TAR, archive, content, header, hostileTarCases } from './conformance/tar-cases.js';
import { BLOCK_SIZE, TarReader, TarWriter, writeTar, type TarEntry, type TarHeader, type TarSummary } from '../lib/core/tar.js';
import { fdSink } from '../lib/node/fd-sink.js';

const MTIME = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const LONG = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(40)}/${'g'.repeat(33)}.php`; // 200 bytes

interface ReadEntry {
  header: TarHeader;
  content: Buffer;
}

/** Reads a whole archive through TarReader in chunks of `chunkSize` bytes. */
function readTar(bytes: Uint8Array, chunkSize = Math.max(bytes.length, 1), maxEntries?: number): ReadEntry[] {
  const out: ReadEntry[] = [];
  let parts: Buffer[] = [];
  const reader = new TarReader(
    {
      onEntryStart: () => {
        parts = [];
      },
      onEntryData: (data) => {
        parts.push(Buffer.from(data)); // copy: the view is only valid during the call
      },
      onEntryEnd: (header) => {
        out.push({ header, content: Buffer.concat(parts) });
      },
    },
    maxEntries === undefined ? {} : { maxEntries },
  );
  for (let at = 0; at < bytes.length; at += chunkSize) reader.push(bytes.subarray(at, at + chunkSize));
  reader.end();
  expect(reader.done).to.equal(true);
  return out;
}

function codeOf(fn: () => unknown): ArchiveCode {
  try {
    fn();
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(ArchiveError);
    return (err as ArchiveError).code;
  }
  expect.fail('expected an ArchiveError');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function toBytes(entries: TarEntry[], mtime = MTIME): { bytes: Buffer; summary: TarSummary } {
  const chunks: Buffer[] = [];
  const summary = writeTar((c) => chunks.push(Buffer.from(c)), entries, mtime);
  return { bytes: Buffer.concat(chunks), summary };
}

describe('tar: writer and reader round trip', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'countersign-tar-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const big = randomBytes(3 * 1024 * 1024 + 17);
  const files: Array<{ path: string; mode: FileMode; data: Buffer }> = [
    { path: 'index.php', mode: '0644', data: Buffer.from('<?php echo "hi";\n') },
    { path: 'core/empty.txt', mode: '0644', data: Buffer.alloc(0) },
    { path: 'core/b511', mode: '0644', data: randomBytes(511) },
    { path: 'core/b512', mode: '0644', data: randomBytes(512) },
    { path: 'core/b513', mode: '0644', data: randomBytes(513) },
    { path: 'vendor/bin/drush', mode: '0755', data: Buffer.from('#!/usr/bin/env php\n') },
    { path: 'modules/café/日本語-😀.php', mode: '0644', data: Buffer.from('unicode') },
    { path: LONG, mode: '0644', data: Buffer.from('long path') },
    { path: 'sites/big.bin', mode: '0644', data: big },
  ];
  const sorted = () => sortByPathBytes(files);
  const entries = (): TarEntry[] => sorted().map((f) => ({ path: f.path, mode: f.mode, content: () => f.data }));

  function writeFile(name: string): { file: string; summary: TarSummary } {
    const file = join(dir, name);
    const fd = openSync(file, 'w');
    try {
      return { file, summary: writeTar(fdSink(fd), entries(), MTIME) };
    } finally {
      closeSync(fd);
    }
  }

  it('reads back exactly the entries written, whatever the chunk size', () => {
    const { file, summary } = writeFile('a.tar');
    const bytes = readFileSync(file);
    expect(summary.size).to.equal(bytes.length);
    const check = (archiveBytes: Uint8Array, expected: typeof files, chunkSize: number) => {
      const got = readTar(archiveBytes, chunkSize);
      expect(
        got.map((e) => e.header.path),
        `chunk ${chunkSize}`,
      ).to.deep.equal(expected.map((f) => f.path));
      got.forEach((e, i) => {
        const f = expected[i]!;
        expect(e.header).to.deep.equal({ path: f.path, mode: f.mode, size: f.data.length, mtime: MTIME });
        expect(e.content.equals(f.data), f.path).to.equal(true);
      });
    };
    for (const chunkSize of [511, 512, 513, 65536, 1 << 20, bytes.length]) check(bytes, sorted(), chunkSize);
    // Byte-at-a-time over everything but the 3 MiB file, to keep the test quick.
    const small = sorted().filter((f) => f.data !== big);
    const smallBytes = toBytes(small.map((f) => ({ path: f.path, mode: f.mode, content: f.data }))).bytes;
    for (const chunkSize of [1, 7]) check(smallBytes, small, chunkSize);
  });

  it('returns size and SHA-256 of the archive and per-entry records', () => {
    const { file, summary } = writeFile('b.tar');
    const bytes = readFileSync(file);
    expect(summary.size).to.equal(bytes.length);
    expect(summary.sha256).to.equal(sha256(bytes));
    expect(summary.entries).to.deep.equal(sorted().map((f) => ({ path: f.path, mode: f.mode, size: f.data.length, sha256: sha256(f.data) })));
  });

  it('ends with exactly two zero blocks and no record padding', () => {
    const { file } = writeFile('c.tar');
    const bytes = readFileSync(file);
    const expected = sorted().reduce((n, f) => n + BLOCK_SIZE + Math.ceil(f.data.length / BLOCK_SIZE) * BLOCK_SIZE, 0) + 2 * BLOCK_SIZE;
    expect(bytes.length).to.equal(expected);
    expect(bytes.subarray(-2 * BLOCK_SIZE).every((b) => b === 0)).to.equal(true);
    expect(toBytes([]).bytes.length).to.equal(2 * BLOCK_SIZE);
  });

  it('is deterministic: writing twice gives byte-identical files, and fd and callback sinks agree', () => {
    const one = readFileSync(writeFile('d1.tar').file);
    const two = readFileSync(writeFile('d2.tar').file);
    expect(one.equals(two)).to.equal(true);
    expect(toBytes(entries()).bytes.equals(one)).to.equal(true);
    const small: Buffer[] = [];
    const w = new TarWriter((c) => small.push(Buffer.from(c)), { mtime: MTIME, bufferSize: 1024 });
    for (const e of entries()) w.add(e);
    w.finish();
    expect(Buffer.concat(small).equals(one)).to.equal(true);
  });

  it('calls each content callback once, in order', () => {
    const calls: string[] = [];
    toBytes(sorted().map((f) => ({ path: f.path, mode: f.mode, content: () => (calls.push(f.path), f.data) })));
    expect(calls).to.deep.equal(sorted().map((f) => f.path));
  });

  describe('against GNU tar', () => {
    const gnu = '/usr/bin/tar';
    const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' };

    it('`tar tvf` lists the same modes, owners, sizes, times and names', () => {
      const { file } = writeFile('gnu-list.tar');
      const lines = execFileSync(gnu, ['--numeric-owner', '-tvf', file], { env }).toString('utf8').trimEnd().split('\n');
      expect(lines).to.have.length(files.length);
      lines.forEach((line, i) => {
        const f = sorted()[i]!;
        const [perm, owner, size, date, time, ...name] = line.split(/\s+/);
        expect(perm).to.equal(f.mode === '0755' ? '-rwxr-xr-x' : '-rw-r--r--');
        expect(owner).to.equal('0/0');
        expect(Number(size)).to.equal(f.data.length);
        expect(`${date} ${time}`).to.equal('2023-11-14 22:13');
        expect(name.join(' ')).to.equal(f.path);
      });
    });

    it('`tar xf` extracts every file with its content and mode', () => {
      const { file } = writeFile('gnu-extract.tar');
      const out = join(dir, 'extracted');
      mkdirSync(out);
      execFileSync(gnu, ['-xf', file, '-C', out], { env });
      for (const f of files) {
        const target = join(out, f.path);
        expect(readFileSync(target).equals(f.data), f.path).to.equal(true);
        expect(statSync(target).mode & 0o777, f.path).to.equal(f.mode === '0755' ? 0o755 : 0o644);
        expect(statSync(target).mtimeMs).to.equal(MTIME * 1000);
      }
    });

    it('GNU tar --format=ustar -b 1 with the same options writes the same bytes', () => {
      const src = join(dir, 'gnu-src');
      for (const f of files) {
        const target = join(src, f.path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, f.data);
        chmodSync(target, f.mode === '0755' ? 0o755 : 0o644);
      }
      const list = join(dir, 'gnu-list.txt');
      writeFileSync(
        list,
        sorted()
          .map((f) => f.path)
          .join('\n') + '\n',
      );
      const theirs = join(dir, 'gnu.tar');
      execFileSync(
        gnu,
        ['--format=ustar', '--numeric-owner', '--owner=0', '--group=0', `--mtime=@${MTIME}`, '-b', '1', '--no-recursion', '-C', src, '-cf', theirs, '-T', list],
        { env },
      );
      const ours = readFileSync(writeFile('ours.tar').file);
      expect(readFileSync(theirs).equals(ours)).to.equal(true);
    });

    it("refuses GNU tar's default output (record padding after the end marker)", () => {
      const src = join(dir, 'gnu-pad');
      mkdirSync(src);
      writeFileSync(join(src, 'a.txt'), 'a');
      chmodSync(join(src, 'a.txt'), 0o644);
      const theirs = join(dir, 'gnu-pad.tar');
      execFileSync(gnu, ['--format=ustar', '--numeric-owner', '--owner=0', '--group=0', '-C', src, '-cf', theirs, 'a.txt'], { env });
      const bytes = readFileSync(theirs);
      expect(bytes.length).to.equal(10240);
      expect(codeOf(() => readTar(bytes))).to.equal('ARCHIVE_MALFORMED');
    });

    it('refuses a GNU-made symbolic link entry', () => {
      const src = join(dir, 'gnu-link');
      mkdirSync(src);
      symlinkSync('/etc/passwd', join(src, 'passwd.php'));
      const theirs = join(dir, 'gnu-link.tar');
      execFileSync(gnu, ['--format=ustar', '--numeric-owner', '--owner=0', '--group=0', '-b', '1', '-C', src, '-cf', theirs, 'passwd.php'], { env });
      expect(codeOf(() => readTar(readFileSync(theirs)))).to.equal('UNSAFE_PATH');
    });
  });
});

describe('tar: writer refuses what the reader would refuse', () => {
  const data = () => Buffer.from('x');
  it('entries out of path byte order', () => {
    expect(
      codeOf(() =>
        toBytes([
          { path: 'b', mode: '0644', content: data() },
          { path: 'a', mode: '0644', content: data() },
        ]),
      ),
    ).to.equal('ARCHIVE_MALFORMED');
  });
  it('the same path twice and case-fold duplicates', () => {
    expect(
      codeOf(() =>
        toBytes([
          { path: 'a', mode: '0644', content: data() },
          { path: 'a', mode: '0644', content: data() },
        ]),
      ),
    ).to.equal('UNSAFE_PATH');
    expect(
      codeOf(() =>
        toBytes([
          { path: 'A', mode: '0644', content: data() },
          { path: 'a', mode: '0644', content: data() },
        ]),
      ),
    ).to.equal('UNSAFE_PATH');
  });
  it('unsafe paths', () => {
    expect(codeOf(() => toBytes([{ path: '../x', mode: '0644', content: data() }]))).to.equal('UNSAFE_PATH');
  });
  it('modes other than 0644/0755', () => {
    expect(codeOf(() => toBytes([{ path: 'a', mode: '0777' as FileMode, content: data() }]))).to.equal('ARCHIVE_MALFORMED');
  });
  it('keeps refusing after the first error (the output is incomplete)', () => {
    const w = new TarWriter(() => undefined, { mtime: MTIME });
    expect(codeOf(() => w.add({ path: '/abs', mode: '0644', content: data() }))).to.equal('UNSAFE_PATH');
    expect(codeOf(() => w.add({ path: 'ok', mode: '0644', content: data() }))).to.equal('UNSAFE_PATH');
    expect(codeOf(() => w.finish())).to.equal('UNSAFE_PATH');
  });
  it('with acceptedPaths, only paths of that accepted set (which are not checked again)', () => {
    const accepted = checkPathSet(['a', 'b/c']);
    const w = new TarWriter(() => undefined, { mtime: MTIME, acceptedPaths: accepted });
    w.add({ path: 'b/c', mode: '0644', content: data() });
    expect(codeOf(() => w.add({ path: 'b/d', mode: '0644', content: data() }))).to.equal('ARCHIVE_MALFORMED');
    const unsafe = new TarWriter(() => undefined, { mtime: MTIME, acceptedPaths: accepted });
    expect(codeOf(() => unsafe.add({ path: '../x', mode: '0644', content: data() }))).to.equal('ARCHIVE_MALFORMED');
  });
  it('a bad mtime', () => {
    expect(() => toBytes([], -1)).to.throw(RangeError);
    expect(() => toBytes([], 1.5)).to.throw(RangeError);
  });
});

describe('tar: reader refuses hostile archives', () => {
  const good = GOOD_TAR;

  it('accepts the hand-crafted baseline', () => {
    expect(readTar(good).map((e) => e.header.path)).to.deep.equal(['ok.php']);
  });

  for (const [what, bytes, code] of hostileTarCases()) {
    it(`${what} → ${code}`, () => {
      expect(codeOf(() => readTar(bytes))).to.equal(code);
      expect(
        codeOf(() => readTar(bytes, 7)),
        'in 7-byte chunks',
      ).to.equal(code);
    });
  }

  it('more entries than maxEntries → SIZE_LIMIT', () => {
    const bytes = archive(header({ path: 'a' }), header({ path: 'b' }), header({ path: 'c' }));
    expect(readTar(bytes, undefined, 3)).to.have.length(3);
    expect(codeOf(() => readTar(bytes, undefined, 2))).to.equal('SIZE_LIMIT');
  });

  it('keeps refusing after the first error', () => {
    const reader = new TarReader();
    const bad = header({ set: [[FIELD.typeflag, '2']] });
    expect(codeOf(() => reader.push(bad))).to.equal('UNSAFE_PATH');
    expect(codeOf(() => reader.push(END))).to.equal('UNSAFE_PATH');
    expect(codeOf(() => reader.end())).to.equal('UNSAFE_PATH');
  });

  it('never passes content of a refused entry to the handlers', () => {
    let started = 0;
    const reader = new TarReader({ onEntryStart: () => started++, onEntryData: () => expect.fail('data of a refused entry') });
    expect(codeOf(() => reader.push(archive(header({ path: '../x', size: 3 }), content(Buffer.from('abc')))))).to.equal('UNSAFE_PATH');
    expect(started).to.equal(0);
  });
});
