// Property-based tests (fast-check): mutated bundles are never accepted with another meaning,
// verification only ever fails with a coded countersign error, and quorum counting equals a simple
// reference model (distinct policy keys with a valid signature, checked with node:crypto directly).
//
// Seeds are not fixed: every run explores new cases. On failure fast-check prints the seed and the
// shrunk counterexample; replay it with fc.assert(..., { seed, path }).
import { expect } from 'chai';
import fc from 'fast-check';
import { runs } from './support/soak.js';
import crypto, { type KeyObject } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyArchiveStream } from '../lib/core/archive-verify.js';
import { openBundleFile } from '../lib/node/bundle-file.js';
import { bytesEqual, concatBytes, fromUtf8, toBase64, toHex, utf8 } from '../lib/core/bytes.js';
import { canonicalBytes, parseCanonical } from '../lib/core/canonical.js';
import { signMessage } from '../lib/core/ed25519.js';
import { createEnvelope, openEnvelope, PAYLOAD_TYPES, type Envelope, type EnvelopeSignature } from '../lib/core/envelope.js';
import { CountersignError, UsageError, VerificationError } from '../lib/core/errors.js';
import type { Manifest } from '../lib/core/manifest.js';
import { parsePartial, serializePartial, signDocument } from '../lib/core/partial-signature.js';
import { createPolicy, checkPolicy, loadTrustedPolicy, readPolicyDocument, type CheckedPolicy, type Policy } from '../lib/core/policy.js';
import { countQuorum, type QuorumResult } from '../lib/core/quorum.js';
import { verifyRotation } from '../lib/core/rotation.js';
import { verifyBundle, type BundleInput, type Verified, type VerifyOptions } from '../lib/core/verify.js';
import { compareVersions, parseVersion, versionScheme } from '../lib/core/version.js';
import {
  applyEdits,
  applySplice,
  chunkSizesArb,
  deleteArb,
  duplicateArb,
  editArb,
  hex64Arb,
  inChunks,
  insertArb,
  manifestMutatorArb,
  openBundleBytes,
  payloadBytesOf,
  policyMutatorArb,
  rebundle,
  rewriteArb,
  rewriteEnvelope,
  styleArb,
  tarRegions,
  timestampArb,
  truncateArb,
  releaseVersionArb,
  versionArb,
  type PoolKey,
  type Region,
} from './support/arbitraries.js';
import {
  bundleFileBytes,
  bundleInput,
  envelopeBytes,
  makePolicy,
  makeRelease,
  makeSigners,
  manifestEnvelope,
  NOW,
  signedBy,
  tempDir,
  type TestSigner,
} from './support/fixtures.js';

// Codes are stable identifiers from lib/core/errors.ts (a closed union that other work keeps extending):
// checked for their shape rather than against a copy of the list.
const CODE = /^[A-Z][A-Z0-9_]*$/;

function describeThrown(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack ?? ''}` : `non-Error value ${String(err)}`;
}

/** A countersign error with a non-empty, well-formed code; anything else fails the property. */
function assertCoded(err: unknown): asserts err is CountersignError {
  if (!(err instanceof CountersignError)) throw new Error(`threw something other than a CountersignError: ${describeThrown(err)}`);
  expect(err.code, 'error code').to.be.a('string').that.is.not.empty;
  expect(err.code, 'error code shape').to.match(CODE);
}

/**
 * How verifyBundle must reject untrusted input when the caller's own inputs are fine: a
 * VerificationError listing coded reasons. With in-memory archives no I/O can fail, so an `IO`
 * reason would be a crash inside the archive check that verify.ts turned into a reason.
 */
function assertRejection(err: unknown): asserts err is VerificationError {
  assertCoded(err);
  if (!(err instanceof VerificationError))
    throw new Error(`verifyBundle rejected with ${err.constructor.name} ${err.code}, not a VerificationError: ${err.message}`);
  expect(err.reasons, 'reasons').to.be.an('array').that.is.not.empty;
  for (const r of err.reasons) {
    expect(r.code, 'reason code').to.be.a('string').that.matches(CODE);
    expect(r.code, `a crash was reported as a reason: ${r.message}`).to.not.equal('IO');
  }
}

// COUNTERSIGN_PROPERTY_STATS=1 prints, per property, how often each verdict (first reason code) came up:
// a quick way to see whether the generators still reach the checks they are meant to reach.
const STATS = process.env.COUNTERSIGN_PROPERTY_STATS === '1';
const stats = new Map<string, Map<string, number>>();
function tally(property: string, verdict: string): void {
  if (!STATS) return;
  const m = stats.get(property) ?? new Map<string, number>();
  m.set(verdict, (m.get(verdict) ?? 0) + 1);
  stats.set(property, m);
}
function verdictOf(err: unknown): string {
  return err instanceof CountersignError ? `${err.constructor.name}:${err.code}` : 'accepted';
}
if (STATS) {
  after(() => {
    for (const [property, m] of stats) {
      const total = [...m.values()].reduce((a, b) => a + b, 0);
      const rows = [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${((100 * n) / total).toFixed(1)}%`);
      console.log(`  [stats] ${property} (${total}): ${rows.join(', ')}`);
    }
  });
}

function codesOf(err: unknown): string[] {
  return err instanceof VerificationError ? err.reasons.map((r) => r.code) : [];
}

// ---------------------------------------------------------------------------------------------
// Independent reference for quorum counting: DSSE PAE spelled out here, node:crypto (OpenSSL) for the
// Ed25519 equation, strict base64 for the signature text. Honest keys only, so OpenSSL's leniency
// about small-order keys and R (which lib/core/ed25519.ts adds checks for) cannot matter.

function refPae(payloadType: string, payload: Uint8Array): Uint8Array {
  return concatBytes(utf8(`DSSEv1 ${Buffer.byteLength(payloadType, 'utf8')} ${payloadType} ${payload.length} `), payload);
}

const refKeys = new Map<string, KeyObject>();
function refKeyObject(publicKey: Uint8Array): KeyObject {
  const hex = toHex(publicKey);
  let key = refKeys.get(hex);
  if (!key) {
    key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    refKeys.set(hex, key);
  }
  return key;
}

