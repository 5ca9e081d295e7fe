// The installer daemon with its real worker: `countersign apply` and `recover` (cli/main.ts under tsx),
// spawned as the site owner. As root, the owner is the throwaway system user cs-test-owner.
import { expect } from 'chai';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitBundle } from '../../lib/installer/daemon/client.js';
import type { ProgressLine } from '../../lib/installer/daemon/protocol.js';
import { openStore, recordInstall } from '../../lib/node/trust-store.js';
import { runCli } from '../support/cli.js';
import { BASE_TREE, NEW_TREE } from '../support/fixtures.js';
import {
  bundleBytes,
  isRoot,
  labConfig,
  makeLab,
  realWorker,
  requireOwner,
  startHarness,
  treeListing,
  writeBundle,
  type Harness,
  type Lab,
} from './daemon-support.js';

const expectedTree = (tree: Record<string, string | { content: string }>) =>
  Object.fromEntries(Object.entries(tree).map(([path, spec]) => [path, typeof spec === 'string' ? spec : spec.content]));

function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of treeListing(root)) {
    const abs = join(root, rel);
    if (lstatSync(abs).isFile()) out[rel] = readFileSync(abs, 'utf8');
  }
  return out;
}

describe('installer daemon with the real worker (countersign apply)', function () {
  this.timeout(60_000);
  let lab: Lab;
  let h: Harness | undefined;

  beforeEach(async function () {
    lab = await makeLab(requireOwner(this), ['alpha']);
  });
  afterEach(async () => {
    await h?.daemon.close();
    h = undefined;
    rmSync(lab.base, { recursive: true, force: true });
  });

  it("a release for another product is WRONG_TARGET in the worker, even when the store records that product too: the site's version file says what the tree is", async () => {
    h = await startHarness(labConfig(lab), lab, { worker: realWorker() });
    const { root, store } = lab.sites.alpha!;
    await recordInstall(store, 'wordpress', 'core', '10.2.3');
    const before = files(root);
    const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'wp.bundle', bundleBytes(lab, { product: 'wordpress' })) });
    expect(final, JSON.stringify(final)).to.include({ ok: false, code: 'WRONG_TARGET', exit: 1 });
    expect(files(root)).to.deep.equal(before);
  });

  it("applies a good bundle as the site owner: the client gets the worker's progress and result, the tree is the new release, owned by the owner", async () => {
    h = await startHarness(labConfig(lab), lab, { worker: realWorker(), recover: true });
    const { root, store } = lab.sites.alpha!;
    const bytes = bundleBytes(lab, { postUpdate: [['/usr/bin/touch', 'post-update-ran']] });
    const progress: ProgressLine[] = [];
    const final = await submitBundle({
      socket: lab.socket,
      site: 'alpha',
      bundle: writeBundle(lab, 'good.bundle', bytes),
      onProgress: (p) => progress.push(p),
    });
    expect(final, JSON.stringify(final)).to.include({ ok: true, exit: 0, site: 'alpha' });
    const result = final.result as Record<string, unknown>;
    expect(result).to.include({ ok: true, product: 'drupal', component: 'core', to: '10.2.4' });
    // Progress: the daemon's own steps, then the worker's events as it went.
    const workerEvents = progress.filter((p) => p.source === 'worker').map((p) => p.progress.event);
    expect(workerEvents).to.include.members(['verified', 'committed']);
    await h.daemon.recovered;
    expect(h.logs.find((l) => l.event === 'recover')).to.include({ site: 'alpha', exitCode: 0 });

    expect(files(root)).to.deep.equal({ ...expectedTree(NEW_TREE), 'post-update-ran': '' });
    // Everything the worker wrote is the owner's: new files, replaced files, the post-update step's file.
    for (const rel of ['core/lib/Sanitizer.php', 'core/bootstrap.inc', 'core/lib/Drupal.php', 'post-update-ran']) {
      const info = statSync(join(root, rel));
      expect([info.uid, info.gid], rel).to.deep.equal([lab.owner.uid, lab.owner.gid]);
    }
    expect((await openStore(store)).state.installed['drupal/core']).to.include({ version: '10.2.4', highest: '10.2.4' });
    expect(readdirSync(lab.spool)).to.deep.equal([]);
    expect(readdirSync(lab.outside)).to.deep.equal(['keep.txt']);
  });

  it("answers the worker's refusal (LOCAL_CHANGES) with exit 1, and the tree is untouched", async () => {
    h = await startHarness(labConfig(lab), lab, { worker: realWorker() });
    const { root } = lab.sites.alpha!;
    writeFileSync(join(root, 'core/bootstrap.inc'), '<?php // patched by hand\n');
    const before = files(root);
    const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
    expect(final).to.include({ ok: false, code: 'LOCAL_CHANGES', exit: 1 });
    expect(files(root)).to.deep.equal(before);
    expect(files(root)['core/lib/Drupal.php']).to.equal(BASE_TREE['core/lib/Drupal.php']);
  });

  it('never starts the real worker for a bundle the daemon rejects', async () => {
    h = await startHarness(labConfig(lab), lab, { worker: realWorker() });
    const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'bad.bundle', bundleBytes(lab, {}, 2)) });
    expect(final).to.include({ ok: false, code: 'QUORUM_NOT_MET', exit: 1 });
    expect(h.spawns).to.have.length(0);
    expect(existsSync(join(lab.base, 'sites', '.countersign-alpha'))).to.equal(false);
  });

  it('as root, the files the real worker writes belong to the configured non-root owner', async function () {
    if (!isRoot) {
      console.log('      (skipped: not running as root)');
      this.skip();
    }
    h = await startHarness(labConfig(lab), lab, { worker: realWorker() });
    const { root } = lab.sites.alpha!;
    // Through the command line a cron job would use: human progress on stderr, the verdict on stdout.
    const bundle = writeBundle(lab, 'good.bundle', bundleBytes(lab, { postUpdate: [['/usr/bin/touch', 'post-update-ran']] }));
    const cli = await runCli(['installer', 'submit', '--socket', lab.socket, '--site', 'alpha', bundle]);
    expect(cli.code, cli.stderr).to.equal(0);
    expect(cli.stdout).to.match(/^OK: site alpha: applied drupal core 10\.2\.4/);
    expect(cli.stderr).to.include(`installer: applying as uid ${lab.owner.uid}, gid ${lab.owner.gid}`);
    expect(cli.stderr).to.match(/worker: \[1\/4\] (add|modify|delete) core\//);
    expect(cli.stderr).to.include('worker: post-update ["/usr/bin/touch","post-update-ran"] done, exit 0');
    expect(lab.owner.uid).to.not.equal(0);
    const owners = new Set(treeListing(root).map((rel) => `${lstatSync(join(root, rel)).uid}:${lstatSync(join(root, rel)).gid}`));
    expect([...owners]).to.deep.equal([`${lab.owner.uid}:${lab.owner.gid}`]);
    // Its state directory too (the journal, backups, staging it used).
    expect(statSync(join(lab.base, 'sites', '.countersign-alpha')).uid).to.equal(lab.owner.uid);
  });
});
