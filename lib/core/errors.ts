// One error class per family, each carrying a stable `code` from a closed union.
// Callers and tests branch on `code`, never on the message.

export type FormatCode = 'MALFORMED' | 'SCHEMA_INVALID' | 'NOT_CANONICAL' | 'SIZE_LIMIT' | 'WRONG_TYPE' | 'FORMAT_UNSUPPORTED';
export type KeyCode = 'BAD_PASSPHRASE' | 'WEAK_KEY' | 'KEY_FORMAT' | 'PASSPHRASE_MISMATCH';
export type PolicyCode =
  | 'DUPLICATE_KEY'
  | 'DUPLICATE_NAME'
  | 'WEAK_KEY'
  | 'BAD_THRESHOLD'
  | 'KEY_ID_MISMATCH'
  | 'POLICY_EXPIRED'
  | 'POLICY_UNSIGNED'
  | 'POLICY_ROLLBACK'
  | 'POLICY_VERSION_GAP'
  // Providers (lib/core/provider-policy.ts, enrolment.ts, key-revocation.ts):
  | 'BAD_PROVIDER'
  | 'BAD_ROLE';
export type SignatureCode =
  | 'QUORUM_NOT_MET'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'DUPLICATE_SIGNATURE'
  | 'WRONG_DOCUMENT'
  // SSHSIG, minisign and signify signatures (lib/core/sshsig.ts, lib/core/minisign.ts; docs KEYS.md):
  | 'SIGNATURE_MALFORMED'
  | 'SIGNATURE_VERSION'
  | 'RESERVED_NOT_EMPTY'
  | 'WRONG_NAMESPACE'
  | 'WRONG_HASH_ALG'
  | 'TRAILING_BYTES'
  | 'BAD_SIGNATURE_LENGTH'
  | 'WRONG_SIGNATURE_ALG'
  | 'WRONG_SIGNER_KEY'
  | 'WRONG_APPLICATION'
  | 'USER_NOT_PRESENT'
  | 'USER_NOT_VERIFIED';
export type ReleaseCode =
  'EXPIRED' | 'NOT_APPLICABLE' | 'ROLLBACK' | 'WRONG_TARGET' | 'POLICY_STALE' | 'BAD_RISK_VECTOR' | 'BAD_VERSION' | 'VERSION_SCHEME_MISMATCH' | 'REVOKED';
export type ArchiveCode = 'DIGEST_MISMATCH' | 'UNSAFE_PATH' | 'ENTRY_MISSING' | 'ENTRY_EXTRA' | 'ENTRY_MISMATCH' | 'ARCHIVE_MALFORMED' | 'SIZE_LIMIT';
export type UsageCode = 'USAGE' | 'IO' | 'DECLINED' | 'CANCELLED' | 'WRONG_KIND' | 'OUTPUT_EXISTS' | 'VERSION_FILE_MISMATCH' | 'DEPENDENCY_MISSING';
export type StoreCode = 'STORE_CORRUPT' | 'STORE_LOCKED' | 'STORE_EXISTS' | 'STORE_MISSING';
export type InstallCode =
  | 'LOCAL_CHANGES'
  | 'PREFLIGHT_FAILED'
  | 'STAGING_FAILED'
  | 'COMMIT_FAILED'
  | 'ROLLBACK_FAILED'
  | 'FINISH_FAILED'
  | 'POST_UPDATE_FAILED'
  | 'NEEDS_ATTENTION'
  | 'JOURNAL_CORRUPT'
  | 'SITE_BUSY'
  | 'PHASE_ORDER'
  | 'KEEP_LOCAL_REFUSED';
export type AuthCode = 'UNAUTHORIZED' | 'STALE_TIMESTAMP' | 'REPLAYED' | 'PAYLOAD_MISMATCH' | 'RATE_LIMITED' | 'BAD_SERVER_AUTH';
export type DistributionCode = 'UNREACHABLE' | 'PROTOCOL' | 'UNKNOWN_PACKAGE' | 'TOO_LARGE' | 'NOT_REGISTERED' | 'ENDPOINT_UNVERIFIED' | 'REGISTRY';
/** The transparency log's codes (lib/log/errors.ts holds the class; spec/log.md says what each means). */
export type LogCode =
  | 'NOT_LOGGED'
  | 'BAD_PROOF'
  | 'WITNESS_QUORUM_NOT_MET'
  | 'CHECKPOINT_STALE'
  | 'LOG_INCONSISTENT'
  | 'BAD_NOTE'
  | 'BAD_VKEY'
  | 'BAD_CHECKPOINT'
  | 'BAD_LOG_POLICY'
  | 'LOG_ENTRY_MISMATCH'
  | 'ENTRY_INVALID'
  | 'RELEASE_EXISTS'
  | 'NO_POLICY'
  | 'BAD_MAP_PROOF'
  | 'PROVIDER_EXISTS'
  | 'PROVIDER_UNKNOWN'
  | 'KEY_NOT_ACTIVE'
  | 'KEY_REVOKED'
  | 'BAD_REVOCATION_INDEX'
  | 'STATE_MISMATCH'
  | 'ROOT_NOT_LOGGED'
  // A bundle's state section (lib/log/state-proof.ts):
  | 'BAD_STATE_PROOF'
  | 'ROOT_NOT_CURRENT'
  | 'PROVIDER_MISMATCH';

