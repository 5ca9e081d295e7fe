// Review of issue 9 item 3, after the pinning: every check of the site root compared it only with what
// the preflight itself saw. Whoever could write a directory above the root could rename the root away
// and put a decoy in its place before the preflight; the whole update then went into the decoy, and the
// store recorded 10.2.4 while the real site still ran 10.2.3. Now (a) a directory above the root that
// someone else could use to swap it is ROOT_PARENT, and (b) the root is pinned once when the run starts
// (sitePaths: DEV:INO), and inspect, commit, rollback, recover and the post phase act only in that
// directory (ROOT_REPLACED, COMMIT_FAILED, JOURNAL_CORRUPT). Item 5, also reviewed: with a trust store
// too, a site nothing identifies is TARGET_UNKNOWN, and one with two products' version files is
// TARGET_AMBIGUOUS unless --product and --component say which.
import { expect } from 'chai';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyBundle } from '../../lib/installer/apply.js';
import { encodeRecord } from '../../lib/installer/journal.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import { recoverSite } from '../../lib/installer/recover.js';
import { initStore, openStore } from '../../lib/node/trust-store.js';
import { expectedSnapshot, makeBundle, makeSetup, NEW, NOW, OLD, snapshot, tempDir, writeSite, type Tree } from '../installer/support.js';
import { problemCodes, rejectionOf } from '../support/codes.js';

const OTHER_UID = 65534;
const oldSnap = expectedSnapshot(OLD);

async function installed(store: string, product = 'drupal'): Promise<string | undefined> {
  return (await openStore(store)).state.installed[`${product}/core`]?.version;
}

function requireRoot(ctx: Mocha.Context): void {
  if (process.getuid?.() !== 0) {
    console.log(`      (skipped: needs root, to chown to uid ${OTHER_UID})`);
    ctx.skip();
  }
}

/** A setup whose site sits two levels below DIR/up (DIR/up/www/site), its state directory in DIR/state. */
async function deepSetup() {
  const s = await makeSetup();
  const up = join(s.dir, 'up');
  const site = writeSite(join(up, 'www', 'site'), OLD);
  chmodSync(up, 0o755);
  chmodSync(join(up, 'www'), 0o755);
  return { ...s, up, site, stateDir: join(s.dir, 'state') };
}

