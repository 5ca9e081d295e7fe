import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyArchiveStream } from '../lib/core/archive-verify.js';
import { ArchiveError, type ArchiveCode, FormatError, type Reason } from '../lib/core/errors.js';
import { readFileChunks } from '../lib/node/file-chunks.js';
import type { ArchiveRef, FileOp } from '../lib/core/manifest.js';
import { counted, failure } from './support/archive-stream.js';
import { sortByPathBytes, type FileMode } from '../lib/core/paths.js';
import { BLOCK_SIZE, encodeHeader, writeTar } from '../lib/core/tar.js';

const MTIME = 1_700_000_000;

interface File {
  path: string;
  mode: FileMode;
  data: Buffer;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function refOf(bytes: Uint8Array): ArchiveRef {
  return { name: 'release.tar', size: bytes.length, sha256: sha256(bytes), sha512: createHash('sha512').update(bytes).digest('hex') };
}

function tarOf(files: File[]): Buffer {
  const chunks: Buffer[] = [];
  writeTar(
    (c) => chunks.push(Buffer.from(c)),
    sortByPathBytes(files).map((f) => ({ path: f.path, mode: f.mode, content: f.data })),
    MTIME,
  );
  return Buffer.concat(chunks);
}

/** A tar built without the writer's checks, for archives our writer refuses to make. */
function rawTar(entries: File[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(Buffer.from(encodeHeader({ path: e.path, mode: e.mode, size: e.data.length, mtime: MTIME })), e.data);
    parts.push(Buffer.alloc((BLOCK_SIZE - (e.data.length % BLOCK_SIZE)) % BLOCK_SIZE));
  }
  parts.push(Buffer.alloc(2 * BLOCK_SIZE));
  return Buffer.concat(parts);
}

function addOps(files: File[]): FileOp[] {
  return files.map((f) => ({ op: 'add', path: f.path, sha256: sha256(f.data), size: f.data.length, mode: f.mode }));
}

function reasonCodes(err: ArchiveError): ArchiveCode[] {
  return (err.details.reasons as Reason[]).map((r) => r.code as ArchiveCode);
}

const files: File[] = [
  { path: 'index.php', mode: '0644', data: Buffer.from('<?php require "core/bootstrap.php";\n') },
  { path: 'core/bootstrap.php', mode: '0644', data: randomBytes(70_000) },
  { path: 'core/empty.txt', mode: '0644', data: Buffer.alloc(0) },
  { path: 'vendor/bin/drush', mode: '0755', data: Buffer.from('#!/usr/bin/env php\n') },
  { path: 'modules/café/ü.php', mode: '0644', data: Buffer.from('unicode') },
];
const bytes = tarOf(files);
const ref = refOf(bytes);
const ops = addOps(files);

/** A tampered archive with the manifest updated to match it, so only the entry checks can catch it. */
async function tampered(tamperedFiles: File[], manifestOps: FileOp[] = ops): Promise<ArchiveError> {
  const t = tarOf(tamperedFiles);
  return failure(verifyArchiveStream([t], refOf(t), manifestOps));
}

describe('archive: verifyArchiveStream, format 1 (archive SHA-256 and SHA-512 checked; strict tar parse)', () => {
  it('accepts the archive the manifest describes, in any chunking, sync or async', async () => {
    for (const size of [1, 100, 512, 4096, 1 << 20]) {
      await verifyArchiveStream(counted(bytes, size).chunks, ref, ops);
    }
    await verifyArchiveStream([bytes], ref, ops);
  });

  it('accepts modify and delete ops (a delete has no entry)', async () => {
    const [first, ...rest] = addOps(files) as [FileOp & { op: 'add' }, ...FileOp[]];
    const mixed: FileOp[] = [
      { ...first, op: 'modify', previousSha256: '0'.repeat(64) },
      ...rest,
      { op: 'delete', path: 'core/old.php', previousSha256: '1'.repeat(64) },
    ];
    await verifyArchiveStream([bytes], ref, mixed);
  });

  describe('the archive is not the signed one → DIGEST_MISMATCH', () => {
    it('a flipped content byte', async () => {
      const t = Buffer.from(bytes);
      t[BLOCK_SIZE * 3 + 10]! ^= 1;
      expect((await failure(verifyArchiveStream([t], ref, ops))).code).to.equal('DIGEST_MISMATCH');
    });

    it('a flipped header byte: the digest wins, the tar error follows as a further reason', async () => {
      const t = Buffer.from(bytes);
      t[0]! ^= 1;
      const err = await failure(verifyArchiveStream([t], ref, ops));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(reasonCodes(err)).to.deep.equal(['DIGEST_MISMATCH', 'ARCHIVE_MALFORMED']);
    });

    it('truncated by one byte and by half', async () => {
      for (const length of [bytes.length - 1, bytes.length >> 1, 0]) {
        const err = await failure(verifyArchiveStream([bytes.subarray(0, length)], ref, ops));
        expect(err.code).to.equal('DIGEST_MISMATCH');
        expect(err.message).to.match(/shorter/);
      }
    });

    it('extended by one byte', async () => {
      const err = await failure(verifyArchiveStream([bytes, Buffer.from([0])], ref, ops));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(err.message).to.match(/longer than declared/);
    });

    it('a stream of 10x the declared size stops as soon as it is too long', async () => {
      const endless = Buffer.concat(Array.from({ length: 10 }, () => bytes));
      const chunkSize = 4096;
      const { chunks, stats } = counted(endless, chunkSize);
      const err = await failure(verifyArchiveStream(chunks, ref, ops));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(err.message).to.match(/longer than declared/);
      expect(stats.pulled).to.equal(Math.floor(bytes.length / chunkSize) + 1);
      expect(stats.pulled).to.be.lessThan(endless.length / chunkSize / 9);
      expect(stats.closed, 'the source was closed').to.equal(true);
    });

    it('a wrong SHA-512 alone is enough', async () => {
      expect((await failure(verifyArchiveStream([bytes], { ...ref, sha512: '0'.repeat(128) }, ops))).code).to.equal('DIGEST_MISMATCH');
    });

    it('digest first, then entry reasons, when both apply', async () => {
      const t = tarOf([...files, { path: 'backdoor.php', mode: '0644', data: Buffer.from('<?php eval($_GET[1]);') }]);
      const err = await failure(verifyArchiveStream([t], { ...refOf(t), sha256: ref.sha256 }, ops));
      expect(err.code).to.equal('DIGEST_MISMATCH');
      expect(reasonCodes(err)).to.deep.equal(['DIGEST_MISMATCH', 'ENTRY_EXTRA']);
    });
  });

  describe('entries differ from the ops (manifest digest updated to match)', () => {
    it('an added entry → ENTRY_EXTRA', async () => {
      const err = await tampered([...files, { path: 'backdoor.php', mode: '0644', data: Buffer.from('<?php eval($_GET[1]);') }]);
      expect(err.code).to.equal('ENTRY_EXTRA');
      expect(err.details.path).to.equal('backdoor.php');
    });

    it('a removed entry → ENTRY_MISSING', async () => {
      const err = await tampered(files.filter((f) => f.path !== 'index.php'));
      expect(err.code).to.equal('ENTRY_MISSING');
      expect(err.details.path).to.equal('index.php');
    });

    it('a renamed entry → ENTRY_EXTRA, with ENTRY_MISSING as a further reason', async () => {
      const err = await tampered(files.map((f) => (f.path === 'index.php' ? { ...f, path: 'index2.php' } : f)));
      expect(err.code).to.equal('ENTRY_EXTRA');
      expect(reasonCodes(err)).to.deep.equal(['ENTRY_EXTRA', 'ENTRY_MISSING']);
      expect((err.details.reasons as Reason[]).map((r) => r.details?.path)).to.deep.equal(['index2.php', 'index.php']);
    });

    it('a case-only rename → ENTRY_EXTRA', async () => {
      const err = await tampered(files.map((f) => (f.path === 'index.php' ? { ...f, path: 'Index.php' } : f)));
      expect(err.code).to.equal('ENTRY_EXTRA');
    });

    it('an entry for a file the manifest deletes → ENTRY_EXTRA', async () => {
      const withDelete: FileOp[] = [...ops, { op: 'delete', path: 'old.php', previousSha256: '1'.repeat(64) }];
      const err = await tampered([...files, { path: 'old.php', mode: '0644', data: Buffer.from('old') }], withDelete);
      expect(err.code).to.equal('ENTRY_EXTRA');
      expect(err.message).to.match(/deletes/);
    });

    it('content that differs from the op → ENTRY_MISMATCH', async () => {
      const err = await tampered(files.map((f) => (f.path === 'index.php' ? { ...f, data: Buffer.from('<?php evil();            \n') } : f)));
      expect(err.code).to.equal('ENTRY_MISMATCH');
      expect(err.details.path).to.equal('index.php');
    });

    it('same-size content with one byte changed → ENTRY_MISMATCH', async () => {
      const changed = Buffer.from(files[1]!.data);
      changed[69_999]! ^= 0x80;
      const err = await tampered(files.map((f, i) => (i === 1 ? { ...f, data: changed } : f)));
      expect(err.code).to.equal('ENTRY_MISMATCH');
      expect(err.message).to.match(/SHA-256/);
    });

    it('a mode that differs from the op → ENTRY_MISMATCH', async () => {
      const err = await tampered(files.map((f) => (f.path === 'index.php' ? { ...f, mode: '0755' as FileMode } : f)));
      expect(err.code).to.equal('ENTRY_MISMATCH');
      expect(err.message).to.match(/mode/);
    });

    it('reports every reason, extra before mismatch before missing', async () => {
      const t = files
        .filter((f) => f.path !== 'core/empty.txt')
        .map((f) => (f.path === 'index.php' ? { ...f, data: Buffer.from('x') } : f))
        .concat([{ path: 'zz.php', mode: '0644', data: Buffer.from('z') }]);
      const err = await tampered(t);
      expect(reasonCodes(err)).to.deep.equal(['ENTRY_EXTRA', 'ENTRY_MISMATCH', 'ENTRY_MISSING']);
      expect(err.details.reasonCount).to.equal(3);
    });
  });

  describe('unsafe or malformed archives (manifest digest updated to match)', () => {
    it('an entry with an unsafe path → UNSAFE_PATH', async () => {
      const evil = Buffer.from('<?php evil();');
      const t = rawTar([{ path: '../../index.php', mode: '0644', data: evil }]);
      const err = await failure(verifyArchiveStream([t], refOf(t), [{ op: 'add', path: 'index.php', sha256: sha256(evil), size: evil.length, mode: '0644' }]));
      expect(err.code).to.equal('UNSAFE_PATH');
      expect(reasonCodes(err)).to.deep.equal(['UNSAFE_PATH']); // no noise about the missing entry
    });

    it('a case-fold duplicate entry → UNSAFE_PATH', async () => {
      const t = rawTar(sortByPathBytes([...files, { path: 'INDEX.php', mode: '0644', data: Buffer.from('x') }]));
      expect((await failure(verifyArchiveStream([t], refOf(t), ops))).code).to.equal('UNSAFE_PATH');
    });

    it('trailing bytes after the end marker → ARCHIVE_MALFORMED', async () => {
      const t = Buffer.concat([bytes, Buffer.alloc(BLOCK_SIZE)]);
      expect((await failure(verifyArchiveStream([t], refOf(t), ops))).code).to.equal('ARCHIVE_MALFORMED');
    });

    it('more entries than maxEntries → SIZE_LIMIT', async () => {
      const few = ops.slice(0, 2);
      const err = await failure(verifyArchiveStream([bytes], ref, few, { maxEntries: 2 }));
      expect(err.code).to.equal('SIZE_LIMIT');
    });

    it('more add/modify ops than maxEntries → SIZE_LIMIT before reading anything', async () => {
      const { chunks, stats } = counted(bytes, 512);
      expect((await failure(verifyArchiveStream(chunks, ref, ops, { maxEntries: 4 }))).code).to.equal('SIZE_LIMIT');
      expect(stats.pulled).to.equal(0);
    });

    it('unsafe op paths → UNSAFE_PATH before reading anything', async () => {
      const { chunks, stats } = counted(bytes, 512);
      const bad: FileOp[] = [...ops, { op: 'delete', path: 'INDEX.PHP', previousSha256: '1'.repeat(64) }];
      expect((await failure(verifyArchiveStream(chunks, ref, bad))).code).to.equal('UNSAFE_PATH');
      expect(stats.pulled).to.equal(0);
    });

    it('a malformed archive reference → FormatError', async () => {
      for (const broken of [
        { ...ref, size: -1 },
        { ...ref, sha256: ref.sha256.toUpperCase() },
        { ...ref, sha512: 'x' },
      ]) {
        let caught: unknown;
        await verifyArchiveStream([bytes], broken, ops).catch((e: unknown) => (caught = e));
        expect(caught).to.be.instanceOf(FormatError);
      }
    });
  });
});

describe('archive: readFileChunks', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'countersign-chunks-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a byte range in reused buffers; verification works on it', async () => {
    const head = randomBytes(1234);
    const tail = randomBytes(777);
    const file = join(dir, 'bundle.bin');
    writeFileSync(file, Buffer.concat([head, bytes, tail]));
    const seen = new Set<ArrayBufferLike>();
    let total = 0;
    for await (const chunk of readFileChunks(file, head.length, bytes.length, { chunkSize: 4096 })) {
      expect(chunk.length).to.be.at.most(4096);
      expect(Buffer.from(chunk).equals(bytes.subarray(total, total + chunk.length))).to.equal(true);
      seen.add(chunk.buffer);
      total += chunk.length;
    }
    expect(total).to.equal(bytes.length);
    expect(seen.size).to.equal(2);
    await verifyArchiveStream(readFileChunks(file, head.length, bytes.length, { chunkSize: 4096 }), ref, ops);
    await verifyArchiveStream(readFileChunks(file, head.length, bytes.length), ref, ops);
  });

