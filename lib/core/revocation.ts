// Revocations: a release that must no longer be installed, signed by a quorum like any other document.
import type * as generated from './generated/types.js';
import { canonicalBytes, parseCanonical } from './canonical.js';
import { checkPayloadFormat, PAYLOAD_FORMAT, REVOCATION_PROVIDER_FORMAT } from './format.js';
import { createEnvelope, expectKind, openEnvelope, type Envelope } from './envelope.js';
import { FormatError, type Reason } from './errors.js';
import type { Manifest } from './manifest.js';
import type { TrustedPolicy } from './policy.js';
import { providerName } from './provider-policy.js';
import { countQuorum, requireQuorum } from './quorum.js';
import { validate } from './schema.js';
import { formatTimestamp, parseTimestamp } from './time.js';
import { mayBeSameRelease, parseVersion } from './version.js';

/**
 * `policyVersion` is the policy version whose quorum is expected to sign it; with `provider` (format 2), the version of
 * that provider's policy.
 */
export type Revocation = generated.Revocation;

/** Format 1, readable by every release; a provider's release revocation is format 2. */
export function createRevocation(opts: {
  provider?: string;
  product: string;
  component: string;
  version: string;
  reason: string;
  created: Date;
  policyVersion: number;
}): Envelope {
  const { provider, ...rest } = opts;
  const revocation: Revocation = {
    format: provider === undefined ? PAYLOAD_FORMAT : REVOCATION_PROVIDER_FORMAT,
    ...(provider !== undefined && { provider }),
    ...rest,
    created: formatTimestamp(opts.created),
  };
  checkRevocation(validate<Revocation>('revocation', revocation, 'revocation'));
  return createEnvelope('revocation', canonicalBytes(revocation));
}

export function revocationFromPayload(payloadBytes: Uint8Array, what = 'revocation'): Revocation {
  return checkRevocation(
    validate<Revocation>(
      'revocation',
      parseCanonical(payloadBytes, what, (v) => checkPayloadFormat('revocation', v)),
      what,
    ),
  );
}

function checkRevocation(revocation: Revocation): Revocation {
  if (revocation.provider !== undefined) {
    if ((revocation.format ?? 1) < REVOCATION_PROVIDER_FORMAT)
      throw new FormatError('SCHEMA_INVALID', `provider needs revocation format ${REVOCATION_PROVIDER_FORMAT}`);
    providerName(revocation.provider, 'revocation provider');
  }
  parseVersion(revocation.version);
  parseTimestamp(revocation.created, 'revocation time');
  return revocation;
}

/** A revocation counts only when a quorum of the trusted policy signed it. Revocations do not expire. */
export function verifyRevocation(envelopeBytes: Uint8Array, trusted: TrustedPolicy, what = 'revocation'): Revocation {
  const opened = openEnvelope(envelopeBytes, what);
  expectKind(opened, 'revocation', what);
  const revocation = revocationFromPayload(opened.payloadBytes, what);
  requireQuorum(countQuorum(opened, opened.envelope.signatures, trusted));
  return revocation;
}

/** Across version schemes, a revocation of 8.x-1.2 also refuses 1.2.0: a revocation errs towards refusing. */
export function revokes(revocation: Revocation, manifest: Pick<Manifest, 'product' | 'component' | 'version'>): boolean {
  return revocation.product === manifest.product && revocation.component === manifest.component && mayBeSameRelease(revocation.version, manifest.version);
}

/** REVOKED for a release any verified revocation names. */
export function checkRevocations(manifest: Manifest, revocations: readonly Revocation[]): Reason[] {
  return revocations
    .filter((r) => revokes(r, manifest))
    .map((r) => ({
      code: 'REVOKED' as const,
      message: `${manifest.product} ${manifest.component} ${manifest.version} was revoked at ${r.created}: ${r.reason}`,
      details: { revoked: r },
    }));
}
