import type { Metafile } from 'esbuild';

/**
 * Bundles `entry` (the CLI's main module, compiled or TypeScript) into the executable `bin`, with the script,
 * its code cache and the loader beside it; `testHooks` only for the tests' bundle.
 */
export declare function bundleCli(entry: string, bin: string, opts?: { testHooks?: boolean }): Promise<{ metafile: Metafile }>;
