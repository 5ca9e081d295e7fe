// The in-process runner end to end: phases, dry runs, local changes, verification before anything is
// written, and failures in the middle of a commit (injected at every point, and real ones: an
// immutable directory, a full disk) rolled back to the old release.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CountersignError, InstallError, VerificationError } from '../../lib/core/errors.js';
import { applyBundle, type ApplyOptions } from '../../lib/installer/apply.js';
import { recoverSite } from '../../lib/installer/recover.js';
import { ensureStateDir, lockSite, sitePaths } from '../../lib/installer/state.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import { initStore, openStore, recordInstall } from '../../lib/node/trust-store.js';
import { asFormat1, bundleFileBytes, makePolicy, signedBy } from '../support/fixtures.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { createEnvelope } from '../../lib/core/envelope.js';
import type { IndexEntry } from '../../lib/distribution/messages.js';
import { nextWanted } from '../../lib/site/choose.js';
import { storeBackend } from '../../lib/site/site-backend.js';
import {
  applyWithPoints,
  expectedSnapshot,
  makeBundle,
  makeSetup,
  NEW,
  NOW,
  OLD,
  SITE_STEP,
  snapshot,
  tempDir,
  writeSite,
  type Snapshot,
  type Tree,
} from './support.js';
import { rejectionOf } from '../support/codes.js';

const LESS_CRITICAL = 'AC:Complex/A:Admin/CI:Some/II:None/E:Theoretical/TD:Uncommon'; // 7/25
const CRITICAL = 'AC:None/A:None/CI:Some/II:Some/E:Theoretical/TD:Uncommon'; // 16/25

const oldSnap = expectedSnapshot(OLD);
const newSnap = expectedSnapshot(NEW);

function installedIn(store: string): Promise<string> {
  return openStore(store).then((s) => s.state.installed['drupal/core']!.version);
}

/** Whatever is left in the state directory besides the lock: nothing after a clean run or a rollback. */
function leftovers(stateDir: string): string[] {
  return ['journal', 'staging', 'backups'].filter((f) => existsSync(join(stateDir, f)));
}

