// JSON Schema validation (ajv, draft 2020-12) for every countersign document.
// Schemas live in `schemas/`; each is compiled on first use to keep CLI start-up short.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { FormatError } from './errors.js';

export type SchemaName = 'envelope' | 'policy' | 'manifest' | 'partial-signature' | 'public-key' | 'secret-key';

const ajv = new Ajv2020({ allErrors: false, strict: true });
const compiled = new Map<SchemaName, ValidateFunction>();

function validator(name: SchemaName): ValidateFunction {
  let fn = compiled.get(name);
  if (!fn) {
    const schema = JSON.parse(readFileSync(new URL(`../schemas/${name}.schema.json`, import.meta.url), 'utf8'));
    fn = ajv.compile(schema);
    compiled.set(name, fn);
  }
  return fn;
}

/** Returns `value` typed as T when it matches the schema, else throws FormatError('SCHEMA_INVALID'). */
export function validate<T>(name: SchemaName, value: unknown, what: string): T {
  const fn = validator(name);
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
