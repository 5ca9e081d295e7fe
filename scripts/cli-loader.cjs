// Runs the bundled CLI (countersign.cjs, one script holding every command) with the V8 code cache that
// `npm run build` made for it by running it (countersign.cjs.cache): V8 then neither parses the script nor
// compiles the functions a verify runs, which is most of a small verify's start-up. The cache is used only
// when it was made from these exact bytes (its SHA-256 leads the file; V8 itself checks only the length)
// and by this V8 (V8 checks its version and flags); otherwise V8 compiles the script as it runs.
// scripts/bundle-cli.mjs copies this file beside the bundle. It is CommonJS, as is the bin that requires
// it: an ES module would cost every command Node's ESM loader.
'use strict';
const { isAscii } = require('node:buffer');
const { readFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const HASH_BYTES = 32;

/** The cache file's bytes for `script` compiled from `source`: the source's SHA-256, then V8's cache. */
function codeCacheFile(source, script) {
  return Buffer.concat([createHash('sha256').update(source).digest(), script.createCachedData()]);
}

/**
 * Compiles and runs the CommonJS bundle `file`, with the code cache in `cacheFile` when it matches, and
 * returns its exports and the compiled script. `url` stands for import.meta.url inside the bundle.
 */
function loadBundle(file, cacheFile, url) {
  const source = readFileSync(file);
  let cachedData;
  try {
    const cache = readFileSync(cacheFile);
    if (cache.subarray(0, HASH_BYTES).equals(createHash('sha256').update(source).digest())) cachedData = cache.subarray(HASH_BYTES);
  } catch {
    // no cache: compiled as it runs
  }
  // An ASCII script (bundle-cli makes it so) becomes a one-byte string without UTF-8 decoding.
  const text = isAscii(source) ? source.toString('latin1') : source.toString('utf8');
  const wrapped = `(function (exports, require, module, __filename, __dirname, __countersign_url) {${text}\n})`;
  const script = new Script(wrapped, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), url);
  return { exports: module.exports, script, source };
}

module.exports = { codeCacheFile, loadBundle };
