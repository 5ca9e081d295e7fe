// Hostile archives and trees: path traversal in a quorum-signed manifest, links in the site pointing
// outside it, case-fold collisions, links planted in the state directory and the staging path, and a
// forged journal. All refused; nothing outside the site root is ever written.
import { expect } from 'chai';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { VerificationError } from '../../lib/core/errors.js';
import { applyBundle } from '../../lib/installer/apply.js';
import { encodeRecord } from '../../lib/installer/journal.js';
import { recoverSite } from '../../lib/installer/recover.js';
import type { Manifest } from '../../lib/core/manifest.js';
import { applyWithPoints, expectedSnapshot, makeSetup, NEW, NOW, OLD, snapshot, tempDir, writeSite } from './support.js';
import { problemCodes, rejectionOf } from '../support/codes.js';

const oldSnap = expectedSnapshot(OLD);

/** Flips one byte of the last copy of `needle` in `file`, `at` bytes into it (in place: an open descriptor sees it). */
function flipLast(file: string, needle: Buffer, at: number): void {
  const bytes = readFileSync(file);
  const where = bytes.lastIndexOf(needle);
  if (where === -1) throw new Error(`${JSON.stringify(needle.toString())} is not in ${file}`);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Uint8Array.of(bytes[where + at]! ^ 0x01), 0, 1, where + at);
  } finally {
    closeSync(fd);
  }
}

