// Format 2 archives (spec/bundle.md "Archive verification"): verify rebuilds every header from the manifest, hashes
// each entry's content once, and requires zero padding and the exact end marker; the archive's own SHA-256 is not
// recomputed (checkDigest: false, as verifyBundle calls it). The exhaustive tests below are the proof that this
// determines every archive byte: each single-byte change, truncation and extension of a small archive is refused.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { verifyArchiveStream, type ArchiveLimits } from '../lib/core/archive-verify.js';
import { ArchiveError, FormatError, type ArchiveCode, type Reason } from '../lib/core/errors.js';
import type { ArchiveRefV2, FileOp } from '../lib/core/manifest.js';
import { counted, failure } from './support/archive-stream.js';
import { sortByPathBytes, type FileMode } from '../lib/core/paths.js';
import { BLOCK_SIZE, encodeHeader, headerChecksum, paddingOf, writeTar } from '../lib/core/tar.js';

const MTIME = 1_700_000_000;
const ARCHIVE_CODES: readonly ArchiveCode[] = [
  'DIGEST_MISMATCH',
  'UNSAFE_PATH',
  'ENTRY_MISSING',
  'ENTRY_EXTRA',
  'ENTRY_MISMATCH',
  'ARCHIVE_MALFORMED',
  'SIZE_LIMIT',
];
const VERIFY: ArchiveLimits = { checkDigest: false };