export type ErrorCode =
  | FormatCode
  | KeyCode
  | PolicyCode
  | SignatureCode
  | ReleaseCode
  | ArchiveCode
  | UsageCode
  | StoreCode
  | InstallCode
  | AuthCode
  | DistributionCode
  | LogCode
  | 'VERIFICATION_FAILED';

export class CountersignError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/**
 * A document is not well-formed, not canonical, not of the expected type, or too large; or it is in a format
 * (payload `format`, bundle version or section) newer than this release reads (FORMAT_UNSUPPORTED).
 */
export class FormatError extends CountersignError {
  declare readonly code: FormatCode;
  constructor(code: FormatCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** A key file cannot be read, decrypted, or holds a key we refuse to use. */
export class KeyError extends CountersignError {
  declare readonly code: KeyCode;
  constructor(code: KeyCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** A trust policy breaks one of the rules a site relies on. */
export class PolicyError extends CountersignError {
  declare readonly code: PolicyCode;
  constructor(code: PolicyCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** Signatures do not add up to a quorum of distinct authorised keys. */
export class SignatureError extends CountersignError {
  declare readonly code: SignatureCode;
  constructor(code: SignatureCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** A release is expired, not for this site, or would walk the site backwards. */
export class ReleaseError extends CountersignError {
  declare readonly code: ReleaseCode;
  constructor(code: ReleaseCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** The archive does not match what the manifest promises, or holds something unsafe. */
export class ArchiveError extends CountersignError {
  declare readonly code: ArchiveCode;
  constructor(code: ArchiveCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * The caller asked for something impossible (bad flags, unreadable files, a file of the wrong kind, an output
 * that exists without --force) or cancelled a prompt. Exit code 2.
 */
export class UsageError extends CountersignError {
  declare readonly code: UsageCode;
  constructor(code: UsageCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * A site trust store is missing, already exists, is locked by another writer, or fails its own checks.
 * Never a verdict on a bundle: the CLI exits 2, as for I/O. A corrupt store is reported, never reset.
 */
export class StoreError extends CountersignError {
  declare readonly code: StoreCode;
  constructor(code: StoreCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * Applying a verified bundle to a site did not happen or did not finish (lib/installer/). Exit code 1.
 * LOCAL_CHANGES, PREFLIGHT_FAILED, STAGING_FAILED, SITE_BUSY, PHASE_ORDER, NEEDS_ATTENTION: nothing in the
 * site was touched. COMMIT_FAILED: rolled back, the tree is the old release again. ROLLBACK_FAILED: the
 * rollback stopped part-way; the journal is kept and `countersign recover` retries it. FINISH_FAILED: the
 * new release is in place but recording or cleaning up failed; `countersign recover` finishes it.
 * POST_UPDATE_FAILED: the files are new, a post-update step failed, the site needs attention.
 * JOURNAL_CORRUPT: an unfinished journal cannot be read; nothing is touched until an operator looks.
 */
export class InstallError extends CountersignError {
  declare readonly code: InstallCode;
  constructor(code: InstallCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * A Hawk-authenticated message (lib/distribution/hawk.ts) is not from the holder of the shared secret, is replayed
 * or stale, carries a body other than the one it was signed for, or comes too often. On the wire every
 * failure of a request is the same 401 (unknown and wrong credentials look alike); the code is for logs.
 */
export class AuthError extends CountersignError {
  declare readonly code: AuthCode;
  constructor(code: AuthCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * The hub/site conversation failed (lib/hub/, lib/site/): a peer is unreachable or broke the protocol,
 * asked for a package that is not on offer, sent too much, or the hub's registry failed. Never a
 * verdict on a bundle: only the quorum decides that.
 */
export class DistributionError extends CountersignError {
  declare readonly code: DistributionCode;
  constructor(code: DistributionCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export interface Reason {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Verification found one or more reasons to reject; `reasons` lists every one, `code` is the first. */
export class VerificationError extends CountersignError {
  readonly reasons: Reason[];
  constructor(reasons: Reason[]) {
    super(reasons[0]?.code ?? 'VERIFICATION_FAILED', reasons.map((r) => `${r.code}: ${r.message}`).join('; '), { reasons });
    this.reasons = reasons;
  }
}

export function toReason(err: CountersignError): Reason {
  const reason: Reason = { code: err.code, message: err.message };
  if (Object.keys(err.details).length > 0) reason.details = err.details;
  return reason;
}
