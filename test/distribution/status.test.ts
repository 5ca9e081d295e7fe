// Who is still exposed after an update event: `hub status` counts the sites that poll (never pushed to)
// from their poll reports, and the push summary names every site that failed. And a hub publish that
// fails leaves nothing behind.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { publishBundle } from '../../lib/hub/publish.js';
import { runPush } from '../../lib/hub/push.js';
import { campaignReport } from '../../lib/hub/status.js';
import { readCredentials } from '../../lib/site/credentials.js';
import { pollHub } from '../../lib/site/poll.js';
import { registerSite } from '../../lib/site/register.js';
import { rejectionCode } from '../support/codes.js';
import { tempDir } from '../support/tmp.js';
import { liveRelease, startHub, startSite, type Hub, type Site } from './support.js';

const PUSH = { concurrency: 2, minRisk: null, allowPrivate: true, retryBaseMs: 10, maxAttempts: 1 } as const;

describe('distribution: hub status and the push summary say who is still exposed', function () {
  this.timeout(60_000);
  let release: ReturnType<typeof liveRelease>;
  const hubs: Hub[] = [];
  const sites: Site[] = [];

  before(() => {
    release = liveRelease(tempDir('countersign-status-'));
  });
  after(async () => {
    for (const s of sites) await s.close();
    for (const h of hubs) await h.close();
  });

  async function hub(): Promise<Hub> {
    const h = await startHub(release);
    hubs.push(h);
    return h;
  }

  async function site(opts: Parameters<typeof startSite>[1] = {}): Promise<Site> {
    const s = await startSite(release, opts);
    sites.push(s);
    return s;
  }

  it('counts polling sites: one not seen since the campaign began is still exposed; once it polls, its report and last-seen time count', async () => {
    const h = await hub();
    const polling = await site({ installer: 'inbox' });
    const idle = await site({ installer: 'inbox' });
    const a = await registerSite({ hub: h.url, endpoint: null, storeDir: polling.store, allowPrivate: true });
    const b = await registerSite({ hub: h.url, endpoint: null, storeDir: idle.store, allowPrivate: true });
    const summary = await runPush({ registry: h.registry, bundlesDir: h.bundles, ...PUSH });
    expect(summary.total).to.equal(0);
    let report = (await campaignReport(h.registry, summary.campaign))!;
    expect(report.polling).to.include({ total: 2, seen: 0, unseen: 2 });

    await pollHub({
      credentials: await readCredentials(polling.store),
      agent: polling.agent,
      spoolDir: polling.spool,
      maxBundleBytes: 1 << 26,
      allowPrivate: true,
    });
    report = (await campaignReport(h.registry, summary.campaign))!;
    expect(report.polling).to.include({ total: 2, seen: 1, unseen: 1 });
    const seen = report.polling.sites.find((s) => s.site === a.site)!;
    expect(seen.seen).to.equal(true);
    expect(Date.parse(seen.lastSeen!)).to.be.at.least(Date.parse(report.campaign.created));
    expect(seen.reports.map((r) => [r.name, r.status])).to.deep.equal([['drupal-core-10.2.4', 'verified']]);
    expect(report.polling.sites.find((s) => s.site === b.site)).to.include({ seen: false, lastSeen: null });
  });

  it('the push summary names every failed site with its endpoint, attempts and last error', async () => {
    const h = await hub();
    const down = await site();
    const creds = await registerSite({ hub: h.url, endpoint: down.endpoint, storeDir: down.store, allowPrivate: true });
    await down.close();
    const summary = await runPush({ registry: h.registry, bundlesDir: h.bundles, ...PUSH });
    expect(summary.failed).to.equal(1);
    expect(summary.failedSites).to.have.length(1);
    expect(summary.failedSites[0]).to.include({ site: creds.site, endpoint: down.endpoint.href, attempts: 1, code: 'UNREACHABLE' });
  });

  it('a rejected publish opens no registry and removes the bundles directory it made', async () => {
    const h = await hub();
    const foreign = liveRelease(tempDir('countersign-status-'));
    const dir = tempDir('countersign-status-');
    let opened = false;
    const code = await rejectionCode(
      publishBundle(
        async () => {
          opened = true;
          return h.registry;
        },
        { bundlePath: foreign.bundle, bundlesDir: join(dir, 'hub', 'bundles'), storeDir: h.store, now: new Date() },
      ),
    );
    expect(code).to.equal('QUORUM_NOT_MET');
    expect(opened).to.equal(false);
    expect(existsSync(join(dir, 'hub'))).to.equal(false);
  });
});
