// TUF: indefinite freeze attack. A mirror keeps serving stale metadata so that a site never learns of
// newer releases or policies. Expiry bounds how long stale documents are accepted.
import { expect } from 'chai';
import { verifyRotation, walkPolicyChain } from '../../lib/core/rotation.js';
import { envelopeBytes, fixtures, makePolicy, policyDocument, POLICY_V2_EXPIRES } from './generate.js';
import { accepts, input, rejection, resigned, siteOptions, thrown } from './support.js';

describe('Indefinite freeze attack (stale documents served forever)', () => {
  const f = fixtures();
  const { alice, carol, dave, erin, frank } = f.team;
  const afterManifestExpiry = new Date('2027-01-02T00:00:00Z'); // policy v1 still fresh until 2027-06-01
  const afterPolicyExpiry = new Date('2027-06-02T00:00:00Z');
  // Version 2 that expired before the tests' reference time, signed by the quorums of v1 and of itself.
  const staleV2 = policyDocument(makePolicy(2, 3, [alice, carol, dave, erin, frank], new Date('2026-03-01T00:00:00Z')), [alice, carol, dave, frank]);

  it('an expired manifest: EXPIRED', async () => {
    expect(await rejection(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ now: afterManifestExpiry }))).to.deep.equal(['EXPIRED']);
  });

  it('a manifest at the very instant it expires: EXPIRED', async () => {
    const now = new Date(f.releaseA.manifest.expires);
    expect(await rejection(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ now }))).to.deep.equal(['EXPIRED']);
  });

  it('a fresh manifest verified against an expired trusted policy: POLICY_EXPIRED', async () => {
    const longLived = { ...f.releaseA.manifest, expires: '2028-01-01T00:00:00Z' };
    const env = resigned(longLived, [alice, carol, dave]);
    expect(await rejection(input(env, f.releaseA.archive), siteOptions({ now: afterPolicyExpiry }))).to.deep.equal(['POLICY_EXPIRED']);
  });

  it('an expired manifest verified against an expired trusted policy: POLICY_EXPIRED and EXPIRED', async () => {
    expect(await rejection(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ now: afterPolicyExpiry }))).to.deep.equal([
      'POLICY_EXPIRED',
      'EXPIRED',
    ]);
  });

  it('the expired trusted policy itself: POLICY_EXPIRED', async () => {
    expect(await rejection(input(f.policyV1.envelope), siteOptions({ now: afterPolicyExpiry }))).to.deep.equal(['POLICY_EXPIRED']);
  });

  it('a rotation target that has expired (walkPolicyChain with now): POLICY_EXPIRED', () => {
    expect(thrown(() => walkPolicyChain(f.trustedV1, [envelopeBytes(staleV2)], siteOptions().now)).code).to.equal('POLICY_EXPIRED');
  });

  it('a rotation target that has expired (verifyBundle of the policy document, trusted = v1): POLICY_EXPIRED', async () => {
    expect(await rejection(input(staleV2), siteOptions())).to.deep.equal(['POLICY_EXPIRED']);
  });

  it('a release verified against a chain whose last policy has expired: POLICY_EXPIRED', async () => {
    // verifyRotation checks signatures and versions only ("freshness aside"); verifyBundle checks the result's expiry.
    const trusted = verifyRotation(f.trustedV1, envelopeBytes(staleV2));
    expect(
      await rejection(
        input(f.releaseB.envelope, f.releaseB.archive),
        siteOptions({ trusted, site: { product: 'drupal', component: 'core', installed: '10.2.4' } }),
      ),
    ).to.deep.equal(['POLICY_EXPIRED']);
  });

  it('an expired intermediate policy in a chain is fine when the last one is fresh (v1 → expired v2 → v3)', async () => {
    const v3 = policyDocument(makePolicy(3, 3, [alice, carol, dave, erin, frank], POLICY_V2_EXPIRES), [alice, carol, dave]);
    const trusted = walkPolicyChain(f.trustedV1, [envelopeBytes(staleV2), envelopeBytes(v3)], siteOptions().now);
    expect(trusted.policy.version).to.equal(3);
    await accepts(
      input(f.releaseB.envelope, f.releaseB.archive),
      siteOptions({ trusted, site: { product: 'drupal', component: 'core', installed: '10.2.4' } }),
    );
  });
});
