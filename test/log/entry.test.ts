import { expect } from 'chai';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { openEnvelope } from '../../lib/core/envelope.js';
import { createRevocation } from '../../lib/core/revocation.js';
import {
  checkEntryForEnvelope,
  encodeEntry,
  ENTRY_TYPES,
  entryForEnvelope,
  logEntryFor,
  MAX_LOG_ENTRY_BYTES,
  parseEntry,
  type ReleaseStatement,
} from '../../lib/log/entry.js';
import { envelopeBytes, makePolicy, makeRelease, signedBy } from '../support/fixtures.js';
import { codeOf as code } from '../support/codes.js';

describe('log/entry: what the log holds for each document', () => {
  const team = makePolicy(3, 2);
  const release = makeRelease();
  const signed = signedBy(release.envelope, team.signers.slice(0, 2));
  const bytes = envelopeBytes(signed);

  it('a release is logged as a statement binding product, component, version, digests, policy version and signatures', () => {
    const entry = logEntryFor(bytes) as ReleaseStatement;
    expect(entry.entry).to.equal(ENTRY_TYPES.release);
    expect(entry).to.include({ product: 'drupal', component: 'core', version: '10.2.4', policyVersion: 1, payloadSha256: openEnvelope(bytes).payloadSha256 });
    expect(entry.archive).to.deep.equal({ sha256: release.manifest.archive.sha256, size: release.manifest.archive.size });
    expect(entry.signatures.map((s) => s.keyid)).to.deep.equal(signed.signatures.map((s) => s.keyid).sort());
    const encoded = entryForEnvelope(bytes);
    expect(encoded.length).to.be.lessThan(2048);
    expect(parseEntry(encoded)).to.deep.include({ kind: 'release', statement: entry });
  });

  it('one document, one entry: signature order and repeats, and the envelope spelling, do not change it', () => {
    const reordered = { ...signed, signatures: [...signed.signatures].reverse().concat(signed.signatures[0]!) };
    const pretty = new TextEncoder().encode(JSON.stringify(reordered));
    expect(Buffer.from(entryForEnvelope(pretty)).equals(Buffer.from(entryForEnvelope(bytes)))).to.equal(true);
  });

  it('a policy and a revocation are logged as themselves: exact payload bytes, payload type and signatures', () => {
    const policyBytes = envelopeBytes(team.signed);
    const parsed = parseEntry(entryForEnvelope(policyBytes));
    expect(parsed.kind).to.equal('policy');
    if (parsed.kind !== 'policy') return;
    const reopened = openEnvelope(parsed.envelopeBytes);
    expect(Buffer.from(reopened.payloadBytes).equals(Buffer.from(openEnvelope(policyBytes).payloadBytes))).to.equal(true);
    expect(reopened.envelope.signatures).to.have.length(team.signed.signatures.length);

    const revocation = createRevocation({
      product: 'drupal',
      component: 'core',
      version: '10.2.4',
      reason: 'test',
      policyVersion: 1,
      created: new Date('2026-11-21T00:00:00Z'),
    });
    const revBytes = envelopeBytes(signedBy(revocation, team.signers.slice(0, 2)));
    expect(parseEntry(entryForEnvelope(revBytes)).kind).to.equal('revocation');
  });

  it('checkEntryForEnvelope: the same release matches; another release, version or archive is LOG_ENTRY_MISMATCH', () => {
    const entry = logEntryFor(bytes);
    checkEntryForEnvelope(entry, bytes);
    // Signatures may differ: a bundle can gain signatures after it was logged.
    checkEntryForEnvelope({ ...entry, signatures: [] }, bytes);
    const s = entry as ReleaseStatement;
    for (const other of [
      { ...s, version: '10.2.5' },
      { ...s, product: 'wordpress' },
      { ...s, component: 'theme' },
      { ...s, payloadSha256: '0'.repeat(64) },
      { ...s, archive: { ...s.archive, size: s.archive.size + 1 } },
      { ...s, archive: { ...s.archive, sha256: 'f'.repeat(64) } },
      { ...s, policyVersion: 2 },
    ]) {
      expect(code(() => checkEntryForEnvelope(other, bytes))).to.equal('LOG_ENTRY_MISMATCH');
    }
    expect(code(() => checkEntryForEnvelope(logEntryFor(envelopeBytes(team.signed)), bytes))).to.equal('LOG_ENTRY_MISMATCH');
  });

  it('parseEntry refuses non-canonical, oversized, unknown or ill-shaped entries (ENTRY_INVALID)', () => {
    const good = logEntryFor(bytes) as ReleaseStatement;
    const enc = (v: unknown): Uint8Array => canonicalBytes(v);
    for (const [why, b] of [
      ['not canonical', new TextEncoder().encode(JSON.stringify(good, null, 1))],
      ['not JSON', new TextEncoder().encode('{')],
      ['unknown type', enc({ ...good, entry: 'countersign.release/v2' })],
      ['extra member', enc({ ...good, extra: 1 })],
      ['missing member', enc(Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'policyVersion')))],
      ['bad digest', enc({ ...good, payloadSha256: 'ABC' })],
      ['not a manifest type', enc({ ...good, payloadType: 'application/vnd.countersign.policy+json' })],
      ['negative size', enc({ ...good, archive: { ...good.archive, size: -1 } })],
      ['unsorted signatures', enc({ ...good, signatures: [...good.signatures].reverse() })],
      ['repeated signature', enc({ ...good, signatures: [good.signatures[0], good.signatures[0]] })],
      ['an array', enc([good])],
      ['too large', new Uint8Array(MAX_LOG_ENTRY_BYTES + 1)],
    ] as const) {
      expect(
        code(() => parseEntry(b)),
        why,
      ).to.equal('ENTRY_INVALID');
    }
  });

  it('an entry above 16 KiB is refused when encoded, and an unopenable document cannot be logged (ENTRY_INVALID)', () => {
    const s = logEntryFor(bytes) as ReleaseStatement;
    const huge = { ...s, signatures: Array.from({ length: 200 }, (_, i) => ({ keyid: i.toString(16).padStart(64, '0'), sig: 'A'.repeat(88) })) };
    expect(code(() => encodeEntry(huge))).to.equal('ENTRY_INVALID');
    expect(code(() => entryForEnvelope(new TextEncoder().encode('{}')))).to.equal('ENTRY_INVALID');
  });
});