describe('installer apply: the three phases', function () {
  this.timeout(60_000);

  it('applies a multi-file update: the tree is the new release byte for byte, the store records it, the state directory is clean', async () => {
    const s = await makeSetup({ request: { postUpdate: [[process.execPath, '-e', 'require("fs").writeFileSync("../post-ran", process.cwd())']] } });
    const events: Array<Record<string, unknown>> = [];
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, onProgress: (e) => events.push(e) });
    expect(r.phases).to.deep.equal(['check', 'files', 'post']);
    expect(r).to.include({ product: 'drupal', component: 'core', from: '10.2.3', to: '10.2.4', versionFile: 'core/lib/Drupal.php', dryRun: false });
    expect(r.counts).to.deep.equal({ mkdir: 4, add: 4, modify: 6, delete: 3, rmdir: 1 });
    expect(r.changes.at(-2)).to.deep.equal({ op: 'modify', path: 'core/lib/Drupal.php' });
    expect(snapshot(s.site)).to.deep.equal(newSnap);
    expect(await installedIn(s.store)).to.equal('10.2.4');
    expect(leftovers(s.stateDir)).to.deep.equal([]);
    expect(readFileSync(join(s.dir, 'www', 'post-ran'), 'utf8'), 'the post step ran in the site root').to.equal(s.site);
    expect(r.post.map((p) => p.exitCode)).to.deep.equal([0]);
    expect(events.filter((e) => e.event === 'file')).to.have.length(18);
    expect(events.filter((e) => e.event === 'phase').map((e) => `${e.phase} ${e.status}`)).to.deep.equal([
      'check start',
      'check done',
      'files start',
      'files done',
      'post start',
      'post done',
    ]);
  });

  it('stages hundreds of files, flushed together: the tree is the new release, no descriptor is left open', async () => {
    const many = (n: number, tag: string): Tree =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`core/many/f${String(i).padStart(3, '0')}.txt`, `${tag} ${i}\n`]));
    const base = { ...OLD, ...many(150, 'old') };
    const source = { ...NEW, ...many(300, 'new') }; // 150 modified and 150 added
    const s = await makeSetup({ base, source, site: base });
    const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const before = fds();
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    expect(r.counts.add + r.counts.modify).to.be.greaterThan(300);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(source));
    expect(leftovers(s.stateDir)).to.deep.equal([]);
    expect(fds(), 'open descriptors').to.equal(before);
  });

  it('entries of every size around a tar block (0, 511, 512, 513, 3 MiB + 17, a file emptied) stage exactly, from a format 2 bundle and from a format 1 one', async () => {
    const source: Tree = {
      ...NEW,
      'edge/empty.txt': '',
      'edge/b511.txt': 'a'.repeat(511),
      'edge/b512.txt': 'b'.repeat(512),
      'edge/b513.txt': 'c'.repeat(513),
      'edge/big.bin': 'x'.repeat(3 * 1024 * 1024 + 17),
      'README.txt': '', // modified to empty
    };
    for (const format of [2, 1]) {
      const s = await makeSetup({ source });
      if (format === 1) {
        // The same archive under a format 1 manifest (archive.sha512, no signed mtime): verified by the strict tar reader.
        const m1 = asFormat1(s.release.manifest, s.release.archive);
        const envelope = signedBy(createEnvelope('manifest', canonicalBytes(m1)), s.release.policy.signers.slice(0, 3));
        writeFileSync(s.release.bundle, bundleFileBytes(envelope, s.release.archive));
      }
      await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
      expect(snapshot(s.site), `format ${format}`).to.deep.equal(expectedSnapshot(source));
    }
  });

  it('under a umask of 077 every file and directory still gets its manifest mode (0644, 0755): staged files are fchmod-ed when the umask took bits', async () => {
    const s = await makeSetup();
    const old = process.umask(0o077);
    try {
      await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    } finally {
      process.umask(old);
    }
    expect(snapshot(s.site)).to.deep.equal(newSnap);
  });

  it('the state directory sits beside the site, mode 0700, and holds nothing of the release once done', async () => {
    const s = await makeSetup();
    await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    expect(snapshot(join(s.dir, 'www'))['.countersign-site']).to.equal('dir 0700');
    const inside = Object.keys(snapshot(s.stateDir));
    expect(inside).to.deep.equal(['state.json']);
  });

  it('phases one at a time, in order: check writes nothing in the site, files installs, post runs the steps; post before files is PHASE_ORDER', async () => {
    const s = await makeSetup({ request: { postUpdate: [[process.execPath, '-e', '0']] } });
    const opts: ApplyOptions = { site: s.site, store: s.store, now: NOW };
    expect((await rejectionOf(applyBundle(s.release.bundle, { ...opts, phase: 'post' }))).code).to.equal('PHASE_ORDER');
    const check = await applyBundle(s.release.bundle, { ...opts, phase: 'check' });
    expect(check.phases).to.deep.equal(['check']);
    expect(snapshot(s.site)).to.deep.equal(oldSnap);
    expect((await rejectionOf(applyBundle(s.release.bundle, { ...opts, phase: 'post' }))).code, 'post right after check').to.equal('PHASE_ORDER');
    const files = await applyBundle(s.release.bundle, { ...opts, phase: 'files' });
    expect(files.phases).to.deep.equal(['check', 'files']);
    expect(files.post).to.deep.equal([]);
    expect(snapshot(s.site)).to.deep.equal(newSnap);
    const post = await applyBundle(s.release.bundle, { ...opts, phase: 'post' });
    expect(post.phases).to.deep.equal(['post']);
    expect(post.post.map((p) => p.ok)).to.deep.equal([true]);
    const again = await rejectionOf(applyBundle(s.release.bundle, opts));
    expect(
      (again as VerificationError).reasons.map((r) => r.code),
      'the same release again',
    ).to.deep.equal(['NOT_APPLICABLE', 'ROLLBACK']);
  });

  it('--phase files without a check first re-runs the check', async () => {
    const s = await makeSetup();
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'files' });
    expect(r.phases).to.deep.equal(['check', 'files']);
    expect(snapshot(s.site)).to.deep.equal(newSnap);
  });

  it("with --policy, the installed version is read from the site's version file; --installed overrides it", async () => {
    const s = await makeSetup();
    const trusted = loadTrustedPolicy(s.release.policyBytes);
    const dry = await applyBundle(s.release.bundle, { site: s.site, trusted, now: NOW, dryRun: true });
    expect(dry.from).to.equal('10.2.3');
    expect(dry.detected).to.deep.equal({ path: 'core/lib/Drupal.php', version: '10.2.3' });
    expect(
      (await rejectionOf(applyBundle(s.release.bundle, { site: s.site, trusted, now: NOW, installed: '10.2.2', dryRun: true }))).code,
      'told 10.2.2',
    ).to.equal('NOT_APPLICABLE');
    const r = await applyBundle(s.release.bundle, { site: s.site, trusted, now: NOW });
    expect(r.phases).to.deep.equal(['check', 'files', 'post']);
    expect(snapshot(s.site)).to.deep.equal(newSnap);
    expect((await rejectionOf(applyBundle(s.release.bundle, { site: s.site, trusted, now: NOW }))).code, 'now the file says 10.2.4').to.equal('NOT_APPLICABLE');
  });

  it('with --policy, --product, --component and --installed all given: the target is checked as given, and the version file is still read (detected, VERSION_MISMATCH)', async () => {
    const s = await makeSetup();
    const trusted = loadTrustedPolicy(s.release.policyBytes);
    const all = { site: s.site, trusted, installed: '10.2.3', product: 'drupal', component: 'core', now: NOW, dryRun: true };
    expect((await rejectionOf(applyBundle(s.release.bundle, { ...all, product: 'backdrop' }))).code, 'another product').to.equal('WRONG_TARGET');
    expect((await rejectionOf(applyBundle(s.release.bundle, { ...all, component: 'views' }))).code, 'another component').to.equal('WRONG_TARGET');
    expect((await applyBundle(s.release.bundle, all)).detected).to.deep.equal({ path: 'core/lib/Drupal.php', version: '10.2.3' });
    writeFileSync(join(s.site, 'core/lib/Drupal.php'), "<?php\nclass Drupal {\n  const VERSION = '10.2.2';\n}\n");
    const err = await rejectionOf(applyBundle(s.release.bundle, all));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect((err.details.problems as Array<{ code: string }>).map((p) => p.code)).to.deep.equal(['VERSION_MISMATCH']);
  });

  it('with --policy and no version file to read: PREFLIGHT_FAILED (VERSION_UNKNOWN) unless --installed is given', async () => {
    const s = await makeSetup();
    rmSync(join(s.site, 'core/lib/Drupal.php'));
    const trusted = loadTrustedPolicy(s.release.policyBytes);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, trusted, product: 'drupal', component: 'core', now: NOW }));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect((err.details.problems as Array<{ code: string }>).map((p) => p.code)).to.deep.equal(['VERSION_UNKNOWN']);
  });

  it('a version file that contradicts the trust store is PREFLIGHT_FAILED (VERSION_MISMATCH); nothing is touched', async () => {
    const s = await makeSetup();
    writeFileSync(join(s.site, 'core/lib/Drupal.php'), "<?php\nclass Drupal {\n  const VERSION = '10.2.2';\n}\n");
    const before = snapshot(s.site);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect((err.details.problems as Array<{ code: string }>).map((p) => p.code)).to.include('VERSION_MISMATCH');
    expect(snapshot(s.site)).to.deep.equal(before);
  });

  it('verifies the bundle completely before anything is written: short of the quorum, nothing is staged', async () => {
    const dir = tempDir();
    const policy = makePolicy(5, 3);
    const release = makeBundle(dir, { policy });
    // Re-sign with two of the three required keys.
    const { bundleFileBytes, signedBy } = await import('../support/fixtures.js');
    const short = signedBy({ ...release.envelope, signatures: [] }, policy.signers.slice(0, 2));
    writeFileSync(release.bundle, bundleFileBytes(short, release.archive));
    const site = writeSite(join(dir, 'www', 'site'), OLD);
    const { makeStore } = await import('./support.js');
    const store = await makeStore(dir, release);
    const err = await rejectionOf(applyBundle(release.bundle, { site, store, now: NOW }));
    expect(err).to.be.instanceOf(VerificationError);
    expect(err.code).to.equal('QUORUM_NOT_MET');
    expect(snapshot(site)).to.deep.equal(oldSnap);
    expect(Object.keys(snapshot(join(dir, 'www', '.countersign-site'))).filter((n) => n !== 'lock')).to.deep.equal([]);
  });
});

