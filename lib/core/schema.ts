// JSON Schema validation for every countersign document and key file. The schemas live in `schemas/`; ajv
// compiles them ahead of time into lib/core/generated/validators.ts (npm run schemas), which keeps CLI
// start-up short. The hub's, sites' and installer's own schemas are in service-schema.ts.
import { FormatError } from './errors.js';
import * as validators from './generated/validators.js';

export type SchemaName =
  'envelope' | 'policy' | 'manifest' | 'revocation' | 'enrolment' | 'key-revocation' | 'partial-signature' | 'public-key' | 'secret-key' | 'store';

export interface Validator {
  (value: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string }> | null;
}

const BY_NAME: Record<SchemaName, Validator> = {
  envelope: validators.envelope,
  policy: validators.policy,
  manifest: validators.manifest,
  revocation: validators.revocation,
  enrolment: validators.enrolment,
  'key-revocation': validators.keyRevocation,
  'partial-signature': validators.partialSignature,
  'public-key': validators.publicKey,
  'secret-key': validators.secretKey,
  store: validators.store,
};

/** Returns `value` typed as T when it matches the schema, else throws FormatError('SCHEMA_INVALID'). */
export function validate<T>(name: SchemaName, value: unknown, what: string): T {
  return validateWith<T>(BY_NAME[name], name, value, what);
}

/** validate() with the validator `fn` of the schema `name`. */
export function validateWith<T>(fn: Validator, name: string, value: unknown, what: string): T {
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
