// Assembly: which quorums a document needs before it may be released, counted over one set of
// signatures. A release or revocation needs the signed policy sites trust (unexpired); a new policy
// (version 1) its own signers; a rotation to N+1 the quorum of N and of N+1 (rotation.ts).
import { bytesEqual } from './bytes.js';
import { expectKind, openEnvelope, type EnvelopeSignature, type OpenedEnvelope } from './envelope.js';
import { UsageError, type Reason } from './errors.js';
import { checkPolicyFresh, loadTrustedPolicy, policyFromPayload } from './policy.js';
import { countQuorum, type QuorumResult } from './quorum.js';
import { checkRotationVersion, countRotation } from './rotation.js';

export interface QuorumSide {
  label: string;
  quorum: QuorumResult;
}

/**
 * The quorums a document needs. A release or revocation: the signed policy sites trust, unexpired.
 * A new policy (version 1): its own signers. A rotation to version N+1: the current signed policy N
 * and the new policy itself, as sites will check it.
 */
export function assemblyQuorums(
  doc: OpenedEnvelope,
  signatures: readonly EnvelopeSignature[],
  policyBytes: Uint8Array,
  now: Date,
  policyName = 'policy',
): QuorumSide[] {
  if (doc.kind !== 'policy') {
    const trusted = loadTrustedPolicy(policyBytes, policyName);
    checkPolicyFresh(trusted.policy, now);
    return [{ label: `policy ${trusted.policy.version}`, quorum: countQuorum(doc, signatures, trusted) }];
  }
  const next = policyFromPayload(doc.payloadBytes, 'document');
  const given = openEnvelope(policyBytes, policyName);
  expectKind(given, 'policy', policyName);
  if (bytesEqual(given.payloadBytes, doc.payloadBytes)) {
    if (next.policy.version !== 1) {
      throw new UsageError(
        'USAGE',
        `policy version ${next.policy.version} is a rotation: assemble it with --policy set to the signed policy ${next.policy.version - 1}`,
      );
    }
    return [{ label: 'policy 1 (its own signers)', quorum: countQuorum(doc, signatures, next) }];
  }
  const current = loadTrustedPolicy(policyBytes, policyName);
  checkRotationVersion(current, next);
  const q = countRotation(doc, signatures, current, next);
  return [
    { label: `policy ${current.policy.version} (current)`, quorum: q.current },
    { label: `policy ${next.policy.version} (new)`, quorum: q.next },
  ];
}

/**
 * Problems worth reporting: each side's own, except that a signature counted by one side is not
 * "unknown" because the other side lacks its key, and a problem both sides saw is listed once.
 */
export function uncountedProblems(sides: QuorumSide[]): Reason[] {
  const counted = new Set(sides.flatMap((x) => x.quorum.signatures.map((s) => s.keyid)));
  const listed = new Set<string>();
  const out: Reason[] = [];
  for (const side of sides) {
    const fromThisSide = new Set<string>();
    for (const p of side.quorum.problems) {
      const keyid = String(p.details?.keyid ?? '');
      const key = `${p.code}:${keyid}`;
      if ((p.code === 'UNKNOWN_KEY' && counted.has(keyid)) || listed.has(key)) continue;
      fromThisSide.add(key);
      out.push(p);
    }
    fromThisSide.forEach((k) => listed.add(k));
  }
  return out;
}

/**
 * Every signature that counts for some side, each once. A key may count with two signatures, one per side, when a
 * rotation changes its kind (a countersign key listed again as an SSH key).
 */
export function keptSignatures(sides: QuorumSide[]): EnvelopeSignature[] {
  const kept = new Map<string, EnvelopeSignature>();
  for (const x of sides) for (const s of x.quorum.signatures) kept.set(`${s.keyid} ${s.sig}`, s);
  return [...kept.values()];
}
