// The trust policy: which Ed25519 keys may sign, and how many distinct ones must (m of n).
import type * as generated from './generated/types.js';
import { fromBase64, toBase64, toHex } from './bytes.js';
import { canonicalBytes, parseCanonical } from './canonical.js';
import { isStrongPublicKey, keyId } from './ed25519.js';
import { openEnvelope, expectKind, createEnvelope, type Envelope } from './envelope.js';
import { FormatError, PolicyError } from './errors.js';
import { countQuorum, describeQuorum, publicSigner, type KeyRing, type Signer } from './quorum.js';
import { checkPayloadFormat, PAYLOAD_FORMAT, POLICY_KINDS_FORMAT, POLICY_PROVIDER_FORMAT } from './format.js';
import { checkProviderMembers, roleWarnings, type RoleRule } from './provider-policy.js';
import { kindMembers, signerKind, type NewSigner } from './signer-kinds.js';
import { validate } from './schema.js';
import { formatTimestamp, parseTimestamp } from './time.js';

export type Policy = generated.Policy;

/** A policy whose rules have been checked, with its keys decoded: its key ring and the document. */
export interface CheckedPolicy extends KeyRing {
  policy: Policy;
  keys: Array<{ signer: Signer; publicKey: Uint8Array }>;
}

declare const TRUSTED: unique symbol;

/**
 * A policy a site may verify against: pinned and self-signed (loadTrustedPolicy), or reached from
 * one by valid rotations (rotation.ts). Only those functions make one, so a merely parsed policy
 * can never be passed where trust is required.
 */
export type TrustedPolicy = CheckedPolicy & { readonly [TRUSTED]: true };

export type { NewSigner } from './signer-kinds.js';

/** Applies every policy rule a site relies on; throws the first PolicyError found. */
export function checkPolicy(policy: Policy): CheckedPolicy {
  const seenKeys = new Map<string, string>();
  const seenNames = new Set<string>();
  const keys: CheckedPolicy['keys'] = [];
  // Signer kinds are format 2 members: a format 1 policy with them would read differently in a verifier before 0.3.0.
  if ((policy.format ?? 1) < POLICY_KINDS_FORMAT && policy.signers.some((s) => s.kind !== undefined)) {
    throw new FormatError('SCHEMA_INVALID', `signer kinds need policy format ${POLICY_KINDS_FORMAT}`);
  }
  for (const signer of policy.signers) {
    const publicKey = fromBase64(signer.publicKey, `public key of ${signer.name}`);
    const hex = toHex(publicKey);
    const first = seenKeys.get(hex);
    if (first !== undefined) {
      // Whatever the kinds: one Ed25519 key is one signer, bound to one signature format (spec/documents.md).
      throw new PolicyError('DUPLICATE_KEY', `the key of ${signer.name} (${signerKind(signer)}) is already listed for ${first}`, { id: signer.id });
    }
    seenKeys.set(hex, signer.name);
    // Names are only for people, but two signers shown alike could not be told apart in a review.
    const nameKey = signer.name.normalize('NFKC').toLowerCase();
    if (seenNames.has(nameKey)) throw new PolicyError('DUPLICATE_NAME', `two signers are both named ${signer.name}`, { name: signer.name });
    seenNames.add(nameKey);
    // Also refuses A + T (T of small order): one secret signs for both A and A + T, so such a key would
    // let one member count twice under two ids (lib/core/ed25519.ts).
    if (!isStrongPublicKey(publicKey)) {
      throw new PolicyError('WEAK_KEY', `the key of ${signer.name} is non-canonical, of small order, or not in the prime-order subgroup`, { id: signer.id });
    }
    if (keyId(publicKey) !== signer.id) {
      throw new PolicyError('KEY_ID_MISMATCH', `the id listed for ${signer.name} is not the SHA-256 of its key`, { id: signer.id });
    }
    keys.push({ signer, publicKey });
  }
  const n = keys.length;
  if (!Number.isInteger(policy.threshold) || policy.threshold < 1 || policy.threshold > n) {
    throw new PolicyError('BAD_THRESHOLD', `threshold ${policy.threshold} must be between 1 and the ${n} distinct signers`, {
      threshold: policy.threshold,
      signers: n,
    });
  }
  checkProviderMembers(policy);
  parseTimestamp(policy.expires, 'policy expiry');
  return { policy, threshold: policy.threshold, keys };
}

