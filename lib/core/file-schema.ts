// JSON Schema validation for the files people and sites keep: key files, partial signatures and the trust
// store (compiled into lib/core/generated/file-validators.ts by `npm run schemas`): apart from schema.ts,
// so that a verify --policy never loads (or parses) these validators.
import * as validators from './generated/file-validators.js';
import { validateWith, type Validator } from './schema.js';

export type FileSchemaName = 'partial-signature' | 'public-key' | 'secret-key' | 'store';

const BY_NAME: Record<FileSchemaName, Validator> = {
  'partial-signature': validators.partialSignature,
  'public-key': validators.publicKey,
  'secret-key': validators.secretKey,
  store: validators.store,
};

/** Returns `value` typed as T when it matches the schema, else throws FormatError('SCHEMA_INVALID'). */
export function validateFile<T>(name: FileSchemaName, value: unknown, what: string): T {
  return validateWith<T>(BY_NAME[name], name, value, what);
}