describe('review: a site root swapped from above never receives the update', function () {
  this.timeout(60_000);

  describe('(a) a directory above the site root that someone else can write is ROOT_PARENT', () => {
    it('group- or world-writable at any level up to /: PREFLIGHT_FAILED (ROOT_PARENT) naming it, --allow-shared-write or not; nothing touched', async () => {
      for (const [level, mode] of [
        ['www', 0o777],
        ['www', 0o775],
        ['up', 0o777],
        ['up', 0o775],
      ] as const) {
        const s = await deepSetup();
        const dir = level === 'www' ? join(s.up, 'www') : s.up;
        chmodSync(dir, mode);
        for (const allowSharedWrite of [false, true]) {
          for (const dryRun of [true, false]) {
            const err = await rejectionOf(
              applyBundle(s.release.bundle, { site: s.site, store: s.store, stateDir: s.stateDir, now: NOW, allowSharedWrite, dryRun }),
            );
            const what = `${level} ${mode.toString(8)} allowSharedWrite=${allowSharedWrite} dryRun=${dryRun}`;
            expect(err.code, what).to.equal('PREFLIGHT_FAILED');
            expect(problemCodes(err), what).to.deep.equal([`ROOT_PARENT ${dir}`]);
          }
        }
        expect(snapshot(s.site)).to.deep.equal(oldSnap);
        expect(await installed(s.store)).to.equal('10.2.3');
      }
    });

    it("a sticky world-writable directory (like /tmp) is accepted when the entry on the way is the site owner's or root's", async () => {
      const s = await deepSetup();
      chmodSync(s.up, 0o1777);
      const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, stateDir: s.stateDir, now: NOW });
      expect(r.phases).to.include('files');
      expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
    });

    it(`owned by another uid (${OTHER_UID}), even mode 0755; or sticky with the entry on the way owned by that uid: ROOT_PARENT`, async function () {
      requireRoot(this);
      const s = await deepSetup();
      chownSync(s.up, OTHER_UID, OTHER_UID);
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, stateDir: s.stateDir, now: NOW, allowSharedWrite: true }));
      expect(problemCodes(err)).to.deep.equal([`ROOT_PARENT ${s.up}`]);
      chownSync(s.up, 0, 0);
      chmodSync(s.up, 0o1777);
      chownSync(join(s.up, 'www'), OTHER_UID, OTHER_UID);
      const err2 = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, stateDir: s.stateDir, now: NOW }));
      expect(problemCodes(err2)).to.have.members([`ROOT_PARENT ${join(s.up, 'www')}`, `ROOT_PARENT ${s.up}`]);
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
    });
  });

  describe('(b) the root pinned when the run starts is the only one acted in', () => {
    /** Renames the site away and puts a copy of it (the decoy) in its place; returns where the real one went. */
    function swapRoot(site: string, dir: string): string {
      const real = join(dir, 'real-site');
      renameSync(site, real);
      cpSync(real, site, { recursive: true });
      return real;
    }

    it('swapped after verification, before the preflight: ROOT_REPLACED; neither tree changes, the store still says 10.2.3', async () => {
      const s = await makeSetup();
      let real = '';
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          onProgress: (e) => {
            if (e.event === 'verified') real = swapRoot(s.site, s.dir);
          },
        }),
      );
      expect(err.code).to.equal('PREFLIGHT_FAILED');
      expect(problemCodes(err)).to.deep.equal([`ROOT_REPLACED ${s.site}`]);
      expect(snapshot(s.site), 'the decoy').to.deep.equal(oldSnap);
      expect(snapshot(real), 'the real site').to.deep.equal(oldSnap);
      expect(await installed(s.store)).to.equal('10.2.3');
    });

    it('swapped after the preflight, before the commit opens it: COMMIT_FAILED, nothing written in the decoy', async () => {
      const s = await makeSetup();
      let real = '';
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              if (label === 'journal begin') real = swapRoot(s.site, s.dir);
            },
          },
        }),
      );
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(snapshot(s.site), 'the decoy').to.deep.equal(oldSnap);
      expect(snapshot(real), 'the real site').to.deep.equal(oldSnap);
      expect(await installed(s.store)).to.equal('10.2.3');
    });

    it('recovery: a journal records the root it acted in; a root replaced since is JOURNAL_CORRUPT and nothing is undone in it', async () => {
      const s = await makeSetup();
      const st = statSync(s.site, { bigint: true });
      mkdirSync(join(s.site, 'core/made-by-update'));
      mkdirSync(s.stateDir, { mode: 0o700 });
      const begin = {
        t: 'begin',
        format: 1,
        site: s.site,
        root: `${st.dev}:${st.ino}`,
        bundle: 'c'.repeat(64),
        product: 'drupal',
        component: 'core',
        from: '10.2.3',
        to: '10.2.4',
        store: s.store,
        created: '2026-11-23T12:00:00Z',
      } as const;
      writeFileSync(join(s.stateDir, 'journal'), encodeRecord(begin) + encodeRecord({ t: 'step', n: 1, op: 'mkdir', path: 'core/made-by-update' }));
      const real = swapRoot(s.site, s.dir);
      const err = await rejectionOf(recoverSite(s.site, { now: NOW, store: s.store }));
      expect(err.code).to.equal('JOURNAL_CORRUPT');
      expect(existsSync(join(s.site, 'core/made-by-update')), 'nothing undone in the decoy').to.equal(true);
      expect(
        (await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }))).code,
        'nor by the recovery apply runs first',
      ).to.equal('JOURNAL_CORRUPT');
      // Put back, the real root is recovered (the journal's root is it).
      rmSync(s.site, { recursive: true });
      renameSync(real, s.site);
      expect((await recoverSite(s.site, { now: NOW, store: s.store })).action).to.equal('rolled-back');
      expect(existsSync(join(s.site, 'core/made-by-update'))).to.equal(false);
    });
  });
});