export function checkPolicyFresh(policy: Policy, now: Date): void {
  // Written as "not before expiry" so that an invalid reference time fails closed.
  if (!(now.getTime() < parseTimestamp(policy.expires, 'policy expiry').getTime())) {
    throw new PolicyError('POLICY_EXPIRED', `policy version ${policy.version} expired at ${policy.expires}`, {
      expires: policy.expires,
      now: formatTimestamp(now),
    });
  }
}

/** The format 3 members of a new policy: a provider's name and roles (key ids), or a root policy's rules for providers. */
export interface ProviderMembers {
  provider?: string;
  roles?: { admin?: RoleRule; release?: RoleRule };
  providers?: { activationDelay: number; registry?: RoleRule };
}

/**
 * A policy of countersign keys only is written as format 1, readable by every release; any other kind makes it format 2,
 * with every entry's kind stated; provider members make it format 3. `userVerification`: require it of every security
 * key added here.
 */
export function createPolicy(
  opts: { threshold: number; signers: NewSigner[]; expires: Date; version?: number; userVerification?: boolean } & ProviderMembers,
): Policy {
  const kinds = opts.signers.some((s) => (s.kind ?? 'countersign') !== 'countersign');
  const providers = opts.provider !== undefined || opts.roles !== undefined || opts.providers !== undefined;
  const policy = {
    format: providers ? POLICY_PROVIDER_FORMAT : kinds ? POLICY_KINDS_FORMAT : PAYLOAD_FORMAT,
    ...(opts.provider !== undefined && { provider: opts.provider }),
    version: opts.version ?? 1,
    expires: formatTimestamp(opts.expires),
    threshold: opts.threshold,
    signers: opts.signers.map((s) => ({
      id: keyId(s.publicKey),
      publicKey: toBase64(s.publicKey),
      name: s.name,
      ...(kinds && kindMembers(s, opts.userVerification === true)),
    })),
    ...(opts.roles !== undefined && { roles: opts.roles }),
    ...(opts.providers !== undefined && { providers: opts.providers }),
  } as Policy;
  checkPolicy(validate<Policy>('policy', policy, 'policy'));
  return policy;
}

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/** What is allowed but rarely meant, for whoever writes a policy: a single signer suffices, or expiry is far off. */
export function policyWarnings(policy: Policy, now: Date): string[] {
  const warnings: string[] = [];
  if (policy.threshold === 1) warnings.push(`a 1-of-${policy.signers.length} policy: any one key can sign a release on its own`);
  warnings.push(...roleWarnings(policy));
  if (parseTimestamp(policy.expires, 'policy expiry').getTime() - now.getTime() > 5 * YEAR_MS) {
    warnings.push(`the policy expires ${policy.expires}, more than five years ahead: sites that never take a rotation keep trusting its keys until then`);
  }
  return warnings;
}

export function policyEnvelope(policy: Policy): Envelope {
  return createEnvelope('policy', canonicalBytes(policy));
}

/** Decodes and checks a policy payload (canonical bytes, schema, rules). Expiry is checked separately. */
export function policyFromPayload(payloadBytes: Uint8Array, what = 'policy'): CheckedPolicy {
  return checkPolicy(
    validate<Policy>(
      'policy',
      parseCanonical(payloadBytes, what, (v) => checkPayloadFormat('policy', v)),
      what,
    ),
  );
}

/** Reads a policy envelope without looking at its signatures (for signing and assembling). */
export function readPolicyDocument(envelopeBytes: Uint8Array, what = 'policy'): CheckedPolicy {
  const opened = openEnvelope(envelopeBytes, what);
  expectKind(opened, 'policy', what);
  return policyFromPayload(opened.payloadBytes, what);
}

/**
 * Loads the policy a site pins: well-formed, and signed by a quorum of its own keys. The pin itself is
 * the trust decision; the self-signature proves the quorum approved this exact version. Expiry is
 * checked when something is verified against it, at that reference time.
 */
export function loadTrustedPolicy(envelopeBytes: Uint8Array, what = 'trusted policy'): TrustedPolicy {
  const opened = openEnvelope(envelopeBytes, what);
  expectKind(opened, 'policy', what);
  const checked = policyFromPayload(opened.payloadBytes, what);
  const quorum = countQuorum(opened, opened.envelope.signatures, checked);
  if (!quorum.met) {
    throw new PolicyError('POLICY_UNSIGNED', `${what} is not signed by a quorum of its own keys: ${describeQuorum(quorum)}`, {
      signedBy: quorum.signedBy.map(publicSigner),
      couldSign: quorum.couldSign.map(publicSigner),
    });
  }
  return checked as TrustedPolicy;
}
