// CLI contract for providers (issue 13): policy init --provider and a root's provider rules, provider enroll, the
// sign review of every new document, assemble against the root (quorum or registry) and the provider's roles, key and
// release revocations, build --provider, and policy rotate of a provider policy.
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { envelopePayload, makeCliKeys, runCli, runCliOk, type CliKey } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';

const P = 'wordpress.org/plugins/wordfence';
const opts = { now: NOW };

describe('cli providers', () => {
  let dir: string;
  let keys: Record<string, CliKey>;
  let root: string;
  let providerPolicy: string;
  let enrolment: string;
  let enrolled: string;
  let n = 0;
  const at = (name: string) => join(dir, name);

  async function sign(doc: string, who: string[], extra: string[] = []): Promise<string[]> {
    const sigs: string[] = [];
    for (const name of who) {
      const sig = at(`${n++}.${name}.sig`);
      await runCliOk(['sign', doc, '--key', keys[name]!.key, '--yes', '--out', sig, ...extra], opts);
      sigs.push(sig);
    }
    return sigs;
  }

  async function assemble(doc: string, policy: string, who: string[]) {
    return runCli(['assemble', doc, '--policy', policy, '--out', at(`${n++}.assembled`), '--json', ...(await sign(doc, who))], opts);
  }

  before(async () => {
    dir = tempDir('countersign-cli-providers-');
    keys = await makeCliKeys(dir, ['r1', 'r2', 'r3', 'reg', 'ana', 'ben', 'ci', 'dan']);
    const rootUnsigned = at('root.json');
    root = at('root.signed.json');
    const r = await runCliOk(
      [
        'policy',
        'init',
        '--threshold',
        '2',
        ...['r1', 'r2', 'r3', 'reg'].flatMap((k) => ['--signer', keys[k]!.pub]),
        '--activation-delay',
        '24h',
        '--registry',
        keys.reg!.pub,
        '--registry-threshold',
        '1',
        '--expires',
        '2028-01-01T00:00:00Z',
        '--out',
        rootUnsigned,
        '--json',
      ],
      opts,
    );
    expect(r.json.providers).to.deep.equal({ activationDelay: 86400, registry: { threshold: 1, signers: [keys.reg!.keyid] } });
    expect(r.stderr).to.include('1-of-1 registry role');
    await runCliOk(['assemble', rootUnsigned, '--policy', rootUnsigned, '--out', root, ...(await sign(rootUnsigned, ['r1', 'r2']))], opts);

    providerPolicy = at('wordfence-policy.json');
    const p = await runCliOk(
      [
        'policy',
        'init',
        '--provider',
        P,
        '--threshold',
        '2',
        ...['ana', 'ben', 'ci'].flatMap((k) => ['--signer', keys[k]!.pub]),
        '--admin',
        keys.ana!.pub,
        '--admin',
        'ben',
        '--admin-threshold',
        '2',
        '--release',
        keys.ci!.keyid.slice(0, 10),
        '--release-threshold',
        '1',
        '--expires',
        '2028-01-01T00:00:00Z',
        '--out',
        providerPolicy,
        '--json',
      ],
      opts,
    );
    expect(p.json).to.deep.include({
      provider: P,
      roles: { admin: { threshold: 2, signers: [keys.ana!.keyid, keys.ben!.keyid] }, release: { threshold: 1, signers: [keys.ci!.keyid] } },
    });
    expect(p.stderr).to.include('1-of-1 release role');
    enrolment = at('wordfence-enrolment.json');
    await runCliOk(['provider', 'enroll', '--provider', P, '--policy', providerPolicy, '--root', root, '--out', enrolment], opts);
    enrolled = at('wordfence-enrolment.signed.json');
    await runCliOk(['assemble', enrolment, '--policy', root, '--out', enrolled, ...(await sign(enrolment, ['r1', 'r2']))], opts);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('policy init', () => {
    it('writes a provider policy as format 3 with provider and roles', () => {
      expect(envelopePayload(providerPolicy)).to.include({ format: 3, provider: P });
      expect(envelopePayload(at('root.json')))
        .to.include({ format: 3 })
        .and.not.have.property('provider');
    });

    it('without provider flags still writes format 1', async () => {
      const out = at('plain.json');
      await runCliOk(['policy', 'init', '--threshold', '1', '--signer', keys.r1!.pub, '--out', out], opts);
      expect(envelopePayload(out).format).to.equal(1);
    });

    it('refuses bad provider flags (exit 2, nothing written)', async () => {
      const base = ['policy', 'init', '--threshold', '1', '--signer', keys.ana!.pub, '--signer', keys.ben!.pub];
      const cases: Array<[string[], string]> = [
        [['--provider', 'Wordfence'], 'BAD_PROVIDER'],
        [['--provider', P, '--admin', keys.ana!.pub], 'USAGE'], // no --admin-threshold
        [['--provider', P, '--admin', 'nobody', '--admin-threshold', '1'], 'USAGE'],
        [['--provider', P, '--admin', 'ana', '--admin-threshold', '2'], 'BAD_THRESHOLD'],
        [['--provider', P, '--registry', 'ana', '--registry-threshold', '1'], 'BAD_ROLE'],
        [['--provider', P, '--activation-delay', '1h'], 'BAD_ROLE'],
        [['--admin', 'ana', '--admin-threshold', '1'], 'BAD_ROLE'], // roles in a root policy
        [['--activation-delay', 'soon'], 'USAGE'],
      ];
      for (const [flags, code] of cases) {
        const out = at(`${n++}.bad.json`);
        const r = await runCli([...base, ...flags, '--out', out, '--json'], opts);
        expect([r.code, r.json.code], flags.join(' ')).to.deep.equal([2, code]);
        expect(existsSync(out)).to.equal(false);
      }
    });
  });

  describe('provider enroll', () => {
    it('writes an enrolment carrying the policy exact payload bytes', () => {
      const e = envelopePayload(enrolment);
      expect(e).to.include({ format: 1, provider: P });
      expect(e.policy).to.equal((JSON.parse(readFileSync(providerPolicy, 'utf8')) as { payload: string }).payload);
      expect(JSON.parse(readFileSync(enrolment, 'utf8')).payloadType).to.equal('application/vnd.countersign.enrolment+json');
    });

    it('refuses another provider name, a root policy, a version gap, and an existing --out', async () => {
      const cases: Array<[string[], string]> = [
        [['--provider', 'drupal/core', '--policy', providerPolicy], 'USAGE'],
        [['--provider', P, '--policy', at('root.json')], 'USAGE'],
        [['--provider', P, '--policy', providerPolicy, '--previous', '1'], 'USAGE'],
        [['--provider', P, '--policy', providerPolicy, '--root', enrolled], 'WRONG_KIND'],
      ];
      for (const [flags, code] of cases) {
        const out = at(`${n++}.enrol.json`);
        const r = await runCli(['provider', 'enroll', ...flags, '--out', out, '--json'], opts);
        expect([r.code, r.json.code], flags.join(' ')).to.deep.equal([2, code]);
        expect(existsSync(out)).to.equal(false);
      }
      const r = await runCli(['provider', 'enroll', '--provider', P, '--policy', providerPolicy, '--out', enrolment, '--json'], opts);
      expect(r.json.code).to.equal('OUTPUT_EXISTS');
    });

    it('--help has an example', async () => {
      const r = await runCliOk(['provider', 'enroll', '--help'], opts);
      expect(r.stdout).to.include('countersign provider enroll --provider wordpress.org/plugins/wordfence');
    });
  });

  describe('sign reviews the new documents', () => {
    it('an enrolment: provider, policy version, each signer, the roles', async () => {
      const r = await runCliOk(['sign', enrolment, '--key', keys.r3!.key, '--yes', '--out', at(`${n++}.sig`)], opts);
      expect(r.stdout).to.include('PROVIDER ENROLMENT');
      expect(r.stdout).to.include(`${P} as a NEW provider`);
      expect(r.stdout).to.include('Policy:       version 1');
      for (const k of ['ana', 'ben', 'ci']) expect(r.stdout).to.include(`${k}  ${keys[k]!.keyid}`);
      expect(r.stdout).to.include('Admin role:   2 of 2: ana, ben');
      expect(r.stdout).to.include('Release role: 1 of 1: ci  (ANY ONE of them alone)');
    });

    it('a re-enrolment says loudly which version it replaces, with the changes against --policy', async () => {
      const v2 = at('wordfence-policy-2.json');
      await runCliOk(
        [
          'policy',
          'rotate',
          '--from',
          enrolled,
          '--remove-signer',
          'ci',
          '--add-signer',
          keys.dan!.pub,
          '--release',
          'dan',
          '--release-threshold',
          '1',
          '--out',
          v2,
        ],
        opts,
      );
      const re = at('reenrol.json');
      await runCliOk(['provider', 'enroll', '--provider', P, '--policy', v2, '--previous', '1', '--out', re], opts);
      const r = await runCliOk(['sign', re, '--key', keys.r1!.key, '--yes', '--policy', enrolled, '--out', at(`${n++}.sig`)], opts);
      expect(r.stdout).to.include(`RE-ENROLMENT of ${P}, REPLACING its policy version 1`);
      expect(r.stdout).to.match(/Added: +dan/);
      expect(r.stdout).to.match(/Removed: +ci/);
      // The registry role may enrol a new name, never replace a provider's keys: only the root quorum.
      expect((await assemble(re, root, ['reg'])).json.code).to.equal('QUORUM_NOT_MET');
      expect((await assemble(re, root, ['r1', 'r2'])).code).to.equal(0);
    });

    it('a key revocation: provider, key id, the holder named from --policy, from', async () => {
      const kr = at('revoke-ci-review.json');
      await runCliOk(['revoke', '--provider', P, '--key', keys.ci!.keyid, '--from', 'now', '--out', kr], opts);
      const r = await runCliOk(['sign', kr, '--key', keys.ana!.key, '--yes', '--policy', enrolled, '--out', at(`${n++}.sig`)], opts);
      expect(r.stdout).to.include('KEY REVOCATION');
      expect(r.stdout).to.include(`Provider:     ${P}`);
      expect(r.stdout).to.include(`Key:          ${keys.ci!.keyid}`);
      expect(r.stdout).to.include('Holder:       ci');
      expect(r.stdout).to.include('From:         NOW');
    });

    it('a provider release revocation names the provider', async () => {
      const rr = at('revoke-release-review.json');
      await runCliOk(['revoke', '--provider', P, '--product', 'wordpress', '--component', 'wordfence', '--version', '7.11.0', '--out', rr], opts);
      const r = await runCliOk(['sign', rr, '--key', keys.ci!.key, '--yes', '--out', at(`${n++}.sig`)], opts);
      expect(r.stdout).to.include(`Provider:     ${P}`);
      expect(r.stdout).to.include(`wordpress wordfence 7.11.0 of provider ${P}`);
    });

    it('inspect shows an enrolment with its policy', async () => {
      const r = await runCliOk(['inspect', enrolment, '--json'], opts);
      expect(r.json).to.deep.include({ kind: 'enrolment', payloadFormat: 1 });
      expect((r.json.enrolledPolicy as { provider: string }).provider).to.equal(P);
    });
  });

  describe('assemble', () => {
    it('an enrolment: the root quorum, or the registry role; one root key alone is short', async () => {
      expect((await assemble(enrolment, root, ['r1'])).json.code).to.equal('QUORUM_NOT_MET');
      const reg = await assemble(enrolment, root, ['reg']);
      expect(reg.code).to.equal(0);
      expect((reg.json.sides as Array<{ policy: string }>)[0]!.policy).to.include('registry role');
      // The provider's own keys are not the root's.
      expect((await assemble(enrolment, root, ['ana', 'ben'])).json.code).to.equal('QUORUM_NOT_MET');
      // Against the provider's own policy: refused, an enrolment is the root's act.
      expect((await assemble(enrolment, providerPolicy, ['ana', 'ben'])).code).to.equal(2);
    });

    describe('a key revocation', () => {
      let kr: string;
      before(async () => {
        kr = at('revoke-ci.json');
        const r = await runCliOk(
          ['revoke', '--provider', P, '--key', keys.ci!.pub, '--from', 'all', '--reason', 'laptop stolen', '--policy', providerPolicy, '--out', kr, '--json'],
          opts,
        );
        expect(r.json).to.deep.include({ provider: P, keyid: keys.ci!.keyid, from: 'all', holder: 'ci' });
        expect(envelopePayload(kr)).to.deep.include({ format: 1, provider: P, keyid: keys.ci!.keyid, from: 'all' });
      });

      it("needs the provider's admin quorum: one admin, or the release key, is short", async () => {
        expect((await assemble(kr, enrolled, ['ana'])).json.code).to.equal('QUORUM_NOT_MET');
        expect((await assemble(kr, enrolled, ['ci'])).json.code).to.equal('QUORUM_NOT_MET');
        expect((await assemble(kr, enrolled, ['ana', 'ben'])).code).to.equal(0);
        expect((await assemble(kr, providerPolicy, ['ana', 'ben'])).code).to.equal(0);
      });

      it('or the super provider: the root quorum', async () => {
        expect((await assemble(kr, root, ['r1'])).json.code).to.equal('QUORUM_NOT_MET');
        const r = await assemble(kr, root, ['r1', 'r2']);
        expect(r.code).to.equal(0);
        expect((r.json.sides as Array<{ policy: string }>)[0]!.policy).to.include('super provider');
      });

      it('refuses --from other than all, now or an index, and --key without --provider (exit 2)', async () => {
        for (const flags of [
          ['--provider', P, '--key', keys.ci!.keyid, '--from', 'later'],
          ['--provider', P, '--key', keys.ci!.keyid, '--from', '-1'],
          ['--provider', P, '--key', keys.ci!.keyid],
          ['--key', keys.ci!.keyid, '--from', 'all'],
          ['--provider', P, '--key', keys.ci!.keyid, '--from', 'all', '--product', 'x', '--version', '1.0'],
        ]) {
          const out = at(`${n++}.kr.json`);
          const r = await runCli(['revoke', ...flags, '--out', out, '--json'], opts);
          expect(r.code, flags.join(' ')).to.equal(2);
          expect(existsSync(out)).to.equal(false);
        }
        const r = await runCliOk(['revoke', '--provider', P, '--key', keys.ci!.keyid, '--from', '17', '--out', at(`${n++}.kr.json`), '--json'], opts);
        expect(r.json.from).to.equal(17);
      });
    });

    it("a provider's release revocation (format 2): its release or admin quorum, or the root", async () => {
      const rr = at('revoke-7.11.0.json');
      await runCliOk(['revoke', '--provider', P, '--product', 'wordpress', '--component', 'wordfence', '--version', '7.11.0', '--out', rr], opts);
      expect(envelopePayload(rr)).to.include({ format: 2, provider: P });
      expect((await assemble(rr, enrolled, ['ci'])).code).to.equal(0);
      expect((await assemble(rr, enrolled, ['ana', 'ben'])).code).to.equal(0);
      expect((await assemble(rr, enrolled, ['ana'])).json.code).to.equal('QUORUM_NOT_MET');
      expect((await assemble(rr, root, ['r1', 'r2'])).code).to.equal(0);
    });

    it('a root revocation is still format 1 and is not assembled against a provider policy', async () => {
      const rr = at('revoke-root.json');
      await runCliOk(['revoke', '--product', 'drupal', '--version', '10.2.4', '--out', rr], opts);
      expect(envelopePayload(rr)).to.include({ format: 1 }).and.not.have.property('provider');
      expect((await assemble(rr, root, ['r1', 'r2'])).code).to.equal(0);
    });

    it("build --provider writes manifest format 3; its bundle needs the provider's release role", async () => {
      const out = at('rel');
      const b = await runCliOk(
        [
          'build',
          '--provider',
          P,
          '--policy',
          providerPolicy,
          '--source',
          writeTree(at('new'), NEW_TREE),
          '--base',
          writeTree(at('old'), BASE_TREE),
          '--product',
          'drupal',
          '--version',
          '10.2.4',
          '--applies-to',
          '10.2.3',
          '--expires',
          '2027-01-01T00:00:00Z',
          '--out',
          out,
          '--json',
        ],
        opts,
      );
      expect(b.json.provider).to.equal(P);
      const manifest = join(out, 'drupal-10.2.4.manifest.json');
      expect(envelopePayload(manifest)).to.include({ format: 3, provider: P, policyVersion: 1 });
      const review = await runCliOk(['sign', manifest, '--key', keys.ci!.key, '--yes', '--out', at(`${n++}.sig`)], opts);
      expect(review.stdout).to.include(`Provider:     ${P}`);
      expect((await assemble(manifest, enrolled, ['ana', 'ben'])).json.code).to.equal('QUORUM_NOT_MET');
      expect((await assemble(manifest, enrolled, ['ci'])).code).to.equal(0);
      expect((await assemble(manifest, root, ['r1', 'r2'])).code).to.equal(0);
      // --policy of another provider than --provider: refused before anything is built.
      const r = await runCli(
        [
          'build',
          '--provider',
          'drupal/core',
          '--policy',
          providerPolicy,
          '--source',
          at('new'),
          '--product',
          'drupal',
          '--version',
          '10.2.5',
          '--out',
          at('rel2'),
          '--json',
        ],
        opts,
      );
      expect([r.code, r.json.code]).to.deep.equal([2, 'USAGE']);
    });
  });

  describe('policy rotate of a provider policy', () => {
    it('keeps provider and roles (less removed keys); its rotation counts the admin role of both versions', async () => {
      const v2 = at('rotate-2.json');
      const r = await runCliOk(['policy', 'rotate', '--from', enrolled, '--add-signer', keys.dan!.pub, '--out', v2, '--json'], opts);
      expect(r.json).to.deep.include({ provider: P, version: 2 });
      const p = envelopePayload(v2);
      expect(p).to.deep.include({ format: 3, provider: P, roles: envelopePayload(providerPolicy).roles });
      expect((await assemble(v2, enrolled, ['ana'])).json.code).to.equal('QUORUM_NOT_MET');
      expect((await assemble(v2, enrolled, ['ci', 'dan'])).json.code).to.equal('QUORUM_NOT_MET');
      const ok = await assemble(v2, enrolled, ['ana', 'ben']);
      expect(ok.code).to.equal(0);
      expect((ok.json.sides as unknown[]).length).to.equal(2);
      // The super provider re-enrols instead of rotating.
      expect((await assemble(v2, root, ['r1', 'r2'])).code).to.equal(2);
    });

    it('removing the only key of a role without replacing it: exit 2', async () => {
      const r = await runCli(['policy', 'rotate', '--from', enrolled, '--remove-signer', 'ci', '--out', at('rotate-bad.json'), '--json'], opts);
      expect([r.code, r.json.code]).to.deep.equal([2, 'USAGE']);
      expect(r.json.message).to.include('release role would have no keys left');
    });
  });
});