describe('installer apply: --dry-run', function () {
  this.timeout(60_000);

  it('reports every step with its path and touches nothing: not the site, not the state directory, not the store', async () => {
    const s = await makeSetup({ request: { postUpdate: [['sh', '-c', 'exit 0']] } });
    const www = join(s.dir, 'www');
    const before = { www: snapshot(www), store: snapshot(s.store) };
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun: true });
    expect({ www: snapshot(www), store: snapshot(s.store) }).to.deep.equal(before);
    expect(existsSync(s.stateDir), 'no state directory').to.equal(false);
    expect(r.dryRun).to.equal(true);
    expect(r.phases).to.deep.equal([]);
    expect(r.changes.map((c) => `${c.op} ${c.path}`)).to.deep.equal([
      'mkdir core/lib/Security',
      'mkdir core/modules/new',
      'mkdir core/modules/new/src',
      'mkdir core/modules/new/src/Controller',
      'modify README.txt',
      'modify core/includes/bootstrap.inc',
      'delete core/includes/legacy.inc',
      'add core/lib/Security/Sanitizer.php',
      'add core/modules/new/new.info.yml',
      'add core/modules/new/src/Controller/NewController.php',
      'delete core/modules/old/old.info.yml',
      'delete core/modules/old/old.module',
      'modify core/modules/system/system.module',
      'modify core/scripts/cron.sh',
      'add core/scripts/update.sh',
      'modify sites/default/settings.php',
      'modify core/lib/Drupal.php',
      'rmdir core/modules/old',
    ]);
    expect(r.post.map((p) => p.argv)).to.deep.equal([['sh', '-c', 'exit 0']]);
    // And a real run does exactly that.
    const real = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'files' });
    expect(real.changes).to.deep.equal(r.changes);
  });

  it('reports the refusals a real run would meet (LOCAL_CHANGES), still touching nothing', async () => {
    const s = await makeSetup();
    writeFileSync(join(s.site, 'README.txt'), 'my notes\n');
    const www = join(s.dir, 'www');
    const before = snapshot(www);
    expect((await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun: true }))).code).to.equal('LOCAL_CHANGES');
    expect(snapshot(www)).to.deep.equal(before);
  });
});

