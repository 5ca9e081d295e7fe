import { rejectionOf } from './support/codes.js';
import { expect } from 'chai';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { openRegistry } from '../lib/hub/open-registry.js';
import { NONCE_PURGE_EVERY, type OfferRecord, type Registry, type SiteRecord } from '../lib/hub/registry.js';
import { computeRisk } from '../lib/core/risk.js';
import { tempDir } from './support/fixtures.js';
import { createTestDatabase, execute, skipWithoutPostgres, withTestDatabase } from './support/postgres.js';

const T0 = '2026-11-23T12:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
const LEASE = 60_000;

function site(id: string, endpoint: string | null = `https://${id}.example/countersign`): SiteRecord {
  return { id, endpoint, key: new Uint8Array(32).fill(id.length), registered: T0, address: '192.0.2.7', privateEndpoint: false };
}

function offer(name: string, fields: Partial<OfferRecord> = {}): OfferRecord {
  return {
    name,
    product: 'drupal',
    component: 'core',
    version: '10.2.4',
    appliesTo: ['10.2.3', '10.2.2'],
    risk: computeRisk('AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default'),
    advisory: 'SA-CORE-2026-001',
    size: 12_345_678,
    sha256: 'a'.repeat(64),
    hawkHash: 'bGVnaXQ=',
    file: `/srv/hub/bundles/${name}.csbundle`,
    published: T0,
    manifestSha256: 'b'.repeat(64),
    ...fields,
  };
}

async function addSites(registry: Registry, n: number, endpoint = true): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => `site-${String(i).padStart(5, '0')}`);
  // A few at a time: PostgreSQL commits them in groups; SQLite runs them one by one anyway.
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id) => registry.addSite(site(id, endpoint ? undefined : null))));
  }
}

interface Backend {
  name: 'sqlite' | 'postgres';
  /** Skips the suite when the backend cannot run here. */
  available(ctx: Mocha.Context): Promise<void>;
  create(): Promise<{ url: string; drop(): Promise<void> }>;
  /** Runs SQL on the database directly, behind the registry's back. */
  execute(url: string, sql: string): Promise<void>;
}

