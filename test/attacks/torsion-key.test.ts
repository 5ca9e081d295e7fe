// One secret counted as two signers. Alice lists her key A and, under a second name, A + T (T of
// small order). libsodium verifies signatures for A + T made with Alice's secret (R = rB + T',
// retried until the torsion cancels), and the two encodings differ, so DUPLICATE_KEY never fires:
// Alice and Bob alone would meet a threshold of 3. Every way a key enters must refuse A + T (WEAK_KEY).
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromUtf8, toBase64 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { isStrongPublicKey, keyId, verifyStrict } from '../../lib/core/ed25519.js';
import { createEnvelope, pae, serializeEnvelope, type Envelope } from '../../lib/core/envelope.js';
import { decryptSecretKey, formatPublicKeyFile } from '../../lib/core/keyfile.js';
import { createPolicy, loadTrustedPolicy, type Policy } from '../../lib/core/policy.js';
import { verifyRotation } from '../../lib/core/rotation.js';
import { initStore, openStore, storeFiles } from '../../lib/node/trust-store.js';
import { makeCliKeys, makeCliPolicy, runCli } from '../support/cli.js';
import { tempDir } from '../support/fixtures.js';
import { libsodiumVerifies, mixedOrderKey, signForMixedOrderKey } from '../support/torsion.js';
import { envelopeBytes, fixtures, FIXTURE_NOW, POLICY_V2_EXPIRES, sign } from './generate.js';
import { input, rejection, rejected, siteOptions, thrown } from './support.js';
import { readFileSync } from 'node:fs';

describe('Torsion attack: one secret as two signers (A and A + T)', () => {
  const f = fixtures();
  const { alice, bob, carol, dave, erin } = f.team;
  const twinKey = mixedOrderKey(alice.seed);
  const twin = { name: 'Alice, second laptop', publicKey: toBase64(twinKey), id: keyId(twinKey) };
  const listed = (s: { name: string; publicKey: Uint8Array; id: string }) => ({ name: s.name, publicKey: toBase64(s.publicKey), id: s.id });

  /** A policy document written by hand (createPolicy would refuse it), signed by the given people and by Alice as her twin. */
  function hostilePolicy(policy: Policy, signers: (typeof alice)[]): Envelope {
    const unsigned = createEnvelope('policy', canonicalBytes(policy));
    const message = pae(unsigned.payloadType, canonicalBytes(policy));
    const twinSig = { keyid: twin.id, sig: toBase64(signForMixedOrderKey(message, alice.seed)) };
    return { ...unsigned, signatures: [...signers.map((s) => sign(s, unsigned)), twinSig] };
  }

  // Alice, her twin and Bob: 3 signatures from two people.
  const founding: Policy = { version: 1, expires: '2027-06-01T00:00:00Z', threshold: 3, signers: [listed(alice), twin, listed(bob), listed(carol)] };
  const foundingDoc = hostilePolicy(founding, [alice, bob]);

  it("the attack is real: libsodium (and verifyStrict) accept the twin signature made with Alice's secret", async () => {
    const message = pae(foundingDoc.payloadType, canonicalBytes(founding));
    const twinSig = Buffer.from(foundingDoc.signatures.at(-1)!.sig, 'base64');
    expect(await libsodiumVerifies(twinSig, message, twinKey)).to.equal(true);
    expect(verifyStrict(twinSig, message, twinKey)).to.equal(true);
    expect(twin.id).to.not.equal(alice.id);
  });

  it('the twin key is refused where keys are admitted: isStrongPublicKey and createPolicy (WEAK_KEY)', () => {
    expect(isStrongPublicKey(twinKey)).to.equal(false);
    const err = thrown(() =>
      createPolicy({
        threshold: 3,
        expires: POLICY_V2_EXPIRES,
        signers: [alice, { ...alice, publicKey: twinKey, name: twin.name }, bob].map((s) => ({ publicKey: s.publicKey, name: s.name })),
      }),
    );
    expect(err.code).to.equal('WEAK_KEY');
    expect(err.details.id).to.equal(twin.id);
  });

  it('loading a policy that lists A and A + T fails WEAK_KEY (it was "signed by 3" by two people)', () => {
    expect(thrown(() => loadTrustedPolicy(envelopeBytes(foundingDoc))).code).to.equal('WEAK_KEY');
  });

  it('verifyBundle refuses a rotation that adds the twin (WEAK_KEY), signed by a quorum of v1 and of itself', async () => {
    const v2: Policy = { version: 2, expires: '2027-12-01T00:00:00Z', threshold: 3, signers: [alice, bob, carol, dave, erin].map(listed).concat(twin) };
    const doc = hostilePolicy(v2, [alice, bob, carol]);
    expect(await rejection(input(doc), siteOptions({ site: {} }))).to.include('WEAK_KEY');
    expect(thrown(() => verifyRotation(f.trustedV1, envelopeBytes(doc))).code).to.equal('WEAK_KEY');
  });

  it('a trust store refuses to pin it (WEAK_KEY), and a store that already holds it is STORE_CORRUPT (cause WEAK_KEY)', async () => {
    const dir = tempDir();
    try {
      expect((await rejected(initStore(join(dir, 'hostile'), envelopeBytes(foundingDoc), { now: FIXTURE_NOW }))).code).to.equal('WEAK_KEY');
      // A store written before the rule: swap the pinned policy for the hostile one.
      const good = join(dir, 'good');
      await initStore(good, envelopeBytes(f.policyV1.envelope), { now: FIXTURE_NOW });
      const state = storeFiles(good).state;
      const raw = JSON.parse(readFileSync(state, 'utf8'));
      raw.pinned = serializeEnvelope(foundingDoc).trim();
      writeFileSync(state, JSON.stringify(raw));
      const err = await rejected(openStore(good));
      expect(err.code).to.equal('STORE_CORRUPT');
      expect((err.details.cause as { code: string }).code).to.equal('WEAK_KEY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('policy init and policy rotate refuse a .pub file holding A + T (WEAK_KEY), writing nothing', async () => {
    const dir = tempDir();
    try {
      const keys = await makeCliKeys(dir, ['alice', 'bob', 'carol']);
      const { seed } = await decryptSecretKey(fromUtf8(readFileSync(keys.alice!.key)), undefined);
      const twinPub = join(dir, 'alice-2.pub');
      writeFileSync(twinPub, formatPublicKeyFile(mixedOrderKey(seed), 'alice, second laptop'));
      const out = join(dir, 'twin-policy.json');
      const init = await runCli(
        ['policy', 'init', '--threshold', '3', '--signer', keys.alice!.pub, '--signer', twinPub, '--signer', keys.bob!.pub, '--out', out, '--json'],
        { now: FIXTURE_NOW },
      );
      expect(init.json).to.include({ ok: false, code: 'WEAK_KEY' });
      const { signed } = await makeCliPolicy(dir, [keys.alice!, keys.bob!, keys.carol!], { threshold: 2, expires: '2027-01-01T00:00:00Z', now: FIXTURE_NOW });
      const rotate = await runCli(['policy', 'rotate', '--from', signed, '--add-signer', twinPub, '--threshold', '3', '--out', out, '--json'], {
        now: FIXTURE_NOW,
      });
      expect(rotate.json).to.include({ ok: false, code: 'WEAK_KEY' });
      expect(() => readFileSync(out)).to.throw();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
