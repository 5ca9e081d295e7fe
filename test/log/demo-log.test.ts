// `npm run demo -- --log`: a log and two witnesses on loopback, the release logged and verified with its proof, the
// backdoored second 10.2.4 refused by the log, the fork refused by a witness and caught by the monitor.
// `npm run demo -- --providers`: a module developer's release refused before its key's activation delay, logged after
// it and verified offline from its map proofs; the revoked key's release refused, a release revoked, and the super
// provider's release verified offline and by local trust, and reported by the monitor.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../installer/support.js';
import { tempDir } from '../support/tmp.js';

function demo(args: string[]): Promise<{ code: number | null; out: string }> {
  const tmp = tempDir('countersign-demo-log-test-');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'demo', 'run.ts'), ...args], {
      cwd: REPO,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the demo with --log', function () {
  this.timeout(600_000);

  it('logs the release, verifies it with its proof, and shows the split view refused and caught', async () => {
    const r = await demo(['--log']);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/checkpoint 2 cosigned by 2 of 2 witnesses/);
    expect(r.out).to.match(/Logged: entry 1 of demo\.countersign\.example\/log \(size 2\), cosigned by w1, w2/);
    expect(r.out).to.match(/entry 1: release drupal\/core 10\.2\.4 .*signed with key/);
    expect(r.out).to.match(/error\[RELEASE_EXISTS\]/);
    expect(r.out).to.match(/WITNESS_QUORUM_NOT_MET/);
    expect(r.out).to.match(/witness w1, asked to cosign the forked checkpoint of size 2: HTTP 409/);
    expect(r.out).to.match(/ANOMALY error\[LOG_INCONSISTENT\]: size 2 is signed with two different roots/);
  });
});

describe('the demo with --providers', function () {
  this.timeout(600_000);

  it("a developer's release: refused before the delay, logged after it, verified offline; revoked key, revoked release, super provider", async () => {
    const r = await demo(['--providers']);
    expect(r.code, r.out).to.equal(0);
    const part = (from: string, to: string) => r.out.slice(r.out.indexOf(`== ${from}.`), r.out.indexOf(`== ${to}.`));
    expect(part('P3', 'P4')).to.match(/warning: a 1-of-1 release role/);
    expect(part('P5', 'P6')).to.match(/Quorum met: .*registry role of root policy 1: 1 signer/);
    expect(part('P6', 'P7')).to.match(/KEY_NOT_ACTIVE: key \w+… of drupal\.org\/project\/pathauto is not active in its release role at log time/);
    expect(part('P6', 'P7')).to.match(/Logged as entry 5 of /);
    const offline = part('P7', 'P8');
    expect(offline).to.match(/OK: drupal pathauto 1\.13\.0/);
    expect(offline).to.match(/Logged: entry 5 of providers\.countersign\.example\/log \(size 7\), cosigned by w1, w2/);
    expect(offline).to.match(/State: entry 6 .*drupal\.org\/project\/pathauto policy 1 \(entry 2\), 0 key\(s\) revoked; the release is entry 5, not revoked/);
    expect(part('P9', 'P10')).to.match(/KEY_REVOKED: key \w+… of drupal\.org\/project\/pathauto is revoked from entry 7/);
    expect(part('P9', 'P10')).to.match(/NOT_LOGGED/);
    expect(part('P10', 'P11')).to.match(/error\[REVOKED\]: drupal\.org\/project\/pathauto drupal pathauto 1\.13\.0 was revoked by entry 9/);
    const superProvider = part('P11', 'P12');
    expect(superProvider).to.match(/Quorum met: root policy 1 \(super provider\)/);
    expect(superProvider).to.match(/OK: drupal pathauto 1\.13\.1/);
    expect(superProvider).to.match(/1 key\(s\) revoked; the release is entry 11, not revoked/);
    expect(part('P12', 'P13')).to.match(/in the store's replayed log \(size 13\): provider drupal\.org\/project\/pathauto, signed by the super provider/);
    expect(r.out.slice(r.out.indexOf('== P13.'))).to.match(/entry 11: release drupal\.org\/project\/pathauto .*an action of the super provider/);
  });
});
