// TUF: wrong software installation. A validly signed release is offered to a site it was not made for:
// another product, another component, or an installed version it does not apply to.
import { expect } from 'chai';
import type { SiteState } from '../../lib/core/manifest.js';
import { fixtures } from './generate.js';
import { input, rejection, rejectionReasons, siteOptions } from './support.js';

describe('Wrong software installation attack', () => {
  const f = fixtures();
  const a = () => input(f.releaseA.envelope, f.releaseA.archive);
  const c = () => input(f.releaseC.envelope, f.releaseC.archive);
  const site = (s: SiteState) => siteOptions({ site: s });

  it('drupal core offered to a WordPress site: WRONG_TARGET (product)', async () => {
    const reasons = await rejectionReasons(a(), site({ product: 'wordpress', component: 'core', installed: '10.2.3' }));
    expect(reasons.map((r) => r.code)).to.deep.equal(['WRONG_TARGET']);
    expect(reasons[0]!.details).to.include({ field: 'product', expected: 'wordpress', found: 'drupal' });
  });

  it('drupal core offered to a Backdrop site: WRONG_TARGET (product)', async () => {
    expect(await rejection(a(), site({ product: 'backdrop', component: 'core', installed: '10.2.3' }))).to.deep.equal(['WRONG_TARGET']);
  });

  it('drupal core offered as an update of the webform module: WRONG_TARGET (component)', async () => {
    const reasons = await rejectionReasons(a(), site({ product: 'drupal', component: 'webform', installed: '10.2.3' }));
    expect(reasons.map((r) => r.code)).to.deep.equal(['WRONG_TARGET']);
    expect(reasons[0]!.details).to.include({ field: 'component', expected: 'webform', found: 'core' });
  });

  it('the webform module offered as an update of drupal core: WRONG_TARGET (component)', async () => {
    expect(await rejection(c(), siteOptions({ trusted: f.trustedV2, site: { product: 'drupal', component: 'core', installed: '6.2.0' } }))).to.deep.equal([
      'WRONG_TARGET',
    ]);
  });

  it('both product and component wrong: WRONG_TARGET twice', async () => {
    expect(await rejection(a(), site({ product: 'wordpress', component: 'akismet', installed: '10.2.3' }))).to.deep.equal(['WRONG_TARGET', 'WRONG_TARGET']);
  });

  it('release A (for 10.2.3) offered to a site on 10.2.2: NOT_APPLICABLE', async () => {
    expect(await rejection(a(), site({ product: 'drupal', component: 'core', installed: '10.2.2' }))).to.deep.equal(['NOT_APPLICABLE']);
  });

  it('release B (for 10.2.4) offered to a site still on 10.2.3 (skipping a release): NOT_APPLICABLE', async () => {
    expect(await rejection(input(f.releaseB.envelope, f.releaseB.archive), site({ product: 'drupal', component: 'core', installed: '10.2.3' }))).to.deep.equal([
      'NOT_APPLICABLE',
    ]);
  });

  it('release A offered to a site on another branch (10.1.8): NOT_APPLICABLE', async () => {
    expect(await rejection(a(), site({ product: 'drupal', component: 'core', installed: '10.1.8' }))).to.deep.equal(['NOT_APPLICABLE']);
  });

  it('release A offered to a pre-release of its base (10.2.3-rc1): NOT_APPLICABLE', async () => {
    expect(await rejection(a(), site({ product: 'drupal', component: 'core', installed: '10.2.3-rc1' }))).to.deep.equal(['NOT_APPLICABLE']);
  });
});
