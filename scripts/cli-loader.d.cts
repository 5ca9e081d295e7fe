import type { Script } from 'node:vm';

/** The code cache file's bytes for `script` compiled from `source`: the source's SHA-256, then V8's cache. */
export declare function codeCacheFile(source: Buffer, script: Script): Buffer;

/** Compiles and runs the CommonJS bundle `file` with the code cache in `cacheFile` when it matches. */
export declare function loadBundle(file: string, cacheFile: string, url: string): { exports: Record<string, unknown>; script: Script; source: Buffer };
