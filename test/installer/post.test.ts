// Phase 3: post-update steps run as argv arrays (no shell) in the site root with a timeout, output
// captured; a failure keeps the new files and marks the site "needs attention" until an operator clears it.
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyBundle } from '../../lib/installer/apply.js';
import { findCommand } from '../../lib/installer/post.js';
import { recoverSite } from '../../lib/installer/recover.js';
import { runCli } from '../support/cli.js';
import { openStore } from '../../lib/node/trust-store.js';
import { expectedSnapshot, makeSetup, NEW, NOW, runChild, snapshot } from './support.js';
import { rejectionOf } from '../support/codes.js';

const NODE = process.execPath;

const newSnap = expectedSnapshot(NEW);

describe('installer: post-update steps', function () {
  this.timeout(60_000);

  it('run in order, in the site root, without a shell; their output is captured', async () => {
    const s = await makeSetup({
      request: {
        postUpdate: [
          ['echo', '$(touch pwned)', '; touch pwned2'],
          [NODE, '-e', 'console.log(process.cwd()); console.error("warn")'],
        ],
      },
    });
    const r = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW });
    expect(r.post.map((p) => [p.ok, p.exitCode])).to.deep.equal([
      [true, 0],
      [true, 0],
    ]);
    expect(r.post[0]!.stdout).to.equal('$(touch pwned) ; touch pwned2\n');
    expect(r.post[1]!.stdout).to.equal(`${s.site}\n`);
    expect(r.post[1]!.stderr).to.equal('warn\n');
    expect(existsSync(join(s.site, 'pwned')) || existsSync(join(s.site, 'pwned2'))).to.equal(false);
  });

  it('a failing step: POST_UPDATE_FAILED, the files stay new, further applies are refused (NEEDS_ATTENTION) until recover --clear; then --phase post runs the steps again', async () => {
    // The step succeeds once the operator has fixed the site (here: created "fixed").
    const step = [NODE, '-e', 'const ok = require("fs").existsSync("fixed"); console.log(ok ? "migrated" : "schema update failed"); process.exit(ok ? 0 : 3)'];
    const s = await makeSetup({ request: { postUpdate: [step] } });
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err.code).to.equal('POST_UPDATE_FAILED');
    expect(err.details).to.include({ step: 0, exitCode: 3, timedOut: false });
    expect(err.details.stdout).to.equal('schema update failed\n');
    expect(err.message).to.contain('exited with status 3').and.to.contain('recover');
    expect(snapshot(s.site)).to.deep.equal(newSnap);
    expect((await openStore(s.store)).state.installed['drupal/core']!.version).to.equal('10.2.4');
    const marker = JSON.parse(readFileSync(join(s.stateDir, 'needs-attention.json'), 'utf8'));
    expect(marker).to.include({ code: 'POST_UPDATE_FAILED', version: '10.2.4', step: 0 });

    for (const phase of ['all', 'post', 'check'] as const) {
      expect((await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase }))).code, phase).to.equal('NEEDS_ATTENTION');
    }
    expect((await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun: true }))).code, 'dry run').to.equal(
      'NEEDS_ATTENTION',
    );

    const look = await recoverSite(s.site, { now: NOW });
    expect(look.action).to.equal('none');
    expect(look.cleared).to.equal(false);
    expect(look.needsAttention).to.include({ code: 'POST_UPDATE_FAILED' });

    writeFileSync(join(s.site, 'fixed'), '');
    const cleared = await recoverSite(s.site, { now: NOW, clear: true });
    expect(cleared.cleared).to.equal(true);
    expect(cleared.needsAttention).to.equal(null);
    const post = await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'post' });
    expect(post.post.map((p) => p.stdout)).to.deep.equal(['migrated\n']);
    expect(existsSync(join(s.stateDir, 'needs-attention.json'))).to.equal(false);
  });

  it('a step that runs too long is killed with its whole process group at the timeout', async () => {
    const s = await makeSetup({ request: { postUpdate: [['sh', '-c', 'sleep 30 & sleep 30']] } });
    const started = Date.now();
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, postTimeoutMs: 300 }));
    expect(Date.now() - started).to.be.below(10_000);
    expect(err.code).to.equal('POST_UPDATE_FAILED');
    expect(err.details).to.include({ timedOut: true, signal: 'SIGKILL' });
    expect(err.message).to.contain('timeout');
  });

  it('a step whose program does not exist: a dry run and a full apply refuse before any file is touched (PREFLIGHT_FAILED, POST_COMMAND_MISSING naming it)', async () => {
    const s = await makeSetup({
      request: { postUpdate: [['sh', '-c', 'true'], ['core/scripts/cron.sh'], ['countersign-no-such-program-xyz', 'updb'], ['vendor/bin/drush']] },
    });
    const before = snapshot(s.site);
    for (const dryRun of [true, false]) {
      const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, dryRun }));
      expect(err.code, `dry run ${dryRun}`).to.equal('PREFLIGHT_FAILED');
      const problems = err.details.problems as Array<{ code: string; message: string }>;
      expect(problems.map((p) => p.code)).to.deep.equal(['POST_COMMAND_MISSING', 'POST_COMMAND_MISSING']);
      expect(problems[0]!.message).to.contain('countersign-no-such-program-xyz');
      expect(problems[1]!.message).to.contain('vendor/bin/drush');
    }
    expect(snapshot(s.site)).to.deep.equal(before);
    expect((await openStore(s.store)).state.installed['drupal/core']!.version).to.equal('10.2.3');
  });

  it("programs are found on the PATH of the steps' environment, or as an executable path inside the site", async () => {
    const site = await makeSetup();
    expect(findCommand('sh', site.site, { PATH: '/usr/bin:/bin' })).to.match(/\/sh$/);
    expect(findCommand('sh', site.site, { PATH: '' })).to.equal(null);
    expect(findCommand('core/scripts/cron.sh', site.site)).to.equal(join(site.site, 'core/scripts/cron.sh'));
    expect(findCommand('index.php', site.site), 'not executable').to.equal(null);
    expect(findCommand('core', site.site), 'a directory').to.equal(null);
    expect(findCommand(NODE, '/')).to.equal(NODE);
  });

  it('a step that cannot be started after all (removed between the phases) fails the post phase with the reason', async () => {
    const s = await makeSetup({ request: { postUpdate: [['core/scripts/update.sh']] } });
    await applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'files' });
    rmSync(join(s.site, 'core/scripts/update.sh'));
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW, phase: 'post' }));
    expect(err.code).to.equal('POST_UPDATE_FAILED');
    expect(err.details.spawnError).to.equal('ENOENT');
  });

  it('apply shows what each step printed (escaped, the end of each stream); --phase post says what it ran, in --json too', async () => {
    const step = [NODE, '-e', 'console.log("migrated 3 tables\\x1b[2J"); console.error("a warning")'];
    const s = await makeSetup({ request: { postUpdate: [step] } });
    const at = ['--now', NOW.toISOString()];
    const files = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--phase', 'files', ...at]);
    expect(files.code).to.equal(0);
    const post = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--phase', 'post', ...at]);
    expect(post.code).to.equal(0);
    expect(post.stdout).to.contain('Ran the post-update steps of drupal core 10.2.4');
    expect(post.stdout).to.contain(`post-update ${JSON.stringify(step)}: exit 0 (`);
    expect(post.stdout).to.contain('    | migrated 3 tables\\u{1b}[2J');
    expect(post.stdout).to.contain('    stderr:\n    | a warning');
    expect(post.stdout).to.not.contain('\x1b');
    const json = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--phase', 'post', '--json', ...at]);
    const ran = (json.json.post as Array<Record<string, unknown>>)[0]!;
    expect(ran).to.deep.include({ argv: step, exitCode: 0, signal: null, timedOut: false, ok: true, stderr: 'a warning\n' });
    expect(ran.durationMs).to.be.a('number');
    expect(json.json.phases).to.deep.equal(['post']);
  });

  it("a failing step's output is shown before the error", async () => {
    const s = await makeSetup({ request: { postUpdate: [[NODE, '-e', 'console.log("table users is locked"); process.exit(4)']] } });
    const r = await runCli(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--now', NOW.toISOString()]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(': exit 4 (').and.to.contain('    | table users is locked').and.to.contain('POST_UPDATE_FAILED');
  });

  it('an apply killed during a post-update step leaves the site marked (POST_UPDATE_INTERRUPTED), never silently "done"', async () => {
    const s = await makeSetup({ request: { postUpdate: [[NODE, '-e', 'process.kill(process.ppid, "SIGKILL")']] } });
    const child = await runChild(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--json', '--now', NOW.toISOString()]);
    expect(child.signal).to.equal('SIGKILL');
    expect(snapshot(s.site)).to.deep.equal(newSnap);
    const err = await rejectionOf(applyBundle(s.release.bundle, { site: s.site, store: s.store, now: NOW }));
    expect(err.code).to.equal('NEEDS_ATTENTION');
    expect(err.details.marker).to.include({ code: 'POST_UPDATE_INTERRUPTED' });
  });

  it("output a step prints never reaches the CLI's stdout: --json prints exactly one object", async () => {
    const s = await makeSetup({ request: { postUpdate: [['echo', 'noise on stdout']] } });
    const child = await runChild(['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--json', '--now', NOW.toISOString()]);
    expect(child.code).to.equal(0);
    const lines = child.stdout.trimEnd().split('\n');
    expect(lines).to.have.length(1);
    const result = JSON.parse(lines[0]!);
    expect(result.ok).to.equal(true);
    expect(result.post[0].stdout).to.equal('noise on stdout\n');
  });
});
