/** Bundles `entry` (the CLI's main module, compiled or TypeScript) into the executable `outfile`; `testHooks` only for the tests' bundle. */
export declare function bundleCli(entry: string, outfile: string, opts?: { testHooks?: boolean }): Promise<void>;
