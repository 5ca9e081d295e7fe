import { expect } from 'chai';
import { canonicalBytes } from '../lib/core/canonical.js';
import { createEnvelope, PAYLOAD_TYPES, type EnvelopeSignature } from '../lib/core/envelope.js';
import { PolicyError, SignatureError } from '../lib/core/errors.js';
import { createPolicy, type CheckedPolicy } from '../lib/core/policy.js';
import { countQuorum, requireQuorum } from '../lib/core/quorum.js';
import { toBase64 } from '../lib/core/bytes.js';
import { pae } from '../lib/core/envelope.js';
import { signMessage } from '../lib/core/ed25519.js';
import { makePolicy, makeSigners, sign, type TestSigner } from './support/fixtures.js';

const doc = (text: string) => {
  const envelope = createEnvelope('manifest', canonicalBytes({ release: text }));
  return { envelope, payloadBytes: Buffer.from(envelope.payload, 'base64') };
};

describe('quorum: counted over distinct authorised public keys', () => {
  const { signers, checked } = makePolicy(5, 3);
  const release = doc('10.2.4');

  it('meets the threshold with m distinct valid signatures', () => {
    const q = countQuorum(
      release,
      signers.slice(0, 3).map((s) => sign(s, release.envelope)),
      checked,
    );
    expect(q.met).to.equal(true);
    expect(q.signedBy.map((s) => s.name)).to.deep.equal(['signer-0', 'signer-1', 'signer-2']);
    expect(q.couldSign.map((s) => s.name)).to.deep.equal(['signer-3', 'signer-4']);
  });

  it('the same partial given m times counts once', () => {
    const one = sign(signers[0]!, release.envelope);
    const q = countQuorum(release, [one, one, one], checked);
    expect(q.met).to.equal(false);
    expect(q.signedBy).to.have.length(1);
    expect(q.problems.map((p) => p.code)).to.deep.equal(['DUPLICATE_SIGNATURE', 'DUPLICATE_SIGNATURE']);
  });

  it('one key listed under two ids counts once (defence in depth behind DUPLICATE_KEY)', () => {
    // A policy object that bypasses checkPolicy: signer-0's key appears twice under different ids.
    const [a, b] = signers as [TestSigner, TestSigner];
    const forged: CheckedPolicy = {
      policy: { ...checked.policy, threshold: 2 },
      threshold: 2,
      keys: [
        { signer: { id: a.id, publicKey: toBase64(a.publicKey), name: 'a' }, publicKey: a.publicKey },
        { signer: { id: b.id, publicKey: toBase64(a.publicKey), name: 'a-again' }, publicKey: a.publicKey },
      ],
    };
    const sigA = sign(a, release.envelope);
    const q = countQuorum(release, [sigA, { keyid: b.id, sig: sigA.sig }], forged);
    expect(q.met).to.equal(false);
    expect(q.signedBy).to.have.length(1);
  });

  it('createPolicy refuses one key listed twice (DUPLICATE_KEY)', () => {
    const [a] = signers as [TestSigner];
    expect(() =>
      createPolicy({
        threshold: 1,
        signers: [
          { publicKey: a.publicKey, name: 'a' },
          { publicKey: a.publicKey, name: 'b' },
        ],
        expires: new Date('2030-01-01'),
      }),
    )
      .to.throw(PolicyError)
      .with.property('code', 'DUPLICATE_KEY');
  });

  it('signatures by unknown keys are reported and never counted', () => {
    const strangers = makeSigners(3);
    const q = countQuorum(
      release,
      strangers.map((s) => sign(s, release.envelope)),
      checked,
    );
    expect(q.met).to.equal(false);
    expect(q.signedBy).to.have.length(0);
    expect(q.problems.map((p) => p.code)).to.deep.equal(['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
  });

  it('an unknown key claiming an authorised key id does not verify', () => {
    const [stranger] = makeSigners(1) as [TestSigner];
    const forged: EnvelopeSignature = { keyid: signers[0]!.id, sig: sign(stranger, release.envelope).sig };
    const q = countQuorum(release, [forged, sign(signers[1]!, release.envelope), sign(signers[2]!, release.envelope)], checked);
    expect(q.met).to.equal(false);
    expect(q.problems.map((p) => p.code)).to.deep.equal(['BAD_SIGNATURE']);
  });

  it('signatures over another document never count', () => {
    const other = doc('10.2.5');
    const q = countQuorum(
      release,
      signers.slice(0, 3).map((s) => sign(s, other.envelope)),
      checked,
    );
    expect(q.met).to.equal(false);
    expect(q.problems.map((p) => p.code)).to.deep.equal(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
  });

  it('type confusion: signatures made for the same bytes as a policy do not count on a manifest', () => {
    const asPolicy = (s: TestSigner): EnvelopeSignature => ({
      keyid: s.id,
      sig: toBase64(signMessage(pae(PAYLOAD_TYPES.policy, release.payloadBytes), s.seed)),
    });
    const q = countQuorum(release, signers.slice(0, 3).map(asPolicy), checked);
    expect(q.met).to.equal(false);
    expect(q.signedBy).to.have.length(0);
  });

  it('a malformed signature value is a bad signature, not a crash', () => {
    const q = countQuorum(release, [{ keyid: signers[0]!.id, sig: 'not base64!' }], checked);
    expect(q.problems.map((p) => p.code)).to.deep.equal(['BAD_SIGNATURE']);
  });

  it('requireQuorum says k of m, who signed and who could still sign', () => {
    const q = countQuorum(release, [sign(signers[3]!, release.envelope)], checked);
    try {
      requireQuorum(q);
      expect.fail('quorum should not be met');
    } catch (err) {
      expect(err).to.be.instanceOf(SignatureError);
      expect((err as SignatureError).code).to.equal('QUORUM_NOT_MET');
      expect((err as SignatureError).message).to.contain('1 of 3');
      expect((err as SignatureError).details.signedBy).to.deep.equal([{ id: signers[3]!.id, name: 'signer-3' }]);
      expect((err as SignatureError).details.couldSign).to.have.length(4);
    }
  });
});
