// One journal format for both languages: a PHP runner killed at every point of a real update is recovered by the
// TypeScript `recover` (recoverSite), and a TypeScript apply killed at every point is recovered by php/bin/countersign-recover;
// the tree must be byte-identical to the old or the new release and the trust store must agree. Skips when php is absent.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyBundle } from '../../lib/installer/apply.js';
import { recoverSite } from '../../lib/installer/recover.js';
import { openStore } from '../../lib/node/trust-store.js';
import {
  expectedSnapshot,
  makeBundle,
  makeStore,
  NEW,
  NOW,
  OLD,
  pool,
  REPO,
  runChild,
  snapshot,
  spawnCollect,
  tempDir,
  writeSite,
  type ChildResult,
  type Release,
} from '../installer/support.js';

const PHP = spawnSync('php', ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' });
const HAVE_PHP = PHP.status === 0;
const HOOKS = join(REPO, 'php', 'tests', 'Installer', 'enable-hooks.php');

function php(bin: string, args: string[], env: Record<string, string>): Promise<ChildResult> {
  return spawnCollect('php', ['-d', `auto_prepend_file=${HOOKS}`, join(REPO, 'php', 'bin', bin), ...args], { env });
}

describe('php runner: journals recovered across languages', function () {
  this.timeout(600_000);
  let dir: string;
  let release: Release;
  before(function () {
    if (!HAVE_PHP) {
      console.log('    (skipped: php is not installed; apt-get install php-cli)');
      this.skip();
    }
    dir = tempDir('countersign-php-cross-');
    release = makeBundle(dir);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  async function freshSite(root: string) {
    mkdirSync(root, { recursive: true });
    const site = writeSite(join(root, 'www', 'site'), OLD);
    const store = await makeStore(root, release);
    return { site, store, stateDir: join(root, 'www', '.countersign-site') };
  }

  it('the PHP runner applies the TypeScript-built bundle and the TypeScript store reads what it recorded', async () => {
    const s = await freshSite(join(dir, 'plain'));
    const r = await php('countersign-apply', [release.bundle, '--site', s.site, '--store', s.store, '--now', NOW.toISOString(), '--json'], {});
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
    expect((await openStore(s.store)).state.installed['drupal/core']!.version).to.equal('10.2.4');
  });

  it('PHP killed at every point, TypeScript recovers: old release before the commit record, new from it on', async () => {
    const oldSnap = expectedSnapshot(OLD);
    const newSnap = expectedSnapshot(NEW);
    const outcomes = await pool(
      Array.from({ length: 60 }, (_, i) => i + 1).map((k) => async () => {
        const s = await freshSite(join(dir, `p${k}`));
        const child = await php(
          'countersign-apply',
          [release.bundle, '--site', s.site, '--store', s.store, '--phase', 'files', '--now', NOW.toISOString(), '--json'],
          {
            COUNTERSIGN_TEST_KILL_AT: String(k),
          },
        );
        const journal = existsSync(join(s.stateDir, 'journal'));
        const recovered = await recoverSite(s.site, { now: NOW, store: s.store });
        const tree = snapshot(s.site);
        const installed = (await openStore(s.store)).state.installed['drupal/core']!.version;
        rmSync(join(dir, `p${k}`), { recursive: true, force: true });
        return { k, killed: child.signal === 'SIGKILL', journal, action: recovered.action, tree, installed };
      }),
      2,
    );
    const killed = outcomes.filter((o) => o.killed);
    expect(killed.length, 'the PHP runner has this many points').to.be.greaterThan(40);
    expect(outcomes.filter((o) => o.journal).length, 'cases that left a journal for TypeScript to read').to.be.greaterThan(30);
    for (const o of outcomes) {
      const wantNew = o.installed === '10.2.4';
      expect(o.tree, `k=${o.k} (${o.action})`).to.deep.equal(wantNew ? newSnap : oldSnap);
      if (o.action === 'rolled-back') expect(o.installed, `k=${o.k}`).to.equal('10.2.3');
      if (o.action === 'completed') expect(o.installed, `k=${o.k}`).to.equal('10.2.4');
    }
    expect(outcomes.some((o) => o.action === 'rolled-back')).to.equal(true);
    expect(outcomes.some((o) => o.action === 'completed')).to.equal(true);
  });

  it('TypeScript killed at every point, PHP recovers: old release before the commit record, new from it on', async () => {
    const probe = await freshSite(join(dir, 'probe'));
    const labels: string[] = [];
    await applyBundle(release.bundle, { site: probe.site, store: probe.store, now: NOW, phase: 'files', hooks: { point: (_n, label) => labels.push(label) } });
    const commitAt = labels.indexOf('logged commit') + 1;
    const oldSnap = expectedSnapshot(OLD);
    const newSnap = expectedSnapshot(NEW);
    const outcomes = await pool(
      Array.from({ length: labels.length }, (_, i) => i + 1).map((k) => async () => {
        const s = await freshSite(join(dir, `t${k}`));
        const child = await runChild(
          ['apply', release.bundle, '--site', s.site, '--store', s.store, '--phase', 'files', '--json', '--now', NOW.toISOString()],
          {
            env: { COUNTERSIGN_TEST_CRASH_AT_STEP: String(k) },
          },
        );
        const rec = await php('countersign-recover', ['--site', s.site, '--store', s.store, '--json', '--now', NOW.toISOString()], {});
        const tree = snapshot(s.site);
        const installed = (await openStore(s.store)).state.installed['drupal/core']!.version;
        const leftovers = ['journal', 'staging', 'backups'].filter((f) => existsSync(join(s.stateDir, f)));
        rmSync(join(dir, `t${k}`), { recursive: true, force: true });
        return { k, signal: child.signal, rec, tree, installed, leftovers };
      }),
      2,
    );
    for (const o of outcomes) {
      const label = `k=${o.k} (${labels[o.k - 1]})`;
      expect(o.signal, label).to.equal('SIGKILL');
      expect(o.rec.code, `${label}: ${o.rec.stdout}${o.rec.stderr}`).to.equal(0);
      const wantNew = o.k >= commitAt;
      expect(o.tree, label).to.deep.equal(wantNew ? newSnap : oldSnap);
      expect(o.installed, label).to.equal(wantNew ? '10.2.4' : '10.2.3');
      expect(o.leftovers, label).to.deep.equal([]);
      const action = (JSON.parse(o.rec.stdout) as { action: string }).action;
      if (o.k > labels.indexOf('journal begin') && o.k < commitAt) expect(action, label).to.equal('rolled-back');
    }
  });
});
