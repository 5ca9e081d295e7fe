// `countersign apply` and `countersign recover` as commands: the interface the installer daemon relies
// on (/dev/stdin, exactly one JSON object on stdout, JSON progress lines on stderr, exit codes).
import { expect } from 'chai';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { expectedSnapshot, makeSetup, NEW, NOW, OLD, runChild, snapshot } from './support.js';

const at = ['--now', NOW.toISOString()];

describe('countersign apply / recover (CLI)', function () {
  this.timeout(60_000);

  it('apply --help documents the phases, the state directory and the interface for programs', async () => {
    const r = await runCli(['apply', '--help']);
    expect(r.code).to.equal(0);
    for (const text of [
      '/dev/stdin',
      '--progress',
      '--json',
      'Exit codes',
      'LOCAL_CHANGES',
      'COMMIT_FAILED',
      'NEEDS_ATTENTION',
      '.countersign-SITENAME',
      'recover --site DIR --clear',
    ]) {
      expect(r.stdout, text).to.contain(text);
    }
    expect(r.stdout, 'test-only fault hooks').not.to.match(/COUNTERSIGN_TEST_/);
  });

  it('--json: one object with ok, the release, the phases and every change; exit 0', async () => {
    const s = await makeSetup();
    const r = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--json', ...at]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json).to.include({ ok: true, product: 'drupal', component: 'core', from: '10.2.3', to: '10.2.4' });
    expect(r.json.phases).to.deep.equal(['check', 'files', 'post']);
    expect(r.json.changes).to.have.length(18);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
  });

  it('a dry run, in words, lists every step with its path', async () => {
    const s = await makeSetup();
    const r = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--dry-run', ...at]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain('Dry run, nothing was written');
    expect(r.stdout).to.match(/mkdir\s+core\/lib\/Security/);
    expect(r.stdout).to.match(/rmdir\s+core\/modules\/old/);
    expect(r.stdout).to.match(/modify\s+core\/lib\/Drupal\.php/);
    expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(OLD));
  });

  it('exit 1 with the code and details for a refused update (LOCAL_CHANGES lists the files)', async () => {
    const s = await makeSetup();
    writeFileSync(join(s.site, 'index.php'), '<?php // ours\n');
    writeFileSync(join(s.site, 'README.txt'), 'ours\n');
    // index.php is not touched by the release; README.txt is.
    const r = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--json', ...at]);
    expect(r.code).to.equal(1);
    expect(r.json).to.include({ ok: false, code: 'LOCAL_CHANGES' });
    expect((r.json.details as { files: Array<{ path: string }> }).files.map((f) => f.path)).to.deep.equal(['README.txt']);
    const human = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, ...at]);
    expect(human.code).to.equal(1);
    expect(human.stderr).to.contain('LOCAL_CHANGES').and.to.contain('README.txt');
  });

  it('exit 2 for usage and I/O errors', async () => {
    const s = await makeSetup();
    const cases: string[][] = [
      ['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--policy', s.release.policyFile],
      ['apply', s.release.bundle, '--site', s.site],
      ['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--installed', '10.2.3'],
      ['apply', s.release.bundle, '--site', s.site, '--policy', s.release.policyFile, '--installed', 'not a version'],
      ['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--phase', 'everything'],
      ['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--post-timeout', '0'],
      ['apply', join(s.dir, 'missing.bundle'), '--site', s.site, '--store', s.store],
      ['apply', s.release.bundle, '--site', join(s.dir, 'no-such-site'), '--store', s.store],
      ['apply', s.release.bundle, '--site', s.site, '--store', join(s.dir, 'no-store')],
      ['recover'],
    ];
    for (const args of cases) {
      const r = await runCli([...args, '--json', ...(args[0] === 'apply' ? at : [])]);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.json.ok, args.join(' ')).to.equal(false);
    }
  });

  it('--policy with the installed version read from the site', async () => {
    const s = await makeSetup();
    const r = await runCli(['apply', s.release.bundle, '--site', s.site, '--policy', s.release.policyFile, '--json', ...at]);
    expect(r.code, r.stdout).to.equal(0);
    expect(r.json.detected).to.deep.equal({ path: 'core/lib/Drupal.php', version: '10.2.3' });
  });

  it('recover --json reports what it did', async () => {
    const s = await makeSetup();
    const none = await runCli(['recover', '--site', s.site, '--json']);
    expect(none.code).to.equal(0);
    expect(none.json).to.include({ ok: true, action: 'none', cleared: false, needsAttention: null });
    const human = await runCli(['recover', '--site', s.site]);
    expect(human.stdout).to.contain('Nothing to recover');
  });

  describe('in a child process, as the daemon runs it', () => {
    it('reads the bundle from /dev/stdin when stdin is the bundle file; --json on stdout, one JSON event per line on stderr', async () => {
      const s = await makeSetup();
      const fd = openSync(s.release.bundle, 'r');
      let child;
      try {
        child = await runChild(['apply', '/dev/stdin', '--site', s.site, '--store', s.store, '--json', '--progress', ...at], { stdin: fd });
      } finally {
        closeSync(fd);
      }
      expect(child.code, child.stderr).to.equal(0);
      expect(child.stdout.trimEnd().split('\n')).to.have.length(1);
      expect(JSON.parse(child.stdout)).to.include({ ok: true, to: '10.2.4' });
      const events = child.stderr
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string });
      expect(events.every((e) => typeof e.event === 'string')).to.equal(true);
      expect(events.filter((e) => e.event === 'file')).to.have.length(18);
      expect(events.map((e) => e.event)).to.include.members(['phase', 'verified', 'plan', 'staged', 'committed']);
      expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
    });

    it('refuses a pipe on stdin (the bundle is read twice, so it must be a file): exit 2', async () => {
      const s = await makeSetup();
      const child = await runChild(['apply', '/dev/stdin', '--site', s.site, '--store', s.store, '--json', ...at], { stdin: 'pipe' });
      expect(child.code).to.equal(2);
      expect(JSON.parse(child.stdout)).to.include({ ok: false, code: 'IO' });
      expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(OLD));
    });
  });
});
