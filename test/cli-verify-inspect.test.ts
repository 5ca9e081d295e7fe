// CLI contract: `verify` (exit 0 only if every check passes, else every reason with a code) and `inspect`.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envelopePayload, makeCliKeys, makeCliPolicy, runCli, runCliOk, type CliKey } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';
import { bundledCli } from './installer/support.js';
import { bundleHeader, parseBundleHeader } from '../lib/core/bundle.js';

const RISK = 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default';
const EXAMPLE_KEYS = fileURLToPath(new URL('../keys-example/', import.meta.url));

interface Reason {
  code: string;
  message: string;
}

/** Splits a bundle file into its header, envelope JSON and archive bytes. */
function splitBundle(bytes: Buffer): { envelope: Record<string, any>; archive: Buffer; envelopeStart: number } {
  const { envelope } = parseBundleHeader(bytes, Infinity, bytes.length);
  const envelopeEnd = envelope.offset + envelope.length;
  return {
    envelope: JSON.parse(bytes.subarray(envelope.offset, envelopeEnd).toString('utf8')),
    archive: bytes.subarray(envelopeEnd),
    envelopeStart: envelope.offset,
  };
}

describe('cli verify and inspect', () => {
  let dir: string;
  let keys: Record<string, CliKey>;
  let policy: { unsigned: string; signed: string };
  let manifest: string;
  let archive: string;
  let bundle: string;
  let bundleBytes: Buffer;
  const opts = { now: NOW };

  before(async () => {
    dir = tempDir('countersign-cli-verify-');
    keys = await makeCliKeys(dir, ['alice', 'bob', 'carol']);
    policy = await makeCliPolicy(dir, [keys.alice!, keys.bob!, keys.carol!], { threshold: 2, expires: '2028-01-01T00:00:00Z', now: NOW });
    const oldTree = writeTree(join(dir, 'drupal-10.2.3'), BASE_TREE);
    const newTree = writeTree(join(dir, 'drupal-10.2.4'), NEW_TREE);
    const out = join(dir, 'rel');
    await runCliOk(
      [
        'build',
        '--source',
        newTree,
        '--base',
        oldTree,
        '--product',
        'drupal',
        '--version',
        '10.2.4',
        '--applies-to',
        '10.2.3',
        '--risk',
        RISK,
        '--policy',
        policy.signed,
        '--expires',
        '2027-01-01T00:00:00Z',
        '--out',
        out,
      ],
      opts,
    );
    manifest = join(out, 'drupal-10.2.4.manifest.json');
    archive = join(out, 'drupal-10.2.4.tar');
    const sigs: string[] = [];
    for (const n of ['alice', 'bob']) {
      const s = join(dir, `${n}.sig`);
      await runCliOk(['sign', manifest, '--archive', archive, '--key', keys[n]!.key, '--yes', '--out', s], opts);
      sigs.push(s);
    }
    bundle = join(dir, 'drupal-10.2.4.bundle');
    await runCliOk(['assemble', manifest, '--policy', policy.signed, '--out', bundle, ...sigs], opts);
    bundleBytes = readFileSync(bundle);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a variant of the bundle and verifies it (at a time when bundle and policy are fresh). */
  async function verifyVariant(name: string, bytes: Uint8Array, extra: string[] = []) {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return runCli(['verify', path, '--policy', policy.signed, '--now', '2026-12-01T00:00:00Z', ...extra, '--json'], opts);
  }

  function expectRejected(r: Awaited<ReturnType<typeof runCli>>, code: string): Reason[] {
    expect(r.code, r.stdout).to.equal(1);
    expect(r.json.ok).to.equal(false);
    expect(r.json.code).to.equal(code);
    const reasons = r.json.reasons as Reason[];
    expect(reasons).to.be.an('array').that.is.not.empty;
    expect(reasons[0]!.code).to.equal(code);
    for (const reason of reasons) {
      expect(reason.code).to.match(/^[A-Z_]+$/);
      expect(reason.message).to.be.a('string');
    }
    return reasons;
  }

  describe('verify', () => {
    it('a good bundle: exit 0 and who signed', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.3', '--now', '2026-12-01T00:00:00Z'], opts);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^OK: drupal core 10\.2\.4/);
      expect(r.stdout).to.match(/Signed by 2 signers \(threshold 2 of 3\): alice, bob/);
      expect(r.stderr).to.equal('');
    });

    it('a good bundle under --json: one object with ok, the document and the signers', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.3', '--json'], opts);
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, kind: 'manifest', threshold: 2 });
      expect(r.json.signedBy).to.deep.equal([
        { id: keys.alice!.keyid, name: 'alice' },
        { id: keys.bob!.keyid, name: 'bob' },
      ]);
      expect((r.json.document as { version: string }).version).to.equal('10.2.4');
      expect(r.json.payloadSha256).to.match(/^[0-9a-f]{64}$/);
      expect(r.stdout.trim().split('\n')).to.have.length(1);
    });

    it('without --installed, applicability and rollback are not checked', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--json'], opts);
      expect(r.json).to.include({ ok: true });
    });

    it('--installed outside applies-to: NOT_APPLICABLE', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.1', '--json'], opts);
      expectRejected(r, 'NOT_APPLICABLE');
    });

    it('--installed equal to or newer than the release: ROLLBACK, with every other reason too', async () => {
      for (const installed of ['10.2.4', '10.3.0']) {
        const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', installed, '--json'], opts);
        expect(r.code, installed).to.equal(1);
        const codes = (r.json.reasons as Reason[]).map((x) => x.code);
        expect(codes, installed).to.include('ROLLBACK');
        expect(codes, installed).to.include('NOT_APPLICABLE');
      }
      const human = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.4'], opts);
      expect(human.code).to.equal(1);
      expect(human.stderr).to.contain('REJECTED');
      expect(human.stderr).to.contain('ROLLBACK');
      expect(human.stderr).to.contain('NOT_APPLICABLE');
    });

    it('--now after the manifest expiry: EXPIRED', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.3', '--now', '2027-01-01T00:00:01Z', '--json'], opts);
      expectRejected(r, 'EXPIRED');
    });

    it('--now after the policy expiry: POLICY_EXPIRED', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--now', '2028-01-02T00:00:00Z', '--json'], opts);
      const reasons = expectRejected(r, 'POLICY_EXPIRED');
      expect(reasons.map((x) => x.code)).to.include('POLICY_EXPIRED');
    });

    it('--now after both expiries: POLICY_EXPIRED and EXPIRED (and the rest) are all reported', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.1', '--now', '2028-06-01T00:00:00Z', '--json'], opts);
      const codes = expectRejected(r, 'POLICY_EXPIRED').map((x) => x.code);
      expect(codes).to.include.members(['POLICY_EXPIRED', 'EXPIRED', 'NOT_APPLICABLE']);
    });

    it('one flipped byte anywhere in the archive part of the bundle: the header is not the rebuilt one, the content not the signed one', async () => {
      const { archive: archivePart } = splitBundle(bundleBytes);
      const archiveStart = bundleBytes.length - archivePart.length;
      // A tar header byte, a content byte, and the final end-of-archive zero block.
      for (const [offset, code] of [
        [archiveStart + 10, 'ARCHIVE_MALFORMED'],
        [archiveStart + 512 + 3, 'ENTRY_MISMATCH'],
        [bundleBytes.length - 1, 'ARCHIVE_MALFORMED'],
      ] as const) {
        const bytes = Buffer.from(bundleBytes);
        bytes[offset]! ^= 0x01;
        const r = await verifyVariant(`flip-${offset}.bundle`, bytes, ['--installed', '10.2.3']);
        expectRejected(r, code);
      }
    });

    it('the bundle file truncated by one byte, or extended by one byte: MALFORMED (v2 section lengths), DIGEST_MISMATCH (v1)', async () => {
      expectRejected(await verifyVariant('truncated.bundle', bundleBytes.subarray(0, bundleBytes.length - 1)), 'MALFORMED');
      expectRejected(await verifyVariant('extended.bundle', Buffer.concat([bundleBytes, Buffer.of(0)])), 'MALFORMED');
      const { envelope, archive: archivePart } = splitBundle(bundleBytes);
      const env = Buffer.from(JSON.stringify(envelope));
      const v1 = Buffer.concat([Buffer.from(`countersign-bundle v1 ${env.length}\n`), env, archivePart]);
      expectRejected(await verifyVariant('truncated-v1.bundle', v1.subarray(0, v1.length - 1)), 'DIGEST_MISMATCH');
      expectRejected(await verifyVariant('extended-v1.bundle', Buffer.concat([v1, Buffer.of(0)])), 'DIGEST_MISMATCH');
    });

    it('signatures swapped between signers inside the envelope: BAD_SIGNATURE is not counted, QUORUM_NOT_MET', async () => {
      const { envelope, archive: archivePart, envelopeStart } = splitBundle(bundleBytes);
      const [a, b] = envelope.signatures as Array<{ keyid: string; sig: string }>;
      envelope.signatures = [
        { keyid: a!.keyid, sig: b!.sig },
        { keyid: b!.keyid, sig: a!.sig },
      ];
      const envelopeText = Buffer.from(JSON.stringify(envelope, null, 2) + '\n', 'utf8');
      const header = Buffer.from(bundleHeader(envelopeText.length, archivePart.length));
      expect(envelopeStart).to.equal(header.length);
      const r = await verifyVariant('swapped.bundle', Buffer.concat([header, envelopeText, archivePart]));
      const reasons = expectRejected(r, 'QUORUM_NOT_MET');
      const problems = (reasons[0] as Reason & { details: { problems: Reason[] } }).details.problems;
      expect(problems.map((p) => p.code)).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE']);
    });

    it('an unsigned policy given as --policy: POLICY_UNSIGNED (a pinned policy must be self-signed)', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.unsigned, '--installed', '10.2.3', '--json'], opts);
      expectRejected(r, 'POLICY_UNSIGNED');
    });

    it('a policy the bundle was not signed under: QUORUM_NOT_MET, the signatures reported as UNKNOWN_KEY', async () => {
      const r = await runCli(['verify', bundle, '--policy', join(EXAMPLE_KEYS, 'policy.signed.json'), '--json'], opts);
      const reasons = expectRejected(r, 'QUORUM_NOT_MET');
      const details = (reasons[0] as Reason & { details: { signedBy: unknown[]; problems: Reason[] } }).details;
      expect(details.signedBy).to.deep.equal([]);
      expect(details.problems.map((p) => p.code)).to.deep.equal(['UNKNOWN_KEY', 'UNKNOWN_KEY']);
    });

    it('an unsigned manifest with its archive: QUORUM_NOT_MET', async () => {
      const r = await runCli(['verify', manifest, '--archive', archive, '--policy', policy.signed, '--json'], opts);
      expectRejected(r, 'QUORUM_NOT_MET');
    });

    it('a self-signed policy verifies against itself', async () => {
      const r = await runCli(['verify', policy.signed, '--policy', policy.signed, '--json'], opts);
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, kind: 'policy' });
      expect((r.json.signedBy as Array<{ name: string }>).map((s) => s.name)).to.deep.equal(['alice', 'bob']);
    });

    it('a missing bundle or policy file: exit 2, code IO', async () => {
      for (const args of [
        [join(dir, 'missing.bundle'), '--policy', policy.signed],
        [bundle, '--policy', join(dir, 'missing-policy.json')],
      ]) {
        const r = await runCli(['verify', ...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'IO' });
        const human = await runCli(['verify', ...args], opts);
        expect(human.code).to.equal(2);
        expect(human.stderr).to.contain('IO');
      }
    });

    it('a directory given as the bundle (or to inspect): exit 2, code IO', async () => {
      for (const args of [
        ['verify', dir, '--policy', policy.signed],
        ['inspect', dir],
      ]) {
        const r = await runCli([...args, '--json'], opts);
        expect(r.code, args[0]).to.equal(2);
        expect(r.json, args[0]).to.include({ ok: false, code: 'IO' });
      }
    });

    it('a malformed --now is a usage error (exit 2)', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--now', 'yesterday', '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json.ok).to.equal(false);
    });

    it('missing --policy or bundle, or an unknown flag: exit 2 USAGE; --help has an example', async () => {
      for (const args of [[bundle], ['--policy', policy.signed], [bundle, '--policy', policy.signed, '--insecure']]) {
        const r = await runCli(['verify', ...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'USAGE' });
      }
      const h = await runCli(['verify', '--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(/^Examples?:$/m);
    });
  });

  describe('verify: the site, the caller and the terminal', () => {
    it('a file of the wrong kind is WRONG_KIND (exit 2), named for what it is, for DOC, --policy, --chain and --revocation', async () => {
      const partial = join(dir, 'alice.sig');
      for (const [args, found] of [
        [['verify', keys.alice!.key, '--policy', policy.signed], 'secret-key'],
        [['verify', keys.alice!.pub, '--policy', policy.signed], 'public-key'],
        [['verify', archive, '--policy', policy.signed], 'archive'],
        [['verify', partial, '--policy', policy.signed], 'partial-signature'],
        [['verify', bundle, '--policy', manifest], 'manifest'],
        [['verify', bundle, '--policy', bundle], 'bundle'],
        [['verify', bundle, '--policy', policy.signed, '--chain', bundle], 'bundle'],
        [['verify', bundle, '--policy', policy.signed, '--revocation', policy.signed], 'policy'],
        [['verify', bundle, '--policy', policy.signed, '--revocation', archive], 'archive'],
      ] as const) {
        const r = await runCli([...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json, args.join(' ')).to.include({ ok: false, code: 'WRONG_KIND' });
        expect(r.json.details, args.join(' ')).to.include({ found });
      }
      const human = await runCli(['verify', bundle, '--policy', bundle], opts);
      expect(human.stderr).to.match(/^error\[WRONG_KIND\]: .*drupal-10\.2\.4\.bundle is a bundle .*, not a policy$/m);
    });

    it('apply, installer submit and hub publish name a file that is not a bundle (WRONG_KIND, exit 2) before anything else', async () => {
      const site = join(dir, 'kinds-site');
      for (const [file, found] of [
        [keys.alice!.pub, 'public-key'],
        [manifest, 'manifest'],
        [archive, 'archive'],
      ] as const) {
        const a = await runCli(['apply', file, '--site', site, '--policy', policy.signed, '--json'], opts);
        expect(a.code, file).to.equal(2);
        expect(a.json, file).to.include({ ok: false, code: 'WRONG_KIND' });
        expect(a.json.details, file).to.include({ found });
        const i = await runCli(['installer', 'submit', '--socket', join(dir, 'no.sock'), '--site', 'example', file, '--json'], opts);
        expect(i.code, file).to.equal(2);
        expect(i.json, file).to.include({ ok: false, code: 'WRONG_KIND' });
        const h = await runCli(
          [
            'hub',
            'publish',
            file,
            '--db',
            `sqlite:${join(dir, 'kinds-hub.db')}`,
            '--bundles',
            join(dir, 'kinds-bundles'),
            '--store',
            join(dir, 'no-store'),
            '--json',
          ],
          opts,
        );
        expect(h.code, file).to.equal(2);
        expect(h.json, file).to.include({ ok: false, code: 'WRONG_KIND' });
      }
      expect(existsSync(site)).to.equal(false);
      expect(existsSync(join(dir, 'kinds-hub.db'))).to.equal(false);
    });

    it('a policy of the right kind that fails its own check is still a rejection (exit 1)', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.unsigned, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json.ok).to.equal(false);
      expect(r.json.code).to.not.equal('WRONG_KIND');
    });

    it('trust init and trust update name a file of the wrong kind (WRONG_KIND, exit 2) and leave nothing behind', async () => {
      const store = join(dir, 'kinds-store');
      const init = await runCli(['trust', 'init', '--policy', bundle, '--store', store, '--json'], opts);
      expect(init.code).to.equal(2);
      expect(init.json).to.include({ ok: false, code: 'WRONG_KIND' });
      expect(existsSync(store)).to.equal(false);
      await runCliOk(['trust', 'init', '--policy', policy.signed, '--store', store], opts);
      const state = readFileSync(join(store, 'state.json'));
      for (const file of [bundle, archive, keys.bob!.pub]) {
        const r = await runCli(['trust', 'update', '--store', store, file, '--json'], opts);
        expect(r.code, file).to.equal(2);
        expect(r.json, file).to.include({ ok: false, code: 'WRONG_KIND' });
      }
      expect(readFileSync(join(store, 'state.json')).equals(state)).to.equal(true);
    });

    it('each message names its flag or code once (--now, a reason)', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--now', 'garbage'], opts);
      expect(r.code).to.equal(2);
      expect(r.stderr.match(/--now/g)).to.have.length(1);
      const { fail } = await import('../cli/output.js');
      const { VerificationError } = await import('../lib/core/errors.js');
      let err = '';
      const ctx = { out: () => undefined, err: (t: string) => (err += t), env: {}, interactive: false, now: NOW, exitCode: 0 };
      fail(ctx, {}, new VerificationError([{ code: 'NOT_APPLICABLE', message: 'applies to 10.2.3, not 10.2.1' }]));
      expect(err).to.equal('error[NOT_APPLICABLE]: applies to 10.2.3, not 10.2.1');
      expect(ctx.exitCode).to.equal(1);
    });

    it('- reads a bundle or a document from standard input, through a real pipe (end to end)', async () => {
      const cli = await bundledCli();
      const run = (args: string[], input: Buffer) => spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', timeout: 60_000 });
      const when = ['--now', '2026-12-01T00:00:00Z', '--json'];
      const v = run(['verify', '-', '--policy', policy.signed, '--installed', '10.2.3', ...when], bundleBytes);
      expect(v.status, v.stderr).to.equal(0);
      expect(JSON.parse(v.stdout)).to.include({ ok: true, kind: 'manifest' });
      const p = run(['verify', bundle, '--policy', '-', ...when], readFileSync(policy.signed));
      expect(p.status, p.stderr).to.equal(0);
      const tampered = Buffer.from(bundleBytes);
      tampered[tampered.length - 1]! ^= 1;
      const t = run(['verify', '-', '--policy', policy.signed, ...when], tampered);
      expect(t.status).to.equal(1);
      expect(JSON.parse(t.stdout)).to.include({ ok: false, code: 'ARCHIVE_MALFORMED' }); // the end marker's last byte
      const i = run(['inspect', '-', '--json'], readFileSync(archive));
      expect(i.status, i.stderr).to.equal(0);
      expect(JSON.parse(i.stdout)).to.include({ ok: true, file: 'archive' });
      const k = run(['verify', '-', '--policy', policy.signed, ...when], readFileSync(keys.alice!.key));
      expect(k.status).to.equal(2);
      expect(JSON.parse(k.stdout)).to.include({ ok: false, code: 'WRONG_KIND' });
    });

    it('--product or --component other than the release: WRONG_TARGET', async () => {
      for (const flags of [
        ['--product', 'wordpress'],
        ['--component', 'views'],
      ]) {
        const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.3', ...flags, '--json'], opts);
        expectRejected(r, 'WRONG_TARGET');
      }
    });

    it('says which site checks were skipped', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed], opts);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.contain('not checked against a site: product, component, installed');
    });

    it('a malformed --installed is a usage error (exit 2)', async () => {
      const r = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.x', '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
    });

    it('a key id smuggling terminal escapes is refused by the schema', async () => {
      const { envelope, archive: arch } = splitBundle(bundleBytes);
      envelope.signatures.push({ keyid: '\u001b[2K\rOK: fake', sig: envelope.signatures[0].sig });
      const env = Buffer.from(JSON.stringify(envelope));
      const r = await verifyVariant('escape.bundle', Buffer.concat([bundleHeader(env.length, arch.length), env, arch]));
      expectRejected(r, 'SCHEMA_INVALID');
    });
  });

  describe('inspect', () => {
    const inspect = (file: string, extra: string[] = []) => runCli(['inspect', file, ...extra], opts);

    it('a bundle: what it holds, and that it is not verified', async () => {
      const r = await inspect(bundle, ['--json']);
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, file: 'bundle', kind: 'manifest', signatures: 2, archiveBytes: readFileSync(archive).length });
      expect(r.json.document).to.deep.equal(envelopePayload(manifest));
      const human = await inspect(bundle);
      expect(human.code).to.equal(0);
      expect(human.stdout).to.match(/bundle/);
      expect(human.stdout).to.match(/not verified/);
      expect(human.stdout).to.contain('Highly Critical');
      expect(human.stdout).to.match(/Signatures:\s+2/);
    });

    it('a manifest: an unsigned envelope with the release facts', async () => {
      const r = await inspect(manifest, ['--json']);
      expect(r.json).to.include({ ok: true, file: 'envelope', kind: 'manifest', signatures: 0 });
      expect((r.json.document as { version: string }).version).to.equal('10.2.4');
      const human = await inspect(manifest);
      expect(human.stdout).to.contain('1 added, 2 modified, 1 deleted');
      expect(human.stdout).to.contain('10.2.3');
    });

    it('a policy, unsigned and self-signed', async () => {
      const u = await inspect(policy.unsigned, ['--json']);
      expect(u.json).to.include({ ok: true, file: 'envelope', kind: 'policy', signatures: 0 });
      expect((u.json.document as { threshold: number }).threshold).to.equal(2);
      const s = await inspect(policy.signed, ['--json']);
      expect(s.json).to.include({ ok: true, kind: 'policy', signatures: 2 });
      const human = await inspect(policy.signed);
      expect(human.stdout).to.match(/Threshold:\s+2 of 3/);
      for (const n of ['alice', 'bob', 'carol']) expect(human.stdout).to.contain(n);
    });

    it('a partial signature: key id, payload type and payload digest', async () => {
      const sigFile = join(dir, 'alice.sig');
      const partial = JSON.parse(readFileSync(sigFile, 'utf8'));
      const r = await inspect(sigFile, ['--json']);
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, file: 'partial-signature', keyid: keys.alice!.keyid, payloadSha256: partial.payloadSha256 });
      const human = await inspect(sigFile);
      expect(human.stdout).to.contain('partial signature');
      expect(human.stdout).to.contain(keys.alice!.keyid);
    });

    it('a public key', async () => {
      const r = await inspect(keys.carol!.pub, ['--json']);
      expect(r.json).to.deep.equal({ ok: true, file: 'public-key', keyid: keys.carol!.keyid, name: 'carol' });
      const human = await inspect(keys.carol!.pub);
      expect(human.stdout).to.contain('public key');
      expect(human.stdout).to.contain(keys.carol!.keyid);
    });

    it('an unencrypted secret key: says so, and never prints the seed', async () => {
      const seed = JSON.parse(readFileSync(keys.alice!.key, 'utf8')).seed as string;
      const r = await inspect(keys.alice!.key, ['--json']);
      expect(r.json).to.include({ ok: true, file: 'secret-key', encrypted: false, keyid: keys.alice!.keyid, name: 'alice' });
      const human = await inspect(keys.alice!.key);
      expect(human.stdout).to.match(/UNENCRYPTED/);
      expect(r.stdout + human.stdout + r.stderr + human.stderr).not.to.contain(seed);
    });

    it('an encrypted secret key: says so without decrypting (no passphrase needed, a wrong one ignored)', async () => {
      const key = join(EXAMPLE_KEYS, 'alice.key');
      const r = await runCli(['inspect', key, '--json'], { ...opts, env: { COUNTERSIGN_PASSPHRASE: 'wrong' } });
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, file: 'secret-key', encrypted: true });
      const human = await inspect(key);
      expect(human.stdout).to.match(/encrypted/);
      expect(human.stdout).not.to.match(/UNENCRYPTED/);
      expect(human.stdout + r.stdout).not.to.contain(JSON.parse(readFileSync(key, 'utf8')).ciphertext);
    });

    it('an archive: its entries with modes and sizes', async () => {
      const r = await inspect(archive, ['--json']);
      expect(r.json).to.include({ ok: true, file: 'archive' });
      expect(r.json.entries).to.deep.equal([
        { path: 'core/bootstrap.inc', mode: '0644', size: NEW_TREE['core/bootstrap.inc'].length },
        { path: 'core/lib/Drupal.php', mode: '0644', size: NEW_TREE['core/lib/Drupal.php'].length },
        { path: 'core/lib/Sanitizer.php', mode: '0755', size: 13 },
      ]);
      const human = await inspect(archive);
      expect(human.stdout).to.contain('3 files');
    });

    it('not a countersign file: exit 2 WRONG_KIND (nothing is under check); a missing file: exit 2 IO', async () => {
      const other = join(dir, 'composer.json');
      writeFileSync(other, JSON.stringify({ name: 'drupal/core' }));
      const r1 = await inspect(other, ['--json']);
      expect(r1.code).to.equal(2);
      expect(r1.json).to.include({ ok: false, code: 'WRONG_KIND' });
      const r2 = await inspect(join(dir, 'drupal-10.2.4', 'index.php'), ['--json']);
      expect(r2.code).to.equal(2);
      expect(r2.json).to.include({ ok: false, code: 'WRONG_KIND' });
      const r3 = await inspect(join(dir, 'missing.bundle'), ['--json']);
      expect(r3.code).to.equal(2);
      expect(r3.json).to.include({ ok: false, code: 'IO' });
    });

    it('--help has an example; a missing FILE or an unknown flag is exit 2 USAGE', async () => {
      const h = await runCli(['inspect', '--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(/^Examples?:$/m);
      for (const args of [['inspect'], ['inspect', bundle, '--verify']]) {
        const r = await runCli([...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'USAGE' });
      }
    });
  });
});
