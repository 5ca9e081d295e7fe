// `npm run demo` as a new user sees it with its output piped: no escape codes, no warnings about key
// modes, the duplicated partial explained, and nothing left behind unless --keep (then it says where).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './installer/support.js';
import { tempDir } from './support/tmp.js';

function demo(args: string[], tmp: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    delete env.NO_COLOR;
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'demo', 'run.ts'), ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What is in `tmp`, without tsx's own compile cache. */
function ours(tmp: string): string[] {
  return readdirSync(tmp).filter((name) => !name.startsWith('tsx-'));
}

describe('the demo (npm run demo)', function () {
  this.timeout(180_000);

  it('piped: no ANSI codes, no key-mode warnings, the duplicate partial explained, and its directory removed', async () => {
    const tmp = tempDir('countersign-demo-test-');
    const r = await demo([], tmp);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).not.to.include('\x1b');
    expect(r.stdout + r.stderr).not.to.match(/warning/i);
    expect(r.stdout).to.match(/twice on purpose/);
    expect(ours(tmp)).to.deep.equal([]);
  });

  it('--keep keeps everything in the directory it names', async () => {
    const tmp = tempDir('countersign-demo-test-');
    const r = await demo(['--keep'], tmp);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const [work] = ours(tmp);
    expect(work).to.match(/^countersign-demo-/);
    expect(r.stdout).to.include(join(tmp, work!));
    expect(existsSync(join(tmp, work!, 'drupal-10.2.4.bundle'))).to.equal(true);
    expect(existsSync(join(tmp, work!, 'site', 'core', 'lib', 'Security', 'Sanitizer.php'))).to.equal(true);
  });
});
