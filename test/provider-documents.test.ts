// Providers' documents (spec/documents.md): provider policies (policy format 3), enrolments, key revocations, release
// revocations format 2 and manifests format 3. Each rule's test fails when the rule is removed.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fromBase64, toBase64 } from '../lib/core/bytes.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { createEnrolment, enrolmentFromPayload } from '../lib/core/enrolment.js';
import { openEnvelope, PAYLOAD_TYPES, serializeEnvelope } from '../lib/core/envelope.js';
import { createKeyRevocation, effectiveIndex, keyRevocationFromPayload } from '../lib/core/key-revocation.js';
import { manifestFromPayload } from '../lib/core/manifest.js';
import { createPolicy, policyFromPayload, policyWarnings, readPolicyDocument, type Policy } from '../lib/core/policy.js';
import { activationDelay, providerName, providerOf, registryRing, roleRing } from '../lib/core/provider-policy.js';
import { createRevocation, revocationFromPayload } from '../lib/core/revocation.js';
import { checkRotationVersion } from '../lib/core/rotation.js';
import { signerAsNew } from '../lib/core/signer-kinds.js';
import { verifyBundle } from '../lib/core/verify.js';
import { codeOf, rejectionCode } from './support/codes.js';
import { makePolicy, makeRelease, makeSigners, NOW, signedBy, type TestSigner } from './support/fixtures.js';

const EXPIRES = new Date('2030-01-01T00:00:00Z');
const PROVIDER = 'wordpress.org/plugins/wordfence';
const CREATED = new Date('2026-11-23T12:00:00Z');

const signers = makeSigners(4, 'provider-documents');
const asNew = (s: TestSigner) => ({ publicKey: s.publicKey, name: s.name });
const ids = (list: TestSigner[]) => list.map((s) => s.id);

/** A provider policy: admin 2 of signers 0-2, release 1 of signer 3 (unless overridden). */
function providerPolicy(over: Partial<Parameters<typeof createPolicy>[0]> = {}): Policy {
  return createPolicy({
    threshold: 2,
    signers: signers.map(asNew),
    expires: EXPIRES,
    provider: PROVIDER,
    roles: { admin: { threshold: 2, signers: ids(signers.slice(0, 3)) }, release: { threshold: 1, signers: [signers[3]!.id] } },
    ...over,
  });
}

/** A payload edited by `edit`, re-encoded canonically: how a forged or hand-written document looks to a reader. */
function edited<T>(doc: T, edit: (d: Record<string, unknown>) => void): Uint8Array {
  const copy = structuredClone(doc) as Record<string, unknown>;
  edit(copy);
  return canonicalBytes(copy);
}