function refSigBytes(sig: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(sig)) return null;
  const raw = Buffer.from(sig, 'base64');
  return raw.toString('base64') === sig ? raw : null;
}

interface RefEntry {
  id: string;
  publicKey: Uint8Array;
}

/** Hex of every distinct policy key that has at least one signature verifying under it (looked up by keyid). */
function referenceSigners(message: Uint8Array, sigs: readonly EnvelopeSignature[], entries: readonly RefEntry[]): Set<string> {
  const valid = new Set<string>();
  for (const s of sigs) {
    const entry = entries.find((e) => e.id === s.keyid);
    const raw = entry && refSigBytes(s.sig);
    if (entry && raw && crypto.verify(null, message, refKeyObject(entry.publicKey), raw)) valid.add(toHex(entry.publicKey));
  }
  return valid;
}

// How one signature in a random set is made (see signatureFor).
type SigSpec =
  | { k: 'valid' | 'otherDoc' | 'wrongType' | 'truncated' | 'malleable'; s: number }
  | { k: 'repeat'; i: number }
  | { k: 'random'; keyid: string; sig: Uint8Array }
  | { k: 'corrupt'; s: number; at: number; mask: number }
  | { k: 'corruptText'; s: number; at: number; ch: string }
  | { k: 'swapId'; s: number; as: number };

function sigSpecArb(poolSize: number, ids: readonly string[], validWeight = 6): fc.Arbitrary<SigSpec> {
  const s = fc.nat(poolSize - 1);
  return fc.oneof(
    { weight: validWeight, arbitrary: fc.record({ k: fc.constant('valid' as const), s }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('repeat' as const), i: fc.nat(20) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('random' as const),
        keyid: fc.oneof(hex64Arb, fc.constantFrom(...ids), fc.constantFrom(...ids.map((id) => id.toUpperCase()))),
        sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('otherDoc' as const), s }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('wrongType' as const), s }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('truncated' as const), s }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('malleable' as const), s }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('corrupt' as const), s, at: fc.nat(63), mask: fc.integer({ min: 1, max: 255 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('corruptText' as const),
        s,
        at: fc.oneof(fc.nat(87), fc.constantFrom(84, 85)),
        ch: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ '),
      }),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('swapId' as const), s, as: s }) },
  );
}

const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

interface SignaturePool {
  signers: readonly TestSigner[];
  /** Per pool signer: over the document, over another document, over the document under another payloadType. */
  valid: readonly string[];
  otherDoc: readonly string[];
  wrongType: readonly string[];
}

function makeSignaturePool(
  signers: readonly TestSigner[],
  payloadType: string,
  payload: Uint8Array,
  otherPayload: Uint8Array,
  otherType: string,
): SignaturePool {
  const sig = (s: TestSigner, type: string, bytes: Uint8Array) => toBase64(signMessage(refPae(type, bytes), s.seed));
  return {
    signers,
    valid: signers.map((s) => sig(s, payloadType, payload)),
    otherDoc: signers.map((s) => sig(s, payloadType, otherPayload)),
    wrongType: signers.map((s) => sig(s, otherType, payload)),
  };
}

function signatureFor(specs: readonly SigSpec[], pool: SignaturePool): EnvelopeSignature[] {
  const out: EnvelopeSignature[] = [];
  const id = (s: number) => pool.signers[s]!.id;
  for (const spec of specs) {
    switch (spec.k) {
      case 'valid':
        out.push({ keyid: id(spec.s), sig: pool.valid[spec.s]! });
        break;
      case 'repeat':
        out.push(out.length > 0 ? { ...out[spec.i % out.length]! } : { keyid: id(0), sig: pool.valid[0]! });
        break;
      case 'random':
        out.push({ keyid: spec.keyid, sig: toBase64(spec.sig) });
        break;
      case 'otherDoc':
        out.push({ keyid: id(spec.s), sig: pool.otherDoc[spec.s]! });
        break;
      case 'wrongType':
        out.push({ keyid: id(spec.s), sig: pool.wrongType[spec.s]! });
        break;
      case 'truncated':
        out.push({ keyid: id(spec.s), sig: toBase64(Buffer.from(pool.valid[spec.s]!, 'base64').subarray(0, 63)) });
        break;
      case 'malleable': {
        // The same signature with S + L: equal modulo L, so a lax verifier accepts it as a second spelling.
        const raw = Buffer.from(pool.valid[spec.s]!, 'base64');
        let S = 0n;
        for (let i = 63; i >= 32; i--) S = (S << 8n) | BigInt(raw[i]!);
        let x = S + ED25519_L;
        for (let i = 32; i < 64; i++, x >>= 8n) raw[i] = Number(x & 0xffn);
        out.push({ keyid: id(spec.s), sig: toBase64(raw) });
        break;
      }
      case 'corrupt': {
        const raw = Buffer.from(pool.valid[spec.s]!, 'base64');
        raw[spec.at] = raw[spec.at]! ^ spec.mask;
        out.push({ keyid: id(spec.s), sig: toBase64(raw) });
        break;
      }
      case 'corruptText': {
        const text = pool.valid[spec.s]!;
        out.push({ keyid: id(spec.s), sig: text.slice(0, spec.at) + spec.ch + text.slice(spec.at + 1) });
        break;
      }
      case 'swapId':
        out.push({ keyid: id(spec.as), sig: pool.valid[spec.s]! });
        break;
    }
  }
  return out;
}

