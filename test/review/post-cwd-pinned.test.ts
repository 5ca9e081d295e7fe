// Review of issue 9 item 3: the post-update steps ran in the site root named by its path (spawn cwd),
// after every file action had gone through pinned directories. Whoever can rename the site root (its
// parent, or any directory above it, writable by them: not checked when --state-dir is elsewhere) could
// swap it for a directory of their own between the commit and the post phase; the steps (drush, a
// relative program such as vendor/bin/drush) then ran in that directory, as the installer's user.
import { expect } from 'chai';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyBundle } from '../../lib/installer/apply.js';
import { makeSetup, NOW } from '../installer/support.js';

const NODE = process.execPath;

describe('review: post-update steps run in the site that was updated, not whatever its path names now', function () {
  this.timeout(60_000);

  it('a site root swapped after the commit never gets the steps run in the decoy', async () => {
    const s = await makeSetup({ request: { postUpdate: [[NODE, '-e', 'require("fs").writeFileSync("ran-here", process.cwd())']] } });
    const moved = join(s.dir, 'www', 'site-moved');
    const outcome = await applyBundle(s.release.bundle, {
      site: s.site,
      store: s.store,
      now: NOW,
      hooks: {
        point: (_n, label) => {
          if (label !== 'journal removed') return;
          renameSync(s.site, moved);
          mkdirSync(s.site);
          writeFileSync(join(s.site, 'index.php'), "<?php // the attacker's decoy\n");
        },
      },
    }).then(
      (r) => r,
      (err: Error) => err,
    );
    expect(existsSync(join(s.site, 'ran-here')), 'a step ran in the decoy').to.equal(false);
    if (outcome instanceof Error) {
      // Refusing to run the steps is as good as running them in the updated site.
      expect((outcome as { code?: string }).code).to.equal('POST_UPDATE_FAILED');
    } else {
      expect(existsSync(join(moved, 'ran-here')), 'the steps ran in the site that was updated').to.equal(true);
    }
  });

  it('still runs the steps in the site root when nothing moved', async () => {
    const s = await makeSetup({ request: { postUpdate: [[NODE, '-e', 'require("fs").writeFileSync("ran-here", process.cwd())']] } });
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    expect(r.post.map((p) => p.ok)).to.deep.equal([true]);
    expect(existsSync(join(s.site, 'ran-here'))).to.equal(true);
  });
});
