// CLI contract: `policy rotate` + `assemble` across two quorums + `verify --chain`, and `revoke` + `verify --revocation`.
import { expect } from 'chai';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { envelopePayload, makeCliKeys, makeCliPolicy, runCli, runCliOk, type CliKey } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';

describe('cli policy rotation and revocation', () => {
  let dir: string;
  let keys: Record<string, CliKey>;
  let v1: { unsigned: string; signed: string };
  let bundle: string;
  const opts = { now: NOW };

  async function sign(doc: string, who: string[]): Promise<string[]> {
    const sigs: string[] = [];
    for (const n of who) {
      const sig = join(dir, `${doc.split('/').pop()}.${n}.sig`);
      // --force: some tests sign the same document again under the same name.
      await runCliOk(['sign', doc, '--key', keys[n]!.key, '--yes', '--out', sig, '--force'], opts);
      sigs.push(sig);
    }
    return sigs;
  }

  before(async () => {
    dir = tempDir('countersign-cli-rotation-');
    keys = await makeCliKeys(dir, ['alice', 'bob', 'carol', 'dave', 'frank']);
    v1 = await makeCliPolicy(dir, [keys.alice!, keys.bob!, keys.carol!, keys.dave!], { threshold: 3, expires: '2028-01-01T00:00:00Z', now: NOW });
    const out = join(dir, 'rel');
    await runCliOk(
      [
        'build',
        '--source',
        writeTree(join(dir, 'new'), NEW_TREE),
        '--base',
        writeTree(join(dir, 'old'), BASE_TREE),
        '--product',
        'drupal',
        '--version',
        '10.2.4',
        '--applies-to',
        '10.2.3',
        '--policy',
        v1.signed,
        '--expires',
        '2027-01-01T00:00:00Z',
        '--out',
        out,
      ],
      opts,
    );
    const manifest = join(out, 'drupal-10.2.4.manifest.json');
    bundle = join(dir, 'drupal-10.2.4.bundle');
    await runCliOk(['assemble', manifest, '--policy', v1.signed, '--out', bundle, ...(await sign(manifest, ['alice', 'bob', 'carol']))], opts);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('policy rotate (the lost-laptop path)', () => {
    let v2: string;
    let v2signed: string;

    before(async () => {
      v2 = join(dir, 'policy-2.json');
      v2signed = join(dir, 'policy-2.signed.json');
      await runCliOk(
        [
          'policy',
          'rotate',
          '--from',
          v1.signed,
          '--remove-signer',
          keys.dave!.keyid.slice(0, 12),
          '--add-signer',
          keys.frank!.pub,
          '--expires',
          '2028-06-01T00:00:00Z',
          '--out',
          v2,
        ],
        opts,
      );
    });

    it('writes version N+1 with the signer removed and the new one added', () => {
      const p = envelopePayload(v2);
      expect(p.version).to.equal(2);
      expect(p.signers.map((s: { name: string }) => s.name)).to.deep.equal(['alice', 'bob', 'carol', 'frank']);
      expect(p.threshold).to.equal(3);
    });

    it('refuses an ambiguous or unknown --remove-signer', async () => {
      const r = await runCli(['policy', 'rotate', '--from', v1.signed, '--remove-signer', 'nobody', '--out', join(dir, 'x.json'), '--json'], opts);
      expect(r.code).to.equal(2);
      expect(existsSync(join(dir, 'x.json'))).to.equal(false);
    });

    it('assemble says which side is short: the new quorum alone is not enough', async () => {
      const sigs = await sign(v2, ['alice', 'frank', 'bob']);
      const onlyNew = await runCli(['assemble', v2, '--policy', v1.signed, '--out', v2signed, sigs[1]!, sigs[0]!, '--json'], opts);
      expect(onlyNew.code).to.equal(1);
      expect(onlyNew.json).to.include({ code: 'QUORUM_NOT_MET' });
      const sides = (onlyNew.json.details as { sides: Array<{ policy: string; met: boolean }> }).sides;
      expect(sides.map((s) => s.met)).to.deep.equal([false, false]);
      const oldShort = await runCli(['assemble', v2, '--policy', v1.signed, '--out', v2signed, ...sigs, '--json'], opts);
      expect(oldShort.code).to.equal(1);
      expect((oldShort.json.details as { sides: Array<{ met: boolean }> }).sides.map((s) => s.met)).to.deep.equal([false, true]);
      expect(existsSync(v2signed)).to.equal(false);
    });

    it('with a quorum of both versions it writes the signed rotation, which verifies against v1', async () => {
      const sigs = [...(await sign(v2, ['alice', 'frank', 'bob'])), ...(await sign(v2, ['carol']))];
      await runCliOk(['assemble', v2, '--policy', v1.signed, '--out', v2signed, ...sigs], opts);
      const r = await runCli(['verify', v2signed, '--policy', v1.signed, '--json'], opts);
      expect(r.code, r.stdout).to.equal(0);
      expect(r.json.warnings).to.deep.equal([]);
    });

    it('a removed key counts for nothing after the rotation (verify --chain)', async () => {
      const out = join(dir, 'rel-evil');
      await runCliOk(
        [
          'build',
          '--source',
          writeTree(join(dir, 'evil'), {
            ...NEW_TREE,
            'core/lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.5'; }\n",
            'core/x.php': '<?php evil();\n',
          }),
          '--base',
          join(dir, 'old'),
          '--product',
          'drupal',
          '--version',
          '10.2.5',
          '--policy',
          v2signed,
          '--expires',
          '2027-01-01T00:00:00Z',
          '--out',
          out,
        ],
        opts,
      );
      const manifest = join(out, 'drupal-10.2.5.manifest.json');
      const evil = join(dir, 'evil.bundle');
      // dave (removed) signs with two honest members: enough under v1, not under v2.
      await runCliOk(['assemble', manifest, '--policy', v1.signed, '--out', evil, ...(await sign(manifest, ['dave', 'alice', 'bob']))], opts);
      const before = await runCli(['verify', evil, '--policy', v1.signed, '--json'], opts);
      expect(before.code).to.equal(1); // POLICY_STALE: it was built for v2
      const after = await runCli(['verify', evil, '--policy', v1.signed, '--chain', v2signed, '--json'], opts);
      expect(after.code).to.equal(1);
      expect(after.json.code).to.equal('QUORUM_NOT_MET');
    });

    it('the old release still verifies through the chain (signers kept their keys)', async () => {
      const r = await runCli(['verify', bundle, '--policy', v1.signed, '--chain', v2signed, '--product', 'drupal', '--installed', '10.2.3', '--json'], opts);
      expect(r.code, r.stdout).to.equal(0);
    });
  });

  describe('revoke', () => {
    it('a revocation signed by a quorum makes verify refuse the release (REVOKED)', async () => {
      const rev = join(dir, 'revoke.json');
      await runCliOk(
        ['revoke', '--product', 'drupal', '--version', '10.2.4', '--reason', 'breaks multilingual sites', '--policy', v1.signed, '--out', rev],
        opts,
      );
      const signedRev = join(dir, 'revoke.signed.json');
      await runCliOk(['assemble', rev, '--policy', v1.signed, '--out', signedRev, ...(await sign(rev, ['alice', 'bob', 'carol']))], opts);
      const ok = await runCli(['verify', signedRev, '--policy', v1.signed, '--json'], opts);
      expect(ok.code).to.equal(0);
      const r = await runCli(['verify', bundle, '--policy', v1.signed, '--revocation', signedRev, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json.code).to.equal('REVOKED');
    });

    it('a revocation short of the quorum is refused, not honoured', async () => {
      const rev = join(dir, 'revoke-weak.json');
      await runCliOk(['revoke', '--product', 'drupal', '--version', '10.2.4', '--out', rev], opts);
      const sigs = await sign(rev, ['alice']);
      const r = await runCli(['assemble', rev, '--policy', v1.signed, '--out', join(dir, 'weak.signed.json'), ...sigs, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json.code).to.equal('QUORUM_NOT_MET');
    });
  });
});
