// Format versions of signed payloads and bundles (spec/versioning.md): what this release reads, and the
// one refusal, FORMAT_UNSUPPORTED, for anything newer.
import { FormatError } from './errors.js';

/** The payload `format` this release writes for a policy or a revocation; a payload without the member is format 1. */
export const PAYLOAD_FORMAT = 1;
/** The policy payload format that adds signer kinds (lib/core/signer-kinds.ts); written only when a signer needs it. */
export const POLICY_KINDS_FORMAT = 2;
/** The policy payload format that adds providers: `provider` and `roles`, or a root policy's `providers` (lib/core/provider-policy.ts). */
export const POLICY_PROVIDER_FORMAT = 3;
/** The revocation format that scopes a release revocation to a provider (`provider`). */
export const REVOCATION_PROVIDER_FORMAT = 2;
/** The manifest format that names the provider whose release it is (`provider`); written only for a provider's release. */
export const MANIFEST_PROVIDER_FORMAT = 3;
/** The format of the documents that exist since providers: enrolment and key revocation. */
export const PROVIDER_DOCUMENT_FORMAT = 1;
/** The partial-signature format that names its signer kind; countersign keys still write format 1 (no `format`). */
export const PARTIAL_KINDS_FORMAT = 2;
/**
 * The manifest `format` this release writes: 2, whose archive names its entries' mtime instead of a SHA-512, so a
 * verifier rebuilds every header and hashes the archive bytes once (spec/bundle.md "Archive verification").
 */
export const MANIFEST_FORMAT = 2;
/** The bundle header version this release writes. */
export const BUNDLE_FORMAT = 2;

/** Each known format of each document and the countersign release that introduced it (the table in spec/versioning.md). */
const INTRODUCED = {
  policy: { 1: '0.1.0', 2: '0.3.0', 3: '0.4.0' },
  manifest: { 1: '0.1.0', 2: '0.3.0', 3: '0.4.0' },
  revocation: { 1: '0.1.0', 2: '0.4.0' },
  enrolment: { 1: '0.4.0' },
  'key-revocation': { 1: '0.4.0' },
  'partial-signature': { 1: '0.1.0', 2: '0.3.0' },
  bundle: { 1: '0.1.0', 2: '0.2.0' },
} as const satisfies Record<FormattedDocument, Record<number, string>>;

/**
 * New formats ship only in a new minor release, so one this release does not know needs at least the minor
 * after the newest release in the table.
 */
const NEXT_RELEASE = '0.5.0';

export type FormattedDocument = 'policy' | 'manifest' | 'revocation' | 'enrolment' | 'key-revocation' | 'bundle' | 'partial-signature';

/** Refuses a format this release does not read: FORMAT_UNSUPPORTED with {document, format, supported}. */
export function unsupportedFormat(document: FormattedDocument, format: unknown, what = `${document} format ${JSON.stringify(format)}`): FormatError {
  const supported = Object.keys(INTRODUCED[document]).map(Number);
  return new FormatError(
    'FORMAT_UNSUPPORTED',
    `${what} is not supported by this countersign (it reads ${document === 'bundle' ? 'bundle v' : 'format '}${supported.join(', ')}); update countersign to >= ${NEXT_RELEASE}`,
    {
      document,
      format,
      supported,
    },
  );
}

/**
 * Checks a parsed payload's `format` before its schema is: absent is format 1; any other value than a known
 * one (even a malformed one: it may be a newer encoding) is FORMAT_UNSUPPORTED, never SCHEMA_INVALID.
 */
export function checkPayloadFormat(document: Exclude<FormattedDocument, 'bundle'>, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('format' in value)) return;
  const format = (value as { format: unknown }).format;
  if (typeof format === 'number' && Object.hasOwn(INTRODUCED[document], format)) return;
  throw unsupportedFormat(document, format);
}