describe('review: with a trust store too, the site must say which product it is', function () {
  this.timeout(60_000);
  const noVersionFile = (t: Tree): Tree => Object.fromEntries(Object.entries(t).filter(([k]) => k !== 'core/lib/Drupal.php'));
  const WP_VERSION = "<?php\n$wp_version = '10.2.3';\n";

  async function storeOfBoth(dir: string, policyBytes: Uint8Array): Promise<string> {
    const store = join(dir, 'store-both');
    await initStore(store, policyBytes, {
      now: NOW,
      installed: [
        { product: 'drupal', component: 'core', version: '10.2.3' },
        { product: 'wordpress', component: 'core', version: '10.2.3' },
      ],
    });
    return store;
  }

  it('no version file, or one that is a link: PREFLIGHT_FAILED (TARGET_UNKNOWN), where before a release of any product was applied', async () => {
    const dir = tempDir();
    // A WordPress release over a tree without any version file: nothing would say it is the wrong product.
    const release = makeBundle(dir, { base: noVersionFile(OLD), source: noVersionFile(NEW), edit: (m) => ({ ...m, product: 'wordpress', versionFile: null }) });
    const store = await storeOfBoth(dir, release.policyBytes);
    const site = writeSite(join(dir, 'www', 'site'), noVersionFile(OLD));
    const err = await rejectionOf(applyBundle(release.bundle, { site, store, now: NOW }));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect(problemCodes(err)).to.deep.equal([`TARGET_UNKNOWN ${site}`]);
    writeFileSync(join(dir, 'Drupal.php'), OLD['core/lib/Drupal.php'] as string);
    mkdirSync(join(site, 'core/lib'));
    symlinkSync(join(dir, 'Drupal.php'), join(site, 'core/lib/Drupal.php'));
    expect(problemCodes(await rejectionOf(applyBundle(release.bundle, { site, store, now: NOW, dryRun: true }))), 'a link is no version file').to.deep.equal([
      `TARGET_UNKNOWN ${site}`,
    ]);
    rmSync(join(site, 'core/lib'), { recursive: true });
    expect(snapshot(site)).to.deep.equal(expectedSnapshot(noVersionFile(OLD)));
    expect(await installed(store, 'wordpress')).to.equal('10.2.3');
    // Said explicitly, it is checked as given.
    expect((await rejectionOf(applyBundle(release.bundle, { site, store, now: NOW, dryRun: true, product: 'drupal', component: 'core' }))).code).to.equal(
      'WRONG_TARGET',
    );
    expect((await applyBundle(release.bundle, { site, store, now: NOW, dryRun: true, product: 'wordpress', component: 'core' })).dryRun).to.equal(true);
  });

  it('version files of two products: TARGET_AMBIGUOUS for a release of either, with a store or a policy, unless --product says which', async () => {
    const dir = tempDir();
    const drupal = makeBundle(dir, { name: 'drupal.bundle' });
    const wordpress = makeBundle(dir, { name: 'wordpress.bundle', policy: drupal.policy, edit: (m) => ({ ...m, product: 'wordpress' }) });
    const store = await storeOfBoth(dir, drupal.policyBytes);
    const site = writeSite(join(dir, 'www', 'site'), { ...OLD, 'wp-includes/version.php': WP_VERSION });
    const trusted = loadTrustedPolicy(drupal.policyBytes);
    for (const release of [drupal, wordpress]) {
      for (const opts of [{ store }, { trusted, installed: '10.2.3' }]) {
        const err = await rejectionOf(applyBundle(release.bundle, { site, now: NOW, ...opts }));
        expect(err.code).to.equal('PREFLIGHT_FAILED');
        expect(problemCodes(err)).to.deep.equal([`TARGET_AMBIGUOUS ${site}`]);
      }
    }
    expect(await installed(store)).to.equal('10.2.3');
    expect((await rejectionOf(applyBundle(wordpress.bundle, { site, store, now: NOW, dryRun: true, product: 'drupal' }))).code).to.equal('WRONG_TARGET');
    expect((await applyBundle(drupal.bundle, { site, store, now: NOW, dryRun: true, product: 'drupal' })).product).to.equal('drupal');
  });
});
