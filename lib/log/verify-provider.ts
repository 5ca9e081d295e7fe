// A provider's release verified offline from its bundle alone (`verify --root --log-policy --provider`, spec/log.md
// "State proofs"): the Gossamer check "logged, never revoked, signed by a currently trusted key of the provider or by
// the super provider". Pure: bytes, the pinned root, the log policy and the time in; a verdict or coded errors out.
//   1. logged: the tlog-proof, witness quorum and max-age (verify-proof.ts);
//   2. a manifest (WRONG_TYPE), with a state section (BAD_STATE_PROOF);
//   3. the state section against the same checkpoint (state-proof.ts): the logged release is the provider's
//      (PROVIDER_MISMATCH; the entry was checked against the manifest in 1), the root current, the provider's
//      committed policy and revoked keys, the release recorded at the proof's index and not revoked;
//   4. the pinned root is fresh (POLICY_EXPIRED);
//   5. every check of today (verifyBundle) with the provider's committed policy as the trusted one, the quorum
//      counted over its release keys minus those revoked at or before the release's index, else over the root's
//      (the super provider).
import { openEnvelope } from '../core/envelope.js';
import { FormatError } from '../core/errors.js';
import type { SiteState } from '../core/manifest.js';
import { checkPolicyFresh, type TrustedPolicy } from '../core/policy.js';
import { verifyBundle, type BundleInput, type Verified } from '../core/verify.js';
import { LogError } from './errors.js';
import { releaseRing, verifyStateProof, type StateVerdict } from './state-proof.js';
import type { TlogPolicy } from './tlog-policy.js';
import { verifyLogProof, type ProofCheckResult } from './verify-proof.js';

export interface ProviderVerifyOptions {
  /** The root policy the site pins (the super provider). */
  root: TrustedPolicy;
  logPolicy: TlogPolicy;
  provider: string;
  now: Date;
  site?: SiteState;
  maxAgeSeconds?: number;
}

export interface ProviderVerified extends Verified {
  log: ProofCheckResult;
  state: StateVerdict;
  /** True when the root policy's quorum (the super provider) signed, not the provider's release keys. */
  superProvider: boolean;
}

/** Names of the two quorums, as verify reports them. */
export const releaseKeysOf = (provider: string): string => `release keys of ${provider}`;
export const SUPER_PROVIDER = 'the super provider (root policy quorum)';

/** Resolves only when every check passes; else throws the first coded error (steps 1–4), or VerificationError with every reason of step 5. */
export async function verifyProviderBundle(input: BundleInput, opts: ProviderVerifyOptions): Promise<ProviderVerified> {
  const log = verifyLogProof({
    envelopeBytes: input.envelopeBytes,
    proof: input.proof,
    policy: opts.logPolicy,
    now: opts.now,
    maxAgeSeconds: opts.maxAgeSeconds,
  });
  const opened = openEnvelope(input.envelopeBytes);
  if (opened.kind !== 'manifest') throw new FormatError('WRONG_TYPE', `a ${opened.kind} is not a provider's release`, { found: opened.kind });
  if (input.state === undefined) throw new LogError('BAD_STATE_PROOF', 'the bundle carries no state section (log prove writes one for a provider release)');
  const state = verifyStateProof({
    checkpoint: log.checkpoint,
    releaseIndex: log.index,
    releaseEntry: log.entry,
    stateProof: input.state,
    provider: opts.provider,
    pinnedRoot: opts.root,
  });
  checkPolicyFresh(opts.root.policy, opts.now);
  const release = releaseRing(state.providerPolicy, state.revokedKeys, log.index);
  // The provider's policy is trusted as the state map commits to it: under the pinned root, in a witnessed checkpoint.
  const verified = await verifyBundle(
    { envelopeBytes: input.envelopeBytes, ...(input.archive ? { archive: input.archive } : {}) },
    {
      trusted: state.providerPolicy as TrustedPolicy,
      now: opts.now,
      ...(opts.site ? { site: opts.site } : {}),
      quorums: [
        { name: releaseKeysOf(opts.provider), ring: release.ring, excluded: release.excluded },
        { name: SUPER_PROVIDER, ring: opts.root },
      ],
    },
  );
  return { ...verified, log, state, superProvider: verified.quorumName === SUPER_PROVIDER };
}
