import { expect } from 'chai';
import { assemblyQuorums, keptSignatures } from '../lib/core/assembly.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { createEnvelope, openEnvelope } from '../lib/core/envelope.js';
import { createPolicy } from '../lib/core/policy.js';
import { codeOf } from './support/codes.js';
import { envelopeBytes, makePolicy, makeRelease, NOW, sign } from './support/fixtures.js';

describe('assembly: the quorums a document needs', () => {
  const p = makePolicy(4, 3);
  const pinned = envelopeBytes(p.signed);

  it('a release needs the trusted policy, and refuses one that has expired', () => {
    const doc = openEnvelope(envelopeBytes(makeRelease().envelope));
    const sigs = p.signers.slice(0, 3).map((s) => sign(s, doc.envelope));
    const sides = assemblyQuorums(doc, sigs, pinned, NOW);
    expect(sides.map((x) => x.quorum.met)).to.deep.equal([true]);
    expect(codeOf(() => assemblyQuorums(doc, sigs, pinned, new Date('2031-01-01')))).to.equal('POLICY_EXPIRED');
  });

  it('a rotation needs the quorum of N and of N+1, and keeps every signature that counts for either', () => {
    const newcomer = makePolicy(1, 1).signers[0]!;
    const members = [...p.signers.slice(1), newcomer];
    const v2 = createPolicy({
      threshold: 3,
      signers: members.map((s) => ({ publicKey: s.publicKey, name: s.name })),
      expires: new Date('2030-01-01'),
      version: 2,
    });
    const doc = openEnvelope(envelopeBytes(createEnvelope('policy', canonicalBytes(v2))));
    const newOnly = [p.signers[1]!, p.signers[2]!, newcomer].map((s) => sign(s, doc.envelope));
    expect(assemblyQuorums(doc, newOnly, pinned, NOW).map((x) => x.quorum.met)).to.deep.equal([false, true]);
    const both = [...newOnly, sign(p.signers[0]!, doc.envelope)];
    const sides = assemblyQuorums(doc, both, pinned, NOW);
    expect(sides.map((x) => x.quorum.met)).to.deep.equal([true, true]);
    expect(keptSignatures(sides)).to.have.length(4);
  });

  it('only version 1 may be assembled against itself; a later version is a rotation', () => {
    const v2 = createPolicy({
      threshold: 3,
      signers: p.signers.map((s) => ({ publicKey: s.publicKey, name: s.name })),
      expires: new Date('2030-01-01'),
      version: 2,
    });
    const bytes = envelopeBytes(createEnvelope('policy', canonicalBytes(v2)));
    expect(codeOf(() => assemblyQuorums(openEnvelope(bytes), [], bytes, NOW))).to.equal('USAGE');
  });
});
