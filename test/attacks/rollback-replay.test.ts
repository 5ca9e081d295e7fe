// TUF: rollback attack (and replay). An attacker offers an older, validly signed release to a site that
// runs something newer, or replays a policy the site has already rotated away from.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { UsageError } from '../../lib/core/errors.js';
import type { SiteState } from '../../lib/core/manifest.js';
import { verifyRotation, walkPolicyChain } from '../../lib/core/rotation.js';
import { verifyBundle } from '../../lib/core/verify.js';
import { envelopeBytes, fixtures, makePolicy, policyDocument, POLICY_V2_EXPIRES } from './generate.js';
import { accepts, input, rejected, rejection, siteOptions, thrown } from './support.js';

/** lib/core/manifest.ts SiteState.highestInstalled is being added in parallel; skip its case until it lands. */
const HIGHEST_INSTALLED_SUPPORTED = ['../../lib/core/manifest.ts', '../../lib/core/verify.ts'].some((f) =>
  readFileSync(new URL(f, import.meta.url), 'utf8').includes('highestInstalled'),
);

describe('Rollback attack (old releases and old policies replayed)', () => {
  const f = fixtures();
  const core = (installed: string): SiteState => ({ product: 'drupal', component: 'core', installed });
  const webform = (installed: string): SiteState => ({ product: 'drupal', component: 'webform', installed });
  const afterRotation = { trusted: f.trustedV2 };

  it('release A (10.2.4, for 10.2.3) replayed to a site on 10.2.5: NOT_APPLICABLE and ROLLBACK', async () => {
    expect(await rejection(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ site: core('10.2.5') }))).to.deep.equal([
      'NOT_APPLICABLE',
      'ROLLBACK',
    ]);
  });

  it('release A replayed to a site that already installed it (10.2.4): NOT_APPLICABLE and ROLLBACK', async () => {
    expect(await rejection(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ site: core('10.2.4') }))).to.deep.equal([
      'NOT_APPLICABLE',
      'ROLLBACK',
    ]);
  });

  it('release C (webform 6.2.1, applies to any earlier version) replayed to a site on 6.2.2: ROLLBACK', async () => {
    expect(await rejection(input(f.releaseC.envelope, f.releaseC.archive), siteOptions({ ...afterRotation, site: webform('6.2.2') }))).to.deep.equal([
      'ROLLBACK',
    ]);
  });

  it('release C replayed to a site that already runs 6.2.1: ROLLBACK', async () => {
    expect(await rejection(input(f.releaseC.envelope, f.releaseC.archive), siteOptions({ ...afterRotation, site: webform('6.2.1') }))).to.deep.equal([
      'ROLLBACK',
    ]);
  });

  it('release C to a site on 6.2.0 is accepted (control)', async () => {
    await accepts(input(f.releaseC.envelope, f.releaseC.archive), siteOptions({ ...afterRotation, site: webform('6.2.0') }));
  });

  it('release A replayed to a site restored to 10.2.3 whose highest installed version is 10.2.5: ROLLBACK', async function () {
    if (!HIGHEST_INSTALLED_SUPPORTED) {
      // NOTE: SiteState.highestInstalled is not in lib/ yet (another engineer is adding it); this case runs once it is.
      this.skip();
    }
    const site: SiteState & { highestInstalled?: string } = { ...core('10.2.3'), highestInstalled: '10.2.5' };
    expect(await rejection(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ site }))).to.deep.equal(['ROLLBACK']);
  });

  it('a malformed highest-installed version from the caller is a usage error, never a verdict', async function () {
    if (!HIGHEST_INSTALLED_SUPPORTED) this.skip();
    const site: SiteState & { highestInstalled?: string } = { ...core('10.2.3'), highestInstalled: '10.2.x' };
    const err = await rejected(verifyBundle(input(f.releaseA.envelope, f.releaseA.archive), siteOptions({ site })));
    expect(err).to.be.instanceOf(UsageError);
    expect(err.code).to.equal('USAGE');
  });

  it('policy v1 replayed after the rotation to v2 (verifyRotation from v2): POLICY_ROLLBACK', () => {
    expect(thrown(() => verifyRotation(f.trustedV2, f.policyV1.bytes)).code).to.equal('POLICY_ROLLBACK');
  });

  it('policy v1 replayed after the rotation to v2 (verifyBundle of the policy document, trusted = v2): POLICY_ROLLBACK', async () => {
    expect(await rejection(input(f.policyV1.envelope), siteOptions(afterRotation))).to.deep.equal(['POLICY_ROLLBACK']);
  });

  it('a chain that walks v1 → v2 → v1: POLICY_ROLLBACK', () => {
    expect(thrown(() => walkPolicyChain(f.trustedV1, [f.policyV2.bytes, f.policyV1.bytes])).code).to.equal('POLICY_ROLLBACK');
  });

  it('v2 replayed as the next step after v2: POLICY_ROLLBACK', () => {
    expect(thrown(() => walkPolicyChain(f.trustedV1, [f.policyV2.bytes, f.policyV2.bytes])).code).to.equal('POLICY_ROLLBACK');
  });

  it('a rotation that skips a version (v1 → v3, signed by both quorums): POLICY_VERSION_GAP', async () => {
    const { alice, carol, dave, erin, frank } = f.team;
    const v3 = policyDocument(makePolicy(3, 3, [alice, carol, dave, erin, frank], POLICY_V2_EXPIRES), [alice, carol, dave, frank]);
    expect(thrown(() => verifyRotation(f.trustedV1, envelopeBytes(v3))).code).to.equal('POLICY_VERSION_GAP');
    expect(await rejection(input(v3), siteOptions())).to.deep.equal(['POLICY_VERSION_GAP']);
  });
});
