// Policy rotation, as TUF's root chain: version N+1 is trusted only when a quorum of version N and
// a quorum of N+1 itself have signed it. A site walks the chain from the policy it pinned.
import { openEnvelope, expectKind, type EnvelopeSignature } from './envelope.js';
import { FormatError, PolicyError, SignatureError } from './errors.js';
import { checkPolicyFresh, policyFromPayload, type CheckedPolicy, type TrustedPolicy } from './policy.js';
import { countQuorum, describeQuorum, publicSigner, type QuorumResult, type SignedDocument } from './quorum.js';

/** Longest chain a site walks in one go, and the largest policy step it reads. */
export const MAX_CHAIN_LENGTH = 128;
export const MAX_POLICY_BYTES = 256 * 1024;

export interface RotationQuorums {
  /** The quorum of the policy being replaced. */
  current: QuorumResult;
  /** The quorum of the new policy itself. */
  next: QuorumResult;
}

/** Counts both quorums a rotation needs over one set of signatures. */
export function countRotation(doc: SignedDocument, signatures: readonly EnvelopeSignature[], current: CheckedPolicy, next: CheckedPolicy): RotationQuorums {
  return { current: countQuorum(doc, signatures, current), next: countQuorum(doc, signatures, next) };
}

export function requireRotationQuorums(q: RotationQuorums, fromVersion: number): void {
  for (const [side, quorum, version] of [
    ['current', q.current, fromVersion],
    ['next', q.next, fromVersion + 1],
  ] as const) {
    if (!quorum.met) {
      throw new SignatureError('QUORUM_NOT_MET', `rotation to policy ${fromVersion + 1} lacks the quorum of policy ${version}: ${describeQuorum(quorum)}`, {
        side,
        policyVersion: version,
        signedBy: quorum.signedBy.map(publicSigner),
        couldSign: quorum.couldSign.map(publicSigner),
      });
    }
  }
}

/**
 * Checks that `next` may follow `current`: the same provider (a root policy stays a root, a provider's policy stays
 * that provider's), and version exactly N+1, unless it is an older one replayed.
 */
export function checkRotationVersion(current: CheckedPolicy, next: CheckedPolicy): void {
  if (current.policy.provider !== next.policy.provider) {
    const name = (p: CheckedPolicy) => (p.policy.provider === undefined ? 'a root policy' : `the policy of ${p.policy.provider}`);
    throw new PolicyError('BAD_PROVIDER', `${name(next)} cannot follow ${name(current)}: a rotation keeps the provider`, {
      trusted: current.policy.provider ?? null,
      offered: next.policy.provider ?? null,
    });
  }
  const from = current.policy.version;
  const to = next.policy.version;
  if (to <= from)
    throw new PolicyError('POLICY_ROLLBACK', `policy version ${to} is not newer than the trusted version ${from}`, { trusted: from, offered: to });
  if (to !== from + 1)
    throw new PolicyError('POLICY_VERSION_GAP', `policy version ${to} cannot follow version ${from}: each rotation must be exactly +1`, {
      trusted: from,
      offered: to,
    });
}

/** Verifies one rotation step (freshness aside) and returns the newly trusted policy. */
export function verifyRotation(current: TrustedPolicy, nextBytes: Uint8Array, what = 'policy rotation'): TrustedPolicy {
  if (nextBytes.length > MAX_POLICY_BYTES)
    throw new FormatError('SIZE_LIMIT', `${what} is ${nextBytes.length} bytes; a policy may be at most ${MAX_POLICY_BYTES}`);
  const opened = openEnvelope(nextBytes, what);
  expectKind(opened, 'policy', what);
  const next = policyFromPayload(opened.payloadBytes, what);
  checkRotationVersion(current, next);
  requireRotationQuorums(countRotation(opened, opened.envelope.signatures, current, next), current.policy.version);
  return next as TrustedPolicy;
}

/**
 * Walks a chain of rotations from the pinned policy. Intermediate policies may have expired; only
 * the last must be fresh, which is checked here when `now` is given (verifyBundle checks it anyway).
 */
export function walkPolicyChain(pinned: TrustedPolicy, chain: readonly Uint8Array[], now?: Date): TrustedPolicy {
  if (chain.length > MAX_CHAIN_LENGTH) throw new FormatError('SIZE_LIMIT', `policy chain has ${chain.length} steps; the limit is ${MAX_CHAIN_LENGTH}`);
  let trusted = pinned;
  chain.forEach((step, i) => {
    trusted = verifyRotation(trusted, step, `policy rotation ${i + 1}`);
  });
  if (now) checkPolicyFresh(trusted.policy, now);
  return trusted;
}
