// The installer cannot be redirected by a path swapped under it (issue 9, items 3 and 4): a directory of
// the site swapped for a link between the backup link and the rename, a state directory replaced after
// staging, a staged file replaced, directories others can write, and a journal naming another store.
// Each attack runs deterministically (a hook between two steps) and, where the attacker is another user,
// as a real racing process under a second uid (root only: skipped with a message otherwise).
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CountersignError } from '../../lib/core/errors.js';
import { applyBundle } from '../../lib/installer/apply.js';
import { resolveInstallerConfig } from '../../lib/installer/daemon/config.js';
import { applyArgs } from '../../lib/installer/daemon/worker.js';
import { encodeRecord } from '../../lib/installer/journal.js';
import { pinningUnavailable } from '../../lib/installer/pinned-dir.js';
import { recoverSite } from '../../lib/installer/recover.js';
import { openStore } from '../../lib/node/trust-store.js';
import { expectedSnapshot, makeSetup, makeStore, NEW, NOW, OLD, snapshot, tempDir, writeSite } from './support.js';
import { problemCodes, rejectionOf } from '../support/codes.js';

const OTHER_UID = 65534;
const EVIL = '<?php system($_GET["c"]); // planted\n';
const oldSnap = expectedSnapshot(OLD);
const newSnap = expectedSnapshot(NEW);

/** Another site beside this one: nothing may ever be written there. */
function otherSite(): { dir: string; before: ReturnType<typeof snapshot> } {
  const dir = writeSite(join(tempDir('countersign-other-site-'), 'site'), {
    'core/includes/bootstrap.inc': '<?php // the other site\n',
    'index.php': '<?php // other\n',
  });
  return { dir, before: snapshot(dir) };
}

function evilAnywhere(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.isFile() && readFileSync(abs, 'utf8') === EVIL) found.push(abs);
    }
  };
  walk(root);
  return found;
}

function requireRoot(ctx: Mocha.Context): void {
  if (process.getuid?.() !== 0) {
    console.log(`      (skipped: needs root, to chown to uid ${OTHER_UID} and run the attacker as that uid)`);
    ctx.skip();
  }
}

