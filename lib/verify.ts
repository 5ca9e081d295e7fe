// Verification of a bundle or signed document, in the order DESIGN.md fixes.
// Pure: the caller supplies bytes, the archive as chunks, the trusted policy and the reference time.
import { verifyArchiveStream } from './archive.js';
import { openEnvelope, MAX_ENVELOPE_BYTES, type OpenedEnvelope } from './envelope.js';
import { ArchiveError, CountersignError, FormatError, VerificationError, toReason, type Reason } from './errors.js';
import { checkRelease, manifestFromPayload, type Manifest, type SiteState } from './manifest.js';
import { checkPolicyFresh, policyFromPayload, type CheckedPolicy, type Policy } from './policy.js';
import { countQuorum, describeQuorum, publicSigner, type QuorumResult } from './quorum.js';

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
  /** Called at most once, and only after the envelope has passed every check. */
  chunks: () => AsyncIterable<Uint8Array>;
}

export interface BundleInput {
  envelopeBytes: Uint8Array;
  archive?: ArchiveInput;
}

export interface VerifyOptions {
  /** The policy the site trusts (see `loadTrustedPolicy`). */
  trusted: CheckedPolicy;
  /** Reference time, fixed once by the caller. */
  now: Date;
  site?: SiteState;
  limits?: Partial<Limits>;
}

export type VerifiedDocument = { kind: 'manifest'; manifest: Manifest } | { kind: 'policy'; policy: Policy };

export interface Verified {
  document: VerifiedDocument;
  quorum: QuorumResult;
  payloadSha256: string;
  /** Non-fatal findings (unknown keys, duplicates) that did not affect the verdict. */
  warnings: Reason[];
}

/** Verifies everything; resolves only when every check passes, else throws VerificationError with every reason found. */
export async function verifyBundle(input: BundleInput, opts: VerifyOptions): Promise<Verified> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
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
  try {
    opened = openEnvelope(input.envelopeBytes);
    document =
      opened.kind === 'manifest'
        ? { kind: 'manifest', manifest: manifestFromPayload(opened.payloadBytes) }
        : opened.kind === 'policy'
          ? { kind: 'policy', policy: policyFromPayload(opened.payloadBytes).policy }
          : reject(new FormatError('WRONG_TYPE', `a ${opened.kind} is not verified as a bundle`));
  } catch (err) {
    reject(err);
  }
  if (document.kind === 'manifest' && document.manifest.files.length > limits.maxEntries) {
    reasons.push({ code: 'SIZE_LIMIT', message: `manifest lists ${document.manifest.files.length} files; the limit is ${limits.maxEntries}` });
  }

  // 3. The trusted policy must still be fresh (its other rules were checked when it was loaded).
  collect(reasons, () => checkPolicyFresh(opts.trusted.policy, opts.now));

  // 4-5. Signatures and quorum over distinct authorised keys.
  const quorum = countQuorum(opened, opened.envelope.signatures, opts.trusted);
  if (!quorum.met) {
    reasons.push({
      code: 'QUORUM_NOT_MET',
      message: `quorum not met: ${describeQuorum(quorum)}`,
      details: { signedBy: quorum.signedBy.map(publicSigner), couldSign: quorum.couldSign.map(publicSigner), problems: quorum.problems },
    });
  }

  // 6. Freshness and applicability.
  if (document.kind === 'manifest') {
    reasons.push(...checkRelease(document.manifest, opts.trusted.policy.version, opts.site ?? {}, opts.now));
  }

  // 7. The archive, streamed against the signed digests; only once the envelope is trusted.
  if (document.kind === 'manifest' && reasons.length === 0) {
    const declared = document.manifest.archive;
    if (!input.archive) {
      reasons.push({ code: 'DIGEST_MISMATCH', message: 'the bundle holds no archive' });
    } else if (input.archive.size !== declared.size) {
      const how = input.archive.size < declared.size ? 'truncated' : 'extended';
      reasons.push({ code: 'DIGEST_MISMATCH', message: `archive is ${how}: ${input.archive.size} bytes, the manifest says ${declared.size}` });
    } else {
      try {
        await verifyArchiveStream(input.archive.chunks(), declared, document.manifest.files, { maxEntries: limits.maxEntries });
      } catch (err) {
        if (!(err instanceof CountersignError)) throw err;
        // The archive check lists every problem it found in details.reasons; report them all.
        const found = err.details.reasons;
        reasons.push(...(Array.isArray(found) ? (found as Reason[]) : [toReason(err)]));
      }
    }
  }

  if (reasons.length > 0) throw new VerificationError(reasons);
  return { document, quorum, payloadSha256: opened.payloadSha256, warnings: quorum.problems };
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