  it('reads to the end of file by default and yields nothing for length 0', async () => {
    const file = join(dir, 'whole.tar');
    writeFileSync(file, bytes);
    await verifyArchiveStream(readFileChunks(file), ref, ops);
    let n = 0;
    for await (const _ of readFileChunks(file, 0, 0)) n++;
    expect(n).to.equal(0);
  });

  it('a file shorter than the range yields what there is (verification says shorter)', async () => {
    const file = join(dir, 'short.tar');
    writeFileSync(file, bytes.subarray(0, 5000));
    const err = await failure(verifyArchiveStream(readFileChunks(file, 0, bytes.length, { chunkSize: 1024 }), ref, ops));
    expect(err.code).to.equal('DIGEST_MISMATCH');
    expect(err.message).to.match(/shorter/);
  });

  it('a range one chunk holds is read in one piece, in place; a file shorter than it yields what there is', async () => {
    const file = join(dir, 'small.tar');
    writeFileSync(file, Buffer.concat([randomBytes(99), bytes]));
    const chunks: Uint8Array[] = [];
    for await (const chunk of readFileChunks(file, 99, bytes.length, { chunkSize: bytes.length })) chunks.push(chunk);
    expect(chunks.map((c) => Buffer.from(c).equals(bytes))).to.deep.equal([true]);
    await verifyArchiveStream(readFileChunks(file, 99, bytes.length, { chunkSize: bytes.length }), ref, ops);
    writeFileSync(file, bytes.subarray(0, 5000));
    const err = await failure(verifyArchiveStream(readFileChunks(file, 0, bytes.length, { chunkSize: bytes.length }), ref, ops));
    expect(err.message).to.match(/shorter/);
  });

  it('a longer range stops early and closes the file', async () => {
    const file = join(dir, 'long.tar');
    writeFileSync(file, Buffer.concat([bytes, randomBytes(1 << 20)]));
    const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const before = openFds();
    const err = await failure(verifyArchiveStream(readFileChunks(file, 0, Number.POSITIVE_INFINITY, { chunkSize: 8192 }), ref, ops));
    expect(err.message).to.match(/longer than declared/);
    expect(openFds()).to.equal(before);
  });

  it('refuses a bad range', async () => {
    const gen = readFileChunks(join(dir, 'none'), -1);
    let caught: unknown;
    await gen.next().catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(RangeError);
  });
});