const sqlite: Backend = {
  name: 'sqlite',
  available: async () => {},
  create: async () => {
    const dir = tempDir('countersign-registry-');
    return { url: `sqlite:${join(dir, 'hub.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  execute: async (url, sql) => {
    const db = new Sqlite(url.slice('sqlite:'.length));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  },
};

const postgres: Backend = {
  name: 'postgres',
  available: skipWithoutPostgres,
  create: createTestDatabase,
  execute,
};

function registryBehaviour(backend: Backend): void {
  describe(`hub registry (${backend.name})`, function () {
    let url: string;
    let drop: () => Promise<void>;
    let registry: Registry;
    const opened: Registry[] = [];

    /** Another registry on the same database, closed after the test. */
    async function another(): Promise<Registry> {
      const r = await openRegistry(url);
      opened.push(r);
      return r;
    }

    before(async function () {
      await backend.available(this);
    });

    beforeEach(async () => {
      ({ url, drop } = await backend.create());
      registry = await another();
    });

    afterEach(async () => {
      for (const r of opened.splice(0)) await r.close();
      await drop();
    });

    it('records polls: last seen and the last report per package, for sites without an endpoint only', async () => {
      await registry.addSite(site('poller', null));
      await registry.addSite(site('idle', null));
      await registry.addSite(site('pushed'));
      await registry.recordPoll('poller', [{ name: 'drupal-core-10.2.4', status: 'failed', code: 'UNREACHABLE', message: 'down' }], at(1000));
      await registry.recordPoll(
        'poller',
        [
          { name: 'drupal-core-10.2.4', status: 'installed' },
          { name: 'drupal-core-10.2.5', status: 'partial', kept: ['README.txt'] },
        ],
        at(2000),
      );
      await registry.recordPoll('poller', [], at(3000));
      await registry.recordPoll('pushed', [{ name: 'drupal-core-10.2.4', status: 'installed' }], at(3000));
      expect(await (await another()).pollingSites()).to.deep.equal([
        { id: 'idle', registered: T0, lastSeen: null, reports: [] },
        {
          id: 'poller',
          registered: T0,
          lastSeen: at(3000),
          reports: [
            { name: 'drupal-core-10.2.4', status: 'installed', code: null, message: null, kept: null, reported: at(2000) },
            { name: 'drupal-core-10.2.5', status: 'partial', code: null, message: null, kept: ['README.txt'], reported: at(2000) },
          ],
        },
      ]);
    });

    it('with mustExist, opens an existing registry but refuses one never created (REGISTRY), creating nothing', async () => {
      await registry.addSite(site('alpha'));
      expect(await (await openRegistry(url, { mustExist: true }).then((r) => (opened.push(r), r))).countSites()).to.equal(1);
      const fresh = await backend.create();
      try {
        if (backend.name === 'sqlite') rmSync(fresh.url.slice('sqlite:'.length), { force: true });
        const err = await rejectionOf(openRegistry(fresh.url, { mustExist: true }));
        expect(err.code).to.equal('REGISTRY');
        expect(err.details.missing).to.be.a('string');
        if (backend.name === 'sqlite') expect(existsSync(fresh.url.slice('sqlite:'.length))).to.equal(false);
        // Nothing was created by the refused open: it is refused again.
        expect((await rejectionOf(openRegistry(fresh.url, { mustExist: true }))).code).to.equal('REGISTRY');
      } finally {
        await fresh.drop();
      }
    });

    it('opens as its kind, and reopens with what was stored', async () => {
      expect(registry.kind).to.equal(backend.name);
      await registry.addSite(site('alpha'));
      await registry.close();
      registry = await another();
      expect(await registry.countSites()).to.equal(1);
    });

    it('adds and reads sites, key and all', async () => {
      await registry.addSite({ ...site('alpha'), registered: '2026-11-23T13:00:00+01:00' });
      await registry.addSite(site('beta', null));
      expect(await registry.getSite('alpha')).to.deep.equal({ ...site('alpha'), registered: T0 });
      const beta = await registry.getSite('beta');
      expect(beta?.endpoint).to.equal(null);
      expect(beta?.key).to.be.instanceOf(Uint8Array).and.have.length(32);
      expect(await registry.getSite('gamma')).to.equal(undefined);
      await registry.addSite({ ...site('delta'), privateEndpoint: true });
      expect((await registry.getSite('delta'))?.privateEndpoint).to.equal(true);
      expect(await registry.countSites()).to.equal(3);
      // A batch read: the ones that exist, each as getSite reads it; unknown ids and an empty list give nothing.
      const batch = await registry.getSites(['delta', 'gamma', 'alpha', 'beta']);
      expect(batch.map((s) => s.id).sort()).to.deep.equal(['alpha', 'beta', 'delta']);
      for (const s of batch) expect(s).to.deep.equal(await registry.getSite(s.id));
      expect(await registry.getSites([])).to.deep.equal([]);
      expect(await registry.getSites(["gamma' OR 1=1 --"])).to.deep.equal([]);
    });

    it('refuses a second site with the same id, keeping the first', async () => {
      await registry.addSite(site('alpha'));
      const err = await rejectionOf(registry.addSite({ ...site('alpha'), endpoint: 'https://evil.example/' }));
      expect(err.code).to.equal('REGISTRY');
      expect(err.details.conflict).to.equal('id');
      expect((await registry.getSite('alpha'))?.endpoint).to.equal(site('alpha').endpoint);
      expect(await registry.countSites()).to.equal(1);
    });

    it('adds an offer once, accepts the same bundle again, refuses another under its name', async () => {
      expect(await registry.putOffer(offer('drupal-core-10.2.4'))).to.equal('added');
      expect(await registry.putOffer(offer('drupal-core-10.2.4'))).to.equal('exists');
      const err = await rejectionOf(registry.putOffer(offer('drupal-core-10.2.4', { sha256: 'c'.repeat(64) })));
      expect(err.code).to.equal('REGISTRY');
      expect(err.details.conflict).to.equal('name');
      expect(await registry.getOffer('drupal-core-10.2.4')).to.deep.equal(offer('drupal-core-10.2.4'));
      expect(await registry.getOffer('drupal-core-9.5.0')).to.equal(undefined);
    });

    it('lists offers by product, component, version string and name', async () => {
      const offers = [
        offer('wp-core-6.5', { product: 'wordpress', version: '6.5' }),
        offer('drupal-core-10.2.4', { version: '10.2.4' }),
        offer('drupal-core-9.5.11', { version: '9.5.11' }),
        offer('drupal-core-10.2.4-b', { version: '10.2.4', advisory: null }),
        offer('drupal-Views-1.0', { component: 'Views', version: '1.0' }),
      ];
      for (const o of offers) await registry.putOffer(o);
      expect((await registry.listOffers()).map((o) => o.name)).to.deep.equal([
        'drupal-Views-1.0', // "V" sorts before "c" by code point, in every locale
        'drupal-core-10.2.4',
        'drupal-core-10.2.4-b',
        'drupal-core-9.5.11', // versions compare as strings here
        'wp-core-6.5',
      ]);
      expect((await registry.listOffers())[2]).to.deep.equal(offers[3]);
    });

    it('creates a campaign with one pending delivery per site that has an endpoint', async () => {
      await registry.addSite(site('alpha'));
      await registry.addSite(site('beta', null));
      await registry.addSite(site('gamma'));
      expect(await registry.createCampaign({ id: 'c1', created: T0, offers: ['drupal-core-10.2.4'], minRisk: 'Critical' })).to.equal(2);
      expect(await registry.getCampaign('c1')).to.deep.equal({ id: 'c1', created: T0, offers: ['drupal-core-10.2.4'], minRisk: 'Critical', finished: null });
      expect(await registry.campaignProgress('c1')).to.deep.equal({ pending: 2, running: 0, done: 0, failed: 0, total: 2 });
      expect((await registry.deliveryResults('c1')).map((d) => [d.siteId, d.state, d.attempts, d.result])).to.deep.equal([
        ['alpha', 'pending', 0, null],
        ['gamma', 'pending', 0, null],
      ]);
      expect(await registry.nextDue('c1')).to.equal(T0);
      expect(await registry.getCampaign('c2')).to.equal(undefined);
      const err = await rejectionOf(registry.createCampaign({ id: 'c1', created: at(1000), offers: [], minRisk: null }));
      expect(err.details.conflict).to.equal('id');
      expect(await registry.campaignProgress('c1')).to.deep.equal({ pending: 2, running: 0, done: 0, failed: 0, total: 2 });
    });

    it('claims due deliveries up to the limit, and finishes them', async () => {
      await addSites(registry, 5);
      await registry.createCampaign({ id: 'c1', created: T0, offers: ['o'], minRisk: null });
      expect(await registry.claimDeliveries('c1', 'runner-a', 3, at(-1), LEASE)).to.deep.equal([]); // not due yet
      const first = await registry.claimDeliveries('c1', 'runner-a', 3, T0, LEASE);
      expect(first).to.have.length(3);
      expect(first.every((c) => c.attempts === 1)).to.equal(true);
      const rest = await registry.claimDeliveries('c1', 'runner-a', 3, T0, LEASE);
      expect(rest).to.have.length(2);
      expect(new Set([...first, ...rest].map((c) => c.siteId)).size).to.equal(5);
      expect(await registry.claimDeliveries('c1', 'runner-a', 3, at(1000), LEASE)).to.deep.equal([]);
      expect(await registry.nextDue('c1')).to.equal(null);

      expect(await registry.finishDelivery('c1', first[0]!.siteId, 'runner-a', { state: 'done', result: { installed: '10.2.4' } }, at(1000))).to.equal(true);
      expect(await registry.finishDelivery('c1', first[1]!.siteId, 'runner-a', { state: 'failed', result: { error: 'LOCAL_CHANGES' } }, at(1000))).to.equal(
        true,
      );
      expect(await registry.campaignProgress('c1')).to.deep.equal({ pending: 0, running: 3, done: 1, failed: 1, total: 5 });
      // Finished deliveries are never claimed again, even long after their lease would have ended.
      expect((await registry.claimDeliveries('c1', 'runner-b', 10, at(10 * LEASE), LEASE)).map((c) => c.siteId).sort()).to.deep.equal(
        [first[2]!, ...rest].map((c) => c.siteId).sort(),
      );
      const results = await registry.deliveryResults('c1');
      expect(results.find((r) => r.siteId === first[0]!.siteId)).to.deep.equal({
        siteId: first[0]!.siteId,
        state: 'done',
        attempts: 1,
        result: { installed: '10.2.4' },
      });
      expect(results.find((r) => r.siteId === first[1]!.siteId)?.state).to.equal('failed');
    });

    it('puts a retried delivery back, due at its next attempt time', async () => {
      await addSites(registry, 2);
      await registry.createCampaign({ id: 'c1', created: T0, offers: ['o'], minRisk: null });
      const [a, b] = await registry.claimDeliveries('c1', 'runner-a', 2, T0, LEASE);
      const result = { error: 'HUB_UNREACHABLE', nested: [1, 'two', null, { ok: false }] };
      expect(await registry.finishDelivery('c1', a!.siteId, 'runner-a', { state: 'retry', nextAttemptAt: at(30_000), result }, at(1000))).to.equal(true);
      // No next attempt time: due again at once.
      expect(await registry.finishDelivery('c1', b!.siteId, 'runner-a', { state: 'retry', result: 'busy' }, at(2000))).to.equal(true);
      expect(await registry.nextDue('c1')).to.equal(at(2000));
      expect(await registry.campaignProgress('c1')).to.deep.equal({ pending: 2, running: 0, done: 0, failed: 0, total: 2 });

      expect(await registry.claimDeliveries('c1', 'runner-a', 10, at(2000), LEASE)).to.deep.equal([{ siteId: b!.siteId, attempts: 2 }]);
      expect(await registry.nextDue('c1')).to.equal(at(30_000));
      expect(await registry.claimDeliveries('c1', 'runner-a', 10, at(29_999), LEASE)).to.deep.equal([]);
      expect(await registry.claimDeliveries('c1', 'runner-a', 10, at(30_000), LEASE)).to.deep.equal([{ siteId: a!.siteId, attempts: 2 }]);
      const results = await registry.deliveryResults('c1');
      expect(results.find((r) => r.siteId === a!.siteId)).to.deep.equal({ siteId: a!.siteId, state: 'running', attempts: 2, result });
      expect(results.find((r) => r.siteId === b!.siteId)?.result).to.equal('busy');
    });

    it('lets another runner take a delivery whose lease expired, and refuses the first runner then', async () => {
      await addSites(registry, 1);
      await registry.createCampaign({ id: 'c1', created: T0, offers: ['o'], minRisk: null });
      const [claim] = await registry.claimDeliveries('c1', 'runner-a', 1, T0, 1000);
      expect(await registry.claimDeliveries('c1', 'runner-b', 1, at(999), 1000)).to.deep.equal([]);
      expect(await registry.claimDeliveries('c1', 'runner-b', 1, at(1000), 1000)).to.deep.equal([{ siteId: claim!.siteId, attempts: 2 }]);
      expect(await registry.finishDelivery('c1', claim!.siteId, 'runner-a', { state: 'done', result: 'late' }, at(1500))).to.equal(false);
      expect(await registry.finishDelivery('c1', claim!.siteId, 'runner-b', { state: 'done', result: 'ok' }, at(1500))).to.equal(true);
      expect(await registry.finishDelivery('c1', claim!.siteId, 'runner-b', { state: 'failed', result: 'twice' }, at(1600))).to.equal(false);
      expect(await registry.deliveryResults('c1')).to.deep.equal([{ siteId: claim!.siteId, state: 'done', attempts: 2, result: 'ok' }]);
    });

    it('finishes several deliveries in one call: done, failed and retry, and false for one it does not hold', async () => {
      await addSites(registry, 4);
      await registry.createCampaign({ id: 'c1', created: T0, offers: ['o'], minRisk: null });
      const claims = await registry.claimDeliveries('c1', 'runner-a', 3, T0, 60_000);
      expect(claims).to.have.length(3);
      const unclaimed = ['site-00000', 'site-00001', 'site-00002', 'site-00003'].find((id) => !claims.some((c) => c.siteId === id))!;
      const held = await registry.finishDeliveries(
        'c1',
        'runner-a',
        [
          { siteId: claims[0]!.siteId, outcome: { state: 'done', result: { ok: 1 } } },
          { siteId: claims[1]!.siteId, outcome: { state: 'failed', result: 'LOCAL_CHANGES' } },
          { siteId: unclaimed, outcome: { state: 'done', result: 'not claimed' } },
          { siteId: claims[2]!.siteId, outcome: { state: 'retry', nextAttemptAt: at(30_000), result: null } },
        ],
        at(1000),
      );
      expect(held).to.deep.equal([true, true, false, true]);
      expect(await registry.finishDeliveries('c1', 'runner-a', [], at(1000))).to.deep.equal([]);
      const state = new Map((await registry.deliveryResults('c1')).map((r) => [r.siteId, r]));
      expect(state.get(claims[0]!.siteId)).to.deep.include({ state: 'done', result: { ok: 1 } });
      expect(state.get(claims[1]!.siteId)).to.deep.include({ state: 'failed', result: 'LOCAL_CHANGES' });
      expect(state.get(claims[2]!.siteId)).to.deep.include({ state: 'pending', result: null });
      expect(state.get(unclaimed)).to.deep.include({ state: 'pending', attempts: 0 });
      // The retried one is due only at its next attempt time; the unclaimed one is due now.
      expect(await registry.claimDeliveries('c1', 'runner-a', 5, at(29_999), 60_000)).to.deep.equal([{ siteId: unclaimed, attempts: 1 }]);
    });

    it('refuses to finish a delivery nobody holds', async () => {
      await addSites(registry, 1);
      await registry.createCampaign({ id: 'c1', created: T0, offers: ['o'], minRisk: null });
      expect(await registry.finishDelivery('c1', 'site-00000', 'runner-a', { state: 'done', result: null }, T0)).to.equal(false);
      expect(await registry.finishDelivery('c1', 'no-such-site', 'runner-a', { state: 'done', result: null }, T0)).to.equal(false);
      expect(await registry.finishDelivery('c2', 'site-00000', 'runner-a', { state: 'done', result: null }, T0)).to.equal(false);
      expect(await registry.campaignProgress('c1')).to.deep.equal({ pending: 1, running: 0, done: 0, failed: 0, total: 1 });
      expect(await registry.campaignProgress('c2')).to.deep.equal({ pending: 0, running: 0, done: 0, failed: 0, total: 0 });
    });

    it('unlessUnfinished: refuses a campaign while another is unfinished, naming it (two push runners never create two)', async () => {
      await addSites(registry, 2);
      await registry.createCampaign({ id: 'first', created: T0, offers: ['o'], minRisk: null, unlessUnfinished: true });
      const err = await rejectionOf(registry.createCampaign({ id: 'second', created: at(1000), offers: ['o'], minRisk: null, unlessUnfinished: true }));
      expect(err.details).to.deep.include({ conflict: 'unfinished', campaign: 'first' });
      expect(await registry.getCampaign('second')).to.equal(undefined);
      await registry.finishCampaign('first', at(2000));
      expect(await registry.createCampaign({ id: 'second', created: at(3000), offers: ['o'], minRisk: null, unlessUnfinished: true })).to.equal(2);
    });

    it('lists the newest campaigns first, finished or not', async () => {
      await addSites(registry, 2);
      await registry.createCampaign({ id: 'older', created: T0, offers: ['o'], minRisk: null });
      await registry.createCampaign({ id: 'newer', created: '2026-11-23T13:00:00.000Z', offers: ['o'], minRisk: 'Critical' });
      await registry.finishCampaign('newer', '2026-11-23T14:00:00.000Z');
      expect((await registry.recentCampaigns(10)).map((c) => [c.id, c.finished])).to.deep.equal([
        ['newer', '2026-11-23T14:00:00.000Z'],
        ['older', null],
      ]);
      expect(await registry.recentCampaigns(1)).to.have.length(1);
    });

    it('names the newest unfinished campaign, and finishes campaigns once', async () => {
      expect(await registry.unfinishedCampaign()).to.equal(undefined);
      await registry.createCampaign({ id: 'older', created: T0, offers: ['o1'], minRisk: null });
      await registry.createCampaign({ id: 'newer', created: at(60_000), offers: ['o2'], minRisk: 'Critical' });
      expect((await registry.unfinishedCampaign())?.id).to.equal('newer');
      await registry.finishCampaign('newer', at(120_000));
      await registry.finishCampaign('newer', at(180_000));
      expect((await registry.getCampaign('newer'))?.finished).to.equal(at(120_000));
      expect((await registry.unfinishedCampaign())?.id).to.equal('older');
      await registry.finishCampaign('older', at(180_000));
      expect(await registry.unfinishedCampaign()).to.equal(undefined);
      expect((await rejectionOf(registry.finishCampaign('missing', T0))).code).to.equal('REGISTRY');
    });

    it('refuses a registry with a newer schema', async () => {
      await registry.close();
      await backend.execute(url, 'UPDATE schema_version SET version = version + 1');
      const err = await rejectionOf(openRegistry(url));
      expect(err.code).to.equal('REGISTRY');
      expect(err.message).to.match(/schema version 2 is newer/);
    });

    it('records each nonce once across registries on one database, and purges expired ones', async () => {
      const other = await another();
      const expires = '2026-11-23T12:01:01.000Z';
      expect(await registry.rememberNonce('site-a', 'n1', 1795003200, expires, T0)).to.equal(true);
      expect(await other.rememberNonce('site-a', 'n1', 1795003200, expires, T0)).to.equal(false);
      expect(await other.rememberNonce('site-b', 'n1', 1795003200, expires, T0)).to.equal(true);
      expect(await other.rememberNonce('site-a', 'n1', 1795003201, expires, T0)).to.equal(true);
      // After enough new nonces the expired ones are purged, and the old triple may be recorded again.
      for (let i = 0; i < NONCE_PURGE_EVERY; i++)
        await registry.rememberNonce('site-c', `m${i}`, 1795003300, '2026-11-23T13:00:00.000Z', '2026-11-23T12:30:00.000Z');
      expect(await registry.rememberNonce('site-a', 'n1', 1795003200, expires, '2026-11-23T12:30:00.000Z')).to.equal(true);
    });

    it('never lets two registries on one database claim the same delivery', async () => {
      await addSites(registry, 500);
      expect(await registry.createCampaign({ id: 'c1', created: T0, offers: ['o'], minRisk: null })).to.equal(500);
      const other = await another();
      const drain = async (r: Registry, owner: string) => {
        const taken: string[] = [];
        for (;;) {
          const batch = await r.claimDeliveries('c1', owner, 16, T0, LEASE);
          if (batch.length === 0) return taken;
          taken.push(...batch.map((c) => c.siteId));
        }
      };
      const [a, b] = await Promise.all([drain(registry, 'runner-a'), drain(other, 'runner-b')]);
      expect(a.length + b.length).to.equal(500);
      expect(new Set([...a, ...b]).size).to.equal(500);
      if (backend.name === 'postgres') expect(a.length > 0 && b.length > 0, `${a.length} and ${b.length}`).to.equal(true);
      expect(await registry.campaignProgress('c1')).to.deep.equal({ pending: 0, running: 500, done: 0, failed: 0, total: 500 });
    });

    it('creates and drains a 10,000-site campaign quickly', async () => {
      await addSites(registry, 10_000);
      let started = performance.now();
      expect(await registry.createCampaign({ id: 'big', created: T0, offers: ['o'], minRisk: null })).to.equal(10_000);
      const created = performance.now() - started;
      let claiming = 0;
      let claimed = 0;
      for (;;) {
        started = performance.now();
        const batch = await registry.claimDeliveries('big', 'runner-a', 64, T0, LEASE);
        claiming += performance.now() - started;
        if (batch.length === 0) break;
        claimed += batch.length;
        await Promise.all(batch.map((c) => registry.finishDelivery('big', c.siteId, 'runner-a', { state: 'done', result: { ok: true } }, T0)));
      }
      expect(claimed).to.equal(10_000);
      expect(await registry.campaignProgress('big')).to.deep.equal({ pending: 0, running: 0, done: 10_000, failed: 0, total: 10_000 });
      console.log(`      ${backend.name}: 10,000 deliveries created in ${created.toFixed(0)} ms, claimed 64 at a time in ${claiming.toFixed(0)} ms`);
      expect(created).to.be.below(5_000);
      expect(claiming).to.be.below(10_000);
    });
  });
}

registryBehaviour(sqlite);
registryBehaviour(postgres);

describe('hub registry: opening', () => {
  it('refuses URLs that name no backend as USAGE, without echoing a password', async () => {
    for (const url of ['', 'sqlite:', 'mysql://hub:hunter2@db.example/hub', 'hub.db', 'postgres://hub:hunter2@[db/hub']) {
      const err = await rejectionOf(openRegistry(url));
      expect(err.code, url).to.equal('USAGE');
      expect(err.message).not.to.include('hunter2');
    }
  });

  it('creates a new SQLite file 0600, in WAL mode', async () => {
    const dir = tempDir('countersign-registry-');
    try {
      const path = join(dir, 'hub.db');
      const registry = await openRegistry(`sqlite:${path}`);
      await registry.close();
      expect(statSync(path).mode & 0o777).to.equal(0o600);
      const db = new Sqlite(path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a SQLite file it cannot open as REGISTRY', async () => {
    const dir = tempDir('countersign-registry-');
    try {
      const err = await rejectionOf(openRegistry(`sqlite:${join(dir, 'missing', 'hub.db')}`));
      expect(err.code).to.equal('REGISTRY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable PostgreSQL server as REGISTRY, without its password', async () => {
    const err = await rejectionOf(openRegistry('postgres://hub:hunter2@127.0.0.1:1/hub'));
    expect(err.code).to.equal('REGISTRY');
    expect(err.message).to.include('127.0.0.1:1').and.not.include('hunter2');
  });

  it('creates the PostgreSQL schema once when two hubs start together', async function () {
    await skipWithoutPostgres(this);
    await withTestDatabase(async (url) => {
      const both = await Promise.all([openRegistry(url), openRegistry(url)]);
      await both[0].addSite(site('alpha'));
      expect(await both[1].countSites()).to.equal(1);
      await Promise.all(both.map((r) => r.close()));
    });
  });
});
