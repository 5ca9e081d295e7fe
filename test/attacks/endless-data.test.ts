// TUF: endless data attack. A mirror answers with far more bytes than the signed manifest declares,
// hoping the site reads (or buffers) without bound. Verification must stop at the declared size.
import { expect } from 'chai';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import { concatBytes, utf8 } from '../../lib/core/bytes.js';
import type { ArchiveInput } from '../../lib/core/verify.js';
import { bundleBytes, envelopeBytes, fixtures } from './generate.js';
import { accepts, input, rejected, rejection, resigned, sha256Hex, siteOptions, tarOf, untouchable, withArchive } from './support.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const CHUNK = 64 * KiB;

interface Endless {
  archive: ArchiveInput;
  /** Bytes handed to the verifier so far. */
  pulled(): number;
  /** True once the verifier closed the stream (the generator's finally ran). */
  closed(): boolean;
  peakRss(): number;
}

/**
 * An archive stream that first yields `prefix`, then offers `offered` bytes more, lazily: the same
 * 64 KiB chunk again and again, so nothing the size of the offer is ever allocated.
 */
function endless(claimedSize: number, prefix: Uint8Array, offered = 2 * GiB): Endless {
  const junk = new Uint8Array(CHUNK).fill(0x41);
  let pulled = 0;
  let closed = false;
  let peak = process.memoryUsage.rss();
  return {
    archive: {
      size: claimedSize,
      chunks: async function* () {
        try {
          if (prefix.length > 0) {
            pulled += prefix.length;
            yield prefix;
          }
          for (let given = 0; given < offered; given += CHUNK) {
            peak = Math.max(peak, process.memoryUsage.rss());
            pulled += CHUNK;
            yield junk;
          }
        } finally {
          closed = true;
        }
      },
    },
    pulled: () => pulled,
    closed: () => closed,
    peakRss: () => peak,
  };
}

describe('Endless data attack', function () {
  const f = fixtures();
  const { alice, carol, dave } = f.team;
  // A release whose signed archive is exactly 10 KiB: one 8.5 KiB file, its header and the end marker.
  const content = new Uint8Array(8704).fill(0x3c);
  const archive = tarOf([{ path: 'core/assets/data.bin', content }]);
  const manifest = withArchive(
    { ...f.releaseA.manifest, files: [{ op: 'add', path: 'core/assets/data.bin', sha256: sha256Hex(content), size: content.length, mode: '0644' }] },
    archive,
  );
  const envelope = resigned(manifest, [alice, carol, dave]);
  const declared = archive.length;

  it('the 10 KiB release verifies when served honestly (control)', async () => {
    expect(declared).to.equal(10 * KiB);
    await accepts(input(envelope, archive), siteOptions());
  });

  it('the genuine 10 KiB followed by 2 GiB offered lazily: DIGEST_MISMATCH, reading stops within one chunk of the declared size, memory flat', async () => {
    const stream = endless(declared, archive);
    const before = process.memoryUsage.rss();
    const codes = await rejection({ ...input(envelope), archive: stream.archive }, siteOptions());
    expect(codes).to.deep.equal(['DIGEST_MISMATCH']);
    expect(stream.pulled()).to.be.at.most(declared + CHUNK);
    expect(stream.closed(), 'the stream was closed, not left pending').to.equal(true);
    expect(Math.max(stream.peakRss(), process.memoryUsage.rss()) - before).to.be.below(50 * MiB);
  });

  it('junk from the first byte, 2 GiB offered lazily: DIGEST_MISMATCH after a single chunk', async () => {
    const stream = endless(declared, new Uint8Array(0));
    expect(await rejection({ ...input(envelope), archive: stream.archive }, siteOptions())).to.deep.equal(['DIGEST_MISMATCH']);
    expect(stream.pulled()).to.equal(CHUNK);
    expect(stream.closed()).to.equal(true);
  });

  it('one byte too many at the end: DIGEST_MISMATCH', async () => {
    const oneMore: ArchiveInput = {
      size: declared,
      chunks: async function* () {
        yield archive;
        yield new Uint8Array(1);
      },
    };
    expect(await rejection({ ...input(envelope), archive: oneMore }, siteOptions())).to.deep.equal(['DIGEST_MISMATCH']);
  });

  it('a mirror that announces the real (2 GiB) size: DIGEST_MISMATCH with not one byte read', async () => {
    const stream = endless(2 * GiB, new Uint8Array(0));
    expect(await rejection({ ...input(envelope), archive: stream.archive }, siteOptions())).to.deep.equal(['DIGEST_MISMATCH']);
    expect(stream.pulled()).to.equal(0);
  });

  it('an archive above the size cap (5 GiB): SIZE_LIMIT before parsing anything', async () => {
    expect(await rejection({ ...input(envelope), archive: untouchable(5 * GiB) }, siteOptions())).to.deep.equal(['SIZE_LIMIT']);
  });

  describe('from a bundle file on disk', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'countersign-endless-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('a v2 bundle file extended to 2 GiB (sparse): MALFORMED from its section lengths, before the envelope is read', async () => {
      const path = join(dir, 'huge-v2.bundle');
      writeFileSync(path, bundleBytes(envelope, archive));
      truncateSync(path, 2 * GiB);
      expect((await rejected(openBundleFile(path))).code).to.equal('MALFORMED');
    });

    it('a v1 bundle file extended to 2 GiB (sparse): DIGEST_MISMATCH without reading the archive', async () => {
      const path = join(dir, 'huge.bundle');
      const env = envelopeBytes(envelope);
      writeFileSync(path, concatBytes(utf8(`countersign-bundle v1 ${env.length}\n`), env, archive));
      truncateSync(path, 2 * GiB);
      const bundle = await openBundleFile(path);
      try {
        expect(await rejection(bundle, siteOptions())).to.deep.equal(['DIGEST_MISMATCH']);
      } finally {
        await bundle.close();
      }
    });

    it('a bundle header announcing a 999,999,999-byte envelope: SIZE_LIMIT before the envelope is read', async () => {
      const path = join(dir, 'huge-envelope.bundle');
      writeFileSync(path, 'countersign-bundle v1 999999999\n{');
      expect((await rejected(openBundleFile(path))).code).to.equal('SIZE_LIMIT');
    });

    it('a bare envelope file of 17 MiB (sparse): SIZE_LIMIT before it is read', async () => {
      const path = join(dir, 'huge-envelope.json');
      writeFileSync(path, envelopeBytes(envelope));
      truncateSync(path, 17 * MiB);
      expect((await rejected(openBundleFile(path))).code).to.equal('SIZE_LIMIT');
    });
  });
});
