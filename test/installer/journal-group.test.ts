// The grouped journal (spec/journal.md "fsync points"): every step record is in the journal before the
// first step acts, every modify's backup exists before any file is replaced, and the one flush of the journal,
// the state directory, backups/ and the staged files, which runs while the journal and backups are written, is
// done before the first step, and before a commit that fails returns.
import { expect } from 'chai';
import fs, { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { applyBundle } from '../../lib/installer/apply.js';
import { parseJournal } from '../../lib/installer/journal.js';
import { applyWithPoints, makeSetup, NEW, NOW, OLD, SITE_STEP, expectedSnapshot, snapshot } from './support.js';
import { rejectionOf } from '../support/codes.js';

describe('installer: journal records grouped, backups made durable before any replacement', function () {
  this.timeout(60_000);

  it('all steps are logged before the first acts; all backups before the first replacement; the result is the new release', async () => {
    const s = await makeSetup();
    const labels: string[] = [];
    let loggedAtFirstAction = -1;
    let backupsAtFirstReplace = -1;
    const modifies = s.release.manifest.files.filter((f) => f.op === 'modify');
    await applyBundle(s.release.bundle, {
      site: s.site,
      store: s.store,
      now: NOW,
      phase: 'files',
      hooks: {
        point: (_n, label) => {
          labels.push(label);
          const action = /^(mkdir|linked|backed up|replaced|moved|rmdir) /.test(label);
          if (action && loggedAtFirstAction === -1) {
            loggedAtFirstAction = parseJournal(readFileSync(join(s.stateDir, 'journal'), 'utf8')).steps.length;
          }
          if (label.startsWith('replaced ') && backupsAtFirstReplace === -1) backupsAtFirstReplace = readdirSync(join(s.stateDir, 'backups')).length;
        },
      },
    });
    const steps = labels.filter((l) => l.startsWith('logged step')).length;
    expect(steps).to.be.greaterThan(5);
    expect(loggedAtFirstAction, 'records in the journal when the first step acts').to.equal(steps);
    const firstReplace = labels.findIndex((l) => l.startsWith('replaced '));
    const synced = labels.indexOf('backups fsynced');
    const backedUp = labels.map((l, i) => (l.startsWith('backed up ') ? i : -1)).filter((i) => i >= 0);
    expect(backedUp).to.have.length(modifies.length);
    expect(synced, 'backups/ fsynced after every backup link').to.be.greaterThan(Math.max(...backedUp));
    expect(firstReplace, 'and before the first replacement').to.be.greaterThan(synced);
    expect(backupsAtFirstReplace, 'backup files when the first file is replaced').to.be.at.least(modifies.length);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
  });

  it('nothing enters the site before the journal, backups/ and the staged files are durable: with those flushes slowed, all are done at the first step', async () => {
    const s = await makeSetup();
    const flushes = slowFlushes(s.stateDir);
    const seen: Record<string, { pending: number; done: string[] }> = {};
    try {
      await applyWithPoints(
        s,
        (label) => {
          const at = SITE_STEP.test(label) ? 'first step' : label;
          if (!(at in seen)) seen[at] = { pending: flushes.pending, done: [...flushes.done].sort() };
        },
        { phase: 'files' },
      );
    } finally {
      flushes.restore();
    }
    expect(seen['staged and read back']!.pending, 'flushes running while the journal and backups are written').to.be.greaterThan(0);
    expect(seen['first step'], 'at the first step').to.deep.equal({ pending: 0, done: ['', 'a staged file', 'backups', 'journal', 'staging'] });
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
  });

  it('a commit that fails while the staged files are still being flushed returns only once that flush is done (no fsync left on a closed descriptor)', async () => {
    for (const at of ['journal begin', 'logged step 1']) {
      const s = await makeSetup();
      const flushes = slowFlushes(s.stateDir);
      let pendingAtReturn = -1;
      try {
        const err = await rejectionOf(
          applyWithPoints(s, (label) => {
            if (label.startsWith(at)) throw Object.assign(new Error('injected'), { code: 'EIO' });
          }),
        );
        pendingAtReturn = flushes.pending;
        expect(err.code, at).to.equal('COMMIT_FAILED');
      } finally {
        flushes.restore();
      }
      expect(pendingAtReturn, `${at}: flushes still running when apply returned`).to.equal(0);
      expect(snapshot(s.site), at).to.deep.equal(expectedSnapshot(OLD));
    }
  });
});

/**
 * Slows every fsync and fdatasync of a descriptor in `stateDir` (the staged files' most: issued first, they finish
 * last) and counts them until their callbacks run; `done` names what was flushed ('' the state directory itself).
 */
function slowFlushes(stateDir: string): { readonly pending: number; done: Set<string>; restore(): void } {
  const state = join(realpathSync(dirname(stateDir)), basename(stateDir));
  const target = (fd: number) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  };
  let pending = 0;
  const done = new Set<string>();
  const slowed = <F extends typeof fs.fsync>(real: F): F =>
    ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
      const path = target(fd);
      if (!path.startsWith(state)) return real(fd, callback);
      pending++;
      const what = relative(state, path).replace(/^staging\/.+/, 'a staged file');
      real(fd, (err) =>
        setTimeout(
          () => {
            pending--;
            done.add(what);
            callback(err);
          },
          what === 'a staged file' ? 150 : 20,
        ),
      );
    }) as F;
  const real = { fsync: fs.fsync, fdatasync: fs.fdatasync };
  fs.fsync = slowed(real.fsync);
  fs.fdatasync = slowed(real.fdatasync);
  syncBuiltinESMExports();
  return {
    get pending() {
      return pending;
    },
    done,
    restore() {
      Object.assign(fs, real);
      syncBuiltinESMExports();
    },
  };
}
