import { expect } from 'chai';
import { canonicalBytes } from '../lib/core/canonical.js';
import { createEnvelope } from '../lib/core/envelope.js';
import { checkPolicy, createPolicy, loadTrustedPolicy, policyWarnings, type Policy } from '../lib/core/policy.js';
import { validate } from '../lib/core/schema.js';
import { codeOf } from './support/codes.js';
import { envelopeBytes, makePolicy, makeSigners, NOW, signedBy, tempDir } from './support/fixtures.js';
import { makeCliKeys, makeCliPolicy, runCli } from './support/cli.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const expires = new Date('2030-01-01T00:00:00Z');

describe('policy rules', () => {
  const signers = makeSigners(3);
  const named = (names: string[]) => signers.map((s, i) => ({ publicKey: s.publicKey, name: names[i]! }));

  it('threshold between 1 and the number of distinct signers (BAD_THRESHOLD)', () => {
    for (const threshold of [0, -1, 4]) {
      expect(
        codeOf(() => createPolicy({ threshold, signers: named(['a', 'b', 'c']), expires })),
        String(threshold),
      ).to.equal('BAD_THRESHOLD');
    }
  });

  it('names that only look different are one name (DUPLICATE_NAME)', () => {
    expect(codeOf(() => createPolicy({ threshold: 1, signers: named(['Alice', 'ＡＬＩＣＥ', 'c']), expires }))).to.equal('DUPLICATE_NAME');
  });

  it('names with invisible or control characters are refused by the schema', () => {
    for (const bad of ['Alice\u200b', 'Ali\u202ece', 'Al\x1b[2Kice', '\u3164']) {
      expect(
        codeOf(() => createPolicy({ threshold: 1, signers: named([bad, 'b', 'c']), expires })),
        JSON.stringify(bad),
      ).to.equal('SCHEMA_INVALID');
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

describe('policy init and rotate: warnings and what a rotation changes', () => {
  let dir: string;
  let keys: Awaited<ReturnType<typeof makeCliKeys>>;
  before(async () => {
    dir = tempDir();
    keys = await makeCliKeys(dir, ['alice', 'bob', 'carol', 'frank']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const signers = (...names: string[]) => names.flatMap((n) => ['--signer', keys[n]!.pub]);

  it('policyWarnings: 1-of-n, and an expiry more than five years ahead; none for 2-of-3 in a year', () => {
    const base = { version: 1, signers: [], threshold: 2, expires: '2027-11-23T12:00:00Z' } as unknown as Policy;
    expect(policyWarnings(base, NOW)).to.deep.equal([]);
    expect(policyWarnings({ ...base, threshold: 1 }, NOW)).to.have.length(1);
    expect(policyWarnings({ ...base, expires: '2031-11-24T12:00:00Z' }, NOW)).to.have.length(1);
    expect(policyWarnings({ ...base, expires: '2031-11-22T12:00:00Z' }, NOW)).to.deep.equal([]);
  });

  it('policy init warns (stderr, and warnings in --json) on a 1-of-n policy and on an expiry > 5 years, and still writes it', async () => {
    const r = await runCli(
      ['policy', 'init', '--threshold', '1', ...signers('alice', 'bob'), '--expires', '2035-01-01T00:00:00Z', '--out', join(dir, 'lax.json'), '--json'],
      { now: NOW },
    );
    expect(r.code).to.equal(0);
    expect(r.json.warnings).to.have.length(2);
    expect(r.stderr.match(/^warning: /gm)).to.have.length(2);
    const quiet = await runCli(['policy', 'init', '--threshold', '2', ...signers('alice', 'bob'), '--out', join(dir, 'ok.json'), '--json'], { now: NOW });
    expect(quiet.json.warnings).to.deep.equal([]);
    expect(quiet.stderr).to.equal('');
  });

  it('policy rotate prints who is added and removed and how threshold and expiry change (and warns as init does)', async () => {
    const { signed } = await makeCliPolicy(dir, [keys.alice!, keys.bob!, keys.carol!], { threshold: 2, expires: '2027-06-01T00:00:00Z', now: NOW, name: 'v1' });
    const args = [
      'policy',
      'rotate',
      '--from',
      signed,
      '--remove-signer',
      'bob',
      '--add-signer',
      keys.frank!.pub,
      '--threshold',
      '1',
      '--expires',
      '2027-12-01T00:00:00Z',
    ];
    const json = await runCli([...args, '--out', join(dir, 'v2.json'), '--json'], { now: NOW });
    expect(json.code, json.stderr).to.equal(0);
    expect(json.json.changes).to.deep.equal({
      version: { from: 1, to: 2 },
      added: [{ id: keys.frank!.keyid, name: 'frank' }],
      removed: [{ id: keys.bob!.keyid, name: 'bob' }],
      changed: [],
      threshold: { from: '2 of 3', to: '1 of 3' },
      expires: { from: '2027-06-01T00:00:00Z', to: '2027-12-01T00:00:00Z' },
    });
    expect(json.json.warnings).to.have.length(1);
    const human = await runCli([...args, '--out', join(dir, 'v2b.json')], { now: NOW });
    expect(human.stdout).to.contain(`Added:      frank  ${keys.frank!.keyid}`);
    expect(human.stdout).to.contain(`Removed:    bob  ${keys.bob!.keyid}`);
    expect(human.stdout).to.contain('Threshold:  2 of 3 -> 1 of 3');
  });
});