describe('installer apply: locally modified files', function () {
  this.timeout(60_000);

  async function modifiedSite(riskVector?: string) {
    const s = await makeSetup(riskVector ? { request: { riskVector } } : {});
    writeFileSync(join(s.site, 'README.txt'), 'our own readme\n');
    writeFileSync(join(s.site, 'core/modules/system/system.module'), '<?php // patched locally\n');
    rmSync(join(s.site, 'core/includes/legacy.inc'));
    writeFileSync(join(s.site, 'core/modules/old/old.module'), '<?php // patched locally\n');
    return s;
  }

  it('LOCAL_CHANGES lists every modified or missing file, and nothing in the site is touched', async () => {
    const s = await modifiedSite();
    const before = snapshot(s.site);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err).to.be.instanceOf(InstallError);
    expect(err.code).to.equal('LOCAL_CHANGES');
    const files = err.details.files as Array<{ path: string; found: string | null }>;
    expect(files.map((f) => f.path)).to.deep.equal([
      'README.txt',
      'core/includes/legacy.inc',
      'core/modules/old/old.module',
      'core/modules/system/system.module',
    ]);
    expect(files.find((f) => f.path === 'core/includes/legacy.inc')!.found).to.equal(null);
    expect(err.message).to.contain('README.txt').and.to.contain('core/modules/system/system.module');
    expect(snapshot(s.site)).to.deep.equal(before);
    expect(leftovers(s.stateDir)).to.deep.equal([]);
    expect(await installedIn(s.store)).to.equal('10.2.3');
  });

  const KEPT = ['README.txt', 'core/includes/legacy.inc', 'core/modules/old/old.module', 'core/modules/system/system.module'];

  it('--keep-local keeps them, applies the rest, reports what it kept, and records the release as partly installed', async () => {
    const s = await modifiedSite(LESS_CRITICAL);
    const before = snapshot(s.site);
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, keepLocal: true });
    expect(r.kept.map((k) => k.path)).to.deep.equal(KEPT);
    expect(r.partial).to.equal(true);
    const after = snapshot(s.site);
    for (const kept of ['README.txt', 'core/modules/old/old.module', 'core/modules/system/system.module']) expect(after[kept], kept).to.equal(before[kept]);
    expect(after['core/includes/legacy.inc']).to.equal(undefined);
    expect(after['core/modules/old'], 'a directory holding a kept file stays').to.equal('dir 0755');
    expect(after['core/modules/old/old.info.yml']).to.equal(undefined);
    for (const changed of ['core/lib/Drupal.php', 'core/includes/bootstrap.inc', 'core/scripts/update.sh', 'sites/default/settings.php'])
      expect(after[changed], changed).to.equal(newSnap[changed]);
    // The kept files may be where the fix is: the site is not at 10.2.4, and the store says so.
    const entry = (await openStore(s.store)).state.installed['drupal/core']!;
    expect(entry).to.deep.include({ version: '10.2.3', highest: '10.2.3' });
    expect(entry.partial).to.deep.include({ version: '10.2.4', kept: KEPT });
    // So the release is still offered to this site (what it reports installed is 10.2.3).
    const offer = {
      name: 'drupal-core-10.2.4',
      product: 'drupal',
      component: 'core',
      version: '10.2.4',
      appliesTo: ['10.2.3'],
      risk: null,
    } as unknown as IndexEntry;
    const installed = await storeBackend({ storeDir: s.store, installer: { kind: 'inbox', dir: join(s.dir, 'inbox') }, minRisk: null }).installed();
    expect(nextWanted([offer], installed, { minRisk: null, asked: new Set() })?.name).to.equal('drupal-core-10.2.4');
    // A full install later (or trust record after merging by hand) clears it.
    await recordInstall(s.store, 'drupal', 'core', '10.2.4', { now: NOW });
    expect((await openStore(s.store)).state.installed['drupal/core']).to.not.have.property('partial');
  });

  it('--keep-local is refused (KEEP_LOCAL_REFUSED) for a release rated Critical or above, unless --keep-local-despite-risk; nothing is touched', async () => {
    for (const vector of [CRITICAL, 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default']) {
      const s = await modifiedSite(vector);
      const before = snapshot(s.site);
      for (const dryRun of [true, false]) {
        const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, keepLocal: true, dryRun }));
        expect(err.code, `${vector} dry run ${dryRun}`).to.equal('KEEP_LOCAL_REFUSED');
      }
      expect(snapshot(s.site)).to.deep.equal(before);
      expect(await installedIn(s.store)).to.equal('10.2.3');
      const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, keepLocal: true, keepLocalDespiteRisk: true });
      expect(r.partial).to.equal(true);
      expect((await openStore(s.store)).state.installed['drupal/core']!.partial?.kept).to.deep.equal(KEPT);
    }
  });

  it('a crash after the commit record keeps the kept files in the journal: recovery records the install as partial too', async () => {
    const s = await modifiedSite(LESS_CRITICAL);
    const hooks = {
      point: (_n: number, label: string) => {
        if (label === 'logged commit') throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      },
    };
    await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, keepLocal: true, hooks }));
    expect(readFileSync(join(s.stateDir, 'journal'), 'utf8')).to.contain('"kept":["README.txt"');
    await recoverSite(s.site, { store: s.store, now: NOW });
    const entry = (await openStore(s.store)).state.installed['drupal/core']!;
    expect(entry.version).to.equal('10.2.3');
    expect(entry.partial?.kept).to.deep.equal(KEPT);
  });

  it('--keep-local with nothing to keep is an ordinary, full install, whatever the risk', async () => {
    const s = await makeSetup();
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, keepLocal: true });
    expect(r.partial).to.equal(false);
    expect(await installedIn(s.store)).to.equal('10.2.4');
  });

  it('--keep-local never keeps the version file', async () => {
    const s = await makeSetup();
    writeFileSync(join(s.site, 'core/lib/Drupal.php'), "<?php\nclass Drupal {\n  const VERSION = '10.2.3'; // patched\n}\n");
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, keepLocal: true }));
    expect(err.code).to.equal('LOCAL_CHANGES');
    expect(err.message).to.contain('version file');
    expect(snapshot(s.site)['core/lib/Security']).to.equal(undefined);
  });
});

