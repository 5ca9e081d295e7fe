// The grouped journal (spec/journal.md "fsync points"): every step record is in the journal before the
// first step acts, every modify's backup exists, with backups/ fsynced, before any file is replaced, and the
// staged files' flush, which runs while the journal and backups are written, is done before the first step.
import { expect } from 'chai';
import fs, { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { applyBundle } from '../../lib/installer/apply.js';
import { parseJournal } from '../../lib/installer/journal.js';
import { makeSetup, NEW, NOW, expectedSnapshot, snapshot } from './support.js';

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

  it('no staged file enters the site before its fsync is done: with their fsyncs slowed, none of their descriptors is still open at the first step', async () => {
    const s = await makeSetup();
    const staging = join(realpathSync(dirname(s.stateDir)), basename(s.stateDir), 'staging') + '/';
    const isStaged = (fd: string | number) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(staging);
      } catch {
        return false;
      }
    };
    const openStaged = () => readdirSync('/proc/self/fd').filter(isStaged).length;
    // Each staged file's descriptor is closed when its fsync completes (stage.ts SyncBatch): their fsyncs alone are slowed.
    const fsync = fs.fsync;
    fs.fsync = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
      const slow = isStaged(fd);
      fsync(fd, (err) => (slow ? setTimeout(() => callback(err), 50) : callback(err)));
    }) as typeof fs.fsync;
    syncBuiltinESMExports();
    const seen: Record<string, number> = {};
    try {
      await applyBundle(s.release.bundle, {
        site: s.site,
        store: s.store,
        now: NOW,
        phase: 'files',
        hooks: {
          point: (_n, label) => {
            const first = /^(mkdir|linked|replaced|moved|rmdir) /.test(label) ? 'first step' : label;
            if (!(first in seen)) seen[first] = openStaged();
          },
        },
      });
    } finally {
      fs.fsync = fsync;
      syncBuiltinESMExports();
    }
    expect(seen['staged and read back'], 'staged descriptors open while their flush runs').to.be.greaterThan(0);
    expect(seen['first step'], 'staged descriptors open at the first step').to.equal(0);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
  });
});
