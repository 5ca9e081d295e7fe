import { expect } from 'chai';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEnvelope, openEnvelope, serializeEnvelope } from '../lib/core/envelope.js';
import { createPolicy } from '../lib/core/policy.js';
import { rotationLines, summarizeDocument } from '../lib/core/summary.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { makeCliKeys, runCli } from './support/cli.js';
import { codeOf } from './support/codes.js';
import { envelopeBytes, makePolicy, makeRelease, makeSigners, manifestEnvelope, NOW, tempDir, type TestSigner } from './support/fixtures.js';

describe('what a signer is shown', () => {
  it('lists every file operation, however many, including the last one in sort order', () => {
    const release = makeRelease();
    const files = Array.from({ length: 60 }, (_, i) => ({
      op: 'add' as const,
      path: `core/f${String(i).padStart(2, '0')}.php`,
      sha256: 'a'.repeat(64),
      size: 1,
      mode: '0644' as const,
    }));
    files.push({ op: 'add', path: 'zz/backdoor.php', sha256: 'b'.repeat(64), size: 1, mode: '0644' });
    const doc = openEnvelope(envelopeBytes(manifestEnvelope({ ...release.manifest, files })));
    const text = summarizeDocument(doc).lines.join('\n');
    expect(text).to.contain('A zz/backdoor.php');
    expect(text).to.contain('A core/f00.php');
  });

  it('shows post-update steps as exact argv arrays, so "updb -y" and "updb","-y" differ', () => {
    const release = makeRelease({ postUpdate: [['drush', 'updb -y']] });
    const text = summarizeDocument(openEnvelope(envelopeBytes(release.envelope))).lines.join('\n');
    expect(text).to.contain('["drush","updb -y"]');
  });

  it("shows a format-2 manifest's signed archive mtime", () => {
    const lines = summarizeDocument(openEnvelope(envelopeBytes(makeRelease({ mtime: 1_700_000_000 }).envelope))).lines;
    expect(lines).to.include('  mtime       1700000000 (every entry)');
  });

  it('marks attached signatures as not verified', () => {
    const text = summarizeDocument(openEnvelope(envelopeBytes(makeRelease().envelope))).lines.join('\n');
    expect(text).to.contain('not verified');
  });

  it('refuses to summarise (and so to sign) a revocation that is not a valid one', () => {
    const doc = openEnvelope(envelopeBytes(createEnvelope('revocation', canonicalBytes({ revoke: 'key-of-erin', x: 1 }))));
    expect(codeOf(() => summarizeDocument(doc))).to.equal('SCHEMA_INVALID');
  });
});

