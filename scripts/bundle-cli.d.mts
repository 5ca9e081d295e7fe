/** Bundles `entry` (the CLI's main module, compiled or TypeScript) into the executable `outfile`. */
export declare function bundleCli(entry: string, outfile: string): Promise<void>;
