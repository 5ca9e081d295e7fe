// Local trust (`verify BUNDLE --store DIR --provider P` after `log sync`): a provider's release is verified from the
// store's own replayed log, with no proof in the bundle. On top of every check verifyWithStore makes today:
//   - the release is in the replayed state (its release record has an index)      NOT_LOGGED
//   - with this very document (the entry's identity: everything but signatures)   LOG_ENTRY_MISMATCH
//   - never revoked (the record's `revoked` is null)                              REVOKED
//   - signed by a quorum of P's current release keys, leaving out every key revoked at or before the release's
//     index, or else by the root quorum (the super provider, reported)             QUORUM_NOT_MET
// The keys come from the replayed state, never from the bundle.
import { openEnvelope } from '../core/envelope.js';
import { ReleaseError } from '../core/errors.js';
import { manifestFromPayload } from '../core/manifest.js';
import type { TrustedPolicy } from '../core/policy.js';
import type { StoreLogCheck, StoreVerifyOptions } from '../core/trust-state.js';
import { entryForEnvelope } from './entry.js';
import { LogError } from './errors.js';
import { entryIdentity, releaseKey } from './replay.js';
import { releaseRing } from './state-proof.js';
import type { ReplayedLog } from '../node/replayed-state.js';
import { releaseKeysOf, SUPER_PROVIDER } from './verify-provider.js';

/** What verifyWithStore takes for a provider's release checked from the replayed log. */
export interface LocalTrust {
  /** The provider's policy and the rings to count: its release keys less the revoked ones, then the super provider. */
  provider: NonNullable<StoreVerifyOptions['provider']>;
  /** verifyWithStore's log check: the replayed state's verdict on this release. */
  checkLog: StoreLogCheck;
}

/** Whether the release verified by the super provider's quorum (the root's), not the provider's release keys. */
export function bySuperProvider(verified: { quorumName?: string }): boolean {
  return verified.quorumName === SUPER_PROVIDER;
}

/**
 * What verifyWithStore needs to verify the release in `envelopeBytes` of provider `provider` from `replayed`. Throws
 * the first refusal (a coded error; verifyWithStore's caller reports it as a rejection).
 */
export function localTrust(replayed: ReplayedLog, envelopeBytes: Uint8Array, provider: string, want: { product?: string; component?: string } = {}): LocalTrust {
  const opened = openEnvelope(envelopeBytes);
  if (opened.kind !== 'manifest') throw new ReleaseError('WRONG_TARGET', `--provider verifies a release; this is a ${opened.kind}`, { found: opened.kind });
  const m = manifestFromPayload(opened.payloadBytes);
  if (m.provider !== provider)
    throw new ReleaseError('WRONG_TARGET', `this release is ${m.provider === undefined ? 'not a provider release' : `of provider ${m.provider}`}, not of ${provider}`, {
      field: 'provider',
      expected: provider,
      found: m.provider ?? null,
    });
  for (const field of ['product', 'component'] as const) {
    if (want[field] !== undefined && m[field] !== want[field])
      throw new ReleaseError('WRONG_TARGET', `this release is for ${field} ${m[field]}, not ${want[field]}`, { field, expected: want[field], found: m[field] });
  }
  const replay = replayed.replay;
  const size = replayed.checkpoint.size;
  const p = replay.state.provider(provider);
  if (!p) throw new LogError('PROVIDER_UNKNOWN', `provider ${provider} is not enrolled in the replayed log (size ${size})`, { provider, size });
  const what = `${provider} ${m.product} ${m.component} ${m.version}`;
  const record = replay.state.release(provider, m.product, m.component, m.version);
  if (!record || record.index === null) {
    if (record?.revoked != null) throw new ReleaseError('REVOKED', `${what} was revoked at entry ${record.revoked} before it was logged`, { revokedAt: record.revoked });
    throw new LogError('NOT_LOGGED', `${what} is not in the replayed log (size ${size}): run log sync, or it was never logged`, { size });
  }
  const logged = replay.releases.get(releaseKey({ provider, product: m.product, component: m.component, version: m.version }));
  if (!logged || logged.identity !== entryIdentity(entryForEnvelope(envelopeBytes)))
    throw new LogError('LOG_ENTRY_MISMATCH', `the log holds another document for ${what} (entry ${record.index})`, { index: record.index });
  if (record.revoked !== null) throw new ReleaseError('REVOKED', `${what} is revoked by entry ${record.revoked}`, { index: record.index, revokedAt: record.revoked });

  const release = releaseRing(p.policy, p.revoked, record.index);
  const root = replay.policy;
  if (!root) throw new LogError('NO_POLICY', 'the replayed log has no root policy');
  const summary = { provider, index: record.index, size, origin: replayed.checkpoint.origin, replayed: true };
  return {
    // The provider's policy is trusted as the replayed log made it current (every rotation's quorums checked).
    provider: {
      trusted: p.policy as TrustedPolicy,
      quorums: [
        { name: releaseKeysOf(provider), ring: release.ring, excluded: release.excluded },
        { name: SUPER_PROVIDER, ring: root },
      ],
    },
    checkLog: async () => ({ summary }),
  };
}