describe('what a signer is shown: keys, rotations, applicability and the version file', () => {
  const p1 = makePolicy(4, 3);
  const [a, b, c, d] = p1.signers as [TestSigner, TestSigner, TestSigner, TestSigner];
  const frank = { ...makeSigners(1)[0]!, name: 'frank' };
  const p2 = createPolicy({
    version: 2,
    threshold: 2,
    expires: new Date('2031-06-01T00:00:00Z'),
    signers: [a, c, d, frank].map((s) => ({ publicKey: s.publicKey, name: s.name })),
  });
  const p2doc = openEnvelope(envelopeBytes(createEnvelope('policy', canonicalBytes(p2))));

  it("shows every signer's full key id (64 hex digits), not a prefix", () => {
    const text = summarizeDocument(openEnvelope(envelopeBytes(p1.signed))).lines.join('\n');
    for (const s of p1.signers) expect(text).to.contain(`${s.name}  ${s.id}`);
    expect(text).to.not.contain('…');
  });

  it('a policy N+1 reviewed against the current one says who is added and removed, and how threshold and expiry change', () => {
    const lines = summarizeDocument(p2doc, { current: p1.policy }).lines;
    const text = lines.join('\n');
    expect(text).to.contain('from version 1 to 2');
    expect(lines.find((l) => l.includes('Added:'))).to.contain(`${frank.name}  ${frank.id}`);
    expect(lines.find((l) => l.includes('Removed:'))).to.contain(`${b.name}  ${b.id}`);
    expect(text).to.contain('Threshold:  3 of 4 -> 2 of 4');
    expect(text).to.contain(`Expires:    ${p1.policy.expires} -> 2031-06-01T00:00:00Z`);
    expect(rotationLines(p1.policy, p1.policy).join('\n')).to.contain('(unchanged)');
    expect(summarizeDocument(p2doc).lines.join('\n')).to.contain('NOT SHOWN: countersign sign DOC --policy CURRENT');
  });

  it('an empty appliesTo says in words that ANY installed version may install it', () => {
    const release = makeRelease({ appliesTo: [] });
    const line = summarizeDocument(openEnvelope(envelopeBytes(release.envelope))).lines.find((l) => l.startsWith('Applies to:'));
    expect(line).to.contain('ANY installed version');
    const named = summarizeDocument(openEnvelope(envelopeBytes(makeRelease().envelope))).lines.find((l) => l.startsWith('Applies to:'));
    expect(named).to.equal('Applies to:   10.2.3');
  });

  it('shows what the version file will say after installation, or that it was not checked', () => {
    const doc = openEnvelope(envelopeBytes(makeRelease().envelope));
    const line = (says?: string | null) => summarizeDocument(doc, { versionFileSays: says }).lines.find((l) => l.startsWith('Version file:'));
    expect(line('10.2.4')).to.contain('core/lib/Drupal.php').and.to.contain('will say 10.2.4 after installation');
    expect(line(undefined)).to.contain('NOT CHECKED');
    expect(line(null)).to.contain('NO version');
  });

  describe('countersign sign', () => {
    let dir: string;
    let key: string;
    before(async () => {
      dir = tempDir();
      key = (await makeCliKeys(dir, ['alice'])).alice!.key;
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the version file out of the archive: "will say 10.2.4", and refuses a manifest whose archive says another version (VERSION_FILE_MISMATCH)', async () => {
      const release = makeRelease();
      const archive = join(dir, 'drupal-10.2.4.tar');
      writeFileSync(archive, release.archive);
      const good = join(dir, 'good.manifest.json');
      writeFileSync(good, serializeEnvelope(release.envelope));
      const ok = await runCli(['sign', good, '--archive', archive, '--key', key, '--yes', '--json'], { now: NOW });
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stderr).to.contain('core/lib/Drupal.php (written last by the installer) will say 10.2.4 after installation');
      // The same archive under a manifest claiming 10.2.9: the site would record 10.2.9 and run 10.2.4.
      const bad = join(dir, 'bad.manifest.json');
      writeFileSync(bad, serializeEnvelope(manifestEnvelope({ ...release.manifest, version: '10.2.9' })));
      const r = await runCli(['sign', bad, '--archive', archive, '--key', key, '--yes', '--json'], { now: NOW });
      expect(r.json).to.include({ ok: false, code: 'VERSION_FILE_MISMATCH' });
      expect(existsSync(join(dir, `bad.manifest.${(ok.json.keyid as string).slice(0, 8)}.sig`))).to.equal(false);
    });

    it('--policy CURRENT: a policy N+1 is reviewed as a rotation', async () => {
      const current = join(dir, 'policy.signed.json');
      writeFileSync(current, serializeEnvelope(p1.signed));
      const next = join(dir, 'policy-2.json');
      writeFileSync(next, serializeEnvelope(createEnvelope('policy', canonicalBytes(p2))));
      const r = await runCli(['sign', next, '--policy', current, '--key', key, '--yes', '--json'], { now: NOW });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain(`Added:      ${frank.name}  ${frank.id}`);
      expect(r.stderr).to.contain(`Removed:    ${b.name}  ${b.id}`);
    });
  });
});
