// Assembly: which quorums a document needs before it may be released, counted over one set of
// signatures. A release or revocation needs the signed policy sites trust (unexpired); a new policy
// (version 1) its own signers; a rotation to N+1 the quorum of N and of N+1 (rotation.ts). A provider's
// documents are counted against its policy's roles or the root quorum (the super provider), an enrolment
// against the root quorum or its registry role: a signer-side check only, the log's replay decides (lib/log/).
import { bytesEqual } from './bytes.js';
import { enrolmentFromPayload } from './enrolment.js';
import { expectKind, openEnvelope, type EnvelopeSignature, type OpenedEnvelope } from './envelope.js';
import { UsageError, type Reason } from './errors.js';
import { keyRevocationFromPayload } from './key-revocation.js';
import { manifestFromPayload } from './manifest.js';
import { checkPolicyFresh, loadTrustedPolicy, policyFromPayload, type CheckedPolicy } from './policy.js';
import { registryRing, roleRing, type Role } from './provider-policy.js';
import { countQuorum, type QuorumResult } from './quorum.js';
import { revocationFromPayload } from './revocation.js';
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
  if (doc.kind === 'enrolment') return enrolmentQuorums(doc, signatures, policyBytes, now, policyName);
  const provider = providerOfDocument(doc);
  if (provider !== undefined) return providerQuorums(doc, provider, signatures, policyBytes, now, policyName);
  if (doc.kind !== 'policy') {
    const trusted = rootPolicy(policyBytes, now, policyName, `this ${doc.kind} names no provider: assemble it against the root policy`);
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

/** The provider a document is scoped to: a provider release, release or key revocation, or provider policy. */
function providerOfDocument(doc: OpenedEnvelope): string | undefined {
  switch (doc.kind) {
    case 'manifest':
      return manifestFromPayload(doc.payloadBytes).provider;
    case 'revocation':
      return revocationFromPayload(doc.payloadBytes).provider;
    case 'key-revocation':
      return keyRevocationFromPayload(doc.payloadBytes).provider;
    case 'policy':
      return policyFromPayload(doc.payloadBytes, 'document').policy.provider;
    case 'enrolment':
      return enrolmentFromPayload(doc.payloadBytes).enrolment.provider;
  }
}

/** Any one side met stands for all; short of every one, each is reported. */
function either(sides: QuorumSide[]): QuorumSide[] {
  const met = sides.find((s) => s.quorum.met);
  return met ? [met] : sides;
}

/** The root policy, self-signed and unexpired, as a site pins it. */
function rootPolicy(policyBytes: Uint8Array, now: Date, policyName: string, needed: string): CheckedPolicy {
  const opened = openEnvelope(policyBytes, policyName);
  expectKind(opened, 'policy', policyName);
  const provider = policyFromPayload(opened.payloadBytes, policyName).policy.provider;
  if (provider !== undefined) throw new UsageError('USAGE', `${policyName} is the policy of provider ${provider}; ${needed}`);
  const root = loadTrustedPolicy(policyBytes, policyName);
  checkPolicyFresh(root.policy, now);
  return root;
}

/** The root quorum (the super provider), or for a first enrolment its registry role. */
function enrolmentQuorums(doc: OpenedEnvelope, signatures: readonly EnvelopeSignature[], policyBytes: Uint8Array, now: Date, policyName: string): QuorumSide[] {
  const { enrolment } = enrolmentFromPayload(doc.payloadBytes);
  const root = rootPolicy(policyBytes, now, policyName, 'an enrolment is signed by the root policy (or its registry role)');
  const sides = [{ label: `root policy ${root.policy.version}`, quorum: countQuorum(doc, signatures, root) }];
  const registry = enrolment.previous === undefined ? registryRing(root) : undefined;
  if (registry) sides.push({ label: `the registry role of root policy ${root.policy.version}`, quorum: countQuorum(doc, signatures, registry) });
  return either(sides);
}

/**
 * A provider's document against its policy (a policy file, a signed rotation, or a signed enrolment carrying it:
 * its roles are read, its signatures are for the log to check) or against the root policy (the super provider).
 */
function providerQuorums(
  doc: OpenedEnvelope,
  provider: string,
  signatures: readonly EnvelopeSignature[],
  policyBytes: Uint8Array,
  now: Date,
  policyName: string,
): QuorumSide[] {
  const given = openEnvelope(policyBytes, policyName);
  if (given.kind !== 'policy' && given.kind !== 'enrolment') {
    throw new UsageError('USAGE', `${policyName} is a ${given.kind}: give the policy of ${provider} (or its enrolment), or the root policy`);
  }
  const named = given.kind === 'enrolment' ? enrolmentFromPayload(given.payloadBytes, policyName).policy : policyFromPayload(given.payloadBytes, policyName);
  if (named.policy.provider === undefined) {
    if (doc.kind === 'policy') {
      throw new UsageError(
        'USAGE',
        `a rotation of ${provider} is signed by its own admin roles (--policy: its current policy); the super provider re-enrols it instead (provider enroll --previous)`,
      );
    }
    const root = rootPolicy(policyBytes, now, policyName, 'the super provider is the root policy');
    return [{ label: `root policy ${root.policy.version} (super provider)`, quorum: countQuorum(doc, signatures, root) }];
  }
  if (named.policy.provider !== provider)
    throw new UsageError('USAGE', `${policyName} is the policy of ${named.policy.provider}, and this ${doc.kind} is for ${provider}`);
  checkPolicyFresh(named.policy, now);
  const side = (checked: CheckedPolicy, role: Role, note = ''): QuorumSide => ({
    label: `${provider} policy ${checked.policy.version}${note}, ${role} role`,
    quorum: countQuorum(doc, signatures, roleRing(checked, role)),
  });
  switch (doc.kind) {
    case 'manifest':
      return [side(named, 'release')];
    case 'revocation':
      return either([side(named, 'release'), side(named, 'admin')]);
    case 'key-revocation':
      return [side(named, 'admin')];
    default: {
      const next = policyFromPayload(doc.payloadBytes, 'document');
      if (bytesEqual(given.payloadBytes, doc.payloadBytes) || (given.kind === 'enrolment' && next.policy.version === named.policy.version)) {
        throw new UsageError('USAGE', `the first policy of ${provider} is not self-signed: enrol it (countersign provider enroll)`);
      }
      checkRotationVersion(named, next);
      return [side(named, 'admin', ' (current)'), side(next, 'admin', ' (new)')];
    }
  }
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
