// JSON Schema validation for every countersign document. The schemas live in `schemas/`; ajv compiles
// them ahead of time into lib/core/generated/validators.ts (npm run schemas), which keeps CLI start-up short.
import { FormatError } from './errors.js';
import * as validators from './generated/validators.js';

export type SchemaName =
  | 'envelope'
  | 'policy'
  | 'manifest'
  | 'revocation'
  | 'partial-signature'
  | 'public-key'
  | 'secret-key'
  | 'store'
  | 'installer-config'
  | 'hub-index'
  | 'site-reply'
  | 'site-registration'
  | 'site-credentials'
  | 'journal-record'
  | 'conformance-vectors';

interface Validator {
  (value: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string }> | null;
}

const BY_NAME: Record<SchemaName, Validator> = {
  envelope: validators.envelope,
  policy: validators.policy,
  manifest: validators.manifest,
  revocation: validators.revocation,
  'partial-signature': validators.partialSignature,
  'public-key': validators.publicKey,
  'secret-key': validators.secretKey,
  store: validators.store,
  'installer-config': validators.installerConfig,
  'hub-index': validators.hubIndex,
  'site-reply': validators.siteReply,
  'site-registration': validators.siteRegistration,
  'site-credentials': validators.siteCredentials,
  'journal-record': validators.journalRecord,
  'conformance-vectors': validators.conformanceVectors,
};

/** Returns `value` typed as T when it matches the schema, else throws FormatError('SCHEMA_INVALID'). */
export function validate<T>(name: SchemaName, value: unknown, what: string): T {
  const fn = BY_NAME[name];
  if (!fn(value)) {
    const e = fn.errors?.[0];
    const where = e?.instancePath || '(top level)';
    throw new FormatError('SCHEMA_INVALID', `${what} does not match the ${name} schema: ${where} ${e?.message ?? ''}`.trim(), {
      schema: name,
      path: where,
    });
  }
  return value as T;
}