describe('provider documents (spec/documents.md)', () => {
  describe('provider names', () => {
    it('accepts lower-case ecosystem names', () => {
      for (const name of [PROVIDER, 'drupal/core', 'drupal.org/project/webform', 'a/b', 'x-y.z/a_b.c-d/e']) expect(providerName(name)).to.equal(name);
    });
    it('refuses anything else: BAD_PROVIDER', () => {
      for (const name of [
        '',
        'drupal',
        '/core',
        'drupal/',
        'Drupal/core',
        'drupal//core',
        'drupal/core/',
        'drupal/.hidden',
        'drupal/c ore',
        'drupal/cöre',
        `a/${'b'.repeat(127)}`,
      ])
        expect(
          codeOf(() => providerName(name)),
          name,
        ).to.equal('BAD_PROVIDER');
      expect(providerName(`a/${'b'.repeat(126)}`)).to.have.length(128);
    });
  });

  describe('provider policy (format 3)', () => {
    it('is written as format 3 with provider and roles; the role rings and the provider are read back', () => {
      const policy = providerPolicy();
      expect(policy).to.include({ format: 3, provider: PROVIDER });
      const checked = policyFromPayload(canonicalBytes(policy));
      expect(providerOf(checked)).to.equal(PROVIDER);
      const admin = roleRing(checked, 'admin');
      expect(admin.threshold).to.equal(2);
      expect(admin.keys.map((k) => k.signer.id)).to.deep.equal(ids(signers.slice(0, 3)));
      expect(roleRing(checked, 'release').keys.map((k) => k.signer.id)).to.deep.equal([signers[3]!.id]);
    });

    it('an absent role is the top-level threshold over every signer', () => {
      const checked = policyFromPayload(canonicalBytes(providerPolicy({ roles: { admin: { threshold: 3, signers: ids(signers.slice(0, 3)) } } })));
      const release = roleRing(checked, 'release');
      expect(release.threshold).to.equal(2);
      expect(release.keys).to.have.length(4);
    });

    it('a bad provider name: BAD_PROVIDER', () => {
      expect(codeOf(() => providerPolicy({ provider: 'Wordfence' }))).to.equal('BAD_PROVIDER');
      expect(codeOf(() => policyFromPayload(edited(providerPolicy(), (p) => (p.provider = 'WordPress.org/plugins/x'))))).to.equal('BAD_PROVIDER');
    });

    it('a role naming a key that is not a signer, or one twice: BAD_ROLE', () => {
      const outsider = makeSigners(1, 'provider-documents outsider')[0]!;
      expect(codeOf(() => providerPolicy({ roles: { admin: { threshold: 1, signers: [outsider.id] } } }))).to.equal('BAD_ROLE');
      expect(codeOf(() => providerPolicy({ roles: { release: { threshold: 1, signers: [signers[0]!.id, signers[0]!.id] } } }))).to.equal('BAD_ROLE');
    });

    it('a role threshold of 0 or above its keys: BAD_THRESHOLD', () => {
      expect(codeOf(() => providerPolicy({ roles: { admin: { threshold: 0, signers: ids(signers.slice(0, 2)) } } }))).to.equal('BAD_THRESHOLD');
      expect(codeOf(() => providerPolicy({ roles: { admin: { threshold: 3, signers: ids(signers.slice(0, 2)) } } }))).to.equal('BAD_THRESHOLD');
    });

    it('roles in a root policy, or providers/registry in a provider policy: BAD_ROLE', () => {
      expect(codeOf(() => providerPolicy({ provider: undefined }))).to.equal('BAD_ROLE');
      expect(codeOf(() => providerPolicy({ providers: { activationDelay: 0 } }))).to.equal('BAD_ROLE');
      expect(codeOf(() => providerPolicy({ providers: { activationDelay: 0, registry: { threshold: 1, signers: [signers[0]!.id] } } }))).to.equal('BAD_ROLE');
    });

    it('the new members in a format 1 or 2 payload: SCHEMA_INVALID (an older verifier would read it without them)', () => {
      for (const format of [1, 2]) {
        expect(codeOf(() => policyFromPayload(edited(providerPolicy(), (p) => (p.format = format))))).to.equal('SCHEMA_INVALID');
        const root = rootPolicy();
        expect(codeOf(() => policyFromPayload(edited(root, (p) => (p.format = format))))).to.equal('SCHEMA_INVALID');
      }
    });

    it('a rotation keeps the provider: a root cannot become a provider, nor one provider another (BAD_PROVIDER)', () => {
      const v1 = policyFromPayload(canonicalBytes(providerPolicy()));
      const other = policyFromPayload(canonicalBytes(providerPolicy({ provider: 'drupal/core', version: 2 })));
      const root1 = policyFromPayload(canonicalBytes(rootPolicy()));
      const asProvider2 = policyFromPayload(canonicalBytes(providerPolicy({ version: 2 })));
      expect(codeOf(() => checkRotationVersion(v1, other))).to.equal('BAD_PROVIDER');
      expect(codeOf(() => checkRotationVersion(root1, asProvider2))).to.equal('BAD_PROVIDER');
      expect(() => checkRotationVersion(v1, asProvider2)).to.not.throw();
    });

    it('warns of a 1-of-n role (a solo developer is allowed, and told)', () => {
      const warnings = policyWarnings(providerPolicy(), NOW);
      expect(warnings.some((w) => w.includes('1-of-1 release role'))).to.equal(true);
      expect(warnings.some((w) => w.includes('admin role'))).to.equal(false);
    });
  });

  function rootPolicy(over: Partial<Parameters<typeof createPolicy>[0]> = {}): Policy {
    return createPolicy({
      threshold: 3,
      signers: signers.map(asNew),
      expires: EXPIRES,
      providers: { activationDelay: 3600, registry: { threshold: 1, signers: [signers[0]!.id] } },
      ...over,
    });
  }

  describe('root policy (format 3)', () => {
    it('providers: the activation delay and the registry ring; defaults without them', () => {
      const checked = policyFromPayload(canonicalBytes(rootPolicy()));
      expect(activationDelay(checked)).to.equal(3600);
      expect(registryRing(checked)!.keys.map((k) => k.signer.id)).to.deep.equal([signers[0]!.id]);
      expect(providerOf(checked)).to.equal(undefined);
      const plain = policyFromPayload(canonicalBytes(createPolicy({ threshold: 3, signers: signers.map(asNew), expires: EXPIRES })));
      expect(activationDelay(plain)).to.equal(86400);
      expect(registryRing(plain)).to.equal(undefined);
      expect(roleRing(plain, 'admin')).to.deep.include({ threshold: 3 });
    });
    it('a registry naming a non-signer: BAD_ROLE', () => {
      const outsider = makeSigners(1, 'provider-documents outsider')[0]!;
      expect(codeOf(() => rootPolicy({ providers: { activationDelay: 0, registry: { threshold: 1, signers: [outsider.id] } } }))).to.equal('BAD_ROLE');
    });
    it('warns of a 1-of-n registry', () => {
      expect(policyWarnings(rootPolicy(), NOW).some((w) => w.includes('1-of-1 registry role'))).to.equal(true);
    });
  });

  describe('format 1 and 2 documents stay byte for byte', () => {
    it('createPolicy without provider members writes format 1 as before (keys-example/policy.signed.json reads as it did)', () => {
      const pinned = readPolicyDocument(readFileSync('keys-example/policy.signed.json'));
      const { policy } = pinned;
      const again = createPolicy({
        threshold: policy.threshold,
        signers: pinned.keys.map((k) => ({ publicKey: k.publicKey, name: k.signer.name })),
        expires: new Date(policy.expires),
        version: policy.version,
      });
      expect(again.format).to.equal(1);
      const { format: _, ...withoutFormat } = again;
      // The example predates the format member; with it removed the bytes are the pinned payload's.
      expect(
        Buffer.from(canonicalBytes(withoutFormat)).equals(Buffer.from(openEnvelope(readFileSync('keys-example/policy.signed.json')).payloadBytes)),
      ).to.equal(true);
    });
    it('createPolicy and createRevocation rewrite the conformance fixtures (formats 1 and 2) byte for byte', () => {
      const payloadOf = (name: string) => openEnvelope(readFileSync(`spec/vectors/conformance/documents/${name}.json`)).payloadBytes;
      for (const name of ['policy-v1', 'policy-v2', 'policy-kinds']) {
        const bytes = payloadOf(name);
        const { policy } = policyFromPayload(bytes);
        const again = createPolicy({ ...policy, signers: policy.signers.map(signerAsNew), expires: new Date(policy.expires) });
        expect(Buffer.from(canonicalBytes(again)).equals(Buffer.from(bytes)), name).to.equal(true);
      }
      const bytes = payloadOf('revocation-drupal-core-10.2.4');
      const r = revocationFromPayload(bytes);
      const again = createRevocation({ ...r, created: new Date(r.created) });
      expect(Buffer.from(again.payload, 'base64').equals(Buffer.from(bytes))).to.equal(true);
    });
    it('a revocation without provider is format 1, a manifest without provider format 2', () => {
      const r = createRevocation({ product: 'drupal', component: 'core', version: '10.2.4', reason: 'r', created: CREATED, policyVersion: 1 });
      expect(revocationFromPayload(fromBase64(r.payload))).to.not.have.property('provider');
      expect(revocationFromPayload(fromBase64(r.payload)).format).to.equal(1);
      expect(makeRelease().manifest.format).to.equal(2);
    });
  });

  describe('enrolment', () => {
    const policyBytes = canonicalBytes(providerPolicy());

    it('carries the provider policy exact bytes under the enrolment payload type', () => {
      const env = createEnrolment({ policyBytes, created: CREATED });
      expect(env.payloadType).to.equal(PAYLOAD_TYPES.enrolment);
      const { enrolment, policy, policyBytes: carried } = enrolmentFromPayload(fromBase64(env.payload));
      expect(enrolment).to.deep.equal({ format: 1, provider: PROVIDER, policy: toBase64(policyBytes), created: '2026-11-23T12:00:00Z' });
      expect(Buffer.from(carried).equals(Buffer.from(policyBytes))).to.equal(true);
      expect(providerOf(policy)).to.equal(PROVIDER);
      expect(openEnvelope(new TextEncoder().encode(serializeEnvelope(env))).kind).to.equal('enrolment');
    });

    const enrolmentOf = (extra: Record<string, unknown> = {}, bytes = policyBytes) =>
      canonicalBytes({ format: 1, provider: PROVIDER, policy: toBase64(bytes), created: '2026-11-23T12:00:00Z', ...extra });

    it('a policy for another provider, or a root policy: BAD_PROVIDER', () => {
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ provider: 'drupal/core' })))).to.equal('BAD_PROVIDER');
      const root = canonicalBytes(createPolicy({ threshold: 1, signers: [asNew(signers[0]!)], expires: EXPIRES }));
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({}, root)))).to.equal('BAD_PROVIDER');
      expect(codeOf(() => createEnrolment({ policyBytes: root, created: CREATED }))).to.equal('BAD_PROVIDER');
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ provider: 'Drupal/core' })))).to.equal('BAD_PROVIDER');
    });

    it('verifyBundle refuses an enrolment or key revocation against a pinned policy: WRONG_TYPE (they count only in the log)', async () => {
      const site = makePolicy(3, 2);
      const env = createEnrolment({ policyBytes, created: CREATED });
      const kr = createKeyRevocation({ provider: PROVIDER, keyid: signers[0]!.id, from: 'all', reason: 'r', created: CREATED });
      for (const e of [env, kr]) {
        const bytes = new TextEncoder().encode(serializeEnvelope(signedBy(e, site.signers.slice(0, 2))));
        expect(await rejectionCode(verifyBundle({ envelopeBytes: bytes }, { trusted: site.trusted, now: NOW }))).to.equal('WRONG_TYPE');
      }
    });

    it('a first enrolment of a version other than 1, or a re-enrolment not previous + 1: POLICY_VERSION_GAP', () => {
      const v2 = canonicalBytes(providerPolicy({ version: 2 }));
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({}, v2)))).to.equal('POLICY_VERSION_GAP');
      expect(enrolmentFromPayload(enrolmentOf({ previous: 1 }, v2)).enrolment.previous).to.equal(1);
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ previous: 2 }, v2)))).to.equal('POLICY_VERSION_GAP');
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ previous: 1 })))).to.equal('POLICY_VERSION_GAP');
    });

    it('an enrolled policy that breaks a policy rule is refused with its code', () => {
      const bad = edited(providerPolicy(), (p) => ((p.roles as { admin: { threshold: number } }).admin.threshold = 9));
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({}, bad)))).to.equal('BAD_THRESHOLD');
    });

    it('non-canonical or non-base64 policy bytes, unknown members, newer formats', () => {
      const spaced = new TextEncoder().encode(JSON.stringify(providerPolicy(), null, 1));
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({}, spaced)))).to.equal('NOT_CANONICAL');
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ policy: 'not base64!' })))).to.equal('SCHEMA_INVALID');
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ extra: 1 })))).to.equal('SCHEMA_INVALID');
      expect(codeOf(() => enrolmentFromPayload(enrolmentOf({ format: 2 })))).to.equal('FORMAT_UNSUPPORTED');
    });
  });

  describe('key revocation', () => {
    const base = { provider: PROVIDER, keyid: signers[3]!.id, reason: 'laptop stolen', created: CREATED };

    it('from all, now or an index; under the key-revocation payload type', () => {
      for (const from of ['all', 'now', 0, 17] as const) {
        const env = createKeyRevocation({ ...base, from });
        expect(env.payloadType).to.equal(PAYLOAD_TYPES['key-revocation']);
        expect(keyRevocationFromPayload(fromBase64(env.payload))).to.include({ format: 1, from, keyid: signers[3]!.id });
      }
    });

    const payload = (extra: Record<string, unknown>) => canonicalBytes({ format: 1, ...base, created: '2026-11-23T12:00:00Z', from: 'all', ...extra });

    it('a `from` other than all, now or an integer >= 0, or a key id other than 64 hex: SCHEMA_INVALID', () => {
      for (const from of [-1, 1.5, 'later', 'ALL', null, '3'])
        expect(
          codeOf(() => keyRevocationFromPayload(payload({ from }))),
          String(from),
        ).to.equal('SCHEMA_INVALID');
      for (const keyid of [signers[3]!.id.toUpperCase(), signers[3]!.id.slice(1), `${signers[3]!.id}00`])
        expect(codeOf(() => keyRevocationFromPayload(payload({ keyid })))).to.equal('SCHEMA_INVALID');
    });

    it('a bad provider name: BAD_PROVIDER', () => {
      expect(codeOf(() => keyRevocationFromPayload(payload({ provider: 'wordfence' })))).to.equal('BAD_PROVIDER');
      expect(codeOf(() => createKeyRevocation({ ...base, provider: 'Wordfence/x', from: 'now' }))).to.equal('BAD_PROVIDER');
    });

    it('effective index: all is 0, now the entry own index, N is N; later than the entry: none', () => {
      expect(effectiveIndex('all', 40)).to.equal(0);
      expect(effectiveIndex('now', 40)).to.equal(40);
      expect(effectiveIndex(12, 40)).to.equal(12);
      expect(effectiveIndex(40, 40)).to.equal(40);
      expect(effectiveIndex(41, 40)).to.equal(undefined);
    });
  });

  describe('release revocation format 2 and manifest format 3', () => {
    it('a revocation with provider is format 2; provider in format 1, or malformed: refused', () => {
      const env = createRevocation({
        provider: PROVIDER,
        product: 'drupal',
        component: 'core',
        version: '10.2.4',
        reason: 'r',
        created: CREATED,
        policyVersion: 1,
      });
      const r = revocationFromPayload(fromBase64(env.payload));
      expect(r).to.include({ format: 2, provider: PROVIDER });
      expect(codeOf(() => revocationFromPayload(edited(r, (x) => (x.format = 1))))).to.equal('SCHEMA_INVALID');
      expect(codeOf(() => revocationFromPayload(edited(r, (x) => (x.provider = 'x'))))).to.equal('BAD_PROVIDER');
    });

    it('build --provider writes format 3 naming it; provider in format 2, or malformed: refused', () => {
      const { manifest, envelope } = makeRelease({ provider: PROVIDER });
      expect(manifest).to.include({ format: 3, provider: PROVIDER });
      expect(manifestFromPayload(fromBase64(envelope.payload)).provider).to.equal(PROVIDER);
      expect(codeOf(() => manifestFromPayload(edited(manifest, (m) => (m.format = 2))))).to.equal('SCHEMA_INVALID');
      expect(codeOf(() => manifestFromPayload(edited(manifest, (m) => (m.provider = 'Drupal/core'))))).to.equal('BAD_PROVIDER');
    });
  });
});
