// The hub/site conversation end to end, over real HTTP on loopback: registration (with the hub's hello),
// a push campaign that installs on a site, a poll, backoff and failure recording, a hostile hub, forged
// and replayed requests, and the limits. Every assertion names the code the rule produces.
import { rejectionCode } from '../support/codes.js';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { clientAuthorization, payloadHash, type HawkCredentials } from '../../lib/distribution/hawk.js';
import { hawkCall } from '../../lib/distribution/hawk-client.js';
import { BUNDLE_TYPE, JSON_TYPE, type IndexMessage } from '../../lib/distribution/messages.js';
import { bundlePath, hubRequestHandler, indexEntry } from '../../lib/hub/server.js';
import { listen } from '../../lib/distribution/listen.js';
import { converse, runPush } from '../../lib/hub/push.js';
import { campaignReport } from '../../lib/hub/status.js';
import { publishBundle } from '../../lib/hub/publish.js';
import { makePolicy } from '../support/fixtures.js';
import { credentialsPath, hawkCredentials, readCredentials } from '../../lib/site/credentials.js';
import { registerSite } from '../../lib/site/register.js';
import { pollHub } from '../../lib/site/poll.js';
import { openStore, recordInstall } from '../../lib/node/trust-store.js';
import { CountersignError } from '../../lib/core/errors.js';
import { expectedSnapshot, NEW, OLD, snapshot, tempDir } from '../installer/support.js';
import { inboxHas, liveRelease, startHub, startSite, type Hub, type Site } from './support.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with a Hawk header made from `creds` (which may be wrong), as an attacker would send it. */
function rawHawk(
  url: URL,
  creds: HawkCredentials,
  method: 'GET' | 'POST',
  body: Uint8Array | undefined,
  contentType = JSON_TYPE,
  opts: { authorization?: string } = {},
): Promise<Raw & { authorization: string }> {
  const { header } = clientAuthorization(
    creds,
    { method, resource: url.pathname + url.search, host: url.hostname, port: Number(url.port) },
    { payloadHash: payloadHash(body ? contentType : '', body ?? new Uint8Array()), now: Date.now() },
  );
  const authorization = opts.authorization ?? header;
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { authorization, 'content-length': body?.length ?? 0 };
    if (body) headers['content-type'] = contentType;
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, authorization }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('distribution: hub and sites over Hawk on loopback', function () {
  this.timeout(60_000);
  let dir: string;
  let hub: Hub;
  let release: ReturnType<typeof liveRelease>;
  const sites: Site[] = [];

  before(async () => {
    dir = tempDir('countersign-dist-');
    release = liveRelease(dir);
    hub = await startHub(release);
  });
  after(async () => {
    for (const s of sites) await s.close();
    await hub.close();
  });

  async function site(opts: Parameters<typeof startSite>[1] = {}): Promise<Site> {
    const s = await startSite(release, opts);
    sites.push(s);
    return s;
  }

  it("registers a site only after its endpoint answers the hub's hello with the same secret; the secret is kept 0600", async () => {
    const s = await site();
    const creds = await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    expect(creds.registered).to.be.a('string');
    expect(readFileSync(credentialsPath(s.store)).length).to.be.greaterThan(0);
    expect(statSync(credentialsPath(s.store)).mode & 0o777).to.equal(0o600);
    const stored = await hub.registry.getSite(creds.site);
    expect(stored?.endpoint).to.equal(s.endpoint.href);
    expect(stored?.privateEndpoint).to.equal(true);
    expect(Buffer.from(stored!.key).equals(Buffer.from(hawkCredentials(creds).key))).to.equal(true);
  });

  it('refuses an endpoint that does not hold the secret (ENDPOINT_UNVERIFIED) and leaves no credentials behind', async () => {
    const impostor = await site();
    const victim = await site();
    // The endpoint is someone else's: it does not know the secret the registering party made up.
    const code = await rejectionCode(registerSite({ hub: hub.url, endpoint: victim.endpoint, storeDir: impostor.store, allowPrivate: true }));
    expect(code).to.equal('ENDPOINT_UNVERIFIED');
    expect(existsSync(credentialsPath(impostor.store))).to.equal(false);
  });

  it('refuses endpoints on private addresses unless the hub allows them (no SSRF through registration)', async () => {
    const strict = await startHub(release, { allowPrivate: false });
    try {
      const s = await site();
      expect(await rejectionCode(registerSite({ hub: strict.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true }))).to.equal(
        'ENDPOINT_UNVERIFIED',
      );
      expect(strict.events.some((e) => e.event === 'registered')).to.equal(false);
    } finally {
      await strict.close();
    }
  });

  it('the hub offers only bundles that meet its own trust store (defense in depth): a foreign quorum is refused and nothing is kept', async () => {
    const foreign = liveRelease(tempDir('countersign-foreign-'), { policy: makePolicy(5, 3) });
    const before = (await hub.registry.listOffers()).length;
    const files = readdirSync(hub.bundles).sort();
    expect(
      await rejectionCode(publishBundle(hub.registry, { bundlePath: foreign.bundle, bundlesDir: hub.bundles, storeDir: hub.store, now: new Date() })),
    ).to.equal('QUORUM_NOT_MET');
    expect((await hub.registry.listOffers()).length).to.equal(before);
    expect(readdirSync(hub.bundles).sort()).to.deep.equal(files);
  });

  it('push: one campaign installs the release on every registered site, records each outcome, and a second campaign sends nothing twice', async () => {
    const a = await site();
    const b = await site();
    for (const s of [a, b]) await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    const summary = await runPush({
      registry: hub.registry,
      bundlesDir: hub.bundles,
      concurrency: 4,
      minRisk: null,
      allowPrivate: true,
      retryBaseMs: 10,
      maxAttempts: 1,
    });
    // Sites registered by earlier tests take part too; every one with an endpoint is done.
    expect(summary.failed).to.equal(0);
    expect(summary.done).to.equal(summary.total);
    for (const s of [a, b]) {
      expect(snapshot(s.root)).to.deep.equal(expectedSnapshot(NEW));
      expect((await openStore(s.store)).state.installed['drupal/core']?.version).to.equal('10.2.4');
      expect(readdirSync(s.spool), 'the endpoint removes an installed package from its spool').to.deep.equal([]);
    }
    for (const s of [a, b]) {
      const id = (await readCredentials(s.store)).site;
      const delivery = (await hub.registry.deliveryResults(summary.campaign)).find((r) => r.siteId === id);
      expect(delivery?.state).to.equal('done');
      expect((delivery?.result as { results: unknown[] }).results).to.deep.equal([{ name: 'drupal-core-10.2.4', status: 'installed' }]);
    }
    const again = await runPush({
      registry: hub.registry,
      bundlesDir: hub.bundles,
      concurrency: 4,
      minRisk: null,
      allowPrivate: true,
      retryBaseMs: 10,
      maxAttempts: 1,
    });
    expect(again.campaign).to.not.equal(summary.campaign);
    expect(again.packages.installed).to.equal(0);
    for (const s of [a, b]) expect(s.events.filter((e) => e.event === 'package')).to.have.length(1);
  });

  it('poll: a site without an endpoint fetches the index, downloads what it wants, verifies it, keeps it, and reports', async () => {
    const s = await site({ installer: 'inbox' });
    const creds = await registerSite({ hub: hub.url, endpoint: null, storeDir: s.store, allowPrivate: true });
    expect(creds.endpoint).to.equal(null);
    const result = await pollHub({
      credentials: await readCredentials(s.store),
      agent: s.agent,
      spoolDir: s.spool,
      maxBundleBytes: 1 << 26,
      allowPrivate: true,
    });
    expect(result.results).to.deep.equal([{ name: 'drupal-core-10.2.4', status: 'verified' }]);
    expect(inboxHas(s, 'drupal-core-10.2.4')).to.equal(true);
    expect(readdirSync(s.spool)).to.deep.equal([]);
    expect(snapshot(s.root)).to.deep.equal(expectedSnapshot(OLD));
    expect(hub.events.some((e) => e.event === 'poll-report' && e.site === creds.site)).to.equal(true);
  });

  it('a release a site applied in part (--keep-local) stays on offer; the site reports it partial with the kept files, and hub status names them', async () => {
    const kept = ['core/modules/system/system.module', 'README.txt'];
    const pushed = await site();
    const polling = await site({ installer: 'inbox' });
    await registerSite({ hub: hub.url, endpoint: pushed.endpoint, storeDir: pushed.store, allowPrivate: true });
    const pollCreds = await registerSite({ hub: hub.url, endpoint: null, storeDir: polling.store, allowPrivate: true });
    for (const s of [pushed, polling]) await recordInstall(s.store, 'drupal', 'core', '10.2.4', { kept });
    const summary = await runPush({
      registry: hub.registry,
      bundlesDir: hub.bundles,
      concurrency: 4,
      minRisk: null,
      allowPrivate: true,
      retryBaseMs: 10,
      maxAttempts: 1,
    });
    const id = (await readCredentials(pushed.store)).site;
    const delivery = (await hub.registry.deliveryResults(summary.campaign)).find((r) => r.siteId === id);
    expect((delivery?.result as { results: Array<Record<string, unknown>> }).results).to.deep.equal([
      {
        name: 'drupal-core-10.2.4',
        status: 'partial',
        code: 'PARTIALLY_INSTALLED',
        message: 'applied in part: 2 files kept as the site had them: core/modules/system/system.module, README.txt',
        kept,
      },
    ]);
    expect(
      pushed.events.filter((e) => e.event === 'package'),
      'reported, not received again',
    ).to.have.length(0);
    const polled = await pollHub({
      credentials: await readCredentials(polling.store),
      agent: polling.agent,
      spoolDir: polling.spool,
      maxBundleBytes: 1 << 26,
      allowPrivate: true,
    });
    expect(polled.results.map((r) => r.status)).to.deep.equal(['partial']);
    const report = (await campaignReport(hub.registry, summary.campaign))!;
    expect(report.packages.partial).to.be.at.least(1);
    const named = report.problems.filter((p) => p.result.status === 'partial');
    expect(named.map((p) => p.site)).to.include.members([id, pollCreds.site]);
    for (const p of named) expect(p.result.message).to.contain('core/modules/system/system.module').and.to.contain('README.txt');
  });

  it('a site wants nothing below its risk threshold, nothing it does not run, and nothing that does not apply to its version', async () => {
    const high = await site({ minRisk: 'Highly Critical', installer: 'inbox' });
    const other = await site({ installed: '10.1.0', installer: 'inbox' });
    for (const s of [high, other]) await registerSite({ hub: hub.url, endpoint: null, storeDir: s.store, allowPrivate: true });
    // The release scores 24 (Highly Critical): wanted at that threshold.
    const r1 = await pollHub({
      credentials: await readCredentials(high.store),
      agent: high.agent,
      spoolDir: high.spool,
      maxBundleBytes: 1 << 26,
      allowPrivate: true,
    });
    expect(r1.results.map((r) => r.status)).to.deep.equal(['verified']);
    // 10.2.4 applies to 10.2.3 only.
    const r2 = await pollHub({
      credentials: await readCredentials(other.store),
      agent: other.agent,
      spoolDir: other.spool,
      maxBundleBytes: 1 << 26,
      allowPrivate: true,
    });
    expect(r2.results).to.deep.equal([]);
  });

  it("a hostile hub cannot install anything: a tampered bundle sent with a correct Hawk hash is rejected by the site's own verification", async () => {
    const s = await site();
    const creds = await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    const offer = (await hub.registry.listOffers())[0]!;
    const bytes = readFileSync(bundlePath(hub.bundles, offer));
    bytes[bytes.length - 600] ^= 0x01; // inside the archive: its end-of-archive marker
    const forged = join(dir, 'forged.bundle');
    writeFileSync(forged, bytes);
    const forgedOffer = { ...offer, file: forged, hawkHash: payloadHash(BUNDLE_TYPE, bytes) };
    const index: IndexMessage = { type: 'index', campaign: randomBytes(16).toString('hex'), offers: [indexEntry(forgedOffer)] };
    const results = await converse(
      (await hub.registry.getSite(creds.site))!,
      index.campaign!,
      Buffer.from(JSON.stringify(index)),
      new Map([[offer.name, forgedOffer]]),
      { allowPrivate: true, bundlesDir: dir },
    );
    expect(results).to.have.length(1);
    expect(results[0]!.status).to.equal('rejected');
    expect(results[0]!.code).to.equal('ARCHIVE_MALFORMED');
    expect(snapshot(s.root)).to.deep.equal(expectedSnapshot(OLD));
    expect(readdirSync(s.spool), 'a rejected package is not kept').to.deep.equal([]);
  });

  it('a hub cannot choose which signed release a site installs: the manifest must be the release the index announced, at or above the threshold', async () => {
    const s = await site();
    const creds = await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    const offer = (await hub.registry.listOffers())[0]!;
    // The index announces 10.2.5 (and the highest risk) but the hub sends the real, validly signed 10.2.4.
    const lie = { ...offer, name: 'drupal-core-10.2.5', version: '10.2.5' };
    const campaign = randomBytes(16).toString('hex');
    const index: IndexMessage = { type: 'index', campaign, offers: [indexEntry(lie)] };
    const results = await converse((await hub.registry.getSite(creds.site))!, campaign, Buffer.from(JSON.stringify(index)), new Map([[lie.name, lie]]), {
      allowPrivate: true,
      bundlesDir: hub.bundles,
    });
    expect(results).to.have.length(1);
    expect(results[0]).to.include({ name: 'drupal-core-10.2.5', status: 'rejected', code: 'PROTOCOL' });
    expect(snapshot(s.root)).to.deep.equal(expectedSnapshot(OLD));
  });

  it('registration refuses a plain-http hub beyond loopback (the secret would travel in clear)', async () => {
    const s = await site({ installer: 'inbox' });
    expect(await rejectionCode(registerSite({ hub: new URL('http://hub.example.org/'), endpoint: null, storeDir: s.store, allowPrivate: true }))).to.equal(
      'USAGE',
    );
    expect(existsSync(credentialsPath(s.store))).to.equal(false);
  });

  it('a package whose bytes differ from the Hawk payload hash never reaches verification (PAYLOAD_MISMATCH), and is not kept', async () => {
    const s = await site();
    const creds = await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    const offer = (await hub.registry.listOffers())[0]!;
    const bad = { ...offer, hawkHash: payloadHash(BUNDLE_TYPE, Buffer.from('something else')) };
    const campaign = randomBytes(16).toString('hex');
    const index: IndexMessage = { type: 'index', campaign, offers: [indexEntry(offer)] };
    const code = await rejectionCode(
      converse((await hub.registry.getSite(creds.site))!, campaign, Buffer.from(JSON.stringify(index)), new Map([[offer.name, bad]]), {
        allowPrivate: true,
        bundlesDir: hub.bundles,
      }),
    );
    expect(code).to.equal('PROTOCOL'); // the site's signed 401 answer
    expect(s.events.some((e) => e.event === 'package')).to.equal(false);
    expect(readdirSync(s.spool)).to.deep.equal([]);
  });

  it('unknown and wrong credentials get the same answer from the hub; a replayed request is refused', async () => {
    const s = await site({ installer: 'inbox' });
    const creds = hawkCredentials(await registerSite({ hub: hub.url, endpoint: null, storeDir: s.store, allowPrivate: true }));
    const indexUrl = new URL('/v1/index', hub.url);
    const wrong = await rawHawk(indexUrl, { id: creds.id, key: randomBytes(32) }, 'GET', undefined);
    const unknown = await rawHawk(indexUrl, { id: randomBytes(16).toString('hex'), key: randomBytes(32) }, 'GET', undefined);
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    expect(wrong.body).to.equal(unknown.body);
    const good = await rawHawk(indexUrl, creds, 'GET', undefined);
    expect(good.status).to.equal(200);
    expect(good.headers['server-authorization']).to.match(/^Hawk mac="/);
    const replay = await rawHawk(indexUrl, creds, 'GET', undefined, JSON_TYPE, { authorization: good.authorization });
    expect(replay.status).to.equal(401);
  });

  it('a request replayed to another hub process sharing the registry is refused (nonces are shared)', async () => {
    const s = await site({ installer: 'inbox' });
    const creds = hawkCredentials(await registerSite({ hub: hub.url, endpoint: null, storeDir: s.store, allowPrivate: true }));
    // A second hub process behind the same public URL, with its own in-memory nonce cache.
    const second = await listen(hubRequestHandler({ registry: hub.registry, bundlesDir: hub.bundles, publicUrl: hub.url, allowPrivateEndpoints: true }), {
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const first = await rawHawk(new URL('/v1/index', hub.url), creds, 'GET', undefined);
      expect(first.status).to.equal(200);
      const replayed = await rawHawk(new URL(`http://127.0.0.1:${second.port}/v1/index`), creds, 'GET', undefined, JSON_TYPE, {
        authorization: first.authorization,
      });
      expect(replayed.status).to.equal(401);
    } finally {
      await second.close();
    }
  });

  it('a site endpoint flooded with forged notifications keeps answering the real hub and installs nothing unsigned', async () => {
    const s = await site();
    const creds = hawkCredentials(await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true }));
    const forgedIndex = Buffer.from(JSON.stringify({ type: 'index', campaign: randomBytes(16).toString('hex'), offers: [] }));
    const statuses = new Set<number>();
    for (let i = 0; i < 120; i++) {
      const r = await rawHawk(new URL(`${s.endpoint.href}/index`), { id: creds.id, key: randomBytes(32) }, 'POST', forgedIndex);
      statuses.add(r.status);
    }
    // 401 first, then 429 once the credential's and the address's failure budgets are spent.
    expect([...statuses].sort()).to.deep.equal([401, 429]);
    const forgedPackage = await rawHawk(
      new URL(`${s.endpoint.href}/package?campaign=x&name=y`),
      { id: creds.id, key: randomBytes(32) },
      'POST',
      Buffer.alloc(1000),
      BUNDLE_TYPE,
    );
    expect(forgedPackage.status).to.equal(429);
    // The real hub, same address, same credential id: still answered.
    const answer = await hawkCall(
      { base: new URL(`${s.endpoint.href}/`), creds, allowPrivate: true },
      'POST',
      'hello',
      { contentType: JSON_TYPE, bytes: Buffer.from(JSON.stringify({ type: 'hello', site: creds.id })) },
      { maxResponseBytes: 1024 },
    );
    expect(JSON.parse(Buffer.from(answer.body).toString())).to.deep.equal({ type: 'hello', site: creds.id });
    expect(s.events.some((e) => e.event === 'package')).to.equal(false);
    expect(snapshot(s.root)).to.deep.equal(expectedSnapshot(OLD));
  });

  it('after a crash, push resumes the unfinished campaign; a site asked again for a campaign it finished answers done and receives nothing twice', async () => {
    const s = await site();
    const creds = await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    const offers = (await hub.registry.listOffers()).map((o) => o.name);
    const campaign = randomBytes(16).toString('hex');
    await hub.registry.createCampaign({ id: campaign, created: new Date().toISOString(), offers, minRisk: null });
    // A runner took every delivery and died: its 1 ms leases have expired.
    await hub.registry.claimDeliveries(campaign, 'dead-runner', 1000, new Date().toISOString(), 1);
    const summary = await runPush({
      registry: hub.registry,
      bundlesDir: hub.bundles,
      concurrency: 4,
      minRisk: null,
      allowPrivate: true,
      retryBaseMs: 10,
      maxAttempts: 2,
    });
    expect(summary.campaign).to.equal(campaign);
    expect(summary.resumed).to.equal(true);
    expect((await hub.registry.getCampaign(campaign))?.finished).to.be.a('string');
    expect(s.events.filter((e) => e.event === 'package')).to.have.length(1);
    // The hub crashed after the site finished but before recording it: the same campaign again.
    const offer = (await hub.registry.getOffer(offers[0]!))!;
    const index: IndexMessage = { type: 'index', campaign, offers: [indexEntry(offer)] };
    const again = await converse((await hub.registry.getSite(creds.site))!, campaign, Buffer.from(JSON.stringify(index)), new Map([[offer.name, offer]]), {
      allowPrivate: true,
      bundlesDir: hub.bundles,
    });
    expect(again).to.deep.equal([{ name: offer.name, status: 'installed' }]);
    expect(s.events.filter((e) => e.event === 'package')).to.have.length(1);
  });

  it('push never follows a site recorded as public to a private address (DNS re-pointed after registration)', async () => {
    const s = await site();
    const creds = await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    // As if the name had resolved publicly at registration and points at loopback now.
    const rebound = randomBytes(16).toString('hex');
    await hub.registry.addSite({
      id: rebound,
      endpoint: s.endpoint.href,
      key: hawkCredentials(await readCredentials(s.store)).key,
      registered: new Date().toISOString(),
      address: '192.0.2.1',
      privateEndpoint: false,
    });
    const summary = await runPush({
      registry: hub.registry,
      bundlesDir: hub.bundles,
      concurrency: 4,
      minRisk: null,
      allowPrivate: true,
      retryBaseMs: 5,
      maxAttempts: 1,
    });
    const results = await hub.registry.deliveryResults(summary.campaign);
    expect(results.find((r) => r.siteId === rebound)).to.deep.include({ state: 'failed' });
    expect((results.find((r) => r.siteId === rebound)!.result as { code: string }).code).to.equal('UNREACHABLE');
    expect(results.find((r) => r.siteId === creds.site)?.state).to.equal('done');
  });

  it('a site that cannot be reached is retried with backoff and recorded as failed, with its code', async () => {
    const s = await site();
    await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true });
    await s.close();
    const summary = await runPush({
      registry: hub.registry,
      bundlesDir: hub.bundles,
      concurrency: 2,
      minRisk: null,
      allowPrivate: true,
      retryBaseMs: 5,
      maxAttempts: 3,
    });
    expect(summary.failed).to.be.greaterThanOrEqual(1);
    const failed = (await hub.registry.deliveryResults(summary.campaign)).filter((r) => r.state === 'failed');
    expect(failed.map((r) => r.attempts)).to.include(3);
    expect(failed.map((r) => (r.result as { code: string }).code)).to.include('UNREACHABLE');
    const report = (await campaignReport(hub.registry, summary.campaign))!;
    const id = (await readCredentials(s.store)).site;
    expect(report.failed.find((f) => f.site === id)).to.deep.include({ endpoint: s.endpoint.href, attempts: 3, code: 'UNREACHABLE' });
  });

  it('a site refuses a package it did not ask for, and one larger than the index announced', async () => {
    const s = await site();
    const creds = hawkCredentials(await registerSite({ hub: hub.url, endpoint: s.endpoint, storeDir: s.store, allowPrivate: true }));
    const peer = { base: new URL(`${s.endpoint.href}/`), creds, allowPrivate: true };
    const unasked = await rejectionCode(
      hawkCall(peer, 'POST', 'package?campaign=c&name=drupal-core-10.2.4', { contentType: BUNDLE_TYPE, bytes: Buffer.alloc(10) }, { maxResponseBytes: 4096 }),
    );
    expect(unasked).to.equal('PROTOCOL');
    const offer = (await hub.registry.listOffers())[0]!;
    const campaign = randomBytes(16).toString('hex');
    const index: IndexMessage = { type: 'index', campaign, offers: [{ ...indexEntry(offer), size: 100 }] };
    const reply = await hawkCall(peer, 'POST', 'index', { contentType: JSON_TYPE, bytes: Buffer.from(JSON.stringify(index)) }, { maxResponseBytes: 4096 });
    expect(JSON.parse(Buffer.from(reply.body).toString())).to.deep.equal({ type: 'want', name: offer.name });
    const big = await rejectionCode(
      hawkCall(
        peer,
        'POST',
        `package?campaign=${campaign}&name=${offer.name}`,
        { contentType: BUNDLE_TYPE, bytes: Buffer.alloc(101) },
        { maxResponseBytes: 4096 },
      ),
    );
    expect(big).to.equal('TOO_LARGE');
  });

  it('registration is rate-limited per address', async () => {
    const limited = await startHub(release, { registrationsPerAddress: 2 });
    try {
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await site({ installer: 'inbox' });
        codes.push(
          await registerSite({ hub: limited.url, endpoint: null, storeDir: s.store, allowPrivate: true }).then(
            () => 'ok',
            (e: CountersignError) => `${e.code}:${String(e.details.hubCode)}`,
          ),
        );
      }
      expect(codes).to.deep.equal(['ok', 'ok', 'PROTOCOL:RATE_LIMITED']);
    } finally {
      await limited.close();
    }
  });
});
