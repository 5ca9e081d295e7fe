// The distribution commands as a user runs them from the README, each a real process: hub publish,
// hub serve, site serve, site register, hub push, site poll; exit codes and --json included.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { initStore } from '../../lib/node/trust-store.js';
import { bundledCli, expectedSnapshot, NEW, OLD, REPO, runChild, snapshot, tempDir, writeSite } from '../installer/support.js';
import { openRegistry } from '../../lib/hub/open-registry.js';
import { liveRelease } from './support.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a long-running command and resolves with the first JSON log line that says it is listening. */
async function startServing(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; listening: Record<string, unknown>; log: () => string }> {
  const cli = await bundledCli();
  const child = spawn(process.execPath, [cli, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening after 10 s: ${stderr}`)), 10_000);
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      for (const line of stderr.split('\n')) {
        if (line.includes('"event":"listening"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as Record<string, unknown>);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return { child, listening, log: () => stderr };
}

/** A throwaway CA and a certificate it issued for 127.0.0.1 (openssl), or undefined without openssl. */
function privateCa(dir: string): { caCert: string; cert: string; key: string } | undefined {
  const caKey = join(dir, 'ca-key.pem');
  const caCert = join(dir, 'ca.pem');
  const key = join(dir, 'key.pem');
  const csr = join(dir, 'hub.csr');
  const cert = join(dir, 'cert.pem');
  const ext = join(dir, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  writeFileSync(join(dir, 'README'), 'not a certificate\n');
  const steps = [
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=countersign test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
      '-days',
      '2',
      '-keyout',
      caKey,
      '-out',
      caCert,
    ],
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr],
    ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert],
  ];
  for (const args of steps) {
    const made = spawnSync('openssl', args, { stdio: 'ignore' });
    if (made.error || made.status !== 0) return undefined;
  }
  return { caCert, cert, key };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('distribution: the hub and site commands, as separate processes', function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) await stop(c);
  });

  it('publish, serve, register (with the hello), push to an endpoint site, poll from another: the release is installed and kept', async () => {
    const dir = tempDir('countersign-dist-cli-');
    const release = liveRelease(dir);
    const hubStore = join(dir, 'hub-trust');
    await initStore(hubStore, release.policyBytes, { now: new Date() });
    const db = `sqlite:${join(dir, 'hub.db')}`;
    const bundles = join(dir, 'bundles');

    const published = await runChild(['hub', 'publish', release.bundle, '--db', db, '--bundles', bundles, '--store', hubStore, '--json']);
    expect(published.code, published.stderr).to.equal(0);
    expect(JSON.parse(published.stdout)).to.include({ ok: true, published: true });
    expect(JSON.parse(published.stdout).offer).to.include({ name: 'drupal-core-10.2.4', version: '10.2.4' });

    const hub = await startServing(['hub', 'serve', '--db', db, '--bundles', bundles, '--listen', '127.0.0.1:0', '--allow-private-endpoints']);
    children.push(hub.child);
    const hubUrl = String(hub.listening.url);

    const root = writeSite(join(dir, 'www', 'site'), OLD);
    const siteStore = join(dir, 'site-trust');
    await initStore(siteStore, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    const endpoint = `http://127.0.0.1:${await freePort()}/countersign`;
    const site = await startServing(['site', 'serve', '--store', siteStore, '--endpoint', endpoint, '--site', root]);
    children.push(site.child);

    const registered = await runChild(['site', 'register', '--allow-private', '--hub', hubUrl, '--endpoint', endpoint, '--store', siteStore, '--json']);
    expect(registered.code, registered.stderr).to.equal(0);
    expect(JSON.parse(registered.stdout)).to.include({ ok: true, endpoint });
    const again = await runChild(['site', 'register', '--allow-private', '--hub', hubUrl, '--endpoint', endpoint, '--store', siteStore, '--json']);
    expect(again.code).to.equal(2);
    expect(JSON.parse(again.stdout)).to.include({ ok: false, code: 'USAGE' });

    const pollStore = join(dir, 'poll-trust');
    await initStore(pollStore, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    expect((await runChild(['site', 'register', '--allow-private', '--hub', hubUrl, '--store', pollStore])).code).to.equal(0);

    const pushed = await runChild(['hub', 'push', '--db', db, '--bundles', bundles, '--allow-private-endpoints', '--json']);
    expect(pushed.code, pushed.stderr).to.equal(0);
    const summary = JSON.parse(pushed.stdout);
    expect(summary).to.include({ ok: true, total: 1, done: 1, failed: 0 });
    expect(summary.packages).to.include({ installed: 1, verified: 0, rejected: 0, failed: 0 });
    expect(snapshot(root)).to.deep.equal(expectedSnapshot(NEW));
    // The polling site has not polled since the campaign began: as far as the hub knows, it is still exposed.
    const status = await runChild(['hub', 'status', '--db', db, '--json']);
    expect(status.code, status.stderr).to.equal(1);
    const report = JSON.parse(status.stdout);
    expect(report).to.include({ ok: false, sites: 2 });
    expect(report.campaign.id).to.equal(summary.campaign);
    expect(report.progress).to.deep.equal({ pending: 0, running: 0, done: 1, failed: 0, total: 1 });
    expect(report.failed).to.deep.equal([]);
    expect(report.polling).to.include({ total: 1, seen: 0, unseen: 1 });
    expect(report.polling.sites[0]).to.include({ seen: false, lastSeen: null });

    const inbox = join(dir, 'inbox');
    const polled = await runChild(['site', 'poll', '--store', pollStore, '--inbox', inbox, '--allow-private', '--json']);
    expect(polled.code, polled.stderr).to.equal(0);
    expect(JSON.parse(polled.stdout)).to.deep.include({ ok: true, offers: 1, results: [{ name: 'drupal-core-10.2.4', status: 'verified' }] });
    expect(existsSync(join(inbox, 'drupal-core-10.2.4.bundle'))).to.equal(true);
    const after = await runChild(['hub', 'status', '--db', db, '--json']);
    expect(after.code, after.stdout).to.equal(0);
    const polling = JSON.parse(after.stdout).polling;
    expect(polling).to.include({ total: 1, seen: 1, unseen: 0 });
    expect(polling.sites[0].lastSeen).to.be.a('string');
    expect(polling.sites[0].reports.map((r: { name: string; status: string }) => [r.name, r.status])).to.deep.equal([['drupal-core-10.2.4', 'verified']]);
    const text = await runChild(['hub', 'status', '--db', db]);
    expect(text.stdout).to.match(/polling sites: 1/);
  });

  it('over TLS: an https hub and an https endpoint (registration, hello and push all over https)', async function () {
    const dir = tempDir('countersign-dist-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '2',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    if (made.error || made.status !== 0) {
      console.log('      openssl is not available to make a test certificate: skipping');
      return this.skip();
    }
    // Every process trusts the test certificate, as a site trusts its hub's CA.
    const env = { NODE_EXTRA_CA_CERTS: cert };
    const release = liveRelease(dir);
    const hubStore = join(dir, 'hub-trust');
    await initStore(hubStore, release.policyBytes, { now: new Date() });
    const db = `sqlite:${join(dir, 'hub.db')}`;
    const bundles = join(dir, 'bundles');
    expect((await runChild(['hub', 'publish', release.bundle, '--db', db, '--bundles', bundles, '--store', hubStore])).code).to.equal(0);
    const hub = await startServing(
      ['hub', 'serve', '--db', db, '--bundles', bundles, '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key, '--allow-private-endpoints'],
      env,
    );
    children.push(hub.child);
    expect(String(hub.listening.url)).to.match(/^https:/);
    const root = writeSite(join(dir, 'www', 'site'), OLD);
    const siteStore = join(dir, 'site-trust');
    await initStore(siteStore, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    const endpoint = `https://127.0.0.1:${await freePort()}/countersign`;
    const site = await startServing(['site', 'serve', '--store', siteStore, '--endpoint', endpoint, '--site', root, '--tls-cert', cert, '--tls-key', key], env);
    children.push(site.child);
    const registered = await runChild(
      ['site', 'register', '--allow-private', '--hub', String(hub.listening.url), '--endpoint', endpoint, '--store', siteStore, '--json'],
      { env },
    );
    expect(registered.code, registered.stdout + registered.stderr).to.equal(0);
    const pushed = await runChild(['hub', 'push', '--db', db, '--bundles', bundles, '--allow-private-endpoints', '--json'], { env });
    expect(pushed.code, pushed.stdout + pushed.stderr).to.equal(0);
    expect(JSON.parse(pushed.stdout)).to.include({ done: 1, failed: 0 });
    expect(snapshot(root)).to.deep.equal(expectedSnapshot(NEW));
  });

  it('usage errors exit 2 with a code; --help explains each command', async () => {
    const noDb = await runChild(['hub', 'push', '--bundles', '/nonexistent', '--json'], { env: { COUNTERSIGN_HUB_DB: '' } });
    expect(noDb.code).to.equal(2);
    expect(JSON.parse(noDb.stdout)).to.include({ ok: false, code: 'USAGE' });
    const badRisk = await runChild([
      'hub',
      'push',
      '--db',
      'sqlite:/nonexistent/x.db',
      '--bundles',
      '/nonexistent',
      '--only-risk-at-least',
      'Severe',
      '--json',
    ]);
    expect(badRisk.code).to.equal(2);
    const badDb = await runChild(['hub', 'push', '--db', 'mysql://x', '--bundles', '/nonexistent', '--json']);
    expect(JSON.parse(badDb.stdout)).to.include({ ok: false, code: 'USAGE' });
    const nowhere = await runChild(['site', 'poll', '--store', tempDir(), '--json']);
    expect(nowhere.code).to.equal(2);
    for (const cmd of [
      ['hub', 'serve'],
      ['hub', 'publish'],
      ['hub', 'push'],
      ['hub', 'status'],
      ['site', 'register'],
      ['site', 'serve'],
      ['site', 'poll'],
    ]) {
      const help = await runChild([...cmd, '--help']);
      expect(help.code, cmd.join(' ')).to.equal(0);
      expect(help.stdout).to.match(/Hawk|quorum|hub/);
    }
  });

  it('hub status on a missing database creates nothing: REGISTRY naming the path, exit 2', async () => {
    const dir = tempDir('countersign-dist-cli-');
    const path = join(dir, 'hub.db');
    const status = await runChild(['hub', 'status', '--db', `sqlite:${path}`, '--json']);
    expect(status.code).to.equal(2);
    expect(JSON.parse(status.stdout)).to.deep.include({ ok: false, code: 'REGISTRY', details: { missing: `sqlite:${path}` } });
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a rejected hub publish leaves nothing behind: no database, no bundles directory; with existing ones, no file and no offer added', async () => {
    const dir = tempDir('countersign-dist-cli-');
    const good = liveRelease(tempDir('countersign-dist-cli-'));
    const foreign = liveRelease(tempDir('countersign-dist-cli-')); // signed under another policy
    const hubStore = join(dir, 'hub-trust');
    await initStore(hubStore, good.policyBytes, { now: new Date() });
    const db = `sqlite:${join(dir, 'hub', 'hub.db')}`;
    const bundles = join(dir, 'hub', 'bundles');
    const refused = await runChild(['hub', 'publish', foreign.bundle, '--db', db, '--bundles', bundles, '--store', hubStore, '--json']);
    expect(refused.code).to.equal(1);
    expect(JSON.parse(refused.stdout)).to.include({ ok: false, code: 'QUORUM_NOT_MET' });
    expect(existsSync(join(dir, 'hub'))).to.equal(false);

    expect((await runChild(['hub', 'publish', good.bundle, '--db', db, '--bundles', bundles, '--store', hubStore])).code).to.equal(0);
    const files = readdirSync(bundles).sort();
    const again = await runChild(['hub', 'publish', foreign.bundle, '--db', db, '--bundles', bundles, '--store', hubStore, '--json']);
    expect(again.code).to.equal(1);
    expect(readdirSync(bundles).sort()).to.deep.equal(files);
    const registry = await openRegistry(db, { mustExist: true });
    try {
      expect((await registry.listOffers()).map((o) => o.sha256)).to.have.length(1);
    } finally {
      await registry.close();
    }
  });

  it('a loopback hub: register and poll both refuse it without --allow-private (USAGE naming the flag), both accept it with', async () => {
    const dir = tempDir('countersign-dist-cli-');
    const release = liveRelease(dir);
    const hubStore = join(dir, 'hub-trust');
    await initStore(hubStore, release.policyBytes, { now: new Date() });
    const db = `sqlite:${join(dir, 'hub.db')}`;
    const bundles = join(dir, 'bundles');
    expect((await runChild(['hub', 'publish', release.bundle, '--db', db, '--bundles', bundles, '--store', hubStore])).code).to.equal(0);
    const hub = await startServing(['hub', 'serve', '--db', db, '--bundles', bundles, '--listen', '127.0.0.1:0']);
    children.push(hub.child);
    const store = join(dir, 'trust');
    await initStore(store, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    for (const hubUrl of [String(hub.listening.url), String(hub.listening.url).replace('127.0.0.1', 'localhost')]) {
      const refused = await runChild(['site', 'register', '--hub', hubUrl, '--store', store, '--json']);
      expect(refused.code, hubUrl).to.equal(2);
      expect(JSON.parse(refused.stdout), hubUrl).to.deep.include({ ok: false, code: 'USAGE', details: { flag: '--allow-private' } });
      expect(existsSync(join(store, 'hub-credentials.json'))).to.equal(false);
    }
    expect((await runChild(['site', 'register', '--allow-private', '--hub', String(hub.listening.url), '--store', store])).code).to.equal(0);
    const inbox = join(dir, 'inbox');
    const refused = await runChild(['site', 'poll', '--store', store, '--inbox', inbox, '--json']);
    expect(refused.code).to.equal(2);
    expect(JSON.parse(refused.stdout)).to.deep.include({ ok: false, code: 'USAGE', details: { flag: '--allow-private' } });
    mkdirSync(join(store, 'spool'), { recursive: true });
    chmodSync(join(store, 'spool'), 0o777);
    const shared = await runChild(['site', 'poll', '--allow-private', '--store', store, '--inbox', inbox, '--json']);
    expect(shared.code, 'a spool others can write is refused').to.equal(2);
    expect(JSON.parse(shared.stdout)).to.deep.include({ ok: false, code: 'IO' });
    chmodSync(join(store, 'spool'), 0o700);
    // A file left by a crash long ago is cleared; one written a moment ago may be another process's transfer in flight.
    const [left, inFlight] = [join(store, 'spool', 'left.bundle'), join(store, 'spool', 'in-flight.bundle')];
    writeFileSync(left, 'x');
    writeFileSync(inFlight, 'x');
    utimesSync(left, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const polled = await runChild(['site', 'poll', '--allow-private', '--store', store, '--inbox', inbox, '--json']);
    expect(polled.code, polled.stdout).to.equal(0);
    expect(readdirSync(join(store, 'spool'))).to.deep.equal(['in-flight.bundle']);
  });

  it('--ca-file: register and poll trust a hub whose certificate a private CA issued, and only with it', async function () {
    const dir = tempDir('countersign-dist-ca-');
    const ca = privateCa(dir);
    if (!ca) {
      console.log('      openssl is not available to make a test CA: skipping');
      return this.skip();
    }
    const release = liveRelease(dir);
    const hubStore = join(dir, 'hub-trust');
    await initStore(hubStore, release.policyBytes, { now: new Date() });
    const db = `sqlite:${join(dir, 'hub.db')}`;
    const bundles = join(dir, 'bundles');
    expect((await runChild(['hub', 'publish', release.bundle, '--db', db, '--bundles', bundles, '--store', hubStore])).code).to.equal(0);
    const hub = await startServing(['hub', 'serve', '--db', db, '--bundles', bundles, '--listen', '127.0.0.1:0', '--tls-cert', ca.cert, '--tls-key', ca.key]);
    children.push(hub.child);
    const hubUrl = String(hub.listening.url);
    expect(hubUrl).to.match(/^https:/);
    const store = join(dir, 'trust');
    await initStore(store, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    const untrusted = await runChild(['site', 'register', '--allow-private', '--hub', hubUrl, '--store', store, '--json']);
    expect(untrusted.code).to.equal(2);
    expect(JSON.parse(untrusted.stdout)).to.include({ ok: false, code: 'UNREACHABLE' });
    const notPem = await runChild([
      'site',
      'register',
      '--allow-private',
      '--hub',
      hubUrl,
      '--store',
      store,
      '--ca-file',
      ca.key.replace('key.pem', 'README'),
      '--json',
    ]);
    expect(notPem.code).to.equal(2);
    const registered = await runChild(['site', 'register', '--allow-private', '--ca-file', ca.caCert, '--hub', hubUrl, '--store', store, '--json']);
    expect(registered.code, registered.stdout).to.equal(0);
    const inbox = join(dir, 'inbox');
    const withoutCa = await runChild(['site', 'poll', '--allow-private', '--store', store, '--inbox', inbox, '--json']);
    expect(withoutCa.code).to.equal(2);
    expect(JSON.parse(withoutCa.stdout)).to.include({ ok: false, code: 'UNREACHABLE' });
    const polled = await runChild(['site', 'poll', '--allow-private', '--ca-file', ca.caCert, '--store', store, '--inbox', inbox, '--json']);
    expect(polled.code, polled.stdout).to.equal(0);
    expect(JSON.parse(polled.stdout).results).to.deep.equal([{ name: 'drupal-core-10.2.4', status: 'verified' }]);
  });

  it('a poll against a hub that is down exits 2 with UNREACHABLE', async () => {
    const dir = tempDir('countersign-dist-cli-');
    const release = liveRelease(dir);
    const store = join(dir, 'trust');
    await initStore(store, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    const port = await freePort();
    const register = await runChild(['site', 'register', '--allow-private', '--hub', `http://127.0.0.1:${port}`, '--store', store, '--json']);
    expect(register.code).to.equal(2);
    expect(JSON.parse(register.stdout)).to.include({ ok: false, code: 'UNREACHABLE' });
    expect(existsSync(join(store, 'hub-credentials.json'))).to.equal(false);
  });
});
