// The committed fixtures are exactly what the generator produces, and the legitimate ones verify.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import { verifyRevocation } from '../../lib/core/revocation.js';
import { walkPolicyChain } from '../../lib/core/rotation.js';
import { verifyBundle } from '../../lib/core/verify.js';
import { FIXTURE_NOW, FIXTURES_DIR, fixtures, generateFixtures } from './generate.js';
import { SITE_10_2_3 } from './support.js';

describe('attack fixtures (test/attacks/fixtures/)', () => {
  it('are byte-identical to a fresh run of test/attacks/generate.ts (regenerate them if this fails)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-attack-fixtures-'));
    try {
      const names = generateFixtures(dir);
      expect(readdirSync(FIXTURES_DIR).sort(), 'committed file list').to.deep.equal(names);
      for (const name of names) {
        const fresh = readFileSync(join(dir, name));
        const committed = readFileSync(join(FIXTURES_DIR, name));
        expect(committed.equals(fresh), `${name} differs from the generator's output`).to.equal(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are small (every file under 16 KiB)', () => {
    for (const [name, bytes] of fixtures().files) expect(bytes.length, name).to.be.below(16 * 1024);
  });

  it('the committed pin, rotation, releases and revocation verify as a site would load them', async () => {
    const v1 = loadTrustedPolicy(readFileSync(join(FIXTURES_DIR, 'policy-v1.json')));
    const v2 = walkPolicyChain(v1, [readFileSync(join(FIXTURES_DIR, 'policy-v2.json'))], FIXTURE_NOW);
    expect(v2.policy.version).to.equal(2);
    const cases = [
      { file: 'drupal-core-10.2.4.bundle', trusted: v1, site: SITE_10_2_3, signedBy: ['Alice (TEST ONLY)', 'Bob (TEST ONLY)', 'Carol (TEST ONLY)'] },
      {
        file: 'drupal-core-10.2.5.bundle',
        trusted: v1,
        site: { ...SITE_10_2_3, installed: '10.2.4' },
        signedBy: ['Alice (TEST ONLY)', 'Carol (TEST ONLY)', 'Dave (TEST ONLY)', 'Erin (TEST ONLY)'],
      },
      {
        file: 'drupal-webform-6.2.1.bundle',
        trusted: v2,
        site: { product: 'drupal', component: 'webform', installed: '6.2.0' },
        signedBy: ['Alice (TEST ONLY)', 'Dave (TEST ONLY)', 'Frank (TEST ONLY)'],
      },
    ];
    for (const c of cases) {
      const bundle = await openBundleFile(join(FIXTURES_DIR, c.file));
      try {
        const v = await verifyBundle(bundle, { trusted: c.trusted, now: FIXTURE_NOW, site: c.site });
        expect(
          v.quorum.signedBy.map((s) => s.name),
          c.file,
        ).to.deep.equal(c.signedBy);
      } finally {
        await bundle.close();
      }
    }
    const revocation = verifyRevocation(readFileSync(join(FIXTURES_DIR, 'revocation-drupal-core-10.2.4.json')), v1);
    expect(revocation).to.include({ product: 'drupal', component: 'core', version: '10.2.4' });
  });
});
