import type { BigIntStats } from 'node:fs';
import type { Script } from 'node:vm';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  script: Script;
  source: Buffer;
  stat: BigIntStats;
  /** Whether V8 took the code cache. */
  cached: boolean;
}

/** The CLI's scripts, beside the bin: every command, and the verify command alone. */
export declare const SCRIPTS: { whole: string; verify: string };

/** The code cache file's bytes for `script` compiled from `source` (read with `stat`): the two digests, then V8's data. */
export declare function codeCacheFile(source: Buffer, stat: BigIntStats, script: Script): Buffer;

/** Compiles and runs the CommonJS bundle `file` with the code cache in `cacheFile` when usable. */
export declare function loadBundle(file: string, cacheFile: string, url: string): LoadedBundle;

/** Writes the cache of a bundle loaded without one, when the user owns the script and its directory. */
export declare function saveCodeCache(bundle: LoadedBundle, cacheFile: string): void;

/** Whether a successful run of `argv` is worth a cache: --version and help alone run almost none of the script. */
export declare function worthCaching(argv: readonly string[]): boolean;