/** Deterministic shuffle driven by a generated salt. */
function shuffled<T>(items: readonly T[], salt: number): T[] {
  return items
    .map((item, i) => ({ item, key: (Math.imul(i + 1, salt | 1) ^ Math.imul(salt, 0x9e3779b1)) >>> 0 }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.item);
}

function keyHexSet(signers: ReadonlyArray<{ publicKey: string }>): Set<string> {
  return new Set(signers.map((s) => toHex(Buffer.from(s.publicKey, 'base64'))));
}

/** Everything countQuorum promises, against the reference model. */
function checkQuorumAgainstReference(
  q: QuorumResult,
  message: Uint8Array,
  sigs: readonly EnvelopeSignature[],
  entries: readonly RefEntry[],
  threshold: number,
): Set<string> {
  const expected = referenceSigners(message, sigs, entries);
  expect(q.signedBy.length, 'signedBy.length = distinct valid authorised keys').to.equal(expected.size);
  expect(q.met, `met (threshold ${threshold}, ${expected.size} distinct valid keys)`).to.equal(expected.size >= threshold);
  expect(q.threshold).to.equal(threshold);
  expect([...keyHexSet(q.signedBy)].sort(), 'the counted keys').to.deep.equal([...expected].sort());
  // One kept signature per counted key, each valid under the key its keyid names.
  expect(q.signatures).to.have.length(expected.size);
  expect(referenceSigners(message, q.signatures, entries).size).to.equal(expected.size);
  // Every signature is either counted or reported once, never silently dropped.
  expect(q.signedBy.length + q.problems.length, 'counted + problems = signatures given').to.equal(sigs.length);
  const ids = new Set(entries.map((e) => e.id));
  expect(q.problems.filter((p) => p.code === 'UNKNOWN_KEY').length, 'UNKNOWN_KEY problems').to.equal(sigs.filter((s) => !ids.has(s.keyid)).length);
  for (const p of q.problems) expect(['UNKNOWN_KEY', 'DUPLICATE_SIGNATURE', 'BAD_SIGNATURE']).to.include(p.code);
  return expected;
}

// ---------------------------------------------------------------------------------------------

describe('properties (fast-check)', () => {
  const p = makePolicy(5, 3);
  const release = makeRelease();
  const quorum = p.signers.slice(0, 3);
  const signed = signedBy(release.envelope, quorum);
  const signedBytes = envelopeBytes(signed);
  const file = bundleFileBytes(signed, release.archive);
  const headerLength = file.length - signedBytes.length - release.archive.length;
  const envelopeEnd = headerLength + signedBytes.length;
  const HEADER: Region = [0, headerLength];
  const ENVELOPE: Region = [headerLength, envelopeEnd];
  const ARCHIVE: Region = [envelopeEnd, file.length];
  const ANYWHERE: Region = [0, file.length];
  const REGIONS = [HEADER, ENVELOPE, ARCHIVE, ANYWHERE];
  const originalPayload = Buffer.from(signed.payload, 'base64');
  const opts: VerifyOptions = { trusted: p.trusted, now: NOW, site: { product: 'drupal', component: 'core', installed: '10.2.3' } };
  // A different release nobody signed, and a valid signature over it.
  const unsignedOther = manifestEnvelope({ ...release.manifest, version: '10.2.5' });
  const foreignSig = signedBy(unsignedOther, [p.signers[0]!]).signatures[0]!;

  /** Reads mutated bundle bytes as a site does and verifies them; asserts the failure is a coded one. */
  async function siteVerdict(
    bytes: Uint8Array,
    chunkSizes: readonly number[],
  ): Promise<{ verified: Verified; input: ReturnType<typeof openBundleBytes> } | { error: CountersignError }> {
    let input: ReturnType<typeof openBundleBytes>;
    try {
      input = openBundleBytes(bytes, chunkSizes);
    } catch (err) {
      assertCoded(err);
      return { error: err };
    }
    try {
      return { verified: await verifyBundle(input, opts), input };
    } catch (err) {
      assertRejection(err);
      return { error: err };
    }
  }

  /** The oracle: accepted bytes carry exactly the signed payloadType, payload and archive. */
  function assertSameMeaning(input: ReturnType<typeof openBundleBytes>): void {
    const envelope = JSON.parse(fromUtf8(input.envelopeBytes)) as Envelope;
    expect(envelope.payloadType, 'accepted payloadType').to.equal(signed.payloadType);
    expect(bytesEqual(Buffer.from(envelope.payload, 'base64'), originalPayload), 'accepted payload bytes are the signed ones').to.equal(true);
    expect(input.archiveBytes && bytesEqual(input.archiveBytes, release.archive), 'accepted archive bytes are the signed ones').to.equal(true);
  }

  let accepted = 0;
  let rejected = 0;
  async function mutationOracle(bytes: Uint8Array, chunkSizes: readonly number[], property = 'mutation'): Promise<void> {
    const verdict = await siteVerdict(bytes, chunkSizes);
    tally(property, 'verified' in verdict ? 'accepted' : verdictOf(verdict.error));
    if ('verified' in verdict) {
      accepted++;
      assertSameMeaning(verdict.input);
    } else {
      rejected++;
    }
  }

  describe('1. mutated bundles are never accepted with another meaning', () => {
    it('sanity: the unmutated bundle is accepted, streamed in any chunk sizes', async function () {
      this.timeout(120_000);
      await fc.assert(
        fc.asyncProperty(chunkSizesArb, async (sizes) => {
          const verdict = await siteVerdict(file, sizes);
          expect(verdict, 'the valid bundle must verify').to.have.property('verified');
        }),
        runs(200),
      );
    });

    it('overwriting or flipping 1..8 bytes anywhere (header, envelope, archive)', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(fc.array(editArb(REGIONS), { minLength: 1, maxLength: 8 }), chunkSizesArb, (edits, sizes) =>
          mutationOracle(applyEdits(file, edits), sizes, 'overwrite'),
        ),
        runs(1500),
      );
    });

    it('truncating at a random point', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(truncateArb(REGIONS), async (t) => {
          const verdict = await siteVerdict(applySplice(file, t), [1000]);
          tally('truncate', 'verified' in verdict ? 'accepted' : verdictOf(verdict.error));
          expect(verdict, 'a truncated bundle must be rejected').to.have.property('error');
        }),
        runs(400),
      );
    });

    it('inserting random bytes at a random point', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(insertArb(REGIONS, file.length), chunkSizesArb, (s, sizes) => mutationOracle(applySplice(file, s), sizes, 'insert')),
        runs(600),
      );
    });

    it('duplicating a random slice (right after itself, or elsewhere)', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(duplicateArb(REGIONS), chunkSizesArb, (s, sizes) => mutationOracle(applySplice(file, s), sizes, 'duplicate')),
        runs(600),
      );
    });

    it('deleting a random slice', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(deleteArb(REGIONS), chunkSizesArb, (s, sizes) => mutationOracle(applySplice(file, s), sizes, 'delete')),
        runs(400),
      );
    });

    it('mutating only the envelope and rewriting the header length to match', async function () {
      this.timeout(300_000);
      const WHOLE: Region = [0, signedBytes.length];
      const spliceArb = fc.oneof(insertArb([WHOLE], signedBytes.length), deleteArb([WHOLE]), duplicateArb([WHOLE]), truncateArb([WHOLE]));
      const mutated = fc.oneof(
        fc.array(editArb([WHOLE]), { minLength: 1, maxLength: 6 }).map((edits) => applyEdits(signedBytes, edits)),
        spliceArb.map((s) => applySplice(signedBytes, s)),
      );
      await fc.assert(
        fc.asyncProperty(mutated, chunkSizesArb, (envelope, sizes) => mutationOracle(rebundle(envelope, release.archive), sizes, 'envelope+header')),
        runs(1500),
      );
    });

    it('JSON-level rewrites of the envelope: respellings are accepted, nothing changes the signed meaning', async function () {
      this.timeout(300_000);
      const text = fromUtf8(signedBytes);
      const ctx = { otherPayload: unsignedOther.payload, foreign: foreignSig };
      const before = { accepted, rejected };
      await fc.assert(
        fc.asyncProperty(fc.array(rewriteArb, { maxLength: 3 }), styleArb, async (rewrites, style) => {
          await mutationOracle(rebundle(utf8(rewriteEnvelope(text, rewrites, style, ctx)), release.archive), [4096], 'json-rewrite');
        }),
        runs(1500),
      );
      // Not vacuous: both branches of the oracle were taken.
      expect(accepted - before.accepted, 'some respellings accepted').to.be.greaterThan(0);
      expect(rejected - before.rejected, 'some rewrites rejected').to.be.greaterThan(0);
    });

    it('the in-memory reader agrees with openBundleFile on mutated files', async function () {
      this.timeout(300_000);
      const dir = tempDir('countersign-props-');
      let n = 0;
      const mutation = fc.oneof(
        fc.array(editArb(REGIONS), { minLength: 1, maxLength: 4 }).map((edits) => applyEdits(file, edits)),
        fc.oneof(insertArb(REGIONS, file.length), deleteArb(REGIONS), duplicateArb(REGIONS), truncateArb(REGIONS)).map((s) => applySplice(file, s)),
      );
      try {
        await fc.assert(
          fc.asyncProperty(mutation, async (bytes) => {
            const path = join(dir, `b${n++}`);
            writeFileSync(path, bytes);
            let memory: ReturnType<typeof openBundleBytes> | CountersignError;
            try {
              memory = openBundleBytes(bytes);
            } catch (err) {
              assertCoded(err);
              memory = err;
            }
            let disk;
            try {
              disk = await openBundleFile(path);
            } catch (err) {
              assertCoded(err);
              expect(memory, 'openBundleFile refused, so must the in-memory reader').to.be.instanceOf(CountersignError);
              expect((memory as CountersignError).code).to.equal(err.code);
              return;
            } finally {
              rmSync(path, { force: true });
            }
            try {
              expect(memory, 'openBundleFile accepted, so must the in-memory reader').to.not.be.instanceOf(CountersignError);
              const m = memory as ReturnType<typeof openBundleBytes>;
              expect(disk.isBundle).to.equal(m.isBundle);
              expect(bytesEqual(disk.envelopeBytes, m.envelopeBytes)).to.equal(true);
              expect(disk.archive?.size).to.equal(m.archive?.size);
              if (disk.archive) {
                const parts: Uint8Array[] = [];
                for await (const c of disk.archive.chunks()) parts.push(Uint8Array.from(c));
                expect(bytesEqual(concatBytes(...parts), m.archiveBytes!)).to.equal(true);
              }
            } finally {
              await disk.close();
            }
          }),
          runs(200),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('2. verification only ever fails with a coded countersign error', () => {
    const validSigs = signedBy(release.envelope, p.signers).signatures;
    const ids = p.signers.map((s) => s.id);

    const deepArb = fc.tuple(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('array', 'object', 'in-signatures', 'in-payload')).map(([d, shape]) => {
      const deep = shape === 'object' ? `${'{"a":'.repeat(d)}1${'}'.repeat(d)}` : `${'['.repeat(d)}${']'.repeat(d)}`;
      if (shape === 'in-signatures') return utf8(`{"payloadType":"${PAYLOAD_TYPES.manifest}","payload":"","signatures":[${deep}]}`);
      if (shape === 'in-payload') return utf8(`{"payloadType":"${PAYLOAD_TYPES.manifest}","payload":${deep},"signatures":[]}`);
      return utf8(deep);
    });

    const randomDocumentBytes = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      fc.json({ maxDepth: 4 }).map(utf8),
      fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map((v) => utf8(JSON.stringify(v, null, 1))),
      { arbitrary: deepArb, weight: 1 },
    );

    const archiveArb = fc.oneof(
      fc.constant(undefined),
      fc.constant(release.archive),
      fc.uint8Array({ maxLength: 5000 }),
      fc.uint8Array({ minLength: release.archive.length, maxLength: release.archive.length }),
    );

    async function expectCodedVerdict(input: BundleInput, property: string): Promise<Verified | undefined> {
      try {
        const v = await verifyBundle(input, opts);
        tally(property, 'accepted');
        return v;
      } catch (err) {
        assertRejection(err);
        tally(property, verdictOf(err));
        return undefined;
      }
    }

    it('random bytes and random JSON values as the envelope', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(randomDocumentBytes, archiveArb, chunkSizesArb, async (envelope, archive, sizes) => {
          const v = await expectCodedVerdict(
            { envelopeBytes: envelope, archive: archive && { size: archive.length, chunks: () => inChunks(archive, sizes) } },
            'random envelope',
          );
          expect(v, 'random input accepted').to.equal(undefined);
        }),
        runs(1000),
      );
    });

    it('structurally valid envelopes with random payloads, payloadTypes, keyids and signatures', async function () {
      this.timeout(300_000);
      const payloadArb = fc.oneof(
        fc.constantFrom(signed.payload, unsignedOther.payload, p.signed.payload),
        fc.uint8Array({ maxLength: 512 }).map(toBase64),
        fc.jsonValue({ maxDepth: 3 }).map((v) => toBase64(payloadBytesOf(v))),
        fc.jsonValue({ maxDepth: 3 }).map((v) => toBase64(utf8(JSON.stringify(v, null, 1)))),
        fc.base64String({ maxLength: 200 }),
        fc.string({ maxLength: 100 }),
      );
      // Mostly schema-valid, so that the checks behind the schema are reached; some garbage too.
      const sigArb = fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...validSigs) },
        {
          weight: 4,
          arbitrary: fc.record({
            keyid: fc.oneof(fc.constantFrom(...ids), hex64Arb),
            sig: fc.oneof(fc.constantFrom(...validSigs.map((s) => s.sig)), fc.uint8Array({ minLength: 64, maxLength: 64 }).map(toBase64)),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.oneof(
            fc.record({ keyid: fc.string({ maxLength: 70 }), sig: fc.oneof(fc.base64String({ maxLength: 100 }), fc.string({ maxLength: 90 })) }),
            fc.jsonValue({ maxDepth: 1 }),
          ),
        },
      );
      const envelopeArb = fc.record({
        payloadType: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...Object.values(PAYLOAD_TYPES)) },
          fc.string({ maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 210 }),
        ),
        payload: payloadArb,
        signatures: fc.oneof({ arbitrary: fc.array(sigArb, { maxLength: 6 }), weight: 19 }, fc.jsonValue({ maxDepth: 1 })),
        drop: fc.oneof({ weight: 19, arbitrary: fc.constant(null) }, fc.constantFrom('payloadType', 'payload', 'signatures')),
        extra: fc.oneof(
          { weight: 19, arbitrary: fc.constant(null) },
          fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 2 }),
        ),
        indent: fc.constantFrom(0, 2),
      });
      await fc.assert(
        fc.asyncProperty(envelopeArb, archiveArb, async (e, archive) => {
          const obj: Record<string, unknown> = { ...(e.extra ?? {}), payloadType: e.payloadType, payload: e.payload, signatures: e.signatures };
          if (e.drop) delete obj[e.drop];
          await expectCodedVerdict(
            { envelopeBytes: utf8(JSON.stringify(obj, null, e.indent)), archive: archive && { size: archive.length, chunks: () => inChunks(archive, [1000]) } },
            'structured envelope',
          );
        }),
        runs(1500),
      );
    });

    it('manifests with random field changes, signed by a quorum (reaching the rules behind the schema)', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(fc.array(manifestMutatorArb(release.manifest), { minLength: 1, maxLength: 3 }), fc.boolean(), async (mutators, withArchive) => {
          const m = structuredClone(release.manifest) as Manifest;
          for (const mutate of mutators) mutate(m);
          const env = signedBy(createEnvelope('manifest', payloadBytesOf(m)), quorum);
          const v = await expectCodedVerdict(bundleInput(env, withArchive ? release.archive : undefined), 'signed manifest');
          if (v) expect(v.document.kind).to.equal('manifest');
        }),
        runs(800),
      );
    });

    it('policy documents with random changes, signed by old and new keys: verifyBundle, loadTrustedPolicy, verifyRotation', async function () {
      this.timeout(300_000);
      const outsiders = makeSigners(3).map((s, i) => ({ ...s, name: `outsider-${i}` }));
      const everyone = [...p.signers, ...outsiders];
      const pool: PoolKey[] = everyone.map((s) => ({ id: s.id, publicKey: s.publicKey, name: s.name }));
      const byKey = new Map(everyone.map((s) => [toBase64(s.publicKey), s]));
      const trustedBytes = canonicalBytes(p.policy);
      await fc.assert(
        fc.asyncProperty(fc.array(policyMutatorArb(pool), { minLength: 1, maxLength: 3 }), fc.nat(), async (mutators, salt) => {
          const policy = structuredClone(p.policy) as Policy;
          for (const mutate of mutators) mutate(policy);
          const own = Array.isArray(policy.signers)
            ? policy.signers.map((s) => (s && typeof s === 'object' ? byKey.get(s.publicKey) : undefined)).filter((s) => s !== undefined)
            : [];
          // The old quorum always signs; each of the new policy's own keys signs or not, by the salt.
          const signers = [...new Set([...quorum, ...own.filter((_, i) => (salt >> i) & 1 || salt % 3 === 0)])];
          const bytes = envelopeBytes(signedBy(createEnvelope('policy', payloadBytesOf(policy)), signers));
          const v = await expectCodedVerdict({ envelopeBytes: bytes }, 'signed policy');
          if (v) {
            expect(v.document.kind).to.equal('policy');
            const accepted = (v.document as { policy: Policy }).policy;
            // Either the trusted policy itself, or exactly the next version (rotation rules).
            if (!bytesEqual(payloadBytesOf(accepted), trustedBytes))
              expect(accepted.version, 'an accepted new policy is version N+1').to.equal(p.policy.version + 1);
          }
          for (const [name, call] of [
            ['loadTrustedPolicy', () => loadTrustedPolicy(bytes)],
            ['verifyRotation', () => verifyRotation(p.trusted, bytes)],
            ['readPolicyDocument', () => readPolicyDocument(bytes)],
          ] as const) {
            try {
              call();
              tally(name, 'ok');
            } catch (err) {
              assertCoded(err);
              tally(name, verdictOf(err));
            }
          }
        }),
        runs(800),
      );
    });

    const TAR_REGIONS = tarRegions(release.archive);
    const mutatedArchiveArb = fc.oneof(
      { weight: 3, arbitrary: fc.array(editArb(TAR_REGIONS), { minLength: 1, maxLength: 4 }).map((edits) => applyEdits(release.archive, edits)) },
      {
        weight: 2,
        arbitrary: fc
          .oneof(insertArb(TAR_REGIONS, release.archive.length), deleteArb(TAR_REGIONS), duplicateArb(TAR_REGIONS), truncateArb(TAR_REGIONS))
          .map((s) => applySplice(release.archive, s)),
      },
      fc.uint8Array({ minLength: release.archive.length, maxLength: release.archive.length }),
      fc.uint8Array({ maxLength: 6000 }),
    );
    // Format 2: the same files and mtime, the mutated archive's size and SHA-256 (which verify does not recompute).
    const archiveRefOf = (bytes: Uint8Array) => ({
      ...release.manifest.archive,
      size: bytes.length,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    });

    it('a valid envelope with random or mutated archive bytes, in random chunks: accepted only for the signed archive', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(mutatedArchiveArb, chunkSizesArb, fc.boolean(), async (bytes, sizes, resign) => {
          // Half the time the quorum signs a manifest with the mutated archive's digests (same file
          // ops), so the tar reader and the per-entry checks decide inside verifyBundle.
          const envelope = resign ? envelopeBytes(signedBy(manifestEnvelope({ ...release.manifest, archive: archiveRefOf(bytes) }), quorum)) : signedBytes;
          const v = await expectCodedVerdict(
            { envelopeBytes: envelope, archive: { size: bytes.length, chunks: () => inChunks(bytes, sizes) } },
            resign ? 'archive (re-signed digests)' : 'archive',
          );
          expect(v !== undefined, 'accepted iff the archive is the signed one').to.equal(bytesEqual(bytes, release.archive));
        }),
        runs(800),
      );
    });

    it('verifyArchiveStream on mutated tars whose digests are made to match: only the exact archive passes, failures are ArchiveErrors', async function () {
      this.timeout(300_000);
      await fc.assert(
        fc.asyncProperty(mutatedArchiveArb, chunkSizesArb, async (bytes, sizes) => {
          // The digests are those of the mutated bytes, so the tar reader and entry checks decide.
          const expected = archiveRefOf(bytes);
          let ok = true;
          try {
            await verifyArchiveStream(inChunks(bytes, sizes), expected, release.manifest.files);
            tally('verifyArchiveStream', 'ok');
          } catch (err) {
            assertCoded(err);
            tally('verifyArchiveStream', verdictOf(err));
            ok = false;
          }
          expect(ok, 'the reader accepts exactly the bytes the writer emitted').to.equal(bytesEqual(bytes, release.archive));
        }),
        runs(800),
      );
    });

    it('openEnvelope, parsePartial, parseCanonical, loadTrustedPolicy, verifyRotation on random and mutated bytes', async function () {
      this.timeout(300_000);
      const partial = utf8(serializePartial(signDocument(openEnvelope(signedBytes), p.signers[0]!.seed, p.signers[0]!.publicKey)));
      const docs = [signedBytes, envelopeBytes(p.signed), partial, originalPayload, canonicalBytes(p.policy)];
      const mutatedDoc = fc.nat(docs.length - 1).chain((i) =>
        fc.oneof(
          fc.array(editArb([[0, docs[i]!.length]]), { minLength: 1, maxLength: 4 }).map((edits) => applyEdits(docs[i]!, edits)),
          fc
            .oneof(
              insertArb([[0, docs[i]!.length]], docs[i]!.length),
              deleteArb([[0, docs[i]!.length]]),
              duplicateArb([[0, docs[i]!.length]]),
              truncateArb([[0, docs[i]!.length]]),
            )
            .map((s) => applySplice(docs[i]!, s)),
        ),
      );
      const input = fc.oneof(randomDocumentBytes, mutatedDoc, fc.uint8Array({ minLength: 4000, maxLength: 5000 }));
      fc.assert(
        fc.property(input, (bytes) => {
          for (const [name, call] of [
            ['openEnvelope', () => openEnvelope(bytes)],
            ['parsePartial', () => parsePartial(bytes)],
            ['parseCanonical', () => parseCanonical(bytes, 'document')],
            ['loadTrustedPolicy (bytes)', () => loadTrustedPolicy(bytes)],
            ['verifyRotation (bytes)', () => verifyRotation(p.trusted, bytes)],
          ] as const) {
            try {
              call();
              tally(name, 'ok');
            } catch (err) {
              assertCoded(err);
              tally(name, verdictOf(err));
            }
          }
        }),
        runs(1500),
      );
    });

    it('invalid JSON escapes in an envelope or partial are FormatError MALFORMED, never a bare SyntaxError', async function () {
      this.timeout(120_000);
      const partial = serializePartial(signDocument(openEnvelope(signedBytes), p.signers[0]!.seed, p.signers[0]!.publicKey));
      const text = fromUtf8(signedBytes);
      const badEscape = fc.oneof(
        fc.constantFrom('\\a', '\\x41', '\\u00zz', '\\u12"', '\\\n', '\\U0041', "\\'", '\\0'),
        fc
          .integer({ min: 0x20, max: 0x7e })
          .filter((c) => !'"\\/bfnrtu'.includes(String.fromCharCode(c)))
          .map((c) => `\\${String.fromCharCode(c)}`),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('envelope', 'partial'), fc.nat(), badEscape, async (doc, where, bad) => {
          const source = doc === 'envelope' ? text : partial;
          // Somewhere inside a string: just after one of its opening quotes.
          const quotes = [...source.matchAll(/"/g)].map((m) => m.index + 1);
          const at = quotes[where % quotes.length]!;
          const bytes = utf8(source.slice(0, at) + bad + source.slice(at));
          for (const call of [() => openEnvelope(bytes), () => parsePartial(bytes), () => loadTrustedPolicy(bytes)]) {
            try {
              call();
            } catch (err) {
              assertCoded(err);
            }
          }
          try {
            await verifyBundle({ envelopeBytes: bytes }, opts);
          } catch (err) {
            assertRejection(err);
          }
        }),
        runs(200),
      );
    });

    it('canonical JSON has one accepted spelling: parseCanonical accepts canonicalBytes(v) and refuses every other spelling', function () {
      this.timeout(120_000);
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(0, 1, 2), (value, indent) => {
          const canonical = canonicalBytes(value);
          expect(bytesEqual(canonicalBytes(parseCanonical(canonical, 'value')), canonical)).to.equal(true);
          const other = utf8(JSON.stringify(value, null, indent));
          let ok = true;
          try {
            parseCanonical(other, 'value');
          } catch (err) {
            assertCoded(err);
            ok = false;
          }
          expect(ok, 'another spelling accepted').to.equal(bytesEqual(other, canonical));
        }),
        runs(500),
      );
    });

    it('bad caller inputs (reference time, installed version) give UsageError, never anything else', async function () {
      this.timeout(120_000);
      const siteArb = fc.record(
        {
          product: fc.constantFrom('drupal', 'wordpress'),
          component: fc.constantFrom('core', 'views'),
          installed: fc.oneof(versionArb, fc.string({ maxLength: 70 })),
        },
        { requiredKeys: [] },
      );
      const nowArb = fc.oneof(
        fc.date(),
        fc.constant(new Date(NaN)),
        timestampArb.map((t) => new Date(t)),
        fc.constant(NOW),
      );
      await fc.assert(
        fc.asyncProperty(nowArb, siteArb, async (now, site) => {
          try {
            await verifyBundle(bundleInput(signed, release.archive), { ...opts, now, site });
          } catch (err) {
            assertCoded(err);
            if (err instanceof UsageError) {
              expect(err.code).to.equal('USAGE');
              return;
            }
            assertRejection(err);
            expect(Number.isFinite(now.getTime()), 'an invalid reference time is a usage error').to.equal(true);
          }
        }),
        runs(300),
      );
    });
  });

  describe('3. quorum counting equals the reference model', () => {
    const poolSigners = makeSigners(10);
    const outsiders = makeSigners(3);
    const everyone = [...poolSigners, ...outsiders];
    const payload = canonicalBytes({ release: 'main', n: 1 });
    const doc = { envelope: { payloadType: PAYLOAD_TYPES.manifest }, payloadBytes: payload };
    const message = refPae(PAYLOAD_TYPES.manifest, payload);
    const sigPool = makeSignaturePool(everyone, PAYLOAD_TYPES.manifest, payload, canonicalBytes({ release: 'other', n: 2 }), PAYLOAD_TYPES.policy);
    const specs = fc.array(
      sigSpecArb(
        everyone.length,
        everyone.map((s) => s.id),
      ),
      { maxLength: 12 },
    );
    const policies = new Map<string, CheckedPolicy>();
    const policyFor = (members: readonly number[], threshold: number): CheckedPolicy => {
      const key = `${members.join(',')}/${threshold}`;
      let checked = policies.get(key);
      if (!checked) {
        const policy = createPolicy({
          threshold,
          signers: members.map((i) => ({ publicKey: poolSigners[i]!.publicKey, name: `s${i}` })),
          expires: new Date('2030-01-01T00:00:00Z'),
        });
        checked = checkPolicy(policy);
        policies.set(key, checked);
      }
      return checked;
    };

    it('random policies (n 1..7, m 1..n) and random signature sets: met, signedBy and problems match', function () {
      this.timeout(300_000);
      const outcomes = { met: 0, notMet: 0 };
      fc.assert(
        fc.property(
          fc.shuffledSubarray([...poolSigners.keys()], { minLength: 1, maxLength: 7 }),
          fc.nat(),
          specs,
          fc.integer(),
          (members, t, specList, salt) => {
            const threshold = 1 + (t % members.length);
            const checked = policyFor(members, threshold);
            const entries = members.map((i) => ({ id: poolSigners[i]!.id, publicKey: poolSigners[i]!.publicKey }));
            const sigs = signatureFor(specList, sigPool);
            const q = countQuorum(doc, sigs, checked);
            const expected = checkQuorumAgainstReference(q, message, sigs, entries, threshold);
            expect(q.signedBy.length + q.couldSign.length, 'signedBy + couldSign = policy signers').to.equal(members.length);
            // The verdict does not depend on the order the signatures come in.
            const again = countQuorum(doc, shuffled(sigs, salt), checked);
            expect(again.met).to.equal(q.met);
            expect([...keyHexSet(again.signedBy)].sort()).to.deep.equal([...expected].sort());
            outcomes[q.met ? 'met' : 'notMet']++;
            tally('countQuorum', q.met ? 'met' : 'not met');
          },
        ),
        runs(3000),
      );
      expect(outcomes.met, 'quorum met in some cases').to.be.greaterThan(100);
      expect(outcomes.notMet, 'quorum not met in some cases').to.be.greaterThan(100);
    });

    it('hand-built policies listing one key under several ids (bypassing checkPolicy) still count each key once', function () {
      this.timeout(300_000);
      const entryArb = fc
        .uniqueArray(fc.nat(poolSigners.length - 1), { minLength: 1, maxLength: 7 })
        .chain((ids) =>
          fc.tuple(fc.constant(ids), fc.array(fc.oneof(fc.constant(-1), fc.nat(ids.length - 1)), { minLength: ids.length, maxLength: ids.length }), fc.nat()),
        );
      fc.assert(
        fc.property(entryArb, specs, ([ids, borrow, t], specList) => {
          // Entry i carries pool signer ids[i]'s id, and either its own key or entry borrow[i]'s key.
          const entries = ids.map((id, i) => ({ id: poolSigners[id]!.id, publicKey: poolSigners[borrow[i]! < 0 ? id : ids[borrow[i]!]!]!.publicKey }));
          const threshold = 1 + (t % ids.length);
          const forged: CheckedPolicy = {
            policy: {
              version: 1,
              expires: '2030-01-01T00:00:00Z',
              threshold,
              signers: entries.map((e, i) => ({ id: e.id, publicKey: toBase64(e.publicKey), name: `e${i}` })),
            },
            threshold,
            keys: entries.map((e, i) => ({ signer: { id: e.id, publicKey: toBase64(e.publicKey), name: `e${i}` }, publicKey: e.publicKey })),
          };
          const sigs = signatureFor(specList, sigPool);
          checkQuorumAgainstReference(countQuorum(doc, sigs, forged), message, sigs, entries, threshold);
        }),
        runs(1000),
      );
    });

    it('end to end: verifyBundle accepts a release iff the reference count reaches m (3 of 5)', async function () {
      this.timeout(300_000);
      const outside = makeSigners(3);
      const signers = [...p.signers, ...outside];
      const pool = makeSignaturePool(signers, signed.payloadType, originalPayload, Buffer.from(unsignedOther.payload, 'base64'), PAYLOAD_TYPES.policy);
      const entries = p.signers.map((s) => ({ id: s.id, publicKey: s.publicKey }));
      const msg = refPae(signed.payloadType, originalPayload);
      const e2eSpecs = fc.array(
        sigSpecArb(
          signers.length,
          signers.map((s) => s.id),
          14,
        ),
        { maxLength: 9 },
      );
      const outcomes = { accepted: 0, quorum: 0, schema: 0 };
      await fc.assert(
        fc.asyncProperty(e2eSpecs, async (specList) => {
          const sigs = signatureFor(specList, pool);
          // The envelope schema's sig since signer kinds (0.3.0): padded base64 of 4-2048 characters; a countersign key's
          // signature of any other length than 64 bytes is then BAD_SIGNATURE, never counted (the reference model's null).
          const schemaOk = sigs.every(
            (s) => /^[0-9a-f]{64}$/.test(s.keyid) && /^[A-Za-z0-9+/]*={0,2}$/.test(s.sig) && s.sig.length >= 4 && s.sig.length <= 2048,
          );
          const expected = referenceSigners(msg, sigs, entries);
          let v: Verified | undefined;
          let codes: string[] = [];
          try {
            v = await verifyBundle(bundleInput({ ...release.envelope, signatures: sigs }, release.archive), opts);
          } catch (err) {
            assertRejection(err);
            codes = codesOf(err);
          }
          if (!schemaOk) {
            expect(codes, 'a signature the envelope schema refuses').to.deep.equal(['SCHEMA_INVALID']);
            outcomes.schema++;
            tally('quorum end to end', 'SCHEMA_INVALID');
          } else if (expected.size >= 3) {
            expect(v, `${expected.size} distinct valid signers must be accepted (got ${codes.join(', ')})`).to.not.equal(undefined);
            expect([...keyHexSet(v!.quorum.signedBy)].sort()).to.deep.equal([...expected].sort());
            outcomes.accepted++;
            tally('quorum end to end', 'accepted');
          } else {
            expect(codes, `${expected.size} distinct valid signers must be QUORUM_NOT_MET`).to.deep.equal(['QUORUM_NOT_MET']);
            outcomes.quorum++;
            tally('quorum end to end', 'QUORUM_NOT_MET');
          }
        }),
        runs(500),
      );
      expect(outcomes.accepted).to.be.greaterThan(20);
      expect(outcomes.quorum).to.be.greaterThan(20);
    });
  });
});

