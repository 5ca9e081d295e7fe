// Crash at every journal step: the files phase of a real multi-file update runs in a child process
// (the CLI, from the sources) that SIGKILLs itself at point k (COUNTERSIGN_TEST_CRASH_AT_STEP, see
// lib/installer/hooks.ts), for EVERY k; then recovery runs, and the site must be byte-identical
// (content, mode, no extra file or directory) to the old release or the new one, never a mix, and the
// trust store must agree with it. The children run the CLI bundled from the sources (support.ts bundledCli).
import { expect } from 'chai';
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
  runChild,
  snapshot,
  tempDir,
  writeSite,
  type Release,
  type Snapshot,
} from './support.js';

const CONCURRENCY = 2;

describe('installer: a crash at every journal step leaves the old release or the new one after recovery', function () {
  this.timeout(600_000);
  let dir: string;
  let release: Release;
  let labels: string[];
  let commitAt: number;
  let journalAt: number;
  let oldSnap: Snapshot;
  let newSnap: Snapshot;

  /** A fresh site (OLD) with its own store and state directory, under `root`. */
  async function freshSite(root: string): Promise<{ site: string; store: string; stateDir: string }> {
    mkdirSync(root, { recursive: true });
    const site = writeSite(join(root, 'www', 'site'), OLD);
    const store = await makeStore(root, release);
    return { site, store, stateDir: join(root, 'www', '.countersign-site') };
  }

  before(async () => {
    dir = tempDir();
    release = makeBundle(dir);
    oldSnap = expectedSnapshot(OLD);
    newSnap = expectedSnapshot(NEW);
    // Learn the points of this update in-process: the child counts the same ones, in the same order.
    const s = await freshSite(join(dir, 'probe'));
    labels = [];
    await applyBundle(release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'files', hooks: { point: (_n, label) => labels.push(label) } });
    expect(snapshot(s.site)).to.deep.equal(newSnap);
    commitAt = labels.indexOf('logged commit') + 1;
    journalAt = labels.indexOf('journal begin') + 1;
    expect(journalAt).to.be.greaterThan(0);
    expect(commitAt).to.be.greaterThan(journalAt);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the update has the shape the test needs: adds in new directories, modifies, a mode change, deletes emptying a directory, the version file last', () => {
    const ops = release.manifest.files.map((f) => `${f.op} ${f.path}`);
    expect(ops).to.include.members([
      'add core/modules/new/src/Controller/NewController.php',
      'delete core/modules/old/old.module',
      'modify sites/default/settings.php',
      'modify core/lib/Drupal.php',
    ]);
    expect(release.manifest.versionFile).to.equal('core/lib/Drupal.php');
    const logged = labels.filter((l) => l.startsWith('logged step'));
    expect(logged.at(-2)).to.match(/modify core\/lib\/Drupal\.php$/);
    expect(logged.at(-1)).to.match(/rmdir core\/modules\/old$/);
    expect(labels.length).to.be.greaterThan(40);
  });

  it('SIGKILL at each point k = 1..N, then recover: old release before the commit record, new release from it on', async () => {
    const cases = Array.from({ length: labels.length + 1 }, (_, i) => i + 1);
    const outcomes = await pool(
      cases.map((k) => async () => {
        const s = await freshSite(join(dir, `k${k}`));
        const child = await runChild(
          ['apply', release.bundle, '--site', s.site, '--store', s.store, '--phase', 'files', '--json', '--now', NOW.toISOString()],
          {
            env: { COUNTERSIGN_TEST_CRASH_AT_STEP: String(k) },
          },
        );
        const crashed = child.signal === 'SIGKILL';
        if (!crashed && !(k > labels.length && child.code === 0)) {
          throw new Error(`k=${k}: the child neither crashed nor finished: exit ${child.code} ${child.signal}\n${child.stdout}\n${child.stderr}`);
        }
        const recovered = await recoverSite(s.site, { now: NOW, store: s.store });
        const tree = snapshot(s.site);
        const installed = (await openStore(s.store)).state.installed['drupal/core']!.version;
        const leftovers = ['journal', 'staging', 'backups'].filter((f) => existsSync(join(s.stateDir, f)));
        rmSync(join(dir, `k${k}`), { recursive: true, force: true });
        return { k, crashed, action: recovered.action, tree, installed, leftovers, ms: child.ms };
      }),
      CONCURRENCY,
    );
    for (const o of outcomes) {
      const label = `k=${o.k} (${labels[o.k - 1] ?? 'no crash'})`;
      const wantNew = o.k >= commitAt;
      if (o.tree === undefined) throw new Error(label);
      expect(o.tree, `${label}: the tree after recovery`).to.deep.equal(wantNew ? newSnap : oldSnap);
      expect(o.installed, `${label}: the trust store`).to.equal(wantNew ? '10.2.4' : '10.2.3');
      expect(o.leftovers, `${label}: work files left in the state directory`).to.deep.equal([]);
      if (o.crashed && o.k < journalAt) expect(o.action, label).to.equal('cleaned');
      if (o.crashed && o.k >= journalAt && o.k < commitAt) expect(o.action, label).to.equal('rolled-back');
      if (o.crashed && o.k >= commitAt && o.k < labels.length) expect(o.action, label).to.equal('completed');
    }
    expect(outcomes.filter((o) => o.crashed)).to.have.length(labels.length);
  });

  it('a crash during the rollback itself, at every undo point, is finished by the next recovery', async () => {
    // The update is crashed just before its commit record (the most steps to undo); then the recovery is crashed at undo point j.
    const steps = labels.filter((l) => l.startsWith('logged step')).length;
    const undoPoints = steps + 1; // one per undone step, then 'rolled back'
    const outcomes = await pool(
      Array.from({ length: undoPoints }, (_, i) => i + 1).map((j) => async () => {
        const s = await freshSite(join(dir, `r${j}`));
        const apply = await runChild(['apply', release.bundle, '--site', s.site, '--store', s.store, '--phase', 'files', '--now', NOW.toISOString()], {
          env: { COUNTERSIGN_TEST_CRASH_AT_STEP: String(commitAt - 1) },
        });
        const first = await runChild(['recover', '--site', s.site, '--json'], { env: { COUNTERSIGN_TEST_CRASH_AT_STEP: String(j) } });
        const second = await recoverSite(s.site, { now: NOW, store: s.store });
        const tree = snapshot(s.site);
        const installed = (await openStore(s.store)).state.installed['drupal/core']!.version;
        rmSync(join(dir, `r${j}`), { recursive: true, force: true });
        return { j, apply, first, second, tree, installed };
      }),
      CONCURRENCY,
    );
    for (const o of outcomes) {
      expect(o.apply.signal, `j=${o.j}: the update was killed`).to.equal('SIGKILL');
      expect(o.first.signal, `j=${o.j}: the recovery was killed`).to.equal('SIGKILL');
      // At the last point the first recovery had already finished (only the journal's removal was left behind it).
      expect(o.second.action, `j=${o.j}`).to.equal(o.j === undoPoints ? 'none' : 'rolled-back');
      expect(o.tree, `j=${o.j}: the tree after the second recovery`).to.deep.equal(oldSnap);
      expect(o.installed, `j=${o.j}`).to.equal('10.2.3');
    }
  });
});
