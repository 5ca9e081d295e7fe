// A site that installs through the privileged installer daemon: the site polls the hub, verifies the
// bundle against its own store, and hands it to the daemon's socket, whose worker applies it as the
// site owner (a throwaway system user when the tests run as root).
import { expect } from 'chai';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SiteAgent } from '../../lib/site/agent.js';
import { readCredentials } from '../../lib/site/credentials.js';
import { pollHub } from '../../lib/site/poll.js';
import { registerSite } from '../../lib/site/register.js';
import { storeBackend } from '../../lib/site/site-backend.js';
import { openStore } from '../../lib/node/trust-store.js';
import { NEW_TREE } from '../support/fixtures.js';
import {
  bundleBytes,
  labConfig,
  makeLab,
  realWorker,
  requireOwner,
  startHarness,
  treeListing,
  writeBundle,
  type Harness,
  type Lab,
} from '../installer/daemon-support.js';
import { startHub, type Hub } from './support.js';

describe('distribution: a polling site installs through the installer daemon', function () {
  this.timeout(60_000);
  let lab: Lab | undefined;
  let h: Harness | undefined;
  let hub: Hub | undefined;
  after(async () => {
    await h?.daemon.close();
    await hub?.close();
    if (lab) rmSync(lab.base, { recursive: true, force: true });
  });

  it("polls, verifies, submits to the daemon socket; the daemon's worker applies it as the site owner", async function () {
    lab = await makeLab(requireOwner(this), ['alpha']);
    h = await startHarness(labConfig(lab), lab, { worker: realWorker() });
    const bundle = writeBundle(lab, 'release.bundle', bundleBytes(lab));
    hub = await startHub({ policyBytes: lab.generation.bytes, bundle });
    const { root, store } = lab.sites.alpha!;
    await registerSite({ hub: hub.url, endpoint: null, storeDir: store, allowPrivate: true });
    const agent = new SiteAgent(storeBackend({ storeDir: store, installer: { kind: 'daemon', socket: lab.socket, site: 'alpha' }, minRisk: null }), {
      minRisk: null,
    });
    const spool = join(lab.base, 'site-spool');
    mkdirSync(spool, { mode: 0o700 });
    const result = await pollHub({ credentials: await readCredentials(store), agent, spoolDir: spool, maxBundleBytes: 1 << 26, allowPrivate: true });
    expect(result.results).to.deep.equal([{ name: 'drupal-core-10.2.4', status: 'installed' }]);
    expect(readdirSync(spool), 'poll removes the bundle the daemon installed from its spool').to.deep.equal([]);
    for (const [path, spec] of Object.entries(NEW_TREE)) {
      expect(readFileSync(join(root, path), 'utf8'), path).to.equal(typeof spec === 'string' ? spec : spec.content);
      expect(lstatSync(join(root, path)).uid, path).to.equal(lab.owner.uid);
    }
    expect(treeListing(root).filter((p) => lstatSync(join(root, p)).isFile())).to.have.length(Object.keys(NEW_TREE).length);
    expect((await openStore(store)).state.installed['drupal/core']?.version).to.equal('10.2.4');
    expect(h.applySpawns()).to.equal(1);
  });
});
