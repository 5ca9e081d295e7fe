// JSON Schema validation for every signed countersign document. The schemas live in `schemas/`;
// schemas/codegen.ts compiles them ahead of time into lib/core/generated/validators.ts (npm run schemas),
// with the verdicts and first errors of ajv in a third of its code, which keeps CLI start-up short. Key
// files, partial signatures and the trust store are in file-schema.ts; the hub's, sites' and installer's
// own schemas in service-schema.ts: a verify loads neither.
import { FormatError } from './errors.js';
import * as validators from './generated/validators.js';

export type SchemaName = 'envelope' | 'policy' | 'manifest' | 'revocation' | 'enrolment' | 'key-revocation';

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
