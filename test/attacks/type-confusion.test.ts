// Type confusion: a signature made for one kind of document (policy, manifest, revocation) presented
// as a signature of another kind. DSSE's PAE binds the payloadType into every signature, each kind has
// its own strict schema, and partial signatures name the type and payload they cover.
import { expect } from 'chai';
import { PAYLOAD_TYPES, openEnvelope, type Envelope } from '../../lib/core/envelope.js';
import { partialAsSignature, partialMismatch, signDocument } from '../../lib/core/partial-signature.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import { verifyRevocation } from '../../lib/core/revocation.js';
import { verifyRotation } from '../../lib/core/rotation.js';
import { countQuorum } from '../../lib/core/quorum.js';
import { envelopeBytes, fixtures, signedBy } from './generate.js';
import { accepts, input, quorumProblems, rejection, rejectionReasons, siteOptions, thrown, untouchable } from './support.js';

describe('Type confusion attack (a signature of one document kind used for another)', () => {
  const f = fixtures();
  const { alice, bob, carol } = f.team;
  const relabel = (env: Envelope, kind: keyof typeof PAYLOAD_TYPES): Envelope => ({ ...env, payloadType: PAYLOAD_TYPES[kind] });
  const noArchive = () => untouchable(f.releaseA.archive.length);

  it('signed manifest A relabelled as a policy: SCHEMA_INVALID (a format-2 manifest read as a format-2 policy is no policy)', async () => {
    expect(await rejection({ ...input(relabel(f.releaseA.envelope, 'policy')), archive: noArchive() }, siteOptions())).to.deep.equal(['SCHEMA_INVALID']);
  });

  it('signed policy v1 relabelled as a manifest: SCHEMA_INVALID', async () => {
    expect(await rejection(input(relabel(f.policyV1.envelope, 'manifest')), siteOptions())).to.deep.equal(['SCHEMA_INVALID']);
  });

  it('the signed revocation of A relabelled as a manifest: SCHEMA_INVALID', async () => {
    expect(await rejection(input(relabel(f.revocationA.envelope, 'manifest')), siteOptions())).to.deep.equal(['SCHEMA_INVALID']);
  });

  it('manifest A signed by the quorum under the policy payloadType, presented as a manifest: QUORUM_NOT_MET (every one BAD_SIGNATURE)', async () => {
    // The signers were tricked into signing these exact bytes "as a policy"; PAE binds the type, so none carries over.
    const signedAsPolicy = signedBy({ ...relabel(f.releaseA.envelope, 'policy'), signatures: [] }, [alice, bob, carol]);
    const asManifest = relabel(signedAsPolicy, 'manifest');
    const reasons = await rejectionReasons(input(asManifest, f.releaseA.archive), siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });

  it('manifest A signed by the quorum under the revocation payloadType, presented as a manifest: QUORUM_NOT_MET (every one BAD_SIGNATURE)', async () => {
    const signedAsRevocation = signedBy({ ...relabel(f.releaseA.envelope, 'revocation'), signatures: [] }, [alice, bob, carol]);
    const reasons = await rejectionReasons(input(relabel(signedAsRevocation, 'manifest'), f.releaseA.archive), siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });

  it("policy v1's signatures attached to manifest A: QUORUM_NOT_MET (every one BAD_SIGNATURE)", async () => {
    const env = { ...f.releaseA.envelope, signatures: f.policyV1.envelope.signatures };
    const reasons = await rejectionReasons({ ...input(env), archive: noArchive() }, siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(Array(5).fill('BAD_SIGNATURE'));
  });

  it("manifest A's signatures attached to policy v1: QUORUM_NOT_MET (every one BAD_SIGNATURE)", async () => {
    const env = { ...f.policyV1.envelope, signatures: f.releaseA.envelope.signatures };
    const reasons = await rejectionReasons(input(env), siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });

  it('an unknown payloadType: WRONG_TYPE', async () => {
    const env = { ...f.releaseA.envelope, payloadType: 'application/vnd.in-toto+json' };
    expect(await rejection({ ...input(env), archive: noArchive() }, siteOptions())).to.deep.equal(['WRONG_TYPE']);
  });

  it('a payloadType differing only in case: WRONG_TYPE', async () => {
    const env = { ...f.releaseA.envelope, payloadType: PAYLOAD_TYPES.manifest.replace('manifest', 'Manifest') };
    expect(await rejection({ ...input(env), archive: noArchive() }, siteOptions())).to.deep.equal(['WRONG_TYPE']);
  });

  it('a signed manifest pinned as the trust policy: WRONG_TYPE', () => {
    expect(thrown(() => loadTrustedPolicy(envelopeBytes(f.releaseA.envelope))).code).to.equal('WRONG_TYPE');
  });

  it('a signed manifest offered as a policy rotation: WRONG_TYPE', () => {
    expect(thrown(() => verifyRotation(f.trustedV1, envelopeBytes(f.releaseA.envelope))).code).to.equal('WRONG_TYPE');
  });

  it('a signed policy offered as a revocation: WRONG_TYPE', () => {
    expect(thrown(() => verifyRevocation(f.policyV1.bytes, f.trustedV1)).code).to.equal('WRONG_TYPE');
  });

  it('a signed revocation offered as a policy rotation: WRONG_TYPE', () => {
    expect(thrown(() => verifyRotation(f.trustedV1, f.revocationA.bytes)).code).to.equal('WRONG_TYPE');
  });

  it('a quorum-signed policy offered where a release bundle is expected verifies only as kind "policy", never as a manifest', async () => {
    const v = await accepts(input(f.policyV1.envelope), siteOptions());
    expect(v.document.kind).to.equal('policy');
  });

  describe('partial signatures', () => {
    const manifestA = openEnvelope(envelopeBytes({ ...f.releaseA.envelope, signatures: [] }));
    const manifestB = openEnvelope(envelopeBytes({ ...f.releaseB.envelope, signatures: [] }));
    const policyV2 = openEnvelope(envelopeBytes({ ...f.policyV2.envelope, signatures: [] }));

    it('a partial signature of policy v2 presented for manifest A: WRONG_DOCUMENT', () => {
      const partial = signDocument(policyV2, alice.seed, alice.publicKey);
      expect(partialMismatch(partial, manifestA, 'alice.sig')?.code).to.equal('WRONG_DOCUMENT');
    });

    it('a partial signature of manifest A presented for manifest B: WRONG_DOCUMENT', () => {
      const partial = signDocument(manifestA, alice.seed, alice.publicKey);
      expect(partialMismatch(partial, manifestB, 'alice.sig')?.code).to.equal('WRONG_DOCUMENT');
    });

    it('a policy partial whose type and payload hash were edited to claim manifest A: passes the label check, then BAD_SIGNATURE', () => {
      const partial = signDocument(policyV2, alice.seed, alice.publicKey);
      const edited = { ...partial, payloadType: manifestA.envelope.payloadType, payloadSha256: manifestA.payloadSha256 };
      expect(partialMismatch(edited, manifestA, 'alice.sig')).to.equal(undefined);
      const q = countQuorum(manifestA, [partialAsSignature(edited)], f.trustedV1);
      expect(q.problems.map((p) => p.code)).to.deep.equal(['BAD_SIGNATURE']);
      expect(q.signedBy).to.deep.equal([]);
    });
  });
});
