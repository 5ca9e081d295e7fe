// Packages only some installations need (the hub's registry drivers, one of which compiles native code):
// optionalDependencies in package.json, so a site installs with `npm install --omit=optional` and never
// builds anything, and loaded here, by the command that needs one, never at start-up.
import { UsageError } from '../core/errors.js';

/**
 * Imports the optional package `name`, needed for `purpose` (e.g. "a sqlite: registry"). When it is not
 * installed: UsageError DEPENDENCY_MISSING (exit 2) naming the package to install. Any other failure of
 * the import (the package is there but broken) is thrown as it is.
 */
export async function importOptional<T>(name: string, purpose: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    if (!isMissing(err, name)) throw err;
    throw new UsageError('DEPENDENCY_MISSING', `${purpose} needs the package ${name}, which is not installed here: npm install ${name}`, {
      package: name,
    });
  }
}

/** The package itself is absent (not some module it imports in turn). */
function isMissing(err: unknown, name: string): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(`'${name}'`);
}
