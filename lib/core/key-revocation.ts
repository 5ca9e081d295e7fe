// Key revocation: a provider's key whose signatures stop counting from a log index on ("all": from 0, "now": from the
// revocation entry's own index). Signed by the provider's admin quorum or the super provider; the log's replay counts it.
import type * as generated from './generated/types.js';
import { canonicalBytes, parseCanonical } from './canonical.js';
import { createEnvelope, type Envelope } from './envelope.js';
import { checkPayloadFormat, PROVIDER_DOCUMENT_FORMAT } from './format.js';
import { providerName } from './provider-policy.js';
import { validate } from './schema.js';
import { formatTimestamp, parseTimestamp } from './time.js';

export type KeyRevocation = generated.KeyRevocation;
export type RevokedFrom = KeyRevocation['from'];

export function createKeyRevocation(opts: { provider: string; keyid: string; from: RevokedFrom; reason: string; created: Date }): Envelope {
  const revocation: KeyRevocation = { format: PROVIDER_DOCUMENT_FORMAT, ...opts, created: formatTimestamp(opts.created) };
  const bytes = canonicalBytes(revocation);
  keyRevocationFromPayload(bytes);
  return createEnvelope('key-revocation', bytes);
}

/** Decodes and checks a key revocation payload: canonical, schema (key id, `from`), provider name, time. */
export function keyRevocationFromPayload(payloadBytes: Uint8Array, what = 'key revocation'): KeyRevocation {
  const revocation = validate<KeyRevocation>(
    'key-revocation',
    parseCanonical(payloadBytes, what, (v) => checkPayloadFormat('key-revocation', v)),
    what,
  );
  providerName(revocation.provider, `${what} provider`);
  parseTimestamp(revocation.created, `${what} time`);
  return revocation;
}

/**
 * The first log index at which the key's signatures no longer count, for a revocation logged at `ownIndex`; undefined
 * when `from` is later than `ownIndex` (revocations take effect at once: the log refuses it, BAD_REVOCATION_INDEX).
 */
export function effectiveIndex(from: RevokedFrom, ownIndex: number): number | undefined {
  const index = from === 'all' ? 0 : from === 'now' ? ownIndex : from;
  return index <= ownIndex ? index : undefined;
}
