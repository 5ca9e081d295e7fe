// Revoked releases and removed keys. A release the quorum revoked must not install; a key removed by a
// rotation (bob's lost laptop, policy v2) must stop counting towards any quorum.
import { expect } from 'chai';
import { createRevocation, verifyRevocation } from '../../lib/core/revocation.js';
import { verifyRotation, walkPolicyChain } from '../../lib/core/rotation.js';
import { envelopeBytes, FIXTURE_NOW, fixtures, makePolicy, policyDocument, POLICY_V2_EXPIRES, signedBy } from './generate.js';
import { accepts, input, quorumProblems, quorumSignedBy, rejection, rejectionReasons, resigned, siteOptions, thrown } from './support.js';

describe('Revoked releases and removed keys', () => {
  const f = fixtures();
  const { alice, bob, carol, dave, erin, frank } = f.team;
  const revocations = () => [verifyRevocation(f.revocationA.bytes, f.trustedV1)];

  describe('Revoked release', () => {
    it('release A after its revocation: REVOKED', async () => {
      const reasons = await rejectionReasons(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ revocations: revocations() }));
      expect(reasons.map((r) => r.code)).to.deep.equal(['REVOKED']);
    });

    it('release A before the revocation is known is accepted (control)', async () => {
      await accepts(input(f.releaseA.envelope, f.releaseA.archive), siteOptions());
    });

    it('the revocation of A does not touch release B', async () => {
      await accepts(
        input(f.releaseB.envelope, f.releaseB.archive),
        siteOptions({ revocations: revocations(), site: { product: 'drupal', component: 'core', installed: '10.2.4' } }),
      );
    });

    it('a revocation signed by m−1 keys is refused: QUORUM_NOT_MET (verifyRevocation)', () => {
      const partial = { ...f.revocationA.envelope, signatures: f.revocationA.envelope.signatures.slice(0, 2) };
      expect(thrown(() => verifyRevocation(envelopeBytes(partial), f.trustedV1)).code).to.equal('QUORUM_NOT_MET');
    });

    it('a revocation signed only by unknown keys is refused: QUORUM_NOT_MET (verifyRevocation)', () => {
      const forged = signedBy({ ...f.revocationA.envelope, signatures: [] }, f.outsiders.slice(0, 3));
      const err = thrown(() => verifyRevocation(envelopeBytes(forged), f.trustedV1));
      expect(err.code).to.equal('QUORUM_NOT_MET');
      expect(((err.details.problems ?? []) as Array<{ code: string }>).map((p) => p.code)).to.deep.equal(['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
    });

    it("the revocation of A's signatures moved onto a revocation of B: QUORUM_NOT_MET (verifyRevocation)", () => {
      const ofB = createRevocation({ product: 'drupal', component: 'core', version: '10.2.5', reason: 'bogus', created: FIXTURE_NOW, policyVersion: 1 });
      const moved = { ...ofB, signatures: f.revocationA.envelope.signatures };
      expect(thrown(() => verifyRevocation(envelopeBytes(moved), f.trustedV1)).code).to.equal('QUORUM_NOT_MET');
    });
  });

  describe('Removed key (bob, removed by the rotation to policy v2)', () => {
    const trusted = () => walkPolicyChain(f.trustedV1, [f.policyV2.bytes], FIXTURE_NOW);
    const webformSite = { product: 'drupal', component: 'webform', installed: '6.2.0' };

    it('a release signed after the rotation by the removed key + (m−1) current keys: QUORUM_NOT_MET (the removed key is UNKNOWN_KEY)', async () => {
      const env = resigned(f.releaseC.manifest, [bob, alice, dave]);
      const reasons = await rejectionReasons(input(env, f.releaseC.archive), siteOptions({ trusted: trusted(), site: webformSite }));
      expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
      expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY']);
      expect(quorumSignedBy(reasons[0])).to.deep.equal([alice.name, dave.name]);
    });

    it('the same release signed by the current quorum is accepted (control)', async () => {
      await accepts(input(resigned(f.releaseC.manifest, [alice, dave, frank]), f.releaseC.archive), siteOptions({ trusted: trusted(), site: webformSite }));
    });

    it("release A, signed before the rotation with bob's key among exactly m, verified after it: QUORUM_NOT_MET (UNKNOWN_KEY)", async () => {
      const reasons = await rejectionReasons(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ trusted: trusted() }));
      expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
      expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY']);
    });

    it('release B, signed before the rotation by keys still trusted, verified after it: accepted', async () => {
      await accepts(
        input(f.releaseB.envelope, f.releaseB.archive),
        siteOptions({ trusted: trusted(), site: { product: 'drupal', component: 'core', installed: '10.2.4' } }),
      );
    });

    it('the removed key + (m−1) current keys sign a rotation to v3: QUORUM_NOT_MET (verifyRotation)', () => {
      const v3 = policyDocument(makePolicy(3, 3, [alice, bob, carol, dave, erin], POLICY_V2_EXPIRES), [bob, alice, carol]);
      const err = thrown(() => verifyRotation(trusted(), envelopeBytes(v3)));
      expect(err.code).to.equal('QUORUM_NOT_MET');
      expect(err.details).to.include({ side: 'current', policyVersion: 2 });
    });

    it('the removed key + (m−1) current keys sign a revocation: QUORUM_NOT_MET (verifyRevocation)', () => {
      const revocation = createRevocation({
        product: 'drupal',
        component: 'webform',
        version: '6.2.1',
        reason: 'bogus',
        created: FIXTURE_NOW,
        policyVersion: 2,
      });
      expect(thrown(() => verifyRevocation(envelopeBytes(signedBy(revocation, [bob, alice, carol])), trusted())).code).to.equal('QUORUM_NOT_MET');
    });

    it('a site still pinned to v1 (no rotation chain) is told it needs the chain: POLICY_STALE and QUORUM_NOT_MET', async () => {
      // Release C expects policy 2 and is signed by frank, whom v1 does not know.
      expect(await rejection(input(f.releaseC.envelope, f.releaseC.archive), siteOptions({ site: webformSite }))).to.deep.equal([
        'QUORUM_NOT_MET',
        'POLICY_STALE',
      ]);
    });
  });
});
