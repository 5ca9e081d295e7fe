// Code a command needs only sometimes is imported when first needed, so the common paths never load it.
// Under a CommonJS loader (mocha require()s the tests through tsx), import() would load a second copy of the
// modules a lazy one shares with its importer (the error classes, so a coded refusal would read as INTERNAL):
// require() then. The bundled CLI (scripts/bundle-cli.mjs) resolves every import() within itself.
declare const COUNTERSIGN_BUNDLED: boolean | undefined;
const commonJsRequire = typeof COUNTERSIGN_BUNDLED === 'undefined' && typeof module === 'object' ? require : undefined;

/** The module at `path` (relative to cli/), by `importer` (an import() of the same path) unless under CommonJS. */
export async function lazyImport<T>(path: string, importer: () => Promise<T>): Promise<T> {
  return commonJsRequire ? (commonJsRequire(path) as T) : importer();
}