describe('installer apply: a failure in the middle of the commit rolls back', function () {
  this.timeout(120_000);
  let labels: string[];
  before(async () => {
    const s = await makeSetup();
    labels = [];
    await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'files', hooks: { point: (_n, l) => labels.push(l) } });
  });

  it('a failure says where it happened and how many steps had changed the site: none before the flush, the steps begun after it', async () => {
    const firstReplace = labels.find((l) => l.startsWith('replaced '))!;
    const stepsTo = labels.filter((l) => SITE_STEP.test(l)).indexOf(firstReplace) + 1;
    for (const [at, where, begun] of [
      ['journal flushed', 'the flush of the journal, the backups and the staged files', 0],
      [firstReplace, firstReplace.replace('replaced ', 'modify '), stepsTo],
    ] as const) {
      const s = await makeSetup();
      const err = await rejectionOf(
        applyWithPoints(s, (label) => {
          if (label === at) throw Object.assign(new Error('injected'), { code: 'EIO' });
        }),
      );
      expect(err.code, at).to.equal('COMMIT_FAILED');
      expect(err.message, at).to.contain(`failed at ${where} (`);
      expect(err.message, at).to.contain(begun === 0 ? 'no step had changed the site' : `rolled back the ${begun} step${begun === 1 ? '' : 's'} begun`);
      expect((err as InstallError).details.begun, at).to.equal(begun);
      expect(snapshot(s.site), at).to.deep.equal(oldSnap);
    }
  });

  it('an I/O error injected at every point: before the commit record the tree is the old release again, after it the new one', async () => {
    const commitAt = labels.indexOf('logged commit') + 1;
    for (let k = 1; k <= labels.length; k++) {
      const s = await makeSetup();
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (n) => {
              if (n === k) throw Object.assign(new Error('injected'), { code: 'EIO' });
            },
          },
        }),
      );
      const label = `k=${k} (${labels[k - 1]})`;
      if (k < commitAt) {
        expect(err.code, label).to.be.oneOf(['STAGING_FAILED', 'COMMIT_FAILED']);
        expect(err.message, label).to.contain('EIO');
        expect(snapshot(s.site), label).to.deep.equal(oldSnap);
        expect(await installedIn(s.store), label).to.equal('10.2.3');
        expect(leftovers(s.stateDir), label).to.deep.equal([]);
      } else {
        // From the commit record on, a failure never rolls back: the new release stays and recovery finishes it.
        expect(err.code, label).to.equal('FINISH_FAILED');
        expect(snapshot(s.site), label).to.deep.equal(newSnap);
        const r = await recoverSite(s.site, { now: NOW, store: s.store });
        expect(r.action, label).to.equal(k === labels.length ? 'none' : 'completed');
        expect(await installedIn(s.store), label).to.equal('10.2.4');
        expect(leftovers(s.stateDir), label).to.deep.equal([]);
      }
    }
  });

  it('the version file is written last: whenever it says 10.2.4, every other file is already the new one', async () => {
    const s = await makeSetup();
    const files = Object.keys(newSnap).filter((p) => newSnap[p]!.startsWith('file'));
    const violations: string[] = [];
    await applyBundle(s.release.bundle, {
      site: s.site,
      store: s.store,
      now: NOW,
      hooks: {
        point: (n, label) => {
          const tree = snapshot(s.site);
          if (!String(tree['core/lib/Drupal.php']).includes(newSnap['core/lib/Drupal.php']!.split(' ')[2]!)) return;
          const stale = files.filter((f) => tree[f] !== newSnap[f]);
          const gone = Object.keys(oldSnap).filter((f) => oldSnap[f]!.startsWith('file') && !(f in newSnap) && f in tree);
          if (stale.length > 0 || gone.length > 0) violations.push(`${n} ${label}: ${[...stale, ...gone].join(', ')}`);
        },
      },
    });
    expect(violations).to.deep.equal([]);
  });

  it('a file changed while the update runs (after the preflight) is not overwritten: rolled back, the change kept', async () => {
    const s = await makeSetup();
    const err = await rejectionOf(
      applyBundle(s.release.bundle, {
        site: s.site,
        store: s.store,
        now: NOW,
        hooks: {
          point: (_n, label) => {
            if (label === 'journal begin') writeFileSync(join(s.site, 'core/scripts/cron.sh'), '#!/bin/sh\n# edited meanwhile\n');
          },
        },
      }),
    );
    expect(err.code).to.equal('COMMIT_FAILED');
    expect(err.details.causeCode).to.equal('LOCAL_CHANGES');
    expect(err.message).to.contain('core/scripts/cron.sh');
    expect(readFileSync(join(s.site, 'core/scripts/cron.sh'), 'utf8')).to.equal('#!/bin/sh\n# edited meanwhile\n');
    const tree = snapshot(s.site);
    delete tree['core/scripts/cron.sh'];
    const want = { ...oldSnap };
    delete want['core/scripts/cron.sh'];
    expect(tree).to.deep.equal(want);
  });

  it('a directory made immutable (chattr +i, which binds root too) mid-commit: COMMIT_FAILED naming it, the old release again', async function () {
    const s = await makeSetup();
    const target = join(s.site, 'core/modules/system');
    let immutable = false;
    try {
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              if (label !== 'logged step 8: add core/lib/Security/Sanitizer.php') return;
              try {
                execFileSync('chattr', ['+i', target], { stdio: 'ignore' });
                immutable = true;
              } catch {
                // reported below
              }
            },
          },
        }),
      ).catch((e: unknown) => e as CountersignError);
      if (!immutable) {
        console.log('      (skipped: chattr +i is not available or not supported on this file system)');
        return this.skip();
      }
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(err.message).to.contain('core/modules/system/system.module').and.to.contain('EPERM');
      expect(err.details.failedAt).to.deep.equal({ op: 'modify', path: 'core/modules/system/system.module' });
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
      expect(await installedIn(s.store)).to.equal('10.2.3');
      expect(leftovers(s.stateDir)).to.deep.equal([]);
    } finally {
      if (immutable) execFileSync('chattr', ['-i', target]);
    }
  });

  describe('on a small tmpfs (root only)', () => {
    let mnt: string | undefined;
    before(function () {
      const dir = tempDir('countersign-tmpfs-');
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,nr_inodes=400,mode=0755', 'tmpfs', dir], { stdio: 'pipe' });
        mnt = dir;
      } catch (err) {
        console.log(`      (skipped: cannot mount a tmpfs here: ${String((err as Error).message).split('\n')[0]})`);
        this.skip();
      }
    });
    after(() => {
      if (mnt) execFileSync('umount', [mnt]);
    });

    async function tmpfsSite(name: string) {
      const dir = tempDir();
      const release = makeBundle(dir);
      const root = join(mnt!, name);
      mkdirSync(root);
      const site = writeSite(join(root, 'site'), OLD);
      const { makeStore } = await import('./support.js');
      const store = await makeStore(root, release);
      return { release, site, store, stateDir: join(root, '.countersign-site') };
    }

    /** Fills the file system: every inode, then every block. */
    function fill(where: string): void {
      mkdirSync(where);
      let i = 0;
      try {
        for (;;) writeFileSync(join(where, `i${i++}`), '');
      } catch {
        // out of inodes
      }
      rmSync(join(where, `i${i - 2}`)); // one inode for the block filler
      try {
        writeFileSync(join(where, 'blocks'), Buffer.alloc(4 << 20));
      } catch {
        // out of blocks
      }
    }

    it('the disk filling up mid-commit: COMMIT_FAILED with ENOSPC, the old release again', async () => {
      const s = await tmpfsSite('full');
      let filled = false;
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              if (label !== 'journal begin') return;
              fill(join(mnt!, 'full', 'filler'));
              filled = true;
            },
          },
        }),
      );
      expect(filled).to.equal(true);
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(err.message).to.contain('ENOSPC');
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
      expect(await installedIn(s.store)).to.equal('10.2.3');
      expect(leftovers(s.stateDir)).to.deep.equal([]);
      rmSync(join(mnt!, 'full'), { recursive: true, force: true });
    });

    it('too little room from the start: PREFLIGHT_FAILED (NO_SPACE) before anything is staged', async () => {
      const s = await tmpfsSite('small');
      writeFileSync(join(mnt!, 'small', 'ballast'), Buffer.alloc(1 << 20));
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
      expect(err.code).to.equal('PREFLIGHT_FAILED');
      expect((err.details.problems as Array<{ code: string }>).map((p) => p.code)).to.deep.equal(['NO_SPACE']);
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
      rmSync(join(mnt!, 'small'), { recursive: true, force: true });
    });
  });
});

