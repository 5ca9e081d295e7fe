// Verification of a bundle or signed document, in the order spec/verification.md gives.
// Pure: the caller supplies bytes, the archive as chunks, the trusted policy and the reference time.
import { verifyArchiveStream } from './archive-verify.js';
import { bytesEqual } from './bytes.js';
import { canonicalBytes } from './canonical.js';
import { openEnvelope, MAX_ENVELOPE_BYTES, type OpenedEnvelope } from './envelope.js';
import { ArchiveError, CountersignError, FormatError, UsageError, VerificationError, toReason, type Reason } from './errors.js';
import { checkRelease, manifestFromPayload, type Manifest, type SiteState } from './manifest.js';
import { checkPolicyFresh, policyFromPayload, type CheckedPolicy, type Policy, type TrustedPolicy } from './policy.js';
import { countQuorum, describeQuorum, publicSigner, type KeyRing, type QuorumResult } from './quorum.js';
import { checkRevocations, revocationFromPayload, type Revocation } from './revocation.js';
import { checkRotationVersion, countRotation } from './rotation.js';
import { parseVersion } from './version.js';
import { errnoOf } from './errno.js';

export interface Limits {
  maxEnvelopeBytes: number;
  maxArchiveBytes: number;
  maxEntries: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxEnvelopeBytes: MAX_ENVELOPE_BYTES,
  maxArchiveBytes: 4 * 1024 ** 3,
  maxEntries: 100_000,
};

export interface ArchiveInput {
  /** Bytes available for the archive (e.g. file size minus the bundle header and envelope). */
  size: number;
  /** Streams the archive; verify calls it once, and only after the envelope has passed every check. */
  chunks: () => AsyncIterable<Uint8Array>;
}

export interface BundleInput {
  envelopeBytes: Uint8Array;
  archive?: ArchiveInput;
  /** A v2 bundle's proof section (a C2SP tlog-proof), read only by a log check (lib/log/verify-proof.ts). */
  proof?: Uint8Array;
  /** A v2 bundle's state section, read only by a provider check (lib/log/state-proof.ts). */
  state?: Uint8Array;
}

export interface VerifyOptions {
  /** The policy the site trusts: from loadTrustedPolicy or a walked rotation chain. */
  trusted: TrustedPolicy;
  /** Reference time, fixed once by the caller. */
  now: Date;
  /** What the site runs; each field given is checked, the rest are reported in `notChecked`. */
  site?: SiteState;
  /** Revocations the site has accepted (see verifyRevocation); a release they name is REVOKED. */
  revocations?: readonly Revocation[];
  limits?: Partial<Limits>;
  /**
   * Count the signatures over these rings, in order, instead of the trusted policy's (a provider's release keys,
   * then the super provider): the first met is the quorum. `excluded` says why a key left out of a ring does not count.
   */
  quorums?: readonly NamedRing[];
}

export interface NamedRing {
  name: string;
  ring: KeyRing;
  excluded?: ReadonlyMap<string, Reason>;
}

export type VerifiedDocument = { kind: 'manifest'; manifest: Manifest } | { kind: 'policy'; policy: Policy } | { kind: 'revocation'; revocation: Revocation };

export interface Verified {
  document: VerifiedDocument;
  quorum: QuorumResult;
  /** With `quorums`: the name of the ring whose quorum was met. */
  quorumName?: string;
  payloadSha256: string;
  /** Non-fatal findings (unknown keys, duplicates) that did not affect the verdict. */
  warnings: Reason[];
  /** Site checks that were skipped because the caller did not say what the site runs. */
  notChecked: Array<'product' | 'component' | 'installed'>;
}

