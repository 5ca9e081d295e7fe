// Scale-out on PostgreSQL: two hub processes' worth of registries and push runners share one registry
// and one campaign. Every site is notified exactly once and installs once. Skips, saying so, when no
// PostgreSQL server is reachable (COUNTERSIGN_TEST_POSTGRES, default the local one).
import { expect } from 'chai';
import { openRegistry } from '../../lib/hub/open-registry.js';
import { runPush } from '../../lib/hub/push.js';
import { registerSite } from '../../lib/site/register.js';
import { openStore } from '../../lib/node/trust-store.js';
import { createTestDatabase, skipWithoutPostgres, type TestDatabase } from '../support/postgres.js';
import { tempDir } from '../installer/support.js';
import { liveRelease, startHub, startSite, type Hub, type Site } from './support.js';

describe('distribution on PostgreSQL: two runners share one campaign', function () {
  this.timeout(120_000);
  let db: TestDatabase | undefined;
  let hub: Hub | undefined;
  const sites: Site[] = [];

  before(async function () {
    await skipWithoutPostgres(this);
    db = await createTestDatabase();
  });
  after(async () => {
    for (const s of sites) await s.close();
    await hub?.close();
    await db?.drop();
  });

  it('never notifies a site twice: each of 12 sites gets one conversation and installs once', async () => {
    const dir = tempDir('countersign-dist-pg-');
    const release = liveRelease(dir);
    hub = await startHub(release, { db: db!.url });
    for (let i = 0; i < 12; i++) {
      const s = await startSite(release, { installer: 'in-process' });
      sites.push(s);
      await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    }
    const other = await openRegistry(db!.url);
    try {
      const common = { bundlesDir: hub.bundles, concurrency: 3, minRisk: null, allowPrivate: true, retryBaseMs: 10, maxAttempts: 2 };
      // Both start at once: one creates the campaign, the other resumes it (the registry serialises the creation).
      const first = runPush({ ...common, registry: hub.registry });
      const second = runPush({ ...common, registry: other });
      const [a, b] = await Promise.all([first, second]);
      expect(b.campaign).to.equal(a.campaign);
      expect(a.done).to.equal(12);
      expect(a.failed + b.failed).to.equal(0);
    } finally {
      await other.close();
    }
    for (const s of sites) {
      expect(s.events.filter((e) => e.event === 'package')).to.have.length(1);
      expect((await openStore(s.store)).state.installed['drupal/core']?.version).to.equal('10.2.4');
    }
  });
});
