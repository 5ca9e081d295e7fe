import type { Metafile } from 'esbuild';

/**
 * Bundles `entry` (the CLI's main module, compiled or TypeScript) into the executable `bin`, with the scripts
 * (every command; the verify command alone, cli/verify-entry), their code caches and the loader beside it;
 * `testHooks` only for the tests' bundles.
 */
export declare function bundleCli(entry: string, bin: string, opts?: { testHooks?: boolean }): Promise<{ metafile: Metafile; verifyMetafile: Metafile }>;
