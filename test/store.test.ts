import { rejectionCode } from './support/codes.js';
import { expect } from 'chai';
import fs, { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { CountersignError, StoreError, VerificationError } from '../lib/core/errors.js';
import { acquireLock } from '../lib/node/lock.js';
import { checkRelease } from '../lib/core/manifest.js';
import { parseInstalledSpec, verifyWithStore, type StoreState, type UpdateFile } from '../lib/core/trust-state.js';
import { initStore, openStore, recordInstall, storeFiles, updateStore } from '../lib/node/trust-store.js';
import { bundleInput, envelopeBytes, makePolicy, makeRelease, NOW, tempDir } from './support/fixtures.js';
import { firstGeneration, nextGeneration, revocationBytes, signedRelease, type Generation } from './support/store-fixtures.js';

async function verifyCodes(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(VerificationError);
    return (err as VerificationError).reasons.map((r) => r.code);
  }
  throw new Error('expected verification to fail');
}

const file = (name: string, bytes: Uint8Array): UpdateFile => ({ name, bytes });
const opts = { now: NOW };

describe('site trust store (lib/core/trust-state.ts, lib/node/trust-store.ts)', () => {
  const release = makeRelease();
  let root: string;
  let v1: Generation;
  let n = 0;
  /** A fresh store directory path (not yet created). */
  const nextDir = () => join(root, `store-${n++}`);
  const statePath = (dir: string) => storeFiles(dir).state;
  const readState = (dir: string) => JSON.parse(readFileSync(statePath(dir), 'utf8')) as StoreState;
  /** The bytes of state.json and its inode: a rewrite with equal bytes still shows (rename makes a new inode). */
  const snapshot = (dir: string) => ({ bytes: readFileSync(statePath(dir)).toString('base64'), ino: statSync(statePath(dir)).ino });

  async function newStore(installed = [{ product: 'drupal', component: 'core', version: '10.2.3' }]): Promise<string> {
    const dir = nextDir();
    await initStore(dir, v1.bytes, { ...opts, installed });
    return dir;
  }

  before(() => {
    root = tempDir('countersign-store-');
    v1 = firstGeneration();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe('init and open', () => {
    it('pins a policy and records what is installed; reopening re-verifies and returns the same', async () => {
      const dir = nextDir();
      const created = await initStore(dir, v1.bytes, { ...opts, installed: [parseInstalledSpec('drupal/core=10.2.3'), parseInstalledSpec('wordpress=6.4.2')] });
      expect(created.trusted.policy.version).to.equal(1);
      const store = await openStore(dir);
      expect(store.trusted.policy).to.deep.equal(created.trusted.policy);
      expect(store.state.highestPolicyVersion).to.equal(1);
      expect(store.state.installed).to.deep.equal({
        'drupal/core': { version: '10.2.3', highest: '10.2.3', updated: '2026-11-23T12:00:00Z' },
        'wordpress/core': { version: '6.4.2', highest: '6.4.2', updated: '2026-11-23T12:00:00Z' },
      });
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('refuses to init over an existing store (STORE_EXISTS), leaving it byte-identical', async () => {
      const dir = await newStore();
      const before = snapshot(dir);
      expect(await rejectionCode(initStore(dir, v1.bytes, opts))).to.equal('STORE_EXISTS');
      expect(snapshot(dir)).to.deep.equal(before);
    });

    it('two concurrent inits of one directory: one store is created, the other is STORE_EXISTS', async () => {
      const dir = nextDir();
      const other = firstGeneration();
      const results = await Promise.allSettled([initStore(dir, v1.bytes, opts), initStore(dir, other.bytes, opts)]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected']);
      expect(((results[1] as PromiseRejectedResult).reason as StoreError).code).to.equal('STORE_EXISTS');
      expect((await openStore(dir)).trusted.policy.signers.map((s) => s.id)).to.deep.equal(v1.signers.map((s) => s.id));
    });

    it('refuses to pin a policy not signed by a quorum of its own keys, and creates no store', async () => {
      const unsigned = nextGeneration(v1, { version: 1, signCurrent: 0, signNext: 1 });
      const dir = nextDir();
      expect(await rejectionCode(initStore(dir, unsigned.bytes, opts))).to.equal('POLICY_UNSIGNED');
      expect(existsSync(statePath(dir))).to.equal(false);
    });

    it('refuses a malformed --installed spec as a usage error', () => {
      for (const bad of ['drupal', 'drupal/core/x=1', 'Drupal=10.2.3', 'drupal=10.x-dev', 'drupal/=1.0']) {
        expect(() => parseInstalledSpec(bad), bad)
          .to.throw(CountersignError)
          .with.property('code', 'USAGE');
      }
      expect(parseInstalledSpec('drupal=10.2.3')).to.deep.equal({ product: 'drupal', component: 'core', version: '10.2.3' });
    });

    it('a missing store is STORE_MISSING for readers and writers, and nothing is created', async () => {
      const dir = nextDir();
      expect(await rejectionCode(openStore(dir))).to.equal('STORE_MISSING');
      expect(await rejectionCode(updateStore(dir, [file('r', revocationBytes(v1))], opts))).to.equal('STORE_MISSING');
      expect(await rejectionCode(recordInstall(dir, 'drupal', 'core', '10.2.4', opts))).to.equal('STORE_MISSING');
      expect(existsSync(dir)).to.equal(false);
    });

    it('writes state.json 0644 in a 0755 directory whatever the umask (the web server must read it; only the owner writes)', async () => {
      const old = process.umask(0o077);
      try {
        const dir = await newStore();
        expect(statSync(dir).mode & 0o777).to.equal(0o755);
        expect(statSync(statePath(dir)).mode & 0o777).to.equal(0o644);
        await recordInstall(dir, 'drupal', 'core', '10.2.4', opts);
        expect(statSync(statePath(dir)).mode & 0o777).to.equal(0o644);
      } finally {
        process.umask(old);
      }
    });
  });

  describe('update: policy rotations', () => {
    it('accepts version N+1 only with a quorum of N and a quorum of N+1', async () => {
      const dir = await newStore();
      const before = snapshot(dir);
      const onlyOld = nextGeneration(v1, { signNext: 1 });
      const onlyNew = nextGeneration(v1, { signCurrent: 2 });
      const r = await updateStore(dir, [file('only-old', onlyOld.bytes), file('only-new', onlyNew.bytes)], opts);
      expect(r.results.map((x) => x.status === 'rejected' && x.code)).to.deep.equal(['QUORUM_NOT_MET', 'QUORUM_NOT_MET']);
      expect(r.written).to.equal(false);
      expect(snapshot(dir)).to.deep.equal(before);

      const v2 = nextGeneration(v1);
      const ok = await updateStore(dir, [file('v2', v2.bytes)], opts);
      expect(ok.results).to.deep.equal([{ file: 'v2', status: 'accepted', kind: 'policy', policyVersion: 2, expires: '2030-01-01T00:00:00Z' }]);
      const store = await openStore(dir);
      expect(store.trusted.policy.version).to.equal(2);
      expect(store.state.highestPolicyVersion).to.equal(2);
      expect(store.trusted.policy.signers.map((s) => s.name)).to.deep.equal(['v2-0', 'v2-1', 'v2-2']);
    });

    it('walks v1 -> v2 -> v3 in one update, in the order given', async () => {
      const v2 = nextGeneration(v1);
      const v3 = nextGeneration(v2);
      const dir = await newStore();
      const r = await updateStore(dir, [file('v2', v2.bytes), file('v3', v3.bytes)], opts);
      expect(r.results.map((x) => x.status)).to.deep.equal(['accepted', 'accepted']);
      expect((await openStore(dir)).trusted.policy.version).to.equal(3);

      // Order matters: v3 cannot follow v1.
      const other = await newStore();
      const rev = await updateStore(other, [file('v3', v3.bytes), file('v2', v2.bytes)], opts);
      expect(rev.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).to.deep.equal(['POLICY_VERSION_GAP', 'accepted']);
      expect(rev.rejected).to.equal(1);
      expect((await openStore(other)).trusted.policy.version).to.equal(2);
    });

    it('rejects an old policy replayed after a rotation (POLICY_ROLLBACK), and the current one again', async () => {
      const v2 = nextGeneration(v1);
      const dir = await newStore();
      await updateStore(dir, [file('v2', v2.bytes)], opts);
      const r = await updateStore(dir, [file('v1', v1.bytes), file('v2-again', v2.bytes)], opts);
      expect(r.results.map((x) => x.status === 'rejected' && x.code)).to.deep.equal(['POLICY_ROLLBACK', 'POLICY_ROLLBACK']);
      expect((await openStore(dir)).trusted.policy.version).to.equal(2);
    });

    it('rejects a skipped version (POLICY_VERSION_GAP)', async () => {
      const dir = await newStore();
      const v3 = nextGeneration(v1, { version: 3 });
      const r = await updateStore(dir, [file('v3', v3.bytes)], opts);
      expect(r.results[0]).to.include({ status: 'rejected', code: 'POLICY_VERSION_GAP' });
      expect((await openStore(dir)).trusted.policy.version).to.equal(1);
    });

    it('rejects a next policy that has already expired (POLICY_EXPIRED)', async () => {
      const dir = await newStore();
      const before = snapshot(dir);
      const stale = nextGeneration(v1, { expires: new Date('2026-11-01T00:00:00Z') });
      const r = await updateStore(dir, [file('v2-expired', stale.bytes)], opts);
      expect(r.results[0]).to.include({ status: 'rejected', code: 'POLICY_EXPIRED' });
      expect(snapshot(dir)).to.deep.equal(before);
    });

    it('a site that was offline passes through rotations that have since expired, when the chain ends on a fresh one', async () => {
      const dir = await newStore();
      const v2 = nextGeneration(v1, { expires: new Date('2026-11-01T00:00:00Z') });
      const v3 = nextGeneration(v2);
      const r = await updateStore(dir, [file('v2-expired', v2.bytes), file('v3', v3.bytes)], opts);
      expect(r.results.map((x) => x.status)).to.deep.equal(['accepted', 'accepted']);
      expect((await openStore(dir)).trusted.policy.version).to.equal(3);
      // Ending on the expired one is refused, and nothing is written.
      const other = await newStore();
      const before = snapshot(other);
      const only = await updateStore(other, [file('v2-expired', v2.bytes)], opts);
      expect(only.results[0]).to.include({ status: 'rejected', code: 'POLICY_EXPIRED' });
      expect(snapshot(other)).to.deep.equal(before);
    });

    it('an expired pinned policy refuses revocations (POLICY_EXPIRED) but can still rotate to a fresh one', async () => {
      const p = makePolicy(5, 3, { expires: new Date('2026-06-01T00:00:00Z') });
      const old: Generation = { version: 1, signers: p.signers, threshold: 3, bytes: envelopeBytes(p.signed) };
      const dir = nextDir();
      await initStore(dir, old.bytes, opts);
      const v2 = nextGeneration(old);
      const r = await updateStore(dir, [file('revoke-v1', revocationBytes(old)), file('v2', v2.bytes), file('revoke-v2', revocationBytes(v2))], opts);
      expect(r.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).to.deep.equal(['POLICY_EXPIRED', 'accepted', 'accepted']);
    });

    it('rejects a manifest given as an update (WRONG_TYPE)', async () => {
      const dir = await newStore();
      const r = await updateStore(dir, [file('release', bundleInput(signedRelease(v1, release).envelope).envelopeBytes)], opts);
      expect(r.results[0]).to.include({ status: 'rejected', code: 'WRONG_TYPE' });
    });
  });

  describe('update: revocations', () => {
    it('accepts a quorum-signed revocation; verifying that release against the store is then REVOKED', async () => {
      const dir = await newStore();
      const signed = signedRelease(v1, release);
      await verifyWithStore(await openStore(dir), bundleInput(signed.envelope, signed.archive), opts);
      const r = await updateStore(dir, [file('revoke', revocationBytes(v1))], opts);
      expect(r.results[0]).to.include({ status: 'accepted', kind: 'revocation', policyVersion: 1 });
      const store = await openStore(dir);
      expect(store.revocations.map((x) => x.version)).to.deep.equal(['10.2.4']);
      expect(await verifyCodes(verifyWithStore(store, bundleInput(signed.envelope, signed.archive), opts))).to.deep.equal(['REVOKED']);
    });

    it('rejects a revocation short of the quorum, and holds a repeated one once (unchanged, nothing written)', async () => {
      const dir = await newStore();
      const weak = await updateStore(dir, [file('weak', revocationBytes(v1, '10.2.4', v1.signers.slice(0, 2)))], opts);
      expect(weak.results[0]).to.include({ status: 'rejected', code: 'QUORUM_NOT_MET' });
      const rev = revocationBytes(v1);
      await updateStore(dir, [file('revoke', rev)], opts);
      const before = snapshot(dir);
      const again = await updateStore(dir, [file('revoke-again', rev)], opts);
      expect(again.results[0]).to.include({ status: 'unchanged' });
      expect(again.written).to.equal(false);
      expect(snapshot(dir)).to.deep.equal(before);
      expect((await openStore(dir)).revocations).to.have.length(1);
    });

    it('a revocation must verify against the policy trusted at that point (after a rotation, the new keys)', async () => {
      const v2 = nextGeneration(v1);
      const dir = await newStore();
      const r = await updateStore(
        dir,
        [
          file('v1-revoke', revocationBytes(v1, '10.2.4')),
          file('v2', v2.bytes),
          file('v1-keys', revocationBytes(v1, '10.2.5')),
          file('v2-keys', revocationBytes(v2, '10.2.6')),
        ],
        opts,
      );
      expect(r.results.map((x) => (x.status === 'rejected' ? x.code : x.status))).to.deep.equal(['accepted', 'accepted', 'QUORUM_NOT_MET', 'accepted']);
      // The revocation accepted under v1 still re-verifies on open, against v1, after the rotation.
      const store = await openStore(dir);
      expect(store.revocations.map((x) => x.version)).to.deep.equal(['10.2.4', '10.2.6']);
      expect(store.state.revocations.map((x) => x.policyVersion)).to.deep.equal([1, 2]);
    });
  });

  describe('verify against the store', () => {
    it('takes product/component from the release; one this site has not installed is WRONG_TARGET', async () => {
      const signed = signedRelease(v1, release);
      const input = () => bundleInput(signed.envelope, signed.archive);
      const ok = await verifyWithStore(await openStore(await newStore()), input(), opts);
      expect(ok.notChecked).to.deep.equal([]);
      const wp = await openStore(await newStore([{ product: 'wordpress', component: 'core', version: '6.4.2' }]));
      expect(await verifyCodes(verifyWithStore(wp, input(), opts))).to.deep.equal(['WRONG_TARGET']);
      const installedOld = await openStore(await newStore([{ product: 'drupal', component: 'core', version: '10.2.2' }]));
      expect(await verifyCodes(verifyWithStore(installedOld, input(), opts))).to.deep.equal(['NOT_APPLICABLE']);
    });

    it('checks rollback against the highest version ever installed: 10.2.4 then 10.2.3 recorded, a 10.2.4 bundle is ROLLBACK', async () => {
      const dir = await newStore();
      const up = await recordInstall(dir, 'drupal', 'core', '10.2.4', opts);
      expect(up).to.include({ version: '10.2.4', highest: '10.2.4' });
      const down = await recordInstall(await openStore(dir), 'drupal', 'core', '10.2.3', opts);
      expect(down).to.include({ version: '10.2.3', highest: '10.2.4' });
      const store = await openStore(dir);
      expect(store.state.installed['drupal/core']).to.include({ version: '10.2.3', highest: '10.2.4' });
      const signed = signedRelease(v1, release);
      // Installed is 10.2.3, which 10.2.4 applies to: only the highest-ever rule rejects it.
      expect(await verifyCodes(verifyWithStore(store, bundleInput(signed.envelope, signed.archive), opts))).to.deep.equal(['ROLLBACK']);
    });

    it('a release recorded with kept files is partial: the version before stays (and the release still verifies), a full install clears it', async () => {
      const dir = await newStore();
      const partial = await recordInstall(dir, 'drupal', 'core', '10.2.4', { ...opts, kept: ['core/modules/system/system.module'] });
      expect(partial).to.deep.include({
        version: '10.2.3',
        highest: '10.2.3',
        partial: { version: '10.2.4', kept: ['core/modules/system/system.module'], recorded: partial.updated },
      });
      const store = await openStore(dir);
      expect(store.state.installed['drupal/core']!.partial?.version).to.equal('10.2.4');
      const signed = signedRelease(v1, release);
      await verifyWithStore(store, bundleInput(signed.envelope, signed.archive), opts);
      expect(await rejectionCode(recordInstall(await newStore([]), 'drupal', 'core', '10.2.4', { ...opts, kept: ['a.php'] }))).to.equal('USAGE');
      const full = await recordInstall(dir, 'drupal', 'core', '10.2.4', opts);
      expect(full).to.not.have.property('partial');
      expect(full).to.include({ version: '10.2.4', highest: '10.2.4' });
    });

    it('checkRelease: highestInstalled alone is a floor, and both floors give one ROLLBACK', () => {
      const m = release.manifest;
      const codes = (site: Parameters<typeof checkRelease>[2]) => checkRelease(m, 1, site, NOW).map((r) => r.code);
      expect(codes({ highestInstalled: '10.2.4' })).to.deep.equal(['ROLLBACK']);
      expect(codes({ highestInstalled: '10.2.3' })).to.deep.equal([]);
      expect(codes({ installed: '10.2.4', highestInstalled: '10.2.5' })).to.deep.equal(['NOT_APPLICABLE', 'ROLLBACK']);
      expect(checkRelease(m, 1, { installed: '10.2.3', highestInstalled: '10.2.4' }, NOW)[0]!.message).to.contain('highest ever installed 10.2.4');
    });

    it('a release signed by keys rotated out no longer verifies through the store', async () => {
      const dir = await newStore();
      await updateStore(dir, [file('v2', nextGeneration(v1).bytes)], opts);
      const signed = signedRelease(v1, release);
      expect(await verifyCodes(verifyWithStore(await openStore(dir), bundleInput(signed.envelope, signed.archive), opts))).to.include('QUORUM_NOT_MET');
    });
  });

  describe('a corrupt store is reported (STORE_CORRUPT), never reset or overwritten', () => {
    /** Every way in must refuse it, and the file must be left byte for byte as it was. */
    async function expectCorrupt(dir: string): Promise<void> {
      const before = snapshot(dir);
      expect(await rejectionCode(openStore(dir)), 'open').to.equal('STORE_CORRUPT');
      expect(await rejectionCode(updateStore(dir, [file('revoke', revocationBytes(v1))], opts)), 'update').to.equal('STORE_CORRUPT');
      expect(await rejectionCode(recordInstall(dir, 'drupal', 'core', '10.2.4', opts)), 'record').to.equal('STORE_CORRUPT');
      expect(await rejectionCode(initStore(dir, v1.bytes, opts)), 'init').to.equal('STORE_EXISTS');
      expect(snapshot(dir)).to.deep.equal(before);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    }
    const rewrite = (dir: string, edit: (s: StoreState) => void) => {
      const s = readState(dir);
      edit(s);
      writeFileSync(statePath(dir), JSON.stringify(s));
    };

    it('truncated', async () => {
      const dir = await newStore();
      const text = readFileSync(statePath(dir));
      writeFileSync(statePath(dir), text.subarray(0, Math.floor(text.length / 2)));
      await expectCorrupt(dir);
      writeFileSync(statePath(dir), '');
      await expectCorrupt(dir);
    });

    it('state.json replaced by a symlink or a FIFO: refused without following or waiting', async () => {
      const dir = await newStore();
      const real = join(dir, '..', `${dir.split('/').pop()}-real.json`);
      renameSync(statePath(dir), real);
      symlinkSync(real, statePath(dir));
      expect(await rejectionCode(openStore(dir))).to.equal('STORE_CORRUPT');
      rmSync(statePath(dir));
      execFileSync('mkfifo', [statePath(dir)]);
      expect(await rejectionCode(openStore(dir))).to.equal('STORE_CORRUPT');
    });

    it('garbage', async () => {
      const dir = await newStore();
      writeFileSync(statePath(dir), Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x01]));
      await expectCorrupt(dir);
    });

    it('not matching the schema (an unknown field; an unknown format)', async () => {
      const dir = await newStore();
      rewrite(dir, (s) => Object.assign(s, { trustEverything: true }));
      await expectCorrupt(dir);
      const other = await newStore();
      rewrite(other, (s) => Object.assign(s, { format: 2 }));
      await expectCorrupt(other);
    });

    it('a tampered pinned policy (signatures dropped; payload swapped)', async () => {
      const dir = await newStore();
      rewrite(dir, (s) => {
        const env = JSON.parse(s.pinned);
        env.signatures = env.signatures.slice(0, 1);
        s.pinned = JSON.stringify(env);
      });
      await expectCorrupt(dir);
      const other = await newStore();
      const impostor = nextGeneration(v1, { version: 1, signCurrent: 0, signNext: 1 });
      rewrite(other, (s) => {
        const env = JSON.parse(s.pinned);
        env.payload = JSON.parse(Buffer.from(impostor.bytes).toString()).payload;
        s.pinned = JSON.stringify(env);
      });
      await expectCorrupt(other);
    });

    it('a chain that no longer walks, or a highest policy version that does not match it', async () => {
      const v2 = nextGeneration(v1);
      const v3 = nextGeneration(v2);
      const dir = await newStore();
      await updateStore(dir, [file('v2', v2.bytes), file('v3', v3.bytes)], opts);
      rewrite(dir, (s) => s.rotations.splice(0, 1));
      await expectCorrupt(dir);
      const other = await newStore();
      await updateStore(other, [file('v2', v2.bytes)], opts);
      rewrite(other, (s) => (s.highestPolicyVersion = 5));
      await expectCorrupt(other);
    });

    it('installs and revocations that do not add up', async () => {
      const dir = await newStore();
      rewrite(dir, (s) => (s.installed['drupal/core'] = { version: '10.2.4', highest: '10.2.3', updated: '2026-11-23T12:00:00Z' }));
      await expectCorrupt(dir);
      const other = await newStore();
      await updateStore(other, [file('revoke', revocationBytes(v1))], opts);
      rewrite(other, (s) => (s.revocations[0]!.policyVersion = 7));
      await expectCorrupt(other);
    });
  });

  describe('concurrent writers are serialised by DIR/lock', () => {
    it('parallel updates wait for the lock and none is lost', async () => {
      const dir = await newStore();
      const lock = await acquireLock(storeFiles(dir).lock);
      const versions = ['10.2.4', '10.2.5', '10.2.6', '10.2.7', '10.2.8', '10.2.9'];
      let settled = 0;
      const updates = versions.map((v) => updateStore(dir, [file(v, revocationBytes(v1, v))], opts).finally(() => settled++));
      await new Promise((r) => setTimeout(r, 150));
      expect(settled, 'an update ran while the lock was held').to.equal(0);
      expect(readState(dir).revocations).to.have.length(0);
      lock.release();
      const results = await Promise.all(updates);
      expect(results.map((r) => r.accepted)).to.deep.equal(versions.map(() => 1));
      expect((await openStore(dir)).revocations.map((r) => r.version).sort()).to.deep.equal(versions);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('parallel updates from separate processes: none is lost', async function () {
      this.timeout(30_000);
      const dir = await newStore();
      const storeModule = fileURLToPath(new URL('../lib/node/trust-store.ts', import.meta.url));
      const script = join(root, 'child-update.mts');
      writeFileSync(
        script,
        `import { readFileSync } from 'node:fs';\nimport { updateStore } from ${JSON.stringify(storeModule)};\n` +
          `const [dir, rev] = process.argv.slice(2);\nprocess.stdout.write('ready\\n');\n` +
          `const r = await updateStore(dir, [{ name: rev, bytes: readFileSync(rev) }], { now: new Date(${JSON.stringify(NOW.toISOString())}), lockTimeoutMs: 20000 });\n` +
          `process.stdout.write(JSON.stringify(r.results) + '\\n');\n`,
      );
      const versions = ['10.3.1', '10.3.2', '10.3.3', '10.3.4'];
      const lock = await acquireLock(storeFiles(dir).lock);
      const children = versions.map((v) => {
        const rev = join(root, `rev-${v}.json`);
        writeFileSync(rev, revocationBytes(v1, v));
        const child = spawn(process.execPath, ['--import', 'tsx', script, dir, rev], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
        let out = '';
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        const done = new Promise<string>((resolve, reject) =>
          child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)))),
        );
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d) => (out += d).includes('ready') && resolve());
          done.catch(reject);
        });
        return { ready, done };
      });
      await Promise.all(children.map((c) => c.ready));
      await new Promise((r) => setTimeout(r, 200));
      expect(readState(dir).revocations, 'a child wrote while the lock was held').to.have.length(0);
      lock.release();
      const outs = await Promise.all(children.map((c) => c.done));
      expect(outs.every((o) => o.includes('"status":"accepted"'))).to.equal(true);
      expect((await openStore(dir)).revocations.map((r) => r.version).sort()).to.deep.equal(versions);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('a live holder that does not let go is STORE_LOCKED after the timeout, and nothing changes', async () => {
      const dir = await newStore();
      const before = snapshot(dir);
      const lock = await acquireLock(storeFiles(dir).lock);
      try {
        expect(await rejectionCode(updateStore(dir, [file('revoke', revocationBytes(v1))], { ...opts, lockTimeoutMs: 100 }))).to.equal('STORE_LOCKED');
        expect(await rejectionCode(recordInstall(dir, 'drupal', 'core', '10.2.4', { ...opts, lockTimeoutMs: 100 }))).to.equal('STORE_LOCKED');
        expect(snapshot(dir)).to.deep.equal(before);
        expect(existsSync(storeFiles(dir).lock), 'the holder keeps its lock').to.equal(true);
      } finally {
        lock.release();
      }
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('a lock left by a dead process is taken over (also when a dead takeover guard is in the way)', async () => {
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      const dir = await newStore();
      const { lock } = storeFiles(dir);
      writeFileSync(lock, `${dead}\n0\n${'ab'.repeat(16)}\n`);
      const r = await updateStore(dir, [file('revoke', revocationBytes(v1))], { ...opts, lockTimeoutMs: 1000 });
      expect(r.accepted).to.equal(1);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);

      writeFileSync(lock, `${dead}\n0\n${'cd'.repeat(16)}\n`);
      writeFileSync(`${lock}.takeover`, `${dead}\n0\n${'ef'.repeat(16)}\n`);
      await recordInstall(dir, 'drupal', 'core', '10.2.4', { ...opts, lockTimeoutMs: 1000 });
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('a lock naming this very process that it does not hold (a previous process with the same pid) is taken over', async () => {
      const dir = await newStore();
      writeFileSync(storeFiles(dir).lock, `${process.pid}\n${threadId}\n${'12'.repeat(16)}\n`);
      await recordInstall(dir, 'drupal', 'core', '10.2.4', { ...opts, lockTimeoutMs: 1000 });
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it('a lock that is not ours to judge (unparseable) is never taken over', async () => {
      const dir = await newStore();
      writeFileSync(storeFiles(dir).lock, 'not a pid\n');
      const err = await updateStore(dir, [file('revoke', revocationBytes(v1))], { ...opts, lockTimeoutMs: 100 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreError).with.property('code', 'STORE_LOCKED');
      expect(readFileSync(storeFiles(dir).lock, 'utf8')).to.equal('not a pid\n');
    });
  });

  describe('durable writes leave no temporary files behind', () => {
    it('a write that fails at rename leaves state.json as it was and no temporary file', async () => {
      const dir = await newStore();
      const before = snapshot(dir);
      const original = fs.renameSync;
      fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
        if (String(to).endsWith('state.json')) throw Object.assign(new Error('simulated EIO'), { code: 'EIO' });
        return original(from, to);
      }) as typeof fs.renameSync;
      syncBuiltinESMExports();
      try {
        expect(await rejectionCode(updateStore(dir, [file('revoke', revocationBytes(v1))], opts))).to.equal('IO');
        expect(await rejectionCode(recordInstall(dir, 'drupal', 'core', '10.2.4', opts))).to.equal('IO');
      } finally {
        fs.renameSync = original;
        syncBuiltinESMExports();
      }
      expect(snapshot(dir)).to.deep.equal(before);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });

    it("a crashed writer's temporary file is cleared by the next write", async () => {
      const dir = await newStore();
      writeFileSync(join(dir, '.state.json.0123456789ab.tmp'), '{"half": ');
      await recordInstall(dir, 'drupal', 'core', '10.2.4', opts);
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
    });
  });
});
