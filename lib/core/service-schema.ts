// JSON Schema validation for the hub's, sites' and installer's messages and files (compiled into
// lib/core/generated/service-validators.ts by `npm run schemas`): apart from schema.ts, so that a command
// that only verifies documents never loads (or parses) these validators.
import * as validators from './generated/service-validators.js';
import { validateWith, type Validator } from './schema.js';

export type ServiceSchemaName =
  'installer-config' | 'hub-index' | 'site-reply' | 'site-registration' | 'site-credentials' | 'journal-record' | 'conformance-vectors';

const BY_NAME: Record<ServiceSchemaName, Validator> = {
  'installer-config': validators.installerConfig,
  'hub-index': validators.hubIndex,
  'site-reply': validators.siteReply,
  'site-registration': validators.siteRegistration,
  'site-credentials': validators.siteCredentials,
  'journal-record': validators.journalRecord,
  'conformance-vectors': validators.conformanceVectors,
};

/** Returns `value` typed as T when it matches the schema, else throws FormatError('SCHEMA_INVALID'). */
export function validateService<T>(name: ServiceSchemaName, value: unknown, what: string): T {
  return validateWith<T>(BY_NAME[name], name, value, what);
}