/** A process of uid OTHER_UID running `code` in a loop until stopped; `ready` once it loops. */
async function racer(code: string, prelude = ''): Promise<{ stop: () => Promise<number> }> {
  // In slices of 50 rounds, so the SIGTERM handler gets its turn.
  const loop = `const fs = require('fs'); let swaps = 0; ${prelude}; process.on('SIGTERM', () => { console.log(swaps); process.exit(0); }); const tick = () => { for (let i = 0; i < 50; i++) { try { ${code}; swaps++; } catch {} } setImmediate(tick); }; console.log('ready'); tick();`;
  const child: ChildProcess = spawn(process.execPath, ['-e', loop], { uid: OTHER_UID, gid: OTHER_UID, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<number>((resolve) => child.on('close', () => resolve(Number(out.trim().split('\n').at(-1)) || 0)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('error', reject);
    child.on('close', () => reject(new Error('the racer ended before it started')));
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  return {
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('installer: no path swapped under the installer redirects it', function () {
  this.timeout(120_000);

  describe('a code directory swapped for a link between the backup link and the rename', () => {
    it('deterministic: the rename lands in the directory that was checked; the swap is caught, COMMIT_FAILED, rolled back; the other site untouched', async () => {
      const s = await makeSetup();
      const other = otherSite();
      const moved = join(s.dir, 'moved-includes');
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              if (label !== 'backed up core/includes/bootstrap.inc') return;
              renameSync(join(s.site, 'core/includes'), moved);
              symlinkSync(join(other.dir, 'core/includes'), join(s.site, 'core/includes'));
            },
          },
        }),
      );
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(snapshot(other.dir), 'the other site').to.deep.equal(other.before);
      // The checked directory (now moved away) holds the old files again, the rest of the site is the old release.
      expect(readFileSync(join(moved, 'bootstrap.inc'), 'utf8')).to.equal(OLD['core/includes/bootstrap.inc']);
      expect(readFileSync(join(moved, 'legacy.inc'), 'utf8')).to.equal(OLD['core/includes/legacy.inc']);
      const tree = snapshot(s.site);
      for (const [k, v] of Object.entries(oldSnap)) if (!k.startsWith('core/includes')) expect(tree[k], k).to.equal(v);
      expect(await installed(s.store)).to.equal('10.2.3');
    });

    it('deterministic: an ancestor pinned by an earlier step, replaced before a step in a directory not pinned yet, is caught: the new pin does not stand in for the ancestors above it', async () => {
      const s = await makeSetup();
      const moved = join(s.dir, 'moved-core');
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              // core and core/includes are pinned by now; the next backup is the first step in core/modules/system.
              if (label !== 'backed up core/includes/bootstrap.inc') return;
              renameSync(join(s.site, 'core'), moved);
              writeSite(join(s.site, 'core'), { 'modules/system/system.module': OLD['core/modules/system/system.module'] as string });
            },
          },
        }),
      );
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(err.message).to.contain('core was moved or replaced');
      expect((err.details.failedAt as { path: string }).path).to.equal('core/modules/system/system.module');
      // Rolled back in the directories it acted in (now moved away): the old release there, nothing in the replacement.
      const oldCore = Object.fromEntries(Object.entries(oldSnap).flatMap(([k, v]) => (k.startsWith('core/') ? [[k.slice(5), v]] : [])));
      expect(snapshot(moved)).to.deep.equal(oldCore);
      expect(snapshot(join(s.site, 'core'))).to.deep.equal(expectedSnapshot({ 'modules/system/system.module': OLD['core/modules/system/system.module'] as string }));
    });

    it('deterministic: a directory replaced by another real directory after the preflight is not the one checked (dev/ino): COMMIT_FAILED, nothing written in it', async () => {
      const s = await makeSetup();
      const decoy = join(s.dir, 'decoy');
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              if (label !== 'journal begin') return;
              renameSync(join(s.site, 'core/includes'), join(s.dir, 'includes-moved'));
              writeSite(decoy, { 'bootstrap.inc': OLD['core/includes/bootstrap.inc'] as string, 'legacy.inc': OLD['core/includes/legacy.inc'] as string });
              renameSync(decoy, join(s.site, 'core/includes'));
            },
          },
        }),
      );
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(err.message).to.contain('core/includes');
      const tree = snapshot(s.site);
      expect(tree['core/includes/bootstrap.inc']).to.equal(oldSnap['core/includes/bootstrap.inc']);
      for (const [k, v] of Object.entries(oldSnap)) expect(tree[k], k).to.equal(v);
    });

    for (const how of ['once, when the backup link shows (nlink 2)', 'blindly, in a loop'] as const) {
      it(`racing: a process of uid ${OTHER_UID} swapping core/includes for a link to another site ${how} never gets a write into the other site, nor a ROLLBACK_FAILED`, async function () {
        requireRoot(this);
        const outcomes: Record<string, number> = {};
        const other = otherSite();
        for (let i = 0; i < 6; i++) {
          const s = await makeSetup();
          chmodSync(s.dir, 0o755);
          // The web server owns core/: an in-process setup that has to accept it explicitly.
          chownSync(join(s.site, 'core'), OTHER_UID, OTHER_UID);
          if (i === 0) {
            const refused = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun: true }));
            expect(refused.code).to.equal('PREFLIGHT_FAILED');
            expect(problemCodes(refused)).to.include('SHARED_WRITE core');
          }
          const [inc, away, target] = [join(s.site, 'core/includes'), join(s.site, 'core/.includes-away'), join(other.dir, 'core/includes')].map((p) =>
            JSON.stringify(p),
          );
          const swap = `fs.renameSync(${inc}, ${away}); fs.symlinkSync(${target}, ${inc})`;
          const r =
            how === 'blindly, in a loop'
              ? await racer(`${swap}; fs.unlinkSync(${inc}); fs.renameSync(${away}, ${inc})`)
              : await racer(`if (!done && fs.statSync(${inc} + '/bootstrap.inc').nlink > 1) { ${swap}; done = true; }`, 'let done = false');
          let code = 'ok';
          try {
            await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, allowSharedWrite: true });
          } catch (err) {
            code = err instanceof CountersignError ? err.code : String(err);
          }
          expect(await r.stop(), 'the racer ran').to.be.greaterThan(0);
          outcomes[code] = (outcomes[code] ?? 0) + 1;
          // LOCAL_CHANGES / PREFLIGHT_FAILED: the preflight saw the swap; COMMIT_FAILED: the commit did, and rolled back.
          expect(code, `run ${i}`).to.be.oneOf(['ok', 'COMMIT_FAILED', 'PREFLIGHT_FAILED', 'LOCAL_CHANGES']);
          expect(snapshot(other.dir), `run ${i}: the other site`).to.deep.equal(other.before);
          // Put the directory back where it belongs: the whole tree is one release.
          const [incPath, awayPath] = [JSON.parse(inc) as string, JSON.parse(away) as string];
          if (existsSync(awayPath)) {
            rmSync(incPath, { force: true });
            renameSync(awayPath, incPath);
          }
          const tree = snapshot(s.site);
          expect([JSON.stringify(oldSnap), JSON.stringify(newSnap)], `run ${i} (${code}): the tree is one release`).to.include(
            JSON.stringify(tree, Object.keys(tree).sort()),
          );
        }
        console.log(`      outcomes: ${JSON.stringify(outcomes)}`);
      });
    }
  });

  describe('the state directory replaced after staging', () => {
    /** The attacker's state directory: their own files in every staging slot. */
    function plantState(at: string): void {
      mkdirSync(join(at, 'staging'), { recursive: true });
      mkdirSync(join(at, 'backups'), { recursive: true });
      for (let slot = 0; slot < 20; slot++) writeFileSync(join(at, 'staging', String(slot)), EVIL);
    }

    it('deterministic: the commit keeps using the state directory it pinned; the planted files are never installed', async () => {
      const s = await makeSetup();
      const r = await applyBundle(s.release.bundle, {
        site: s.site,
        store: s.store,
        now: NOW,
        hooks: {
          point: (_n, label) => {
            if (label !== 'staged and read back') return;
            renameSync(s.stateDir, join(s.dir, 'www', '.countersign-site.moved'));
            plantState(s.stateDir);
          },
        },
      });
      expect(r.phases).to.include('files');
      expect(evilAnywhere(s.site)).to.deep.equal([]);
      expect(snapshot(s.site)).to.deep.equal(newSnap);
    });

    it('deterministic: a staged file replaced in staging is not the file staged (dev/ino in the journal): COMMIT_FAILED, never installed', async () => {
      const s = await makeSetup();
      const err = await rejectionOf(
        applyBundle(s.release.bundle, {
          site: s.site,
          store: s.store,
          now: NOW,
          hooks: {
            point: (_n, label) => {
              if (label !== 'staged and read back') return;
              const staging = join(s.stateDir, 'staging');
              // Written beside, then renamed over: a new inode (one freed and made again at once may get its number back).
              for (const slot of readdirSync(staging)) {
                writeFileSync(join(staging, `${slot}.new`), EVIL, { mode: 0o644 });
                renameSync(join(staging, `${slot}.new`), join(staging, slot));
              }
            },
          },
        }),
      );
      expect(err.code).to.equal('COMMIT_FAILED');
      expect(err.message).to.contain('no longer the file staged');
      expect(evilAnywhere(s.site)).to.deep.equal([]);
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
    });

    it('a state directory whose parent others can write (group, world, sticky world) or another uid owns is refused: PREFLIGHT_FAILED (STATE_DIR)', async () => {
      for (const mode of [0o775, 0o777, 0o1777]) {
        const s = await makeSetup();
        mkdirSync(s.stateDir, { mode: 0o700 });
        chmodSync(join(s.dir, 'www'), mode);
        const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
        expect(err.code, mode.toString(8)).to.equal('PREFLIGHT_FAILED');
        expect(problemCodes(err), mode.toString(8)).to.deep.equal([`STATE_DIR ${s.stateDir}`]);
        expect(snapshot(s.site)).to.deep.equal(oldSnap);
        expect((await rejectionOf(recoverSite(s.site, { now: NOW }))).code, 'recover too').to.equal('PREFLIGHT_FAILED');
        const dry = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun: true }));
        // A dry run says so too, and that the site root itself could be swapped there (not in a sticky parent: the root is the site owner's).
        const rootParent = mode & 0o1000 ? [] : [`ROOT_PARENT ${join(s.dir, 'www')}`];
        expect(problemCodes(dry), 'a dry run says so too').to.have.members([`STATE_DIR ${s.stateDir}`, ...rootParent]);
      }
    });

    it(`a state directory whose parent is owned by another uid (${OTHER_UID}) is refused`, async function () {
      requireRoot(this);
      const s = await makeSetup();
      chownSync(join(s.dir, 'www'), OTHER_UID, OTHER_UID);
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
      expect(err.code).to.equal('PREFLIGHT_FAILED');
      expect(problemCodes(err)).to.deep.equal([`STATE_DIR ${s.stateDir}`]);
    });

    it(`racing: a process of uid ${OTHER_UID} that can write the site's parent and swaps the state directory in a loop gets nothing installed`, async function () {
      requireRoot(this);
      for (let i = 0; i < 4; i++) {
        const s = await makeSetup();
        chmodSync(s.dir, 0o755);
        chownSync(join(s.dir, 'www'), OTHER_UID, OTHER_UID);
        const state = s.stateDir;
        const away = `${state}.away`;
        const r = await racer(
          `try { fs.renameSync(${JSON.stringify(state)}, ${JSON.stringify(away)}); } catch {} ` +
            `fs.mkdirSync(${JSON.stringify(state)} + '/staging', { recursive: true }); fs.mkdirSync(${JSON.stringify(state)} + '/backups', { recursive: true }); ` +
            `for (let k = 0; k < 20; k++) fs.writeFileSync(${JSON.stringify(state)} + '/staging/' + k, ${JSON.stringify(EVIL)}); ` +
            `fs.rmSync(${JSON.stringify(state)}, { recursive: true, force: true }); try { fs.renameSync(${JSON.stringify(away)}, ${JSON.stringify(state)}); } catch {}`,
        );
        const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
        const swaps = await r.stop();
        expect(swaps, 'the racer ran').to.be.greaterThan(0);
        expect(err.code, `run ${i}`).to.equal('PREFLIGHT_FAILED');
        expect(problemCodes(err)).to.deep.equal([`STATE_DIR ${s.stateDir}`]);
        expect(evilAnywhere(s.site)).to.deep.equal([]);
        expect(snapshot(s.site)).to.deep.equal(oldSnap);
      }
    });
  });

  describe('directories the update writes into must be writable by the site owner only', () => {
    it('group- or world-writable, or owned by another uid: PREFLIGHT_FAILED (SHARED_WRITE) naming each; --allow-shared-write accepts it', async () => {
      const s = await makeSetup();
      chmodSync(join(s.site, 'core/includes'), 0o775);
      chmodSync(join(s.site, 'core/lib'), 0o1777);
      const before = snapshot(s.site);
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
      expect(err.code).to.equal('PREFLIGHT_FAILED');
      expect(problemCodes(err)).to.have.members(['SHARED_WRITE core/includes', 'SHARED_WRITE core/lib']);
      expect(snapshot(s.site)).to.deep.equal(before);
      const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, allowSharedWrite: true });
      expect(r.phases).to.include('files');
    });

    it('the daemon passes --allow-shared-write only for a site configured with allowSharedWrite', () => {
      const site = { root: '/srv/a/web', user: 1500, group: 1500, store: '/var/lib/countersign/a' };
      const config = resolveInstallerConfig(
        { sites: { a: site, b: { ...site, root: '/srv/b/web', allowSharedWrite: true } } },
        { uid: 0, gid: 0, lookup: () => undefined },
      );
      expect(applyArgs(config.sites.get('a')!)).to.not.include('--allow-shared-write');
      expect(applyArgs(config.sites.get('b')!)).to.include('--allow-shared-write');
    });

    it(`owned by another uid (${OTHER_UID}) than the site owner: SHARED_WRITE`, async function () {
      requireRoot(this);
      const s = await makeSetup();
      chownSync(join(s.site, 'sites/default'), OTHER_UID, OTHER_UID);
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun: true }));
      expect(err.code).to.equal('PREFLIGHT_FAILED');
      expect(problemCodes(err)).to.deep.equal(['SHARED_WRITE sites/default']);
    });
  });

  it('the pinning mechanism is probed: a descriptor directory that does not resolve is reported (and then every apply and recover refuses, UNSUPPORTED_PLATFORM)', () => {
    expect(pinningUnavailable(), 'here, /proc/self/fd works').to.equal(null);
    expect(pinningUnavailable(join(tempDir('countersign-no-proc-'), 'fd')))
      .to.be.a('string')
      .and.to.contain('not available');
  });

  describe('a journal names the store it writes to (item 4)', () => {
    /** A committed journal in a fresh setup, naming its own store or another one. */
    async function committedJournal(names: 'own' | 'other'): Promise<{ s: Awaited<ReturnType<typeof makeSetup>>; elsewhere: string }> {
      const s = await makeSetup();
      const elsewhere = await makeStore(tempDir('countersign-other-store-'), s.release);
      mkdirSync(s.stateDir, { mode: 0o700 });
      const begin = {
        t: 'begin',
        format: 1,
        site: s.site,
        bundle: 'c'.repeat(64),
        product: 'drupal',
        component: 'core',
        from: '10.2.3',
        to: '10.9.9',
        store: names === 'own' ? s.store : elsewhere,
        created: '2026-11-23T12:00:00Z',
      } as const;
      writeFileSync(join(s.stateDir, 'journal'), encodeRecord(begin) + encodeRecord({ t: 'commit' }));
      return { s, elsewhere };
    }

    it('a crafted journal naming another store is JOURNAL_CORRUPT: nothing is recorded there, in recover and in the recovery apply runs first', async () => {
      const { s, elsewhere } = await committedJournal('other');
      const err = await rejectionOf(recoverSite(s.site, { now: NOW, store: s.store }));
      expect(err.code).to.equal('JOURNAL_CORRUPT');
      const err2 = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
      expect(err2.code).to.equal('JOURNAL_CORRUPT');
      expect(await installed(elsewhere)).to.equal('10.2.3');
      expect(await installed(s.store)).to.equal('10.2.3');
      expect(existsSync(join(s.stateDir, 'journal')), 'the journal is kept').to.equal(true);
    });

    it('a committed journal is finished only with the store configured: without one, recover refuses (USAGE); with the one it names, it records there', async () => {
      const own = await committedJournal('own');
      expect((await rejectionOf(recoverSite(own.s.site, { now: NOW }))).code).to.equal('USAGE');
      expect((await recoverSite(own.s.site, { now: NOW, store: own.s.store })).action).to.equal('completed');
      expect(await installed(own.s.store)).to.equal('10.9.9');
    });
  });
});

async function installed(store: string): Promise<string | undefined> {
  return (await openStore(store)).state.installed['drupal/core']?.version;
}
