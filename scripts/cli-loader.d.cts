import type { Stats } from 'node:fs';
import type { Script } from 'node:vm';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  script: Script;
  source: Buffer;
  stat: Stats;
  /** Whether V8 took the code cache. */
  cached: boolean;
}

/** The code cache file's bytes for `script` compiled from `source`: SHA-256 of the source, of V8's data, then the data. */
export declare function codeCacheFile(source: Buffer, script: Script): Buffer;

/** Compiles and runs the CommonJS bundle `file` with the code cache in `cacheFile` when usable. */
export declare function loadBundle(file: string, cacheFile: string, url: string): LoadedBundle;

/** Writes the cache of a bundle loaded without one, when the user owns the script and its directory. */
export declare function saveCodeCache(bundle: LoadedBundle, cacheFile: string): void;