/** Verifies everything; resolves only when every check passes, else throws VerificationError with every reason found. */
export async function verifyBundle(input: BundleInput, opts: VerifyOptions): Promise<Verified> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const site = opts.site ?? {};
  checkCallerInputs(opts.now, site);
  const reasons: Reason[] = [];

  // 1. Size caps before parsing anything.
  if (input.envelopeBytes.length > limits.maxEnvelopeBytes) {
    reject(new FormatError('SIZE_LIMIT', `envelope is ${input.envelopeBytes.length} bytes; the limit is ${limits.maxEnvelopeBytes}`));
  }
  if (input.archive && input.archive.size > limits.maxArchiveBytes) {
    reject(new ArchiveError('SIZE_LIMIT', `archive is ${input.archive.size} bytes; the limit is ${limits.maxArchiveBytes}`));
  }

  // 2. Strict parsing, schema, canonical payload.
  let opened: OpenedEnvelope;
  let document: VerifiedDocument;
  let policyDoc: CheckedPolicy | undefined;
  try {
    opened = openEnvelope(input.envelopeBytes);
    if (opened.kind === 'manifest') {
      document = { kind: 'manifest', manifest: manifestFromPayload(opened.payloadBytes) };
    } else if (opened.kind === 'policy') {
      policyDoc = policyFromPayload(opened.payloadBytes);
      document = { kind: 'policy', policy: policyDoc.policy };
    } else if (opened.kind === 'revocation') {
      document = { kind: 'revocation', revocation: revocationFromPayload(opened.payloadBytes) };
    } else {
      // Enrolments and key revocations count only in the log's replay (lib/log/), never against a pinned policy alone.
      throw new FormatError('WRONG_TYPE', `a ${opened.kind} is not verified against a policy: it takes effect through the log`, { found: opened.kind });
    }
  } catch (err) {
    reject(err);
  }
  if (document.kind === 'manifest' && document.manifest.files.length > limits.maxEntries) {
    reasons.push({ code: 'SIZE_LIMIT', message: `manifest lists ${document.manifest.files.length} files; the limit is ${limits.maxEntries}` });
  }

  // 3. The trusted policy must still be fresh (its other rules were checked when it was loaded).
  collect(reasons, () => checkPolicyFresh(opts.trusted.policy, opts.now));

  // 4-5. Signatures and quorum over distinct authorised keys.
  const { quorum, name: quorumName } = countQuorums(opened, opts);
  if (!quorum.met) reasons.push(quorumReason(quorum, opts.quorums ? `quorum not met (${opts.quorums.map((r) => r.name).join(', nor ')})` : 'quorum not met'));

  // 6. Freshness and applicability; for a policy, the rotation rules.
  if (document.kind === 'manifest') {
    reasons.push(...checkRelease(document.manifest, opts.trusted.policy.version, site, opts.now));
    reasons.push(...checkRevocations(document.manifest, opts.revocations ?? []));
  } else if (policyDoc) {
    const own = checkPolicyDocument(opened, policyDoc, opts.trusted, opts.now, input.archive);
    reasons.push(...own.reasons);
    // A key that only the new policy authorises is not "unknown" in a rotation.
    const ownKeys = new Set(own.counted);
    quorum.problems = quorum.problems.filter((p) => !(p.code === 'UNKNOWN_KEY' && ownKeys.has(String(p.details?.keyid))));
  } else if (input.archive && input.archive.size > 0) {
    reasons.push({ code: 'ARCHIVE_MALFORMED', message: `a ${document.kind} carries no archive, but ${input.archive.size} bytes follow it` });
  }

  // 7. The archive, streamed against the signed manifest; only once the envelope is trusted.
  if (document.kind === 'manifest' && reasons.length === 0) {
    reasons.push(...(await checkArchive(document.manifest, input.archive, limits)));
  }

  if (reasons.length > 0) throw new VerificationError(reasons);
  return {
    document,
    quorum,
    ...(quorumName !== undefined ? { quorumName } : {}),
    payloadSha256: opened.payloadSha256,
    warnings: quorum.problems,
    notChecked: (['product', 'component', 'installed'] as const).filter((f) => site[f] === undefined),
  };
}

/** The caller's own inputs: a bad one is a usage error, never a reason to accept or reject a bundle. */
function checkCallerInputs(now: Date, site: SiteState): void {
  if (!(now instanceof Date) || !Number.isFinite(now.getTime())) throw new UsageError('USAGE', 'the reference time is not a valid date');
  for (const [what, version] of [
    ['installed version', site.installed],
    ['highest installed version', site.highestInstalled],
  ] as const) {
    if (version === undefined) continue;
    try {
      parseVersion(version);
    } catch (err) {
      throw new UsageError('USAGE', `${what}: ${(err as Error).message}`);
    }
  }
}