describe('properties (fast-check): the version order', () => {
  const schemeArb = fc.constantFrom('legacy', 'numeric' as const);
  const mismatchCode = (a: string, b: string): string | undefined => {
    try {
      compareVersions(a, b);
      return undefined;
    } catch (err) {
      return (err as CountersignError).code;
    }
  };

  it('every generated version parses, and is of the scheme it was generated for', () => {
    fc.assert(
      fc.property(
        schemeArb.chain((s) => fc.tuple(fc.constant(s), releaseVersionArb(s))),
        ([scheme, v]) => {
          parseVersion(v);
          expect(versionScheme(v)).to.equal(scheme);
        },
      ),
      runs(500),
    );
  });

  it('within a scheme: total (-1, 0 or 1, never a throw), reflexive and antisymmetric', () => {
    fc.assert(
      fc.property(
        schemeArb.chain((s) => fc.tuple(releaseVersionArb(s), releaseVersionArb(s))),
        ([a, b]) => {
          const ab = compareVersions(a, b);
          expect([-1, 0, 1]).to.include(ab);
          expect(compareVersions(b, a)).to.equal(ab === 0 ? 0 : -ab);
          expect(compareVersions(a, a)).to.equal(0);
        },
      ),
      runs(2000),
    );
  });

  it('within a scheme: transitive (for <=, and for equality)', () => {
    let chains = 0;
    fc.assert(
      fc.property(
        schemeArb.chain((s) => fc.tuple(releaseVersionArb(s), releaseVersionArb(s), releaseVersionArb(s))),
        (vs) => {
          const [a, b, c] = [...vs].sort(compareVersions) as [string, string, string];
          if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) chains++;
          expect(compareVersions(a, b), `${a} <= ${b}`).to.be.at.most(0);
          expect(compareVersions(b, c), `${b} <= ${c}`).to.be.at.most(0);
          expect(compareVersions(a, c), `${a} <= ${c}`).to.be.at.most(0);
          // Without sorting: a <= b and b <= c imply a <= c; a = b and b = c imply a = c.
          const [x, y, z] = vs;
          if (compareVersions(x, y) <= 0 && compareVersions(y, z) <= 0) expect(compareVersions(x, z)).to.be.at.most(0);
          if (compareVersions(x, y) === 0 && compareVersions(y, z) === 0) expect(compareVersions(x, z)).to.equal(0);
        },
      ),
      runs(2000),
    );
    expect(chains).to.be.greaterThan(0);
  });

  it('across schemes: always VERSION_SCHEME_MISMATCH, both ways round', () => {
    fc.assert(
      fc.property(releaseVersionArb('legacy'), releaseVersionArb('numeric'), (legacy, numeric) => {
        expect(mismatchCode(legacy, numeric)).to.equal('VERSION_SCHEME_MISMATCH');
        expect(mismatchCode(numeric, legacy)).to.equal('VERSION_SCHEME_MISMATCH');
      }),
      runs(500),
    );
  });
});