interface File {
  path: string;
  mode: FileMode;
  data: Uint8Array;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function tarOf(files: File[], mtime = MTIME): Uint8Array {
  const chunks: Uint8Array[] = [];
  writeTar(
    (c) => chunks.push(new Uint8Array(c)),
    sortByPathBytes(files).map((f) => ({ path: f.path, mode: f.mode, content: f.data })),
    mtime,
  );
  // A Uint8Array, not a Buffer: Buffer's slice() is a view, and the mutations below need copies.
  return Uint8Array.from(Buffer.concat(chunks));
}

/** Headers, contents and paddings as given (any order, any header), then the end marker: archives our writer will not make. */
function rawTar(blocks: Array<{ header: Uint8Array; data: Uint8Array }>): Uint8Array {
  return Uint8Array.from(
    Buffer.concat([...blocks.flatMap((b) => [b.header, b.data, new Uint8Array(paddingOf(b.data.length))]), new Uint8Array(2 * BLOCK_SIZE)]),
  );
}

const plain = (f: File) => ({ header: encodeHeader({ path: f.path, mode: f.mode, size: f.data.length, mtime: MTIME }), data: f.data });

function refOf(bytes: Uint8Array, mtime = MTIME): ArchiveRefV2 {
  return { name: 'release.tar', size: bytes.length, sha256: sha256(bytes), mtime };
}

function addOps(files: File[]): FileOp[] {
  return files.map((f) => ({ op: 'add', path: f.path, sha256: sha256(f.data), size: f.data.length, mode: f.mode }));
}

function* inChunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const codes = (err: ArchiveError) => (err.details.reasons as Reason[]).map((r) => r.code);

// Three entries: content over two blocks (with padding), a content of a whole block (no padding), an empty file.
const files: File[] = [
  { path: 'core/lib/Drupal.php', mode: '0644', data: Buffer.from('<?php const VERSION = "10.2.4";\n'.repeat(20)) },
  { path: 'core/empty.txt', mode: '0644', data: new Uint8Array(0) },
  { path: 'vendor/bin/drush', mode: '0755', data: new Uint8Array(BLOCK_SIZE).fill(0x23) },
];
const bytes = tarOf(files);
const ref = refOf(bytes);
const ops = addOps(files);

describe('archive: format 2, rebuilt from the manifest', () => {
  it('accepts the archive the manifest describes, in any chunking, sync or async', async () => {
    for (const size of [1, 7, 511, 512, 513, bytes.length]) {
      await verifyArchiveStream(inChunks(bytes, size), ref, ops, VERIFY);
      await verifyArchiveStream(counted(bytes, size).chunks, ref, ops, VERIFY);
    }
    await verifyArchiveStream([bytes], ref, ops); // checkDigest on: the SHA-256 is right too
  });

  it('an empty release (no add/modify ops) is the end marker alone', async () => {
    const empty = tarOf([]);
    expect(empty.length).to.equal(2 * BLOCK_SIZE);
    await verifyArchiveStream([empty], refOf(empty), [{ op: 'delete', path: 'old.php', previousSha256: '1'.repeat(64) }], VERIFY);
  });

  it('the archive SHA-256 is recomputed only with checkDigest (the default, for sign and assemble)', async () => {
    const wrong = { ...ref, sha256: '0'.repeat(64) };
    await verifyArchiveStream([bytes], wrong, ops, VERIFY);
    const err = await failure(verifyArchiveStream([bytes], wrong, ops));
    expect(codes(err)).to.deep.equal(['DIGEST_MISMATCH']);
    expect(err.details).to.deep.include({ expected: { sha256: wrong.sha256 }, actual: { sha256: ref.sha256 } });
  });

  it('every entry whose content is not the signed one is reported (the walk goes on)', async () => {
    const other = files.map((f) => (f.data.length > 0 ? { ...f, data: Buffer.from(f.data).fill(0x41, 0, 1) } : f));
    const t = tarOf(other);
    const err = await failure(verifyArchiveStream([t], ref, ops, VERIFY));
    expect(codes(err)).to.deep.equal(['ENTRY_MISMATCH', 'ENTRY_MISMATCH']);
    expect(err.details).to.deep.include({ path: 'core/lib/Drupal.php' });
  });

  describe('a header that is not the rebuilt one is diagnosed by parsing it, and the walk stops', () => {
    it('another size, mode or mtime of the same path → ENTRY_MISMATCH naming each', async () => {
      const cases: Array<[File[], number, string]> = [
        [files.map((f) => (f.path === 'core/empty.txt' ? { ...f, data: Buffer.from('x') } : f)), MTIME, 'size 1 ≠ 0'],
        [files.map((f) => (f.path === 'vendor/bin/drush' ? { ...f, mode: '0644' as const } : f)), MTIME, 'mode 0644 ≠ 0755'],
        [files, MTIME + 1, `mtime ${MTIME + 1} ≠ ${MTIME}`],
      ];
      for (const [changed, mtime, what] of cases) {
        const t = tarOf(changed, mtime);
        const err = await failure(verifyArchiveStream([t], { ...ref, size: t.length }, ops, VERIFY));
        expect(codes(err), what).to.deep.equal(['ENTRY_MISMATCH']);
        expect(err.message).to.contain(what);
      }
    });

    it('a path the manifest does not install, or deletes → ENTRY_EXTRA', async () => {
      const extra = { path: 'core/backdoor.php', mode: '0644' as const, data: Buffer.from('<?php eval($_POST["x"]);') };
      const t = tarOf([...files, extra]);
      const err = await failure(verifyArchiveStream([t], refOf(t), ops, VERIFY));
      expect(codes(err)).to.deep.equal(['ENTRY_EXTRA']);
      expect(err.details).to.deep.include({ path: 'core/backdoor.php' });
      const deleting: FileOp[] = [...ops, { op: 'delete', path: 'core/backdoor.php', previousSha256: '1'.repeat(64) }];
      expect((await failure(verifyArchiveStream([t], refOf(t), deleting, VERIFY))).message).to.contain('the manifest deletes this file');
      // After the last entry, where the end marker belongs.
      const last = tarOf([...files, { ...extra, path: 'zz.php' }]);
      expect(codes(await failure(verifyArchiveStream([last], refOf(last), ops, VERIFY)))).to.deep.equal(['ENTRY_EXTRA']);
    });

    it("a later op's path where an op's header belongs → ENTRY_MISSING for the skipped op", async () => {
      const t = tarOf(files.filter((f) => f.path !== 'core/empty.txt'));
      const err = await failure(verifyArchiveStream([t], refOf(t), ops, VERIFY));
      expect(codes(err)).to.deep.equal(['ENTRY_MISSING']);
      expect(err.details).to.deep.include({ path: 'core/empty.txt' });
    });

    it('the end marker where headers belong → ENTRY_MISSING for every op left', async () => {
      const t = tarOf(files.filter((f) => f.path === 'core/empty.txt'));
      expect(codes(await failure(verifyArchiveStream([t], refOf(t), ops, VERIFY)))).to.deep.equal(['ENTRY_MISSING', 'ENTRY_MISSING']);
    });

    it('a path seen already, exactly or after case folding → UNSAFE_PATH', async () => {
      const [a, b, c] = sortByPathBytes(files) as [File, File, File];
      for (const again of [b, { ...b, path: b.path.toUpperCase() }]) {
        const t = rawTar([plain(a), plain(b), plain(again), plain(c)]);
        expect(codes(await failure(verifyArchiveStream([t], refOf(t), ops, VERIFY))), again.path).to.deep.equal(['UNSAFE_PATH']);
      }
    });

    it('a symbolic link, or a header that does not parse → the tar reader’s code', async () => {
      const [a, b, c] = sortByPathBytes(files) as [File, File, File];
      const link = plain({ ...b, data: new Uint8Array(0) });
      link.header[156] = 0x32; // '2': symbolic link
      link.header.set(Buffer.from('/etc/passwd'), 157);
      link.header.set(Buffer.from(headerChecksum(link.header).toString(8).padStart(6, '0')), 148);
      const t = rawTar([plain(a), link, plain(c)]);
      expect(codes(await failure(verifyArchiveStream([t], refOf(t), ops, VERIFY)))).to.deep.equal(['UNSAFE_PATH']);
      const garbage = Buffer.from(bytes);
      garbage.fill(0x41, 0, BLOCK_SIZE);
      expect(codes(await failure(verifyArchiveStream([garbage], ref, ops, VERIFY)))).to.deep.equal(['ARCHIVE_MALFORMED']);
    });

    it('stops pulling the stream at the first structural problem (verify mode)', async () => {
      const big = tarOf([...files, { path: 'z/big.bin', mode: '0644', data: new Uint8Array(64 * BLOCK_SIZE) }]);
      const { chunks, stats } = counted(big, BLOCK_SIZE);
      expect((await failure(verifyArchiveStream(chunks, refOf(big), ops, VERIFY))).code).to.equal('ENTRY_EXTRA');
      expect(stats.pulled).to.be.below(big.length / BLOCK_SIZE / 2);
      expect(stats.closed).to.equal(true);
    });
  });

  it('a stream longer than declared stops at once → DIGEST_MISMATCH', async () => {
    const long = Buffer.concat([bytes, new Uint8Array(100 * BLOCK_SIZE)]);
    const { chunks, stats } = counted(long, BLOCK_SIZE);
    expect(codes(await failure(verifyArchiveStream(chunks, ref, ops, VERIFY)))).to.deep.equal(['DIGEST_MISMATCH']);
    expect(stats.pulled).to.equal(bytes.length / BLOCK_SIZE + 1);
  });

  it('a malformed mtime in the archive reference → FormatError', async () => {
    for (const mtime of [-1, 1.5, 8 ** 11, Number.NaN]) {
      let caught: unknown;
      await verifyArchiveStream([bytes], { ...ref, mtime }, ops, VERIFY).catch((e: unknown) => (caught = e));
      expect(caught, String(mtime)).to.be.instanceOf(FormatError);
    }
  });

  describe('exhaustively: the rebuilt layout fixes every archive byte', () => {
    const pristine = Uint8Array.from(bytes);
    // Each case mutates a copy: the archive itself must still be the accepted one afterwards.
    afterEach(async () => {
      expect(Buffer.compare(bytes, pristine)).to.equal(0);
      await verifyArchiveStream([bytes], ref, ops, VERIFY);
    });

    async function refused(mutated: Uint8Array, what: string, chunkSize = mutated.length || 1, declared = ref): Promise<void> {
      try {
        await verifyArchiveStream(inChunks(mutated, chunkSize), declared, ops, VERIFY);
      } catch (err) {
        if (!(err instanceof ArchiveError)) throw new Error(`${what}: an uncoded ${String(err)}`);
        expect(ARCHIVE_CODES, what).to.include(err.code);
        return;
      }
      expect.fail(`${what}: accepted`);
    }

    it(`every single-byte change at each of the ${bytes.length} offsets (xor 0x01, 0x80, 0xff; in 7-byte chunks too)`, async function () {
      this.timeout(120_000);
      for (const [flip, chunkSize] of [
        [0x01, 7],
        [0x80, bytes.length],
        [0xff, 513],
      ] as const) {
        for (let offset = 0; offset < bytes.length; offset++) {
          const mutated = bytes.slice();
          mutated[offset]! ^= flip;
          await refused(mutated, `byte ${offset} ^ 0x${flip.toString(16)}`, chunkSize);
        }
      }
    });

    it('every single-byte change of a header with its checksum recomputed (a careful forger)', async function () {
      this.timeout(120_000);
      const headers: number[] = [];
      for (let at = 0, i = 0; i < files.length; i++) {
        headers.push(at);
        const size = sortByPathBytes(files)[i]!.data.length;
        at += BLOCK_SIZE + size + paddingOf(size);
      }
      for (const start of headers) {
        for (let i = 0; i < BLOCK_SIZE; i++) {
          if (i >= 148 && i < 156) continue; // the checksum field itself is what gets recomputed
          for (const flip of [0x01, 0x80]) {
            const mutated = bytes.slice();
            const header = mutated.subarray(start, start + BLOCK_SIZE);
            header[i]! ^= flip;
            header.set(Buffer.from(headerChecksum(header).toString(8).padStart(6, '0')), 148);
            await refused(mutated, `header at ${start}, byte ${i} ^ 0x${flip.toString(16)}, checksum fixed`);
          }
        }
      }
    });

    it('every truncation, also with the declared size lowered to match (the walk itself sees the end marker missing)', async () => {
      for (let length = 0; length < bytes.length; length++) {
        await refused(bytes.subarray(0, length), `truncated to ${length}`);
        await refused(bytes.subarray(0, length), `truncated to ${length}, declared ${length}`, length || 1, { ...ref, size: length });
      }
    });

    it('extensions: each byte value, zero blocks, and a well-formed extra entry after the end marker', async () => {
      for (let value = 0; value < 256; value++) await refused(Buffer.concat([bytes, Buffer.of(value)]), `extended by 0x${value.toString(16)}`);
      for (const n of [1, 2, 3]) await refused(Buffer.concat([bytes, new Uint8Array(n * BLOCK_SIZE)]), `extended by ${n} zero blocks`);
      const entry = tarOf([{ path: 'zz.php', mode: '0644', data: Buffer.from('x') }]);
      await refused(Buffer.concat([bytes, entry]), 'an extra archive appended');
      // The declared size raised to match: nothing after the end marker is ever accepted.
      const longer = Buffer.concat([bytes, new Uint8Array(BLOCK_SIZE)]);
      const err = await failure(verifyArchiveStream([longer], { ...ref, size: longer.length }, ops, VERIFY));
      expect(codes(err)).to.deep.equal(['ARCHIVE_MALFORMED']);
    });
  });
});