/**
 * A policy document is either the trusted policy itself, or the next rotation: version N+1, signed by
 * a quorum of N (counted in step 5) and of itself, unexpired. A policy bundle carries no archive.
 */
function checkPolicyDocument(
  opened: OpenedEnvelope,
  doc: CheckedPolicy,
  trusted: TrustedPolicy,
  now: Date,
  archive?: ArchiveInput,
): { reasons: Reason[]; counted: string[] } {
  const reasons: Reason[] = [];
  if (archive && archive.size > 0) reasons.push({ code: 'ARCHIVE_MALFORMED', message: `a policy carries no archive, but ${archive.size} bytes follow it` });
  if (bytesEqual(opened.payloadBytes, canonicalBytes(trusted.policy))) return { reasons, counted: [] };
  collect(reasons, () => checkRotationVersion(trusted, doc));
  const own = countRotation(opened, opened.envelope.signatures, trusted, doc).next;
  if (!own.met) reasons.push(quorumReason(own, `policy ${doc.policy.version} lacks the quorum of its own keys`));
  collect(reasons, () => checkPolicyFresh(doc.policy, now));
  return { reasons, counted: own.signatures.map((s) => s.keyid) };
}

async function checkArchive(manifest: Manifest, archive: ArchiveInput | undefined, limits: Limits): Promise<Reason[]> {
  const declared = manifest.archive;
  if (!archive) return [{ code: 'DIGEST_MISMATCH', message: 'the bundle holds no archive' }];
  if (archive.size !== declared.size) {
    const how = archive.size < declared.size ? 'truncated' : 'extended';
    return [{ code: 'DIGEST_MISMATCH', message: `archive is ${how}: ${archive.size} bytes, the manifest says ${declared.size}` }];
  }
  try {
    // A format-2 archive is rebuilt from the manifest, which fixes every byte: its own digest is implied (spec/bundle.md).
    await verifyArchiveStream(archive.chunks(), declared, manifest.files, { maxEntries: limits.maxEntries, checkDigest: false });
    return [];
  } catch (err) {
    if (err instanceof CountersignError) {
      // The archive check lists every problem it found in details.reasons; report them all.
      const found = err.details.reasons;
      return Array.isArray(found) ? (found as Reason[]) : [toReason(err)];
    }
    // The archive vanished or could not be read mid-stream: still a coded answer, never a crash.
    const code = errnoOf(err);
    return [{ code: 'IO', message: `the archive could not be read: ${code}` }];
  }
}

/** The trusted policy's quorum, or the first of `quorums` met (else the first, with every ring's problems). */
function countQuorums(opened: OpenedEnvelope, opts: VerifyOptions): { quorum: QuorumResult; name?: string } {
  if (!opts.quorums) return { quorum: countQuorum(opened, opened.envelope.signatures, opts.trusted) };
  const tried: Array<{ quorum: QuorumResult; name: string }> = [];
  for (const r of opts.quorums) {
    const q = countQuorum(opened, opened.envelope.signatures, r.ring);
    const problems = q.problems.map((p) => (p.code === 'UNKNOWN_KEY' ? (r.excluded?.get(String(p.details?.keyid)) ?? p) : p));
    const quorum = { ...q, problems };
    if (quorum.met) return { quorum, name: r.name };
    tried.push({ quorum, name: r.name });
  }
  if (tried.length === 0) throw new UsageError('USAGE', 'no quorum to count');
  const problems = tried.flatMap((t) => t.quorum.problems.map((p) => ({ ...p, message: `${t.name}: ${p.message}` })));
  return { quorum: { ...tried[0]!.quorum, problems } };
}

function quorumReason(q: QuorumResult, what: string): Reason {
  return {
    code: 'QUORUM_NOT_MET',
    message: `${what}: ${describeQuorum(q)}`,
    details: { signedBy: q.signedBy.map(publicSigner), couldSign: q.couldSign.map(publicSigner), problems: q.problems },
  };
}

function reject(err: unknown): never {
  if (err instanceof VerificationError) throw err;
  if (err instanceof CountersignError) throw new VerificationError([toReason(err)]);
  throw err;
}

function collect(reasons: Reason[], check: () => void): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    reasons.push(toReason(err));
  }
}
