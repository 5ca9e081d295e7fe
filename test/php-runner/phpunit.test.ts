// Runs the PHP runner's PHPUnit suite (php/tests/Installer: apply rules, crash matrix) under npm test; skips with a
// message when php or phpunit is absent (.ci/run installs php-cli and phpunit from Debian).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../installer/support.js';

const have = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;

describe('php runner: PHPUnit (php/tests/Installer)', function () {
  this.timeout(900_000);
  it('passes on this host', function () {
    if (!have('php', ['-v']) || !have('phpunit', ['--version'])) {
      console.log('    (skipped: php-cli and phpunit are not installed; apt-get install php-cli phpunit)');
      this.skip();
    }
    const r = spawnSync('phpunit', ['--colors=never', '--do-not-cache-result', 'tests/Installer'], { cwd: join(REPO, 'php'), encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/OK \(\d+ tests/);
  });
});
