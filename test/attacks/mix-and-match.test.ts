// TUF: mix-and-match attack. An attacker combines pieces of different, individually valid releases:
// one release's archive with another's manifest, or one manifest's signatures on another manifest.
import { expect } from 'chai';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleBytes, fixtures } from './generate.js';
import { accepts, input, quorumProblems, rejection, rejectionReasons, siteOptions, untouchable } from './support.js';

describe('Mix-and-match attack', () => {
  const f = fixtures();
  const site10_2_4 = siteOptions({ site: { product: 'drupal', component: 'core', installed: '10.2.4' } });

  it('the genuine pieces verify on their own (control)', async () => {
    await accepts(input(f.releaseA.envelope, f.releaseA.archive), siteOptions());
    await accepts(input(f.releaseB.envelope, f.releaseB.archive), site10_2_4);
  });

  it('manifest of B with the archive of A (other size): DIGEST_MISMATCH, the archive never read', async () => {
    expect(f.releaseA.archive.length).to.not.equal(f.releaseB.archive.length);
    const codes = await rejection({ ...input(f.releaseB.envelope), archive: untouchable(f.releaseA.archive.length) }, site10_2_4);
    expect(codes).to.deep.equal(['DIGEST_MISMATCH']);
  });

  it('manifest of B with the archive of C (same size, streamed): the first entry is not the one B lists', async () => {
    expect(f.releaseC.archive.length).to.equal(f.releaseB.archive.length);
    const codes = await rejection(input(f.releaseB.envelope, f.releaseC.archive), site10_2_4);
    // B's manifest rebuilds its first header; C's first entry is a path B does not install (the walk stops there).
    expect(codes).to.deep.equal(['ENTRY_EXTRA']);
  });

  it('bundle file re-assembled from the envelope of B and the archive of A: DIGEST_MISMATCH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-mix-'));
    try {
      const path = join(dir, 'mixed.bundle');
      writeFileSync(path, bundleBytes(f.releaseB.envelope, f.releaseA.archive));
      const bundle = await openBundleFile(path);
      try {
        expect(await rejection(bundle, site10_2_4)).to.deep.equal(['DIGEST_MISMATCH']);
      } finally {
        await bundle.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signatures of manifest A attached to manifest B: QUORUM_NOT_MET (every one BAD_SIGNATURE)', async () => {
    const env = { ...f.releaseB.envelope, signatures: f.releaseA.envelope.signatures };
    const reasons = await rejectionReasons({ ...input(env), archive: untouchable(f.releaseB.archive.length) }, site10_2_4);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });

  it("signatures of manifest B attached to manifest A, with A's archive: QUORUM_NOT_MET (every one BAD_SIGNATURE)", async () => {
    const env = { ...f.releaseA.envelope, signatures: f.releaseB.envelope.signatures };
    const reasons = await rejectionReasons(input(env, f.releaseA.archive), siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });

  it('two genuine signatures of B plus one lifted from A: QUORUM_NOT_MET (BAD_SIGNATURE)', async () => {
    const [b1, b2] = f.releaseB.envelope.signatures;
    const fromA = f.releaseA.envelope.signatures.find((s) => s.keyid === f.team.bob.id)!;
    const env = { ...f.releaseB.envelope, signatures: [b1!, b2!, fromA] };
    const reasons = await rejectionReasons({ ...input(env), archive: untouchable(f.releaseB.archive.length) }, site10_2_4);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE']);
  });

  it('signatures of the revocation of A attached to manifest A: QUORUM_NOT_MET (every one BAD_SIGNATURE)', async () => {
    const env = { ...f.releaseA.envelope, signatures: f.revocationA.envelope.signatures };
    const reasons = await rejectionReasons({ ...input(env), archive: untouchable(f.releaseA.archive.length) }, siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });
});
