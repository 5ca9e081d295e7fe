import { expect } from 'chai';
import { canonicalBytes } from '../lib/canonical.js';
import { createEnvelope } from '../lib/envelope.js';
import { checkPolicy, createPolicy, loadTrustedPolicy, type Policy } from '../lib/policy.js';
import { validate } from '../lib/schema.js';
import { codeOf } from './support/codes.js';
import { envelopeBytes, makePolicy, makeSigners, signedBy } from './support/fixtures.js';

const expires = new Date('2030-01-01T00:00:00Z');

describe('policy rules', () => {
  const signers = makeSigners(3);
  const named = (names: string[]) => signers.map((s, i) => ({ publicKey: s.publicKey, name: names[i]! }));

  it('threshold between 1 and the number of distinct signers (BAD_THRESHOLD)', () => {
    for (const threshold of [0, -1, 4]) {
      expect(codeOf(() => createPolicy({ threshold, signers: named(['a', 'b', 'c']), expires })), String(threshold)).to.equal('BAD_THRESHOLD');
    }
  });

  it('names that only look different are one name (DUPLICATE_NAME)', () => {
    expect(codeOf(() => createPolicy({ threshold: 1, signers: named(['Alice', 'ＡＬＩＣＥ', 'c']), expires }))).to.equal('DUPLICATE_NAME');
  });

  it('names with invisible or control characters are refused by the schema', () => {
    for (const bad of ['Alice\u200b', 'Ali\u202ece', 'Al\x1b[2Kice', '\u3164']) {
      expect(codeOf(() => createPolicy({ threshold: 1, signers: named([bad, 'b', 'c']), expires })), JSON.stringify(bad)).to.equal('SCHEMA_INVALID');
    }
  });

  it('a small-order key is refused (WEAK_KEY)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(codeOf(() => createPolicy({ threshold: 1, signers: [{ publicKey: identity, name: 'x' }], expires }))).to.equal('WEAK_KEY');
  });

  it('a key id that is not the SHA-256 of its key is refused (KEY_ID_MISMATCH)', () => {
    const policy = createPolicy({ threshold: 1, signers: named(['a', 'b', 'c']), expires });
    const forged: Policy = { ...policy, signers: [{ ...policy.signers[0]!, id: signers[1]!.id }, ...policy.signers.slice(1)] };
    expect(codeOf(() => checkPolicy(validate<Policy>('policy', forged, 'policy')))).to.equal('KEY_ID_MISMATCH');
    const mismatched: Policy = { ...policy, signers: [{ ...policy.signers[0]!, id: 'f'.repeat(64) }] };
    expect(codeOf(() => checkPolicy(mismatched))).to.equal('KEY_ID_MISMATCH');
  });

  it('a pinned policy must be signed by a quorum of its own keys (POLICY_UNSIGNED)', () => {
    const p = makePolicy(3, 2);
    const unsigned = createEnvelope('policy', canonicalBytes(p.policy));
    expect(codeOf(() => loadTrustedPolicy(envelopeBytes(unsigned)))).to.equal('POLICY_UNSIGNED');
    expect(codeOf(() => loadTrustedPolicy(envelopeBytes(signedBy(unsigned, p.signers.slice(0, 1)))))).to.equal('POLICY_UNSIGNED');
    expect(loadTrustedPolicy(envelopeBytes(signedBy(unsigned, p.signers.slice(0, 2)))).policy.version).to.equal(1);
  });
});
