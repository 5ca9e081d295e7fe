// The distribution commands as a user runs them from the README, each a real process: hub publish,
// hub serve, site serve, site register, hub push, site poll; exit codes and --json included.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { initStore } from '../../lib/store.js';
import { bundledCli, expectedSnapshot, NEW, OLD, REPO, runChild, snapshot, tempDir, writeSite } from '../installer/support.js';
import { liveRelease } from './support.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a long-running command and resolves with the first JSON log line that says it is listening. */
async function startServing(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; listening: Record<string, unknown>; log: () => string }> {
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

    const registered = await runChild(['site', 'register', '--hub', hubUrl, '--endpoint', endpoint, '--store', siteStore, '--json']);
    expect(registered.code, registered.stderr).to.equal(0);
    expect(JSON.parse(registered.stdout)).to.include({ ok: true, endpoint });
    const again = await runChild(['site', 'register', '--hub', hubUrl, '--endpoint', endpoint, '--store', siteStore, '--json']);
    expect(again.code).to.equal(2);
    expect(JSON.parse(again.stdout)).to.include({ ok: false, code: 'USAGE' });

    const pollStore = join(dir, 'poll-trust');
    await initStore(pollStore, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    expect((await runChild(['site', 'register', '--hub', hubUrl, '--store', pollStore])).code).to.equal(0);

    const pushed = await runChild(['hub', 'push', '--db', db, '--bundles', bundles, '--allow-private-endpoints', '--json']);
    expect(pushed.code, pushed.stderr).to.equal(0);
    const summary = JSON.parse(pushed.stdout);
    expect(summary).to.include({ ok: true, total: 1, done: 1, failed: 0 });
    expect(summary.packages).to.deep.equal({ installed: 1, verified: 0, rejected: 0, failed: 0 });
    expect(snapshot(root)).to.deep.equal(expectedSnapshot(NEW));
    const status = await runChild(['hub', 'status', '--db', db, '--json']);
    expect(status.code, status.stderr).to.equal(0);
    const report = JSON.parse(status.stdout);
    expect(report).to.include({ ok: true, sites: 2 });
    expect(report.campaign.id).to.equal(summary.campaign);
    expect(report.progress).to.deep.equal({ pending: 0, running: 0, done: 1, failed: 0, total: 1 });
    expect(report.failed).to.deep.equal([]);

    const inbox = join(dir, 'inbox');
    const polled = await runChild(['site', 'poll', '--store', pollStore, '--inbox', inbox, '--allow-private', '--json']);
    expect(polled.code, polled.stderr).to.equal(0);
    expect(JSON.parse(polled.stdout)).to.deep.include({ ok: true, offers: 1, results: [{ name: 'drupal-core-10.2.4', status: 'verified' }] });
    expect(existsSync(join(inbox, 'drupal-core-10.2.4.bundle'))).to.equal(true);
  });

  it('over TLS: an https hub and an https endpoint (registration, hello and push all over https)', async function () {
    const dir = tempDir('countersign-dist-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore' });
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
    const hub = await startServing(['hub', 'serve', '--db', db, '--bundles', bundles, '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key, '--allow-private-endpoints'], env);
    children.push(hub.child);
    expect(String(hub.listening.url)).to.match(/^https:/);
    const root = writeSite(join(dir, 'www', 'site'), OLD);
    const siteStore = join(dir, 'site-trust');
    await initStore(siteStore, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    const endpoint = `https://127.0.0.1:${await freePort()}/countersign`;
    const site = await startServing(['site', 'serve', '--store', siteStore, '--endpoint', endpoint, '--site', root, '--tls-cert', cert, '--tls-key', key], env);
    children.push(site.child);
    const registered = await runChild(['site', 'register', '--hub', String(hub.listening.url), '--endpoint', endpoint, '--store', siteStore, '--json'], { env });
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
    const badRisk = await runChild(['hub', 'push', '--db', 'sqlite:/nonexistent/x.db', '--bundles', '/nonexistent', '--only-risk-at-least', 'Severe', '--json']);
    expect(badRisk.code).to.equal(2);
    const badDb = await runChild(['hub', 'push', '--db', 'mysql://x', '--bundles', '/nonexistent', '--json']);
    expect(JSON.parse(badDb.stdout)).to.include({ ok: false, code: 'USAGE' });
    const nowhere = await runChild(['site', 'poll', '--store', tempDir(), '--json']);
    expect(nowhere.code).to.equal(2);
    for (const cmd of [['hub', 'serve'], ['hub', 'publish'], ['hub', 'push'], ['hub', 'status'], ['site', 'register'], ['site', 'serve'], ['site', 'poll']]) {
      const help = await runChild([...cmd, '--help']);
      expect(help.code, cmd.join(' ')).to.equal(0);
      expect(help.stdout).to.match(/Hawk|quorum|hub/);
    }
  });

  it('a poll against a hub that is down exits 2 with UNREACHABLE', async () => {
    const dir = tempDir('countersign-dist-cli-');
    const release = liveRelease(dir);
    const store = join(dir, 'trust');
    await initStore(store, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }] });
    const port = await freePort();
    const register = await runChild(['site', 'register', '--hub', `http://127.0.0.1:${port}`, '--store', store, '--json']);
    expect(register.code).to.equal(2);
    expect(JSON.parse(register.stdout)).to.include({ ok: false, code: 'UNREACHABLE' });
    expect(existsSync(join(store, 'hub-credentials.json'))).to.equal(false);
  });
});