describe('installer apply: one job per site, anywhere the operator puts the state', function () {
  this.timeout(60_000);

  it('a second apply while one holds the site is SITE_BUSY (after a short wait), and touches nothing', async () => {
    const s = await makeSetup();
    const paths = sitePaths(s.site);
    ensureStateDir(paths);
    const held = await lockSite(paths);
    try {
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
      expect(err.code).to.equal('SITE_BUSY');
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
    } finally {
      held.release();
    }
    await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    expect(snapshot(s.site)).to.deep.equal(newSnap);
  });

  it("--state-dir puts the state elsewhere on the site's file system; recover finds it there", async () => {
    const s = await makeSetup();
    const stateDir = join(s.dir, 'var', 'countersign-site');
    mkdirSync(join(s.dir, 'var'));
    const r = await applyBundle(s.release.bundle, {
      site: s.site,
      store: s.store,
      now: NOW,
      stateDir,
      phase: 'files',
      hooks: {
        point: (_n, label) => {
          if (label === 'logged step 6: modify core/includes/bootstrap.inc') throw Object.assign(new Error('disk error'), { code: 'EIO' });
        },
      },
    }).catch((e: unknown) => e as CountersignError);
    expect((r as CountersignError).code).to.equal('COMMIT_FAILED');
    expect(existsSync(s.stateDir), 'nothing beside the site').to.equal(false);
    expect(existsSync(join(stateDir, 'state.json')) || existsSync(join(stateDir, 'lock')) || existsSync(stateDir)).to.equal(true);
    expect((await recoverSite(s.site, { stateDir, now: NOW })).action).to.equal('none');
    await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, stateDir });
    expect(snapshot(s.site)).to.deep.equal(newSnap);
  });
});

