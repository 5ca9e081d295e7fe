// CLI contract: `trust init|update|show|record` and `verify --store`.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordInstall } from '../lib/node/trust-store.js';
import { runCli, runCliOk } from './support/cli.js';
import { bundleFileBytes, makeRelease, NOW, tempDir } from './support/fixtures.js';
import { firstGeneration, nextGeneration, revocationBytes, signedRelease, type Generation } from './support/store-fixtures.js';

describe('cli trust', () => {
  const opts = { now: NOW };
  let root: string;
  let n = 0;
  let v1: Generation;
  let v2: Generation;
  let v3: Generation;
  const f: Record<string, string> = {};
  const nextStore = () => join(root, `store-${n++}`);
  const state = (dir: string) => join(dir, 'state.json');
  const snapshot = (dir: string) => ({ bytes: readFileSync(state(dir)).toString('base64'), ino: statSync(state(dir)).ino });

  async function init(installed = ['drupal/core=10.2.3']): Promise<string> {
    const dir = nextStore();
    await runCliOk(['trust', 'init', '--policy', f.v1!, '--store', dir, ...installed.flatMap((i) => ['--installed', i])], opts);
    return dir;
  }

  before(() => {
    root = tempDir('countersign-cli-trust-');
    v1 = firstGeneration();
    v2 = nextGeneration(v1);
    v3 = nextGeneration(v2);
    const files: Record<string, Uint8Array> = {
      v1: v1.bytes,
      v2: v2.bytes,
      v3: v3.bytes,
      v4gap: nextGeneration(v2, { version: 4 }).bytes,
      unsigned: nextGeneration(v1, { version: 1, signCurrent: 0, signNext: 1 }).bytes,
      v2expired: nextGeneration(v1, { expires: new Date('2026-11-01T00:00:00Z') }).bytes,
      revV1: revocationBytes(v1),
      revV3: revocationBytes(v3),
      revWeak: revocationBytes(v1, '10.2.4', v1.signers.slice(0, 2)),
    };
    for (const [name, bytes] of Object.entries(files)) {
      f[name] = join(root, `${name}.json`);
      writeFileSync(f[name]!, bytes);
    }
    const release = signedRelease(v1, makeRelease());
    f.bundle = join(root, 'drupal-10.2.4.bundle');
    writeFileSync(f.bundle, bundleFileBytes(release.envelope, release.archive));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe('init / show / update', () => {
    it('round trip: init pins v1 with what is installed; update takes v2, v3 and a revocation in order; show reports it all', async () => {
      const dir = nextStore();
      const created = await runCliOk(
        ['trust', 'init', '--policy', f.v1!, '--store', dir, '--installed', 'drupal/core=10.2.3', '--installed', 'wordpress=6.4.2', '--json'],
        opts,
      );
      expect(created.json).to.deep.include({ ok: true, pinnedVersion: 1, highestPolicyVersion: 1 });

      const before = await runCliOk(['trust', 'show', '--store', dir, '--json'], opts);
      expect(before.json.policy).to.deep.include({ version: 1, threshold: 3, expires: '2030-01-01T00:00:00Z', expired: false });
      expect(before.json.installed).to.deep.equal([
        { product: 'drupal', component: 'core', version: '10.2.3', highest: '10.2.3', updated: '2026-11-23T12:00:00Z' },
        { product: 'wordpress', component: 'core', version: '6.4.2', highest: '6.4.2', updated: '2026-11-23T12:00:00Z' },
      ]);
      expect(before.json.revocations).to.deep.equal([]);

      const up = await runCliOk(['trust', 'update', '--store', dir, f.v2!, f.v3!, f.revV3!, '--json'], opts);
      expect(up.json).to.include({ ok: true, accepted: 3, rejected: 0, written: true });
      expect((up.json.results as Array<{ status: string }>).map((r) => r.status)).to.deep.equal(['accepted', 'accepted', 'accepted']);

      const after = await runCliOk(['trust', 'show', '--store', dir, '--json'], opts);
      expect(after.json).to.deep.include({ pinnedVersion: 1, highestPolicyVersion: 3, rotations: 2 });
      expect((after.json.policy as { version: number; signers: Array<{ name: string }> }).version).to.equal(3);
      expect((after.json.policy as { signers: Array<{ name: string }> }).signers.map((s) => s.name)).to.deep.equal(['v3-0', 'v3-1', 'v3-2']);
      expect(after.json.revocations).to.have.length(1);
      expect((after.json.revocations as Array<Record<string, unknown>>)[0]).to.include({ product: 'drupal', version: '10.2.4', acceptedUnder: 3 });

      const human = await runCliOk(['trust', 'show', '--store', dir], opts);
      expect(human.stdout).to.contain('Policy version 3 (pinned 1, 2 rotations accepted; highest seen 3): 2 of 3 signers');
      expect(human.stdout).to.contain('drupal/core  10.2.3  (highest ever 10.2.3');
      expect(human.stdout).to.contain('drupal core 10.2.4: breaks multilingual sites');
    });

    it('show names the files a partly installed release kept, and says it is not installed', async () => {
      const dir = await init();
      await recordInstall(dir, 'drupal', 'core', '10.2.4', { now: NOW, kept: ['core/modules/system/system.module', 'README.txt'] });
      const shown = await runCliOk(['trust', 'show', '--store', dir, '--json'], opts);
      expect((shown.json.installed as unknown[])[0]).to.deep.include({
        version: '10.2.3',
        partial: { version: '10.2.4', kept: ['core/modules/system/system.module', 'README.txt'], recorded: '2026-11-23T12:00:00Z' },
      });
      const human = await runCliOk(['trust', 'show', '--store', dir], opts);
      expect(human.stdout).to.contain('drupal/core  10.2.3');
      expect(human.stdout).to.contain('10.2.4 PARTLY INSTALLED');
      expect(human.stdout).to.contain('      core/modules/system/system.module');
      expect(human.stdout).to.contain('      README.txt');
    });

    it('reports each file; any rejection exits 1 and the accepted ones are kept', async () => {
      const dir = await init();
      const r = await runCli(['trust', 'update', '--store', dir, f.v2!, f.v1!, f.v4gap!, f.revWeak!, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'POLICY_ROLLBACK', accepted: 1, rejected: 3, written: true });
      const results = r.json.results as Array<{ file: string; status: string; code?: string }>;
      expect(results.map((x) => [x.file, x.code ?? x.status])).to.deep.equal([
        [f.v2, 'accepted'],
        [f.v1, 'POLICY_ROLLBACK'],
        [f.v4gap, 'POLICY_VERSION_GAP'],
        [f.revWeak, 'QUORUM_NOT_MET'],
      ]);
      expect((await runCliOk(['trust', 'show', '--store', dir, '--json'], opts)).json.highestPolicyVersion).to.equal(2);

      const human = await runCli(['trust', 'update', '--store', dir, f.v3!, f.v2expired!], opts);
      expect(human.code).to.equal(1);
      expect(human.stderr).to.match(/accepted +.*v3\.json: policy version 3/);
      expect(human.stderr).to.match(/rejected +.*v2expired\.json: POLICY_ROLLBACK/);
    });

    it('an expired rotation is POLICY_EXPIRED, and when nothing is accepted nothing is written', async () => {
      const dir = await init();
      const before = snapshot(dir);
      const r = await runCli(['trust', 'update', '--store', dir, f.v2expired!, f.revWeak!, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ code: 'POLICY_EXPIRED', accepted: 0, written: false });
      expect(snapshot(dir)).to.deep.equal(before);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('a revocation already held is reported unchanged (exit 0) and nothing is written', async () => {
      const dir = await init();
      await runCliOk(['trust', 'update', '--store', dir, f.revV1!], opts);
      const before = snapshot(dir);
      const r = await runCliOk(['trust', 'update', '--store', dir, f.revV1!, '--json'], opts);
      expect(r.json).to.include({ ok: true, accepted: 0, unchanged: 1, written: false });
      expect(snapshot(dir)).to.deep.equal(before);
    });

    it('refuses to init over an existing store (STORE_EXISTS, exit 2) and leaves it as it was', async () => {
      const dir = await init();
      const before = snapshot(dir);
      const r = await runCli(['trust', 'init', '--policy', f.v2!, '--store', dir, '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'STORE_EXISTS' });
      expect(snapshot(dir)).to.deep.equal(before);
    });

    it('a bad --installed is a usage error; a policy without its own quorum is rejected; neither creates a store', async () => {
      const dir = nextStore();
      const bad = await runCli(['trust', 'init', '--policy', f.v1!, '--store', dir, '--installed', 'drupal/core', '--json'], opts);
      expect([bad.code, bad.json.code]).to.deep.equal([2, 'USAGE']);
      const unsigned = await runCli(['trust', 'init', '--policy', f.unsigned!, '--store', dir, '--json'], opts);
      expect([unsigned.code, unsigned.json.code]).to.deep.equal([1, 'POLICY_UNSIGNED']);
      expect(existsSync(state(dir))).to.equal(false);
    });

    it('a missing store is STORE_MISSING (exit 2) for show, update, record and verify', async () => {
      const dir = nextStore();
      for (const args of [
        ['trust', 'show', '--store', dir],
        ['trust', 'update', '--store', dir, f.revV1!],
        ['trust', 'record', '--store', dir, 'drupal=10.2.4'],
        ['verify', f.bundle!, '--store', dir],
      ]) {
        const r = await runCli([...args, '--json'], opts);
        expect([r.code, r.json.code], args.join(' ')).to.deep.equal([2, 'STORE_MISSING']);
      }
      expect(existsSync(dir)).to.equal(false);
    });

    it('a corrupt store is STORE_CORRUPT (exit 2) everywhere, and state.json is left byte-identical', async () => {
      const dir = await init();
      const text = readFileSync(state(dir));
      for (const corrupt of [text.subarray(0, text.length - 10), Buffer.from('garbage'), Buffer.from(JSON.stringify({ format: 1 }))]) {
        writeFileSync(state(dir), corrupt);
        const before = snapshot(dir);
        for (const args of [
          ['trust', 'show', '--store', dir],
          ['trust', 'update', '--store', dir, f.revV1!],
          ['trust', 'record', '--store', dir, 'drupal=10.2.4'],
          ['trust', 'init', '--policy', f.v1!, '--store', dir],
          ['verify', f.bundle!, '--store', dir],
        ]) {
          const r = await runCli([...args, '--json'], opts);
          const want = args[1] === 'init' ? 'STORE_EXISTS' : 'STORE_CORRUPT';
          expect([r.code, r.json.code], args.join(' ')).to.deep.equal([2, want]);
        }
        expect(snapshot(dir)).to.deep.equal(before);
        expect(readdirSync(dir)).to.deep.equal(['state.json']);
      }
    });

    it('help documents the layout, the permissions and the exit codes of store errors', async () => {
      const r = await runCliOk(['trust', '--help']);
      const text = r.stdout.replace(/\s+/g, ' ');
      for (const s of ['state.json', '0644', '0755', 'STORE_CORRUPT', 'STORE_LOCKED', '2 usage or I/O error, and every store error'])
        expect(text).to.contain(s);
    });
  });

  describe('verify --store', () => {
    it('verifies against the store: the installed version applies; after a revocation is accepted the release is REVOKED', async () => {
      const dir = await init();
      const ok = await runCli(['verify', f.bundle!, '--store', dir, '--json'], opts);
      expect(ok.code, ok.stdout).to.equal(0);
      expect(ok.json.notChecked).to.deep.equal([]);
      await runCliOk(['trust', 'update', '--store', dir, f.revV1!], opts);
      const r = await runCli(['verify', f.bundle!, '--store', dir, '--json'], opts);
      expect(r.code).to.equal(1);
      expect((r.json.reasons as Array<{ code: string }>).map((x) => x.code)).to.deep.equal(['REVOKED']);
    });

    it('checks rollback against the highest version ever installed (trust record 10.2.4, then a downgrade to 10.2.3)', async () => {
      const dir = await init();
      await runCliOk(['trust', 'record', '--store', dir, 'drupal/core=10.2.4'], opts);
      const down = await runCliOk(['trust', 'record', '--store', dir, 'drupal=10.2.3', '--json'], opts);
      expect((down.json.recorded as Array<Record<string, string>>)[0]).to.include({ version: '10.2.3', highest: '10.2.4' });
      const r = await runCli(['verify', f.bundle!, '--store', dir, '--json'], opts);
      expect(r.code).to.equal(1);
      expect((r.json.reasons as Array<{ code: string }>).map((x) => x.code)).to.deep.equal(['ROLLBACK']);
    });

    it('a release for something this site has not installed is WRONG_TARGET', async () => {
      const dir = await init(['wordpress=6.4.2']);
      const r = await runCli(['verify', f.bundle!, '--store', dir], opts);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('WRONG_TARGET: drupal core is not installed on this site');
    });

    it('uses the policy the store trusts now: after rotating to new keys, a release signed by the old ones fails', async () => {
      const dir = await init();
      await runCliOk(['trust', 'update', '--store', dir, f.v2!], opts);
      const r = await runCli(['verify', f.bundle!, '--store', dir, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json.code).to.equal('QUORUM_NOT_MET');
    });

    it('needs exactly one of --policy and --store; with --store the site comes from the store', async () => {
      const dir = await init();
      for (const extra of [
        ['--store', dir, '--policy', f.v1!],
        [],
        ['--store', dir, '--installed', '10.2.3'],
        ['--store', dir, '--product', 'drupal'],
        ['--store', dir, '--chain', f.v2!],
      ]) {
        const r = await runCli(['verify', f.bundle!, ...extra, '--json'], opts);
        expect([r.code, r.json.code], extra.join(' ')).to.deep.equal([2, 'USAGE']);
      }
      expect((await runCli(['verify', f.bundle!, '--policy', f.v1!], opts)).code).to.equal(0);
    });
  });
});
