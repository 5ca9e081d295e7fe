// CLI contract: `sign` (review + one partial signature) and `assemble` (quorum or nothing).
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envelopePayload, listing, makeCliKeys, makeCliPolicy, runCli, runCliOk, type CliKey, scriptedPrompter } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';
import { parseBundleHeader } from '../lib/core/bundle.js';

const RISK = 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default';
const EXAMPLE_KEYS = fileURLToPath(new URL('../keys-example/', import.meta.url));

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function payloadBytes(envelopePath: string): Buffer {
  return Buffer.from(JSON.parse(readFileSync(envelopePath, 'utf8')).payload, 'base64');
}

function expectNoStackTrace(text: string): void {
  expect(text).not.to.match(/\n\s+at .+:\d+:\d+\)?/);
  expect(text).not.to.contain('node:internal');
}

describe('cli sign and assemble', () => {
  let dir: string;
  let keys: Record<string, CliKey>;
  let policy: { unsigned: string; signed: string };
  /** drupal 10.2.4 (from 10.2.3) and, as "another document", drupal 10.2.5. */
  let manifest: string;
  let archive: string;
  let otherManifest: string;
  let otherArchive: string;
  /** Partial signatures over `manifest` (and a few that must not count). */
  const sig: Record<string, string> = {};
  const opts = { now: NOW };

  before(async () => {
    dir = tempDir('countersign-cli-sign-');
    keys = await makeCliKeys(dir, ['alice', 'bob', 'carol', 'mallory']);
    policy = await makeCliPolicy(dir, [keys.alice!, keys.bob!, keys.carol!], { threshold: 2, expires: '2028-01-01T00:00:00Z', now: NOW });
    const oldTree = writeTree(join(dir, 'drupal-10.2.3'), BASE_TREE);
    const newTree = writeTree(join(dir, 'drupal-10.2.4'), NEW_TREE);
    const common = ['--product', 'drupal', '--base', oldTree, '--policy', policy.signed, '--expires', '2027-01-01T00:00:00Z'];
    await runCliOk(['build', '--source', newTree, '--version', '10.2.4', '--applies-to', '10.2.3', '--risk', RISK, ...common, '--out', join(dir, 'rel')], opts);
    manifest = join(dir, 'rel', 'drupal-10.2.4.manifest.json');
    archive = join(dir, 'rel', 'drupal-10.2.4.tar');
    const newerTree = writeTree(join(dir, 'drupal-10.2.5'), {
      ...NEW_TREE,
      'core/lib/Drupal.php': NEW_TREE['core/lib/Drupal.php'].replace('10.2.4', '10.2.5'),
      'core/new-in-10.2.5.php': '<?php\n',
    });
    await runCliOk(['build', '--source', newerTree, '--version', '10.2.5', '--applies-to', '10.2.3', ...common, '--out', join(dir, 'rel2')], opts);
    otherManifest = join(dir, 'rel2', 'drupal-10.2.5.manifest.json');
    otherArchive = join(dir, 'rel2', 'drupal-10.2.5.tar');

    mkdirSync(join(dir, 'sigs'));
    for (const name of ['alice', 'bob', 'carol', 'mallory']) {
      sig[name] = join(dir, 'sigs', `${name}.sig`);
      await runCliOk(['sign', manifest, '--archive', archive, '--key', keys[name]!.key, '--yes', '--out', sig[name]!], opts);
    }
    // bob's signature with one bit flipped: claims bob, does not verify.
    const forged = JSON.parse(readFileSync(sig.bob!, 'utf8'));
    const raw = Buffer.from(forged.sig, 'base64');
    raw[10]! ^= 0x01;
    sig.bobForged = join(dir, 'sigs', 'bob-forged.sig');
    writeFileSync(sig.bobForged, JSON.stringify({ ...forged, sig: raw.toString('base64') }, null, 2));
    // alice's signature again under another file name.
    sig.aliceCopy = join(dir, 'sigs', 'alice-copy.sig');
    copyFileSync(sig.alice!, sig.aliceCopy);
    // signatures over other documents.
    sig.bobOnOther = join(dir, 'sigs', 'bob-on-10.2.5.sig');
    await runCliOk(['sign', otherManifest, '--key', keys.bob!.key, '--yes', '--out', sig.bobOnOther], opts);
    sig.bobOnPolicy = join(dir, 'sigs', 'bob-on-policy.sig');
    await runCliOk(['sign', policy.unsigned, '--key', keys.bob!.key, '--yes', '--out', sig.bobOnPolicy], opts);
    sig.aliceOnPolicy = join(dir, 'sigs', 'alice-on-policy.sig');
    await runCliOk(['sign', policy.unsigned, '--key', keys.alice!.key, '--yes', '--out', sig.aliceOnPolicy], opts);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh, empty directory for one test's output. */
  function outDir(name: string): string {
    const d = join(dir, 'out', name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  describe('sign', () => {
    it('shows the summary a signer reviews: type, release, applies-to, risk, counts, archive digest, expiry, policy version', async () => {
      const out = join(outDir('summary'), 'alice.sig');
      const r = await runCli(['sign', manifest, '--archive', archive, '--key', keys.alice!.key, '--yes', '--out', out], opts);
      expect(r.code).to.equal(0);
      const m = envelopePayload(manifest);
      expect(r.stdout).to.match(/release manifest/);
      expect(r.stdout).to.match(/drupal core 10\.2\.4/);
      expect(r.stdout).to.match(/Applies to:\s+10\.2\.3/);
      expect(r.stdout).to.match(/Risk:\s+Highly Critical \(24\/25/);
      expect(r.stdout).to.contain('1 added, 2 modified, 1 deleted');
      expect(r.stdout).to.contain(m.archive.sha256);
      expect(r.stdout).to.match(/Expires:\s+2027-01-01T00:00:00Z/);
      expect(r.stdout).to.match(/Policy:\s+version 1/);
      expect(r.stdout).to.match(/Archive check: re-hashed/);
      expect(r.stdout).to.contain(`wrote ${out}`);
    });

    it('writes a partial naming the signed payload by SHA-256, and prints one JSON object under --json (summary on stderr)', async () => {
      const out = join(outDir('json'), 'carol.sig');
      const r = await runCli(['sign', manifest, '--archive', archive, '--key', keys.carol!.key, '--yes', '--out', out, '--json'], opts);
      expect(r.code).to.equal(0);
      const payloadSha256 = sha256Hex(payloadBytes(manifest));
      expect(r.json).to.include({ ok: true, signature: out, keyid: keys.carol!.keyid, signer: 'carol', kind: 'manifest', payloadSha256 });
      expect(r.stderr).to.contain('1 added, 2 modified, 1 deleted');
      const partial = JSON.parse(readFileSync(out, 'utf8'));
      expect(partial).to.include({
        type: 'countersign-partial-signature',
        payloadType: 'application/vnd.countersign.manifest+json',
        payloadSha256,
        keyid: keys.carol!.keyid,
      });
      expect(Buffer.from(partial.sig, 'base64')).to.have.length(64);
    });

    it('without --out writes DOC.<keyid prefix>.sig beside the document', async () => {
      const d = outDir('default-out');
      copyFileSync(manifest, join(d, 'drupal-10.2.4.manifest.json'));
      copyFileSync(archive, join(d, 'drupal-10.2.4.tar'));
      const r = await runCli(['sign', join(d, 'drupal-10.2.4.manifest.json'), '--key', keys.bob!.key, '--yes', '--json'], opts);
      expect(r.code).to.equal(0);
      const expected = join(d, `drupal-10.2.4.manifest.${keys.bob!.keyid.slice(0, 8)}.sig`);
      expect(r.json.signature).to.equal(expected);
      expect(existsSync(expected)).to.equal(true);
    });

    it('without --yes and without a terminal: refuses (exit 2) after showing the summary, and writes no signature', async () => {
      const d = outDir('no-yes');
      const r = await runCli(['sign', manifest, '--archive', archive, '--key', keys.alice!.key, '--out', join(d, 'alice.sig')], {
        ...opts,
        interactive: false,
      });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('--yes');
      expect(r.stdout).to.contain('1 added, 2 modified, 1 deleted');
      expect(listing(d)).to.deep.equal([]);
      const j = await runCli(['sign', manifest, '--key', keys.alice!.key, '--out', join(d, 'alice.sig'), '--json'], opts);
      expect(j.code).to.equal(2);
      expect(j.json).to.include({ ok: false, code: 'USAGE' });
      expect(listing(d)).to.deep.equal([]);
    });

    it('--archive with one flipped byte: DIGEST_MISMATCH, exit 1, no signature written', async () => {
      const d = outDir('flipped');
      const bytes = readFileSync(archive);
      bytes[bytes.length - 1500]! ^= 0x20;
      writeFileSync(join(d, 'tampered.tar'), bytes);
      const r = await runCli(
        ['sign', manifest, '--archive', join(d, 'tampered.tar'), '--key', keys.alice!.key, '--yes', '--out', join(d, 'alice.sig'), '--json'],
        opts,
      );
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'DIGEST_MISMATCH' });
      expect(listing(d)).to.deep.equal(['tampered.tar']);
    });

    it('--archive truncated, or the archive of another release: DIGEST_MISMATCH, exit 1, no signature written', async () => {
      const d = outDir('wrong-archive');
      writeFileSync(join(d, 'short.tar'), readFileSync(archive).subarray(0, 2048));
      for (const a of [join(d, 'short.tar'), otherArchive]) {
        const r = await runCli(['sign', manifest, '--archive', a, '--key', keys.alice!.key, '--yes', '--out', join(d, 'alice.sig'), '--json'], opts);
        expect(r.code, a).to.equal(1);
        expect(r.json).to.include({ ok: false, code: 'DIGEST_MISMATCH' });
      }
      expect(listing(d)).to.deep.equal(['short.tar']);
    });

    it('signs policies too, showing threshold, signers and expiry', async () => {
      const out = join(outDir('policy'), 'carol-policy.sig');
      const r = await runCli(['sign', policy.unsigned, '--key', keys.carol!.key, '--yes', '--out', out], opts);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/trust policy/);
      expect(r.stdout).to.match(/Policy:\s+version 1/);
      expect(r.stdout).to.match(/Threshold:\s+2 of 3/);
      for (const n of ['alice', 'bob', 'carol']) expect(r.stdout).to.contain(n);
      expect(r.stdout).to.match(/Expires:\s+2028-01-01T00:00:00Z/);
      expect(JSON.parse(readFileSync(out, 'utf8'))).to.include({
        payloadType: 'application/vnd.countersign.policy+json',
        payloadSha256: sha256Hex(payloadBytes(policy.unsigned)),
      });
    });

    it("an encrypted key with a wrong passphrase: BAD_PASSPHRASE, exit 2 (the caller's own input), no stack trace, passphrase never shown, nothing written", async () => {
      const d = outDir('bad-passphrase');
      const wrong = 'not-the-passphrase-3b9e1c';
      const r = await runCli(['sign', manifest, '--key', join(EXAMPLE_KEYS, 'alice.key'), '--yes', '--out', join(d, 'alice.sig')], {
        ...opts,
        env: { COUNTERSIGN_PASSPHRASE: wrong },
      });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('BAD_PASSPHRASE');
      expect(r.stdout + r.stderr).not.to.contain(wrong);
      expectNoStackTrace(r.stdout + r.stderr);
      expect(listing(d)).to.deep.equal([]);
    });

    it('an encrypted key with the right passphrase from --passphrase-file signs, and never shows the passphrase', async () => {
      const d = outDir('good-passphrase');
      const passFile = join(EXAMPLE_KEYS, 'PASSPHRASE-TEST-ONLY');
      const passphrase = readFileSync(passFile, 'utf8').split('\n')[0]!;
      const r = await runCli(
        ['sign', manifest, '--key', join(EXAMPLE_KEYS, 'alice.key'), '--passphrase-file', passFile, '--yes', '--out', join(d, 'alice.sig'), '--json'],
        opts,
      );
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, keyid: JSON.parse(readFileSync(join(EXAMPLE_KEYS, 'alice.pub'), 'utf8')).keyid });
      expect(r.stdout + r.stderr).not.to.contain(passphrase);
      expect(listing(d)).to.deep.equal(['alice.sig']);
    });

    it('an encrypted key with no passphrase and no terminal: exit 2, nothing written', async () => {
      const d = outDir('no-passphrase');
      const r = await runCli(['sign', manifest, '--key', join(EXAMPLE_KEYS, 'bob.key'), '--yes', '--out', join(d, 'bob.sig'), '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
      expect(listing(d)).to.deep.equal([]);
    });

    it('a public key given as --key: WRONG_KIND naming what it is, exit 2, nothing written', async () => {
      const d = outDir('pub-as-key');
      const r = await runCli(['sign', manifest, '--key', keys.alice!.pub, '--yes', '--out', join(d, 'x.sig'), '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'WRONG_KIND' });
      expect(r.json.details).to.include({ found: 'public-key' });
      expect(listing(d)).to.deep.equal([]);
    });

    it('at a terminal, a wrong passphrase is asked again, three tries in all; then BAD_PASSPHRASE, exit 2', async () => {
      const good = readFileSync(join(EXAMPLE_KEYS, 'PASSPHRASE-TEST-ONLY'), 'utf8').split('\n')[0]!;
      const d = outDir('tries');
      const asked: string[] = [];
      const ok = await runCli(['sign', manifest, '--key', join(EXAMPLE_KEYS, 'alice.key'), '--out', join(d, 'a.sig'), '--json'], {
        ...opts,
        interactive: true,
        prompter: scriptedPrompter(asked, [true, 'wrong-1', 'wrong-2', good]),
      });
      expect(ok.code, ok.stderr).to.equal(0);
      expect(asked).to.deep.equal(['Sign this document?', 'Passphrase:', 'Passphrase:', 'Passphrase:']);
      const r = await runCli(['sign', manifest, '--key', join(EXAMPLE_KEYS, 'alice.key'), '--out', join(d, 'b.sig'), '--json'], {
        ...opts,
        interactive: true,
        prompter: scriptedPrompter([], [true, 'wrong-1', 'wrong-2', 'wrong-3']),
      });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'BAD_PASSPHRASE' });
      expect(listing(d)).to.deep.equal(['a.sig']);
    });

    it('Ctrl-C at the confirmation: "cancelled", CANCELLED, exit 2, nothing written', async () => {
      const d = outDir('ctrl-c');
      const cancel = Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
      const r = await runCli(['sign', manifest, '--key', keys.alice!.key, '--out', join(d, 'a.sig')], {
        ...opts,
        interactive: true,
        prompter: scriptedPrompter([], [cancel]),
      });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^error\[CANCELLED\]: cancelled$/m);
      expect(listing(d)).to.deep.equal([]);
    });

    it('never overwrites an existing .sig (OUTPUT_EXISTS, exit 2, before the review) unless --force', async () => {
      const d = outDir('overwrite');
      const out = join(d, 'a.sig');
      writeFileSync(out, 'keep me');
      const asked: string[] = [];
      const r = await runCli(['sign', manifest, '--key', keys.alice!.key, '--out', out, '--json'], {
        ...opts,
        interactive: true,
        prompter: scriptedPrompter(asked, []),
      });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
      expect(asked).to.deep.equal([]);
      expect(readFileSync(out, 'utf8')).to.equal('keep me');
      await runCliOk(['sign', manifest, '--key', keys.alice!.key, '--out', out, '--yes', '--force'], opts);
      expect(JSON.parse(readFileSync(out, 'utf8'))).to.include({ keyid: keys.alice!.keyid });
      expect(listing(d)).to.deep.equal(['a.sig']);
    });

    it("the default name is DOC.<keyid prefix>.sig, and the README's glob DOC.*.sig finds it", async () => {
      const d = outDir('default-name');
      copyFileSync(policy.unsigned, join(d, 'policy.json'));
      const r = await runCliOk(['sign', join(d, 'policy.json'), '--key', keys.bob!.key, '--yes', '--json'], opts);
      expect(r.json.signature).to.equal(join(d, `policy.${keys.bob!.keyid.slice(0, 8)}.sig`));
      expect(listing(d).filter((f) => /^policy\..*\.sig$/.test(f))).to.have.length(1);
    });

    it('a document of another kind is WRONG_KIND (exit 2), named for what it is', async () => {
      for (const [doc, found] of [
        [keys.alice!.pub, 'public-key'],
        [keys.alice!.key, 'secret-key'],
        [archive, 'archive'],
        [sig.alice!, 'partial-signature'],
      ] as const) {
        const r = await runCli(['sign', doc, '--key', keys.alice!.key, '--yes', '--out', join(dir, 'never.sig'), '--json'], opts);
        expect(r.code, doc).to.equal(2);
        expect(r.json, doc).to.include({ ok: false, code: 'WRONG_KIND' });
        expect(r.json.details, doc).to.include({ found });
      }
      expect(existsSync(join(dir, 'never.sig'))).to.equal(false);
    });

    it('a missing document, key or archive is an I/O error (exit 2, IO)', async () => {
      const d = outDir('io');
      for (const args of [
        ['sign', join(d, 'nope.manifest.json'), '--key', keys.alice!.key],
        ['sign', manifest, '--key', join(d, 'nope.key')],
        ['sign', manifest, '--archive', join(d, 'nope.tar'), '--key', keys.alice!.key],
      ]) {
        const r = await runCli([...args, '--yes', '--out', join(d, 'x.sig'), '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'IO' });
      }
      expect(listing(d)).to.deep.equal([]);
    });

    it('missing --key or DOC, or an unknown flag: exit 2 USAGE; --help has an example', async () => {
      for (const args of [
        ['sign', manifest, '--yes'],
        ['sign', '--key', keys.alice!.key, '--yes'],
        ['sign', manifest, '--key', keys.alice!.key, '--yes', '--frobnicate'],
      ]) {
        const r = await runCli([...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'USAGE' });
      }
      const h = await runCli(['sign', '--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(/^Examples?:$/m);
    });
  });

  describe('assemble', () => {
    it('below the threshold: exit 1 QUORUM_NOT_MET, "k of m", who signed and who could still sign, and nothing written', async () => {
      const d = outDir('below');
      const bundle = join(d, 'drupal-10.2.4.bundle');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.alice!, sig.mallory!, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'QUORUM_NOT_MET' });
      const details = r.json.details as {
        signedBy: Array<{ id: string; name: string }>;
        couldSign: Array<{ id: string; name: string }>;
        threshold: number;
        problems: Array<{ code: string }>;
      };
      expect(details.signedBy).to.deep.equal([{ id: keys.alice!.keyid, name: 'alice' }]);
      expect(details.couldSign).to.deep.equal([
        { id: keys.bob!.keyid, name: 'bob' },
        { id: keys.carol!.keyid, name: 'carol' },
      ]);
      expect(details.threshold).to.equal(2);
      expect(details.problems.map((p) => p.code)).to.deep.equal(['UNKNOWN_KEY']);
      expect(existsSync(bundle)).to.equal(false);
      expect(listing(d), 'no bundle and no temporary file').to.deep.equal([]);

      const human = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.alice!, sig.mallory!], opts);
      expect(human.code).to.equal(1);
      expect(human.stderr).to.contain('QUORUM_NOT_MET');
      expect(human.stderr).to.contain('1 of 2');
      expect(human.stderr).to.match(/signed:\s+alice/);
      expect(human.stderr).to.match(/could still sign:\s+bob, carol/);
      expect(human.stderr).to.contain('UNKNOWN_KEY');
      expect(listing(d)).to.deep.equal([]);
    });

    it('duplicate, forged, unknown and wrong-document partials are reported and never counted', async () => {
      const d = outDir('never-counted');
      const bundle = join(d, 'drupal-10.2.4.bundle');
      const r = await runCli(
        [
          'assemble',
          manifest,
          '--policy',
          policy.signed,
          '--out',
          bundle,
          sig.alice!,
          sig.alice!,
          sig.aliceCopy!,
          sig.bobForged!,
          sig.mallory!,
          sig.bobOnOther!,
          sig.bobOnPolicy!,
          '--json',
        ],
        opts,
      );
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'QUORUM_NOT_MET' });
      const details = r.json.details as { signedBy: Array<{ name: string }>; couldSign: Array<{ name: string }>; problems: Array<{ code: string }> };
      expect(details.signedBy.map((s) => s.name)).to.deep.equal(['alice']);
      expect(details.couldSign.map((s) => s.name)).to.deep.equal(['bob', 'carol']);
      const codes = details.problems.map((p) => p.code).sort();
      expect(codes).to.deep.equal(['BAD_SIGNATURE', 'DUPLICATE_SIGNATURE', 'DUPLICATE_SIGNATURE', 'UNKNOWN_KEY', 'WRONG_DOCUMENT', 'WRONG_DOCUMENT']);
      expect(listing(d)).to.deep.equal([]);
    });

    it('at the threshold: writes exactly one bundle that keeps only the counted signatures, and reports the rest', async () => {
      const d = outDir('at-threshold');
      const bundle = join(d, 'drupal-10.2.4.bundle');
      const r = await runCli(
        ['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.mallory!, sig.bobForged!, sig.bob!, sig.alice!, '--json'],
        opts,
      );
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, bundle, kind: 'manifest', signed: 2, threshold: 2 });
      expect((r.json.signedBy as Array<{ name: string }>).map((s) => s.name)).to.deep.equal(['alice', 'bob']);
      expect((r.json.couldSign as Array<{ name: string }>).map((s) => s.name)).to.deep.equal(['carol']);
      expect((r.json.problems as Array<{ code: string }>).map((p) => p.code).sort()).to.deep.equal(['BAD_SIGNATURE', 'UNKNOWN_KEY']);
      expect(listing(d)).to.deep.equal(['drupal-10.2.4.bundle']);
      // The bundle: a v2 header naming the envelope (with the two counted signatures) and the archive, then their bytes.
      const bytes = readFileSync(bundle);
      const layout = parseBundleHeader(bytes, Infinity, bytes.length);
      expect(
        layout.sections.map((x) => x.name),
        'bundle header',
      ).to.deep.equal(['envelope', 'archive']);
      expect(layout.version).to.equal(2);
      const envelopeEnd = layout.envelope.offset + layout.envelope.length;
      const envelope = JSON.parse(bytes.subarray(layout.envelope.offset, envelopeEnd).toString('utf8'));
      expect(envelope.signatures.map((s: { keyid: string }) => s.keyid)).to.deep.equal([keys.alice!.keyid, keys.bob!.keyid]);
      expect(bytes.subarray(envelopeEnd).equals(readFileSync(archive))).to.equal(true);
      // And it verifies.
      const v = await runCli(['verify', bundle, '--policy', policy.signed, '--installed', '10.2.3', '--json'], opts);
      expect(v.json).to.include({ ok: true });
    });

    it('never overwrites an existing bundle or signed policy (OUTPUT_EXISTS, exit 2) unless --force', async () => {
      const d = outDir('assemble-overwrite');
      const bundle = join(d, 'drupal-10.2.4.bundle');
      writeFileSync(bundle, 'keep me');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.bob!, sig.alice!, '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
      expect(readFileSync(bundle, 'utf8')).to.equal('keep me');
      await runCliOk(['assemble', manifest, '--policy', policy.signed, '--out', bundle, '--force', sig.bob!, sig.alice!], opts);
      expect(readFileSync(bundle).subarray(0, 20).toString('latin1')).to.equal('countersign-bundle v');
      const signed = join(d, 'policy.signed.json');
      writeFileSync(signed, 'keep me');
      const p = await runCli(['assemble', policy.unsigned, '--policy', policy.unsigned, '--out', signed, sig.bob!, '--json'], opts);
      expect(p.json).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
      expect(listing(d)).to.deep.equal(['drupal-10.2.4.bundle', 'policy.signed.json']);
    });

    it('files of another kind are WRONG_KIND (exit 2): a bundle as --policy, a key as a partial signature', async () => {
      const d = outDir('assemble-kinds');
      const bundle = join(d, 'b.bundle');
      await runCliOk(['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.bob!, sig.alice!], opts);
      const r1 = await runCli(['assemble', manifest, '--policy', bundle, '--out', join(d, 'x'), sig.alice!, '--json'], opts);
      expect(r1.code).to.equal(2);
      expect(r1.json).to.include({ ok: false, code: 'WRONG_KIND' });
      expect(r1.json.details).to.include({ found: 'bundle' });
      expect(String(r1.json.message)).to.match(/is a bundle.*, not a policy/);
      const r2 = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', join(d, 'x'), keys.alice!.pub, '--json'], opts);
      expect(r2.code).to.equal(2);
      expect(r2.json).to.include({ ok: false, code: 'WRONG_KIND' });
      expect(listing(d)).to.deep.equal(['b.bundle']);
    });

    it('human output at the threshold says who signed and what was not counted', async () => {
      const d = outDir('at-threshold-human');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', join(d, 'b.bundle'), sig.carol!, sig.mallory!, sig.bob!], opts);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.contain('2 signers (threshold 2 of 3)');
      expect(r.stdout).to.match(/signed:\s+bob, carol/);
      expect(r.stdout).to.match(/could still sign:\s+alice/);
      expect(r.stdout).to.contain('UNKNOWN_KEY');
      expect(listing(d)).to.deep.equal(['b.bundle']);
    });

    it('a partial for another document is WRONG_DOCUMENT and not counted, even with a valid signature', async () => {
      const d = outDir('wrong-document');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', join(d, 'x.bundle'), sig.alice!, sig.bobOnOther!, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'QUORUM_NOT_MET' });
      const details = r.json.details as { signedBy: Array<{ name: string }>; problems: Array<{ code: string; details?: { keyid?: string } }> };
      expect(details.signedBy.map((s) => s.name)).to.deep.equal(['alice']);
      expect(details.problems).to.have.length(1);
      expect(details.problems[0]).to.deep.include({ code: 'WRONG_DOCUMENT' });
      expect(details.problems[0]!.details?.keyid).to.equal(keys.bob!.keyid);
      expect(listing(d)).to.deep.equal([]);
    });

    it('self-signs a new policy: assemble policy.json --policy policy.json', async () => {
      const d = outDir('self-sign');
      const out = join(d, 'policy.signed.json');
      const r = await runCli(['assemble', policy.unsigned, '--policy', policy.unsigned, '--out', out, sig.aliceOnPolicy!, sig.bobOnPolicy!, '--json'], opts);
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, kind: 'policy', signed: 2 });
      expect(listing(d)).to.deep.equal(['policy.signed.json']);
      const envelope = JSON.parse(readFileSync(out, 'utf8'));
      expect(envelope.signatures.map((s: { keyid: string }) => s.keyid)).to.deep.equal([keys.alice!.keyid, keys.bob!.keyid]);
      expect(envelope.payload).to.equal(JSON.parse(readFileSync(policy.unsigned, 'utf8')).payload);
      // It can now be pinned: it verifies against itself.
      const v = await runCli(['verify', out, '--policy', out, '--json'], opts);
      expect(v.json).to.include({ ok: true, kind: 'policy' });
    });

    it('a manifest partial used on a policy is not counted (WRONG_DOCUMENT), and nothing is written', async () => {
      const d = outDir('manifest-sig-on-policy');
      const out = join(d, 'policy.signed.json');
      const r = await runCli(['assemble', policy.unsigned, '--policy', policy.unsigned, '--out', out, sig.aliceOnPolicy!, sig.bob!, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'QUORUM_NOT_MET' });
      const details = r.json.details as { signedBy: Array<{ name: string }>; problems: Array<{ code: string }> };
      expect(details.signedBy.map((s) => s.name)).to.deep.equal(['alice']);
      expect(details.problems.map((p) => p.code)).to.deep.equal(['WRONG_DOCUMENT']);
      expect(listing(d)).to.deep.equal([]);
    });

    it('an archive that no longer matches the manifest: DIGEST_MISMATCH, exit 1, nothing written', async () => {
      const d = outDir('tampered-archive');
      const bytes = readFileSync(archive);
      bytes[600]! ^= 0x01;
      const tampered = join(d, 'tampered.tar');
      writeFileSync(tampered, bytes);
      const bundle = join(d, 'x.bundle');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--archive', tampered, '--out', bundle, sig.alice!, sig.bob!, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json).to.include({ ok: false, code: 'DIGEST_MISMATCH' });
      expect(listing(d)).to.deep.equal(['tampered.tar']);
    });

    it('a manifest whose archive is neither given nor beside it: exit 2, nothing written', async () => {
      const d = outDir('no-archive');
      copyFileSync(manifest, join(d, 'drupal-10.2.4.manifest.json'));
      const r = await runCli(
        ['assemble', join(d, 'drupal-10.2.4.manifest.json'), '--policy', policy.signed, '--out', join(d, 'x.bundle'), sig.alice!, sig.bob!, '--json'],
        opts,
      );
      expect(r.code).to.equal(2);
      expect(r.json.ok).to.equal(false);
      expect(listing(d)).to.deep.equal(['drupal-10.2.4.manifest.json']);
    });

    it('refuses to assemble a release against an unsigned policy, or an expired one; nothing written', async () => {
      const d = outDir('untrusted-policy');
      const bundle = join(d, 'x.bundle');
      const unsigned = await runCli(['assemble', manifest, '--policy', policy.unsigned, '--out', bundle, sig.alice!, sig.bob!, '--json'], opts);
      expect(unsigned.code).to.equal(1);
      expect(unsigned.json).to.include({ ok: false, code: 'POLICY_UNSIGNED' });
      const expired = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.alice!, sig.bob!, '--json'], {
        now: new Date('2028-02-01T00:00:00Z'),
      });
      expect(expired.code).to.equal(1);
      expect(expired.json).to.include({ ok: false, code: 'POLICY_EXPIRED' });
      expect(listing(d)).to.deep.equal([]);
    });

    it('an unreadable (malformed) partial is reported and not counted; the quorum of the others still holds', async () => {
      const d = outDir('malformed-partial');
      const garbage = join(d, 'garbage.sig');
      writeFileSync(garbage, 'this is not a signature\n');
      const bundle = join(d, 'x.bundle');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', bundle, sig.alice!, garbage, sig.bob!, '--json'], opts);
      expect(r.code).to.equal(0);
      expect(r.json).to.include({ ok: true, signed: 2 });
      expect((r.json.problems as Array<{ code: string }>).length).to.equal(1);
      expect(existsSync(bundle)).to.equal(true);
    });

    it('a malformed partial never leads to a bundle short of the quorum', async () => {
      const d = outDir('malformed-partial-below');
      const garbage = join(d, 'garbage.sig');
      writeFileSync(garbage, '{"type": "countersign-partial-signature"}');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', join(d, 'x.bundle'), sig.alice!, garbage, '--json'], opts);
      expect(r.code).to.equal(1);
      expect(r.json.ok).to.equal(false);
      expect(listing(d)).to.deep.equal(['garbage.sig']);
    });

    it('a missing partial, document or policy file is an I/O error (exit 2, IO), nothing written', async () => {
      const d = outDir('io');
      const bundle = join(d, 'x.bundle');
      for (const args of [
        [manifest, '--policy', policy.signed, '--out', bundle, sig.alice!, join(d, 'nope.sig')],
        [join(d, 'nope.manifest.json'), '--policy', policy.signed, '--out', bundle, sig.alice!],
        [manifest, '--policy', join(d, 'nope.json'), '--out', bundle, sig.alice!],
      ]) {
        const r = await runCli(['assemble', ...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'IO' });
      }
      expect(listing(d)).to.deep.equal([]);
    });

    it('--out in a directory that does not exist, for a policy: exit 2 IO, nothing written', async () => {
      const d = outDir('policy-out-missing-dir');
      const r = await runCli(
        ['assemble', policy.unsigned, '--policy', policy.unsigned, '--out', join(d, 'nodir', 'p.json'), sig.aliceOnPolicy!, sig.bobOnPolicy!, '--json'],
        opts,
      );
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'IO' });
      expect(listing(d)).to.deep.equal([]);
    });

    it('--out in a directory that does not exist, for a release bundle: exit 2 IO, nothing written', async () => {
      const d = outDir('bundle-out-missing-dir');
      const r = await runCli(['assemble', manifest, '--policy', policy.signed, '--out', join(d, 'nodir', 'x.bundle'), sig.alice!, sig.bob!, '--json'], opts);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'IO' });
      expect(listing(d)).to.deep.equal([]);
    });

    it('missing --out, --policy or signatures, or an unknown flag: exit 2 USAGE; --help has an example', async () => {
      for (const args of [
        [manifest, '--policy', policy.signed, sig.alice!],
        [manifest, '--out', join(dir, 'u.bundle'), sig.alice!],
        [manifest, '--policy', policy.signed, '--out', join(dir, 'u.bundle')],
        [manifest, '--policy', policy.signed, '--out', join(dir, 'u.bundle'), sig.alice!, '--threshold', '1'],
      ]) {
        const r = await runCli(['assemble', ...args, '--json'], opts);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'USAGE' });
      }
      expect(existsSync(join(dir, 'u.bundle'))).to.equal(false);
      const h = await runCli(['assemble', '--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(/^Examples?:$/m);
    });
  });
});
