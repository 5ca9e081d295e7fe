// Enrolment: binds a provider name to its policy, signed by the root policy's quorum (the super provider) or, for a
// first enrolment only, by the root's registry role. Who signed is for the log's replay to count (lib/log/).
import type * as generated from './generated/types.js';
import { fromBase64, toBase64 } from './bytes.js';
import { canonicalBytes, parseCanonical } from './canonical.js';
import { createEnvelope, type Envelope } from './envelope.js';
import { PolicyError } from './errors.js';
import { checkPayloadFormat, PROVIDER_DOCUMENT_FORMAT } from './format.js';
import { policyFromPayload, type CheckedPolicy } from './policy.js';
import { providerName } from './provider-policy.js';
import { validate } from './schema.js';
import { formatTimestamp, parseTimestamp } from './time.js';

export type Enrolment = generated.Enrolment;

export interface CheckedEnrolment {
  enrolment: Enrolment;
  /** The enrolled provider policy, its rules checked (expiry is not: that is for whoever relies on it, at their time). */
  policy: CheckedPolicy;
  /** Its exact payload bytes, as the enrolment carries them (what a provider record's SHA-256 commits to). */
  policyBytes: Uint8Array;
}

/** `policyBytes`: the provider policy's exact payload (policy init --provider). `previous`: the version it replaces. */
export function createEnrolment(opts: { policyBytes: Uint8Array; created: Date; previous?: number }): Envelope {
  const { policy } = policyFromPayload(opts.policyBytes, 'enrolled policy');
  if (policy.provider === undefined) throw new PolicyError('BAD_PROVIDER', 'the enrolled policy names no provider: write it with policy init --provider');
  const enrolment: Enrolment = {
    format: PROVIDER_DOCUMENT_FORMAT,
    provider: policy.provider,
    policy: toBase64(opts.policyBytes),
    created: formatTimestamp(opts.created),
    ...(opts.previous !== undefined && { previous: opts.previous }),
  };
  const bytes = canonicalBytes(enrolment);
  enrolmentFromPayload(bytes);
  return createEnvelope('enrolment', bytes);
}

/**
 * Decodes and checks an enrolment payload: canonical, schema, the provider name, and the policy it carries (a valid
 * policy of the same provider, version 1 or `previous` + 1).
 */
export function enrolmentFromPayload(payloadBytes: Uint8Array, what = 'enrolment'): CheckedEnrolment {
  const enrolment = validate<Enrolment>(
    'enrolment',
    parseCanonical(payloadBytes, what, (v) => checkPayloadFormat('enrolment', v)),
    what,
  );
  providerName(enrolment.provider, `${what} provider`);
  parseTimestamp(enrolment.created, `${what} time`);
  const policyBytes = fromBase64(enrolment.policy, `${what} policy`);
  const policy = policyFromPayload(policyBytes, `${what}'s policy`);
  if (policy.policy.provider !== enrolment.provider) {
    throw new PolicyError(
      'BAD_PROVIDER',
      `${what} is for ${enrolment.provider} but its policy is ${policy.policy.provider === undefined ? 'a root policy' : `for ${policy.policy.provider}`}`,
      { provider: enrolment.provider, policyProvider: policy.policy.provider ?? null },
    );
  }
  const expected = (enrolment.previous ?? 0) + 1;
  if (policy.policy.version !== expected) {
    throw new PolicyError(
      'POLICY_VERSION_GAP',
      enrolment.previous === undefined
        ? `${what} is a first enrolment, so its policy is version 1, not ${policy.policy.version}`
        : `${what} replaces version ${enrolment.previous}, so its policy is version ${expected}, not ${policy.policy.version}`,
      { expected, found: policy.policy.version },
    );
  }
  return { enrolment, policy, policyBytes };
}