/** A directory outside the site, with a file in it: it must come out of every test unchanged. */
function outside(): { dir: string; before: ReturnType<typeof snapshot> } {
  const dir = tempDir('countersign-outside-');
  writeSite(dir, { 'victim.php': '<?php // outside the site\n', 'lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.3'; }\n" });
  return { dir, before: snapshot(dir) };
}

describe('installer: hostile archives and trees', function () {
  this.timeout(60_000);

  it('path traversal in a quorum-signed manifest never reaches the disk (UNSAFE_PATH from verification)', async () => {
    for (const path of ['../escaped.php', 'core/../../escaped.php', '/tmp/escaped.php']) {
      const s = await makeSetup({
        edit: (m: Manifest) => ({ ...m, files: [...m.files, { op: 'add', path, sha256: 'a'.repeat(64), size: 1, mode: '0644' }] }),
      });
      const www = snapshot(s.dir);
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
      expect(err, path).to.be.instanceOf(VerificationError);
      expect(err.code, path).to.equal('UNSAFE_PATH');
      const after = snapshot(s.dir);
      // Only the lock of the run and the (empty) state directory may have appeared.
      for (const k of Object.keys(after)) if (!k.startsWith('www/.countersign-site')) expect(after[k], `${path}: ${k}`).to.equal(www[k]);
      expect(snapshot(s.site)).to.deep.equal(oldSnap);
    }
  });

  it('a symbolic link inside the site pointing outside (site/core -> elsewhere) is refused in preflight; nothing outside is written', async () => {
    const s = await makeSetup();
    const out = outside();
    // The attacker moves core/ away and links it back: every path under core/ would resolve outside.
    renameSync(join(s.site, 'core'), join(out.dir, 'core'));
    symlinkSync(join(out.dir, 'core'), join(s.site, 'core'));
    const outBefore = snapshot(out.dir);
    // The version file is behind the link, so the site is named (else it is TARGET_UNKNOWN, refused as well).
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, product: 'drupal', component: 'core' }));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect(problemCodes(err)).to.deep.equal(['SYMLINK core']);
    expect(snapshot(out.dir)).to.deep.equal(outBefore);
  });

  it('a link in place of a file (core/lib/Drupal.php -> a file outside) is refused; the outside file is untouched', async () => {
    const s = await makeSetup();
    const out = outside();
    rmSync(join(s.site, 'core/lib/Drupal.php'));
    symlinkSync(join(out.dir, 'lib/Drupal.php'), join(s.site, 'core/lib/Drupal.php'));
    expect(
      problemCodes(await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }))),
      'a linked version file says nothing',
    ).to.deep.equal([`TARGET_UNKNOWN ${s.site}`]);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, product: 'drupal', component: 'core' }));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect(problemCodes(err)).to.include('SYMLINK core/lib/Drupal.php');
    expect(snapshot(out.dir)).to.deep.equal(out.before);
  });

  it('a link planted on the way after the preflight (core/includes -> outside) is never followed: COMMIT_FAILED, rolled back, outside untouched', async () => {
    const s = await makeSetup();
    const out = outside();
    const err = await rejectionOf(
      applyBundle(s.release.bundle, {
        site: s.site,
        store: s.store,
        now: NOW,
        hooks: {
          point: (_n, label) => {
            if (label !== 'journal begin') return;
            renameSync(join(s.site, 'core/includes'), join(s.dir, 'includes-moved'));
            symlinkSync(out.dir, join(s.site, 'core/includes'));
          },
        },
      }),
    );
    expect(err.code).to.equal('COMMIT_FAILED');
    expect(err.message).to.contain('core/includes').and.to.contain('symbolic link');
    expect(snapshot(out.dir)).to.deep.equal(out.before);
    // Everything else is the old release again (core/includes is the attacker's link).
    const tree = snapshot(s.site);
    expect(tree['core/includes']).to.equal(`link -> ${out.dir}`);
    for (const [k, v] of Object.entries(oldSnap)) if (!k.startsWith('core/includes')) expect(tree[k], k).to.equal(v);
  });

  it('the site root given through a link is resolved once; the state directory goes beside the real root', async () => {
    const s = await makeSetup();
    const alias = join(s.dir, 'alias');
    symlinkSync(s.site, alias);
    const r = await applyBundle(s.release.bundle, { site: alias, store: s.store, now: NOW });
    expect(r.site).to.equal(s.site);
    expect(r.stateDir).to.equal(s.stateDir);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
  });

  it('case-fold collisions: a signed manifest with two paths equal after folding is UNSAFE_PATH; a new name folding onto an existing one is refused in preflight', async () => {
    const dup = await makeSetup({
      edit: (m: Manifest) => ({ ...m, files: [...m.files, { op: 'add', path: 'core/lib/drupal.php', sha256: 'a'.repeat(64), size: 1, mode: '0644' }] }),
    });
    const err1 = await rejectionOf(applyBundle(dup.release.bundle, { site: dup.site, store: dup.store, now: NOW }));
    expect(err1.code).to.equal('UNSAFE_PATH');
    expect(snapshot(dup.site)).to.deep.equal(oldSnap);

    const s = await makeSetup({ site: { ...OLD, 'core/lib/security/Old.php': '<?php // already here\n' } });
    const before = snapshot(s.site);
    const err2 = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err2.code).to.equal('PREFLIGHT_FAILED');
    expect(problemCodes(err2)).to.deep.equal(['CASE_COLLISION core/lib/Security']);
    expect(snapshot(s.site)).to.deep.equal(before);
  });

  it('a link planted as the staging directory is removed, never followed; the update goes ahead in a fresh one', async () => {
    const s = await makeSetup();
    const out = outside();
    mkdirSync(s.stateDir, { mode: 0o700 });
    symlinkSync(out.dir, join(s.stateDir, 'staging'));
    symlinkSync(out.dir, join(s.stateDir, 'backups'));
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    expect(r.recovered?.action).to.equal('cleaned');
    expect(snapshot(out.dir)).to.deep.equal(out.before);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
  });

  it('a link planted as a staged file name is never followed (O_EXCL|O_NOFOLLOW): STAGING_FAILED, nothing written outside', async () => {
    const s = await makeSetup();
    const out = outside();
    const err = await rejectionOf(
      applyBundle(s.release.bundle, {
        site: s.site,
        store: s.store,
        now: NOW,
        hooks: {
          point: (_n, label) => {
            if (label !== 'staging directories created') return;
            for (let slot = 0; slot < 20; slot++) symlinkSync(join(out.dir, 'victim.php'), join(s.stateDir, 'staging', String(slot)));
          },
        },
      }),
    );
    expect(err.code).to.equal('STAGING_FAILED');
    expect(err.message).to.contain('EEXIST');
    expect(readFileSync(join(out.dir, 'victim.php'), 'utf8')).to.equal('<?php // outside the site\n');
    expect(snapshot(out.dir)).to.deep.equal(out.before);
    expect(snapshot(s.site)).to.deep.equal(oldSnap);
  });

  it('a bundle file changed after it was verified (a content byte, a header byte, one byte cut off) is caught while staging: STAGING_FAILED, the site untouched', async () => {
    const changes: Record<string, (bundle: string) => void> = {
      'a content byte': (bundle) => flipLast(bundle, Buffer.from(NEW['core/lib/Security/Sanitizer.php'] as string), 6),
      // The name field of the entry's header, which staging walks past without parsing: the archive's SHA-256 catches it.
      'a header byte': (bundle) => flipLast(bundle, Buffer.from('core/lib/Security/Sanitizer.php\0'), 5),
      'one byte cut off': (bundle) => truncateSync(bundle, statSync(bundle).size - 1),
    };
    for (const [what, change] of Object.entries(changes)) {
      const s = await makeSetup();
      const err = await rejectionOf(applyWithPoints(s, (label) => label === 'staging directories created' && change(s.release.bundle)));
      expect(err.code, what).to.equal('STAGING_FAILED');
      expect(snapshot(s.site), what).to.deep.equal(oldSnap);
      expect(
        readdirSync(s.stateDir).filter((f) => ['journal', 'staging', 'backups'].includes(f)),
        what,
      ).to.deep.equal([]);
    }
  });

  it('a state directory that is a link (or not ours) is refused: PREFLIGHT_FAILED (STATE_DIR)', async () => {
    const s = await makeSetup();
    const out = outside();
    symlinkSync(out.dir, s.stateDir);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err.code).to.equal('PREFLIGHT_FAILED');
    expect(problemCodes(err)).to.deep.equal([`STATE_DIR ${s.stateDir}`]);
    expect(snapshot(out.dir)).to.deep.equal(out.before);
  });

  it('a state directory inside the site is refused (the web server would serve it)', async () => {
    const s = await makeSetup();
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, stateDir: join(s.site, 'private') }));
    expect(err.code).to.equal('USAGE');
  });

  it('a forged journal naming paths outside the site is JOURNAL_CORRUPT: recovery touches nothing', async () => {
    const s = await makeSetup();
    const out = outside();
    mkdirSync(s.stateDir, { mode: 0o700 });
    const begin = {
      t: 'begin',
      format: 1,
      site: s.site,
      bundle: 'c'.repeat(64),
      product: 'drupal',
      component: 'core',
      from: '10.2.3',
      to: '10.2.4',
      store: null,
      created: '2026-11-23T12:00:00Z',
    } as const;
    writeFileSync(
      join(s.stateDir, 'journal'),
      encodeRecord(begin) + `{"t":"step","n":1,"op":"delete","path":"../../${out.dir.split('/').pop()}/victim.php","slot":0}\n`,
    );
    const err = await rejectionOf(recoverSite(s.site, { now: NOW }));
    expect(err.code).to.equal('JOURNAL_CORRUPT');
    const err2 = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err2.code, 'apply recovers first, and stops').to.equal('JOURNAL_CORRUPT');
    expect(snapshot(out.dir)).to.deep.equal(out.before);
    expect(snapshot(s.site)).to.deep.equal(oldSnap);
  });

  it("a journal of another site is JOURNAL_CORRUPT (recovery never applies one site's journal to another)", async () => {
    const s = await makeSetup();
    mkdirSync(s.stateDir, { mode: 0o700 });
    const begin = {
      t: 'begin',
      format: 1,
      site: '/srv/other',
      bundle: 'c'.repeat(64),
      product: 'drupal',
      component: 'core',
      from: '10.2.3',
      to: '10.2.4',
      store: null,
      created: '2026-11-23T12:00:00Z',
    } as const;
    writeFileSync(join(s.stateDir, 'journal'), encodeRecord(begin) + encodeRecord({ t: 'step', n: 1, op: 'delete', path: 'index.php', slot: 0 }));
    expect((await rejectionOf(recoverSite(s.site, { now: NOW }))).code).to.equal('JOURNAL_CORRUPT');
    expect(snapshot(s.site)).to.deep.equal(oldSnap);
  });
});
