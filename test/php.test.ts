// The PHP verifier (php/) beside this one: PHPUnit runs every vector of spec/vectors/conformance/ and
// test/vectors/shared/ (php/tests/ConformanceTest.php names a disagreeing vector), the PHP CLI gives the same exit code
// and the same --json as `countersign verify` on every bundle vector, and a store the PHP side writes is one the
// TypeScript side reads. Skipped, with a message, where php or phpunit is not installed (.ci/run installs them).
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Context } from '../cli/context.js';
import { run } from '../cli/parser.js';
import { openStore } from '../lib/node/trust-store.js';
import { siteFor } from '../lib/core/trust-state.js';
import { VECTORS_DIR } from './conformance/generate.js';
import { SHARED_DIR } from './conformance/shared.js';

const ROOT = resolve(import.meta.dirname, '..');
const PHP_CLI = join(ROOT, 'php/bin/countersign-verify');

function has(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

const php = has('php');
const phpunit = php && has('phpunit');

async function tsVerify(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const ctx: Context = { out: (t) => (out += t), err: () => undefined, env: {}, interactive: false, now: new Date(), exitCode: 0 };
  const code = await run(['verify', ...args, '--json'], ctx);
  return { code, out };
}

function phpVerify(args: string[]): { code: number; out: string } {
  const r = spawnSync('php', [PHP_CLI, ...args, '--json'], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout };
}

describe('PHP verifier (php/)', function () {
  this.timeout(600_000);

  before(function () {
    if (!php) {
      console.log('    (skipped: php is not installed; apt-get install php-cli php-intl phpunit, or .ci/run)');
      this.skip();
    }
  });

  it('PHPUnit: every conformance and shared vector gets the same verdict and codes (and the PHP-only tests pass)', function () {
    if (!phpunit) {
      console.log('    (skipped: phpunit is not installed; apt-get install phpunit)');
      this.skip();
    }
    const r = spawnSync('phpunit', ['-c', join(ROOT, 'php/phpunit.xml.dist'), '--testsuite', 'verifier', '--do-not-cache-result'], {
      encoding: 'utf8',
      cwd: join(ROOT, 'php'),
    });
    expect(r.status, `phpunit failed:\n${r.stdout.slice(-6000)}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/OK \(\d+ tests/);
  });

  describe('the PHP CLI answers as `countersign verify` (exit code and --json, but for its extra "backend")', () => {
    const family = JSON.parse(readFileSync(join(VECTORS_DIR, 'bundle.json'), 'utf8')) as {
      cases: Array<{
        id: string;
        bundle?: string;
        envelope?: string;
        archive?: string;
        trusted: { pin: string; rotations: string[] };
        site: Record<string, string>;
        revocations: string[];
        now: string;
      }>;
    };
    // highestInstalled has no flag: the store cases of test/vectors/shared cover it.
    for (const c of family.cases.filter((c) => c.site.highestInstalled === undefined)) {
      it(c.id, async () => {
        const at = (f: string) => join(VECTORS_DIR, f);
        const args = [at((c.bundle ?? c.envelope)!), '--policy', at(c.trusted.pin), '--now', c.now];
        if (c.archive) args.push('--archive', at(c.archive));
        for (const r of c.trusted.rotations) args.push('--chain', at(r));
        for (const r of c.revocations) args.push('--revocation', at(r));
        for (const f of ['product', 'component', 'installed']) if (c.site[f] !== undefined) args.push(`--${f}`, c.site[f]!);
        const ts = await tsVerify(args);
        const p = phpVerify(args);
        const pj = JSON.parse(p.out) as Record<string, unknown>;
        if (pj.ok === true) {
          expect(pj.backend).to.equal('ext-sodium');
          delete pj.backend;
        }
        expect(p.code, 'exit code').to.equal(ts.code);
        expect(pj, 'the --json output').to.deep.equal(JSON.parse(ts.out));
      });
    }
    it('store cases too', async () => {
      const store = join(SHARED_DIR, 'stores/core-10.2.3');
      for (const bundle of ['a-ok', 'b-ok', 'a-after-rotation']) {
        const args = [join(VECTORS_DIR, `bundles/${bundle}.bundle`), '--store', store, '--now', '2026-06-01T00:00:00Z'];
        const ts = await tsVerify(args);
        const p = phpVerify(args);
        const pj = JSON.parse(p.out) as Record<string, unknown>;
        delete pj.backend;
        expect([bundle, p.code]).to.deep.equal([bundle, ts.code]);
        expect(pj).to.deep.equal(JSON.parse(ts.out));
      }
    });
  });

  it('a store PHP recorded an install in is one the TypeScript tools open and read alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-php-store-'));
    try {
      cpSync(join(SHARED_DIR, 'stores/core-10.2.3'), dir, { recursive: true });
      const script = `require ${JSON.stringify(join(ROOT, 'php/autoload.php'))}; Countersign\\TrustStore::recordInstall($argv[1], 'drupal', 'core', '10.2.4', 1780000000);`;
      execFileSync('php', ['-r', script, dir]);
      const store = await openStore(dir);
      expect(siteFor(store, 'drupal', 'core')).to.deep.equal({ product: 'drupal', component: 'core', installed: '10.2.4', highestInstalled: '10.2.4' });
      expect(store.state.installed['drupal/core']!.updated).to.equal('2026-05-28T20:26:40Z');
      // a partial install (kept files: the PHP runner's --keep-local) reads as the TypeScript side writes it
      const partial = `require ${JSON.stringify(join(ROOT, 'php/autoload.php'))}; Countersign\\TrustStore::recordInstall($argv[1], 'drupal', 'core', '10.2.5', 1780000001, 5000, ['README.txt']);`;
      execFileSync('php', ['-r', partial, dir]);
      const again = await openStore(dir);
      expect(again.state.installed['drupal/core']).to.deep.equal({
        version: '10.2.4',
        highest: '10.2.4',
        updated: '2026-05-28T20:26:41Z',
        partial: { version: '10.2.5', kept: ['README.txt'], recorded: '2026-05-28T20:26:41Z' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
