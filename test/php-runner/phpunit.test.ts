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
    const r = spawnSync('phpunit', ['--colors=never', '--do-not-cache-result', '--testsuite', 'installer'], { cwd: join(REPO, 'php'), encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/OK \(\d+ tests/);
  });
  it('phpunit.xml.dist splits tests/ into the verifier and installer suites, each test in one (npm test runs the crash matrix once)', function () {
    if (!have('php', ['-v']) || !have('phpunit', ['--version'])) this.skip();
    const list = (suite: string) => {
      const r = spawnSync('phpunit', ['--list-tests', '--testsuite', suite], { cwd: join(REPO, 'php'), encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      return [...r.stdout.matchAll(/^ - (Countersign\\Tests\\\S+)::/gm)].map((m) => m[1]!);
    };
    const verifier = list('verifier');
    const installer = list('installer');
    expect(verifier.length).to.be.greaterThan(0);
    expect(installer).to.include('Countersign\\Tests\\Installer\\CrashTest');
    expect(verifier.filter((c) => c.startsWith('Countersign\\Tests\\Installer\\'))).to.deep.equal([]);
    expect(installer.filter((c) => !c.startsWith('Countersign\\Tests\\Installer\\'))).to.deep.equal([]);
  });
});
