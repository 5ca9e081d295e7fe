// Fixtures for the site trust store tests: policy generations (rotations signed by both quorums),
// revocations, and a signed release, all made with the library itself.
import { canonicalBytes } from '../../lib/core/canonical.js';
import { generateSeed, keyId, publicKeyFromSeed } from '../../lib/core/ed25519.js';
import { createEnvelope } from '../../lib/core/envelope.js';
import { createPolicy } from '../../lib/core/policy.js';
import { createRevocation } from '../../lib/core/revocation.js';
import { envelopeBytes, makePolicy, makeRelease, signedBy, type TestRelease, type TestSigner } from './fixtures.js';

export const FAR = new Date('2030-01-01T00:00:00Z');

/** One version of the policy: its signers and threshold, and its signed envelope. */
export interface Generation {
  version: number;
  signers: TestSigner[];
  threshold: number;
  bytes: Uint8Array;
}

export function namedSigners(prefix: string, n: number): TestSigner[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = generateSeed();
    const publicKey = publicKeyFromSeed(seed);
    return { name: `${prefix}-${i}`, seed, publicKey, id: keyId(publicKey) };
  });
}

/** Policy version 1: 5 signers, 3 of them required, self-signed by a quorum. */
export function firstGeneration(): Generation {
  const p = makePolicy(5, 3);
  return { version: 1, signers: p.signers, threshold: 3, bytes: envelopeBytes(p.signed) };
}

/**
 * The next policy (new keys, 2 of 3), signed by `signCurrent` of the current policy's signers and
 * `signNext` of its own (by default a quorum of each, as a rotation needs).
 */
export function nextGeneration(prev: Generation, opts: { version?: number; expires?: Date; signCurrent?: number; signNext?: number } = {}): Generation {
  const version = opts.version ?? prev.version + 1;
  const signers = namedSigners(`v${version}`, 3);
  const policy = createPolicy({ threshold: 2, signers: signers.map((s) => ({ publicKey: s.publicKey, name: s.name })), expires: opts.expires ?? FAR, version });
  const unsigned = createEnvelope('policy', canonicalBytes(policy));
  const signed = signedBy(unsigned, [...prev.signers.slice(0, opts.signCurrent ?? prev.threshold), ...signers.slice(0, opts.signNext ?? 2)]);
  return { version, signers, threshold: 2, bytes: envelopeBytes(signed) };
}

/** A revocation of drupal core `version`, signed by `signers` (default: a quorum of `gen`). */
export function revocationBytes(
  gen: Generation,
  version = '10.2.4',
  signers = gen.signers.slice(0, gen.threshold),
  created = new Date('2026-11-22T00:00:00Z'),
): Uint8Array {
  const env = createRevocation({ product: 'drupal', component: 'core', version, reason: 'breaks multilingual sites', created, policyVersion: gen.version });
  return envelopeBytes(signedBy(env, signers));
}

/** drupal core 10.2.4 (applies to 10.2.3), signed by a quorum of `gen`. */
export function signedRelease(gen: Generation, release: TestRelease = makeRelease()): TestRelease {
  return { ...release, envelope: signedBy(release.envelope, gen.signers.slice(0, gen.threshold)) };
}
