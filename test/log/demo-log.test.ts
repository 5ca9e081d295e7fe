// `npm run demo -- --log`: a log and two witnesses on loopback, the release logged and verified with its proof, the
// backdoored second 10.2.4 refused by the log, the fork refused by a witness and caught by the monitor.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../installer/support.js';
import { tempDir } from '../support/tmp.js';

describe('the demo with --log', function () {
  this.timeout(600_000);

  it('logs the release, verifies it with its proof, and shows the split view refused and caught', async () => {
    const tmp = tempDir('countersign-demo-log-test-');
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'demo', 'run.ts'), '--log'], {
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
