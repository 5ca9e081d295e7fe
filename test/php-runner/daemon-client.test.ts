// The PHP daemon client (php/src/Installer/DaemonClient.php, php/bin/countersign-submit) against the real TypeScript
// installer daemon (in-process, stub worker, as test/installer/daemon.test.ts runs it): the bundle arrives whole, the
// final answer and exit are the daemon's. Skips when php is absent.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  bundleBytes,
  labConfig,
  makeLab,
  REPO,
  requireOwner,
  startHarness,
  stubLog,
  writeBundle,
  type Harness,
  type Lab,
} from '../installer/daemon-support.js';
import { spawnCollect, type ChildResult } from '../installer/support.js';

const HAVE_PHP = spawnSync('php', ['-v']).status === 0;

function submit(socket: string, site: string, bundle: string): Promise<ChildResult> {
  return spawnCollect('php', [join(REPO, 'php', 'bin', 'countersign-submit'), '--socket', socket, '--site', site, bundle, '--json']);
}

describe('php runner: the daemon client speaks the installer socket protocol', function () {
  this.timeout(60_000);
  let lab: Lab;
  let h: Harness | undefined;
  beforeEach(async function () {
    if (!HAVE_PHP) {
      console.log('    (skipped: php is not installed)');
      this.skip();
    }
    lab = await makeLab(requireOwner(this), ['alpha']);
  });
  afterEach(async () => {
    await h?.daemon.close();
    h = undefined;
    if (lab) rmSync(lab.base, { recursive: true, force: true });
  });

  it('hands a good bundle over whole and exits with the daemon answer', async () => {
    h = await startHarness(labConfig(lab), lab);
    const bytes = bundleBytes(lab);
    const r = await submit(lab.socket, 'alpha', writeBundle(lab, 'good.bundle', bytes));
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ ok: true, exit: 0, site: 'alpha' });
    const [run] = stubLog(lab.sites.alpha!.root);
    expect(run!.stdinSha256).to.equal(createHash('sha256').update(bytes).digest('hex'));
  });

  it('reports the daemon refusals with their code: an unknown site, a bundle signed below the quorum', async () => {
    h = await startHarness(labConfig(lab), lab);
    const unknown = await submit(lab.socket, 'nosuchsite', writeBundle(lab, 'good.bundle', bundleBytes(lab)));
    expect(unknown.code).to.equal(2);
    expect(JSON.parse(unknown.stdout)).to.include({ ok: false, code: 'UNKNOWN_SITE' });
    const weak = await submit(lab.socket, 'alpha', writeBundle(lab, 'weak.bundle', bundleBytes(lab, {}, 1)));
    expect(weak.code).to.equal(1);
    expect(JSON.parse(weak.stdout)).to.include({ ok: false, code: 'QUORUM_NOT_MET' });
    expect(stubLog(lab.sites.alpha!.root)).to.have.length(0);
  });
});