describe('installer apply: the trust store decides what is installed', function () {
  this.timeout(60_000);
  it('a store given by a relative path is recorded absolute in the journal, so a later recovery finishes the install', async () => {
    const s = await makeSetup();
    const err = await rejectionOf(
      applyBundle(s.release.bundle, {
        site: s.site,
        store: relative(process.cwd(), s.store),
        now: NOW,
        hooks: {
          point: (_n, label) => {
            if (label === 'logged commit') throw Object.assign(new Error('disk error'), { code: 'EIO' });
          },
        },
      }),
    );
    expect(err.code).to.equal('FINISH_FAILED');
    expect(await installedIn(s.store)).to.equal('10.2.3');
    expect((await recoverSite(s.site, { now: NOW, store: s.store })).action).to.equal('completed');
    expect(await installedIn(s.store)).to.equal('10.2.4');
  });

  it('a store recording another version than the site is refused by verification (NOT_APPLICABLE), nothing touched', async () => {
    const s = await makeSetup();
    await recordInstall(s.store, 'drupal', 'core', '10.2.2', { now: NOW });
    const before: Snapshot = snapshot(s.site);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err.code).to.equal('NOT_APPLICABLE');
    expect(snapshot(s.site)).to.deep.equal(before);
  });
});

describe('installer apply: a release for another product or component is WRONG_TARGET', function () {
  this.timeout(60_000);
  const reasonCodes = (err: CountersignError) => (err instanceof VerificationError ? err.reasons.map((r) => r.code) : [err.code]);

  it('refuses a validly signed WordPress core bundle on a Drupal site, --installed given, before anything is staged', async () => {
    const dir = tempDir();
    // The quorum signed it; the files it changes even match the Drupal tree. Only the product is wrong.
    const release = makeBundle(dir, { edit: (m) => ({ ...m, product: 'wordpress' }) });
    const site = writeSite(join(dir, 'www', 'site'), OLD);
    const trusted = loadTrustedPolicy(release.policyBytes);
    for (const dryRun of [true, false]) {
      const err = await rejectionOf(applyBundle(release.bundle, { site, trusted, installed: '10.2.3', now: NOW, dryRun }));
      expect(err.code, `dry run: ${dryRun}`).to.equal('WRONG_TARGET');
      expect((err as VerificationError).reasons[0]!.details).to.deep.include({ field: 'product', expected: 'drupal', found: 'wordpress' });
    }
    expect(snapshot(site)).to.deep.equal(oldSnap);
    expect(existsSync(join(dir, 'www', '.countersign-site', 'staging'))).to.equal(false);
    // Without --installed too (the WordPress version file is not there to say anything).
    expect((await rejectionOf(applyBundle(release.bundle, { site, trusted, now: NOW }))).code).to.equal('WRONG_TARGET');
  });

  it("with a store that records both products, the site's version file still says which one this tree is", async () => {
    const dir = tempDir();
    const release = makeBundle(dir, { edit: (m) => ({ ...m, product: 'wordpress' }) });
    const site = writeSite(join(dir, 'www', 'site'), OLD);
    const store = join(dir, 'store');
    await initStore(store, release.policyBytes, {
      now: NOW,
      installed: [
        { product: 'drupal', component: 'core', version: '10.2.3' },
        { product: 'wordpress', component: 'core', version: '10.2.3' },
      ],
    });
    const err = await rejectionOf(applyBundle(release.bundle, { site, store, now: NOW }));
    expect(reasonCodes(err)).to.deep.equal(['WRONG_TARGET']);
    expect(snapshot(site)).to.deep.equal(oldSnap);
  });

  it('checks --product and --component as given, and refuses (TARGET_UNKNOWN) when neither they nor a version file say what the site is', async () => {
    const s = await makeSetup();
    const trusted = loadTrustedPolicy(s.release.policyBytes);
    expect(
      (await rejectionOf(applyBundle(s.release.bundle, { site: s.site, trusted, installed: '10.2.3', product: 'backdrop', now: NOW, dryRun: true }))).code,
    ).to.equal('WRONG_TARGET');
    expect(
      (await rejectionOf(applyBundle(s.release.bundle, { site: s.site, trusted, installed: '10.2.3', component: 'views', now: NOW, dryRun: true }))).code,
    ).to.equal('WRONG_TARGET');
    const ok = await applyBundle(s.release.bundle, {
      site: s.site,
      trusted,
      installed: '10.2.3',
      product: 'drupal',
      component: 'core',
      now: NOW,
      dryRun: true,
    });
    expect(ok.dryRun).to.equal(true);
    rmSync(join(s.site, 'core', 'lib', 'Drupal.php'));
    const unknown = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, trusted, installed: '10.2.3', now: NOW, dryRun: true }));
    expect(unknown.code).to.equal('PREFLIGHT_FAILED');
    expect((unknown.details.problems as Array<{ code: string }>).map((p) => p.code)).to.deep.equal(['TARGET_UNKNOWN']);
  });

  it("a module release is checked against the module directory's own version file", async () => {
    const base: Tree = { 'views.info.yml': "name: Views\nversion: '8.x-3.1'\n", 'views.module': '<?php // 3.1\n' };
    const source: Tree = { 'views.info.yml': "name: Views\nversion: '8.x-3.2'\n", 'views.module': '<?php // 3.2\n' };
    const dir = tempDir();
    const release = makeBundle(dir, { base, source, request: { component: 'views', version: '8.x-3.2', appliesTo: ['8.x-3.1'] } });
    const site = writeSite(join(dir, 'www', 'views'), base);
    const trusted = loadTrustedPolicy(release.policyBytes);
    expect((await applyBundle(release.bundle, { site, trusted, now: NOW, dryRun: true })).component).to.equal('views');
    // The same release pointed at a core tree, or at a WordPress plugin called views: not this site.
    const core = writeSite(join(dir, 'www', 'core'), { ...OLD, ...base });
    expect((await rejectionOf(applyBundle(release.bundle, { site: core, trusted, installed: '8.x-3.1', now: NOW, dryRun: true }))).code).to.equal(
      'WRONG_TARGET',
    );
    const plugin = writeSite(join(dir, 'www', 'plugin'), {
      'views.php': '<?php\n/*\n * Plugin Name: Views\n * Version: 8.x-3.1\n */\n',
      'views.module': '<?php // 3.1\n',
    });
    expect((await rejectionOf(applyBundle(release.bundle, { site: plugin, trusted, installed: '8.x-3.1', now: NOW, dryRun: true }))).code).to.equal(
      'WRONG_TARGET',
    );
  });
});
