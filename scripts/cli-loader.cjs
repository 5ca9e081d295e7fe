// Runs a bundled script of the CLI (countersign-bundle.cjs, every command; countersign-verify.cjs, the verify
// command alone, which the bin runs for a verify line) with a V8 code cache of it (SCRIPT.cache): V8 then neither
// parses the script nor compiles the functions the cache holds, which is most of a small verify's start-up. The
// cache is compiled code, and V8 runs it in preference to the script, so it is never shipped in the package.
// `npm run build` makes it (by running a small verify against a policy and against a trust store, and for the
// whole CLI an inspect); otherwise the first command that succeeds writes it (not --version or help alone), like
// Python's __pycache__, and only when the user running it owns the script and its directory and no one else can
// write either. It is used only when its owner owns the script, no one else can write it, it was made from this
// very file and its exact bytes and is itself intact (two SHA-256s lead it), and V8 takes it (same V8 version
// and flags); otherwise V8 compiles the script as it runs. Delete it to run from the script alone.
// scripts/bundle-cli.mjs copies this file beside the scripts. It is CommonJS, as is the bin that requires it
// (scripts/countersign-bin.cjs): an ES module would cost every command Node's ESM loader.
'use strict';
const { isAscii } = require('node:buffer');
const { closeSync, constants, fchmodSync, fstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { createHash, randomBytes } = require('node:crypto');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

/** The CLI's scripts, beside the bin: every command, and the verify command alone. */
const SCRIPTS = { whole: 'countersign-bundle.cjs', verify: 'countersign-verify.cjs' };
const HASH_BYTES = 32;
const OTHERS_WRITE = 0o022n;
const WRAPPER = '(function (exports, require, module, __filename, __dirname, __countersign_url) {';
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/**
 * What a cache is bound to: the format, the text compiled around the script, the script's bytes, and the
 * file they were read from (a copied or unpacked tree is another inode, so a cache carried along with it
 * is made again by its new owner).
 */
function scriptDigest(source, stat) {
  const file = `countersign-code-cache/1 ${stat.dev} ${stat.ino} ${stat.size} ${stat.ctimeNs}\n${WRAPPER}\n`;
  return createHash('sha256').update(file).update(source).digest();
}

/** The cache file's bytes for `script` compiled from `source` (read with `stat`): the two digests, then V8's data. */
function codeCacheFile(source, stat, script) {
  const data = script.createCachedData();
  return Buffer.concat([scriptDigest(source, stat), sha256(data), data]);
}

/** The file at `path` and its status (in bigints, for ctimeNs), read through one descriptor; a FIFO never blocks. */
function readWithStat(path, flags = 0) {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | flags);
  try {
    const stat = fstatSync(fd, { bigint: true });
    return { stat, bytes: stat.isFile() ? readFileSync(fd) : undefined };
  } finally {
    closeSync(fd);
  }
}

/** V8's data from `cacheFile` when the rules above let it be used for `source`, else undefined. */
function usableCache(cacheFile, source, scriptStat) {
  let cache;
  try {
    cache = readWithStat(cacheFile, constants.O_NOFOLLOW);
  } catch {
    return undefined; // none (or unreadable): compiled as it runs
  }
  const { stat, bytes } = cache;
  if (!bytes || stat.uid !== scriptStat.uid || (stat.mode & OTHERS_WRITE) !== 0n || bytes.length <= 2 * HASH_BYTES) return undefined;
  const data = bytes.subarray(2 * HASH_BYTES);
  if (!bytes.subarray(0, HASH_BYTES).equals(scriptDigest(source, scriptStat)) || !bytes.subarray(HASH_BYTES, 2 * HASH_BYTES).equals(sha256(data)))
    return undefined;
  return data;
}

/**
 * Compiles and runs the CommonJS bundle `file`, with the code cache in `cacheFile` when usable, and returns
 * its exports, the compiled script, and whether V8 took the cache. `url` stands for import.meta.url inside.
 */
function loadBundle(file, cacheFile, url) {
  const { stat, bytes: source } = readWithStat(file);
  if (!source) throw new Error(`${file} is not a regular file`);
  const cachedData = usableCache(cacheFile, source, stat);
  // An ASCII script (bundle-cli makes it so) becomes a one-byte string without UTF-8 decoding.
  const text = isAscii(source) ? source.toString('latin1') : source.toString('utf8');
  const wrapped = `${WRAPPER}${text}\n})`;
  const script = new Script(wrapped, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), url);
  return { exports: module.exports, script, source, stat, cached: cachedData !== undefined && script.cachedDataRejected === false };
}

/** Whether a successful run of `argv` is worth a cache: --version and help alone run almost none of the script. */
function worthCaching(argv) {
  const words = argv.filter((a) => a !== '--json' && a !== '--debug');
  const version = words.length === 1 && (words[0] === '--version' || words[0] === '-V');
  return !(version || words[0] === 'help' || words.includes('--help') || words.includes('-h'));
}

/** Writes the cache of a bundle loaded without one, when the rules above allow; never fails the command. */
function saveCodeCache(bundle, cacheFile) {
  if (bundle.cached || typeof process.geteuid !== 'function') return;
  const euid = BigInt(process.geteuid());
  let dir;
  try {
    dir = statSync(dirname(cacheFile), { bigint: true });
  } catch {
    return;
  }
  if (bundle.stat.uid !== euid || dir.uid !== euid || (bundle.stat.mode & OTHERS_WRITE) !== 0n || (dir.mode & OTHERS_WRITE) !== 0n) return;
  const temp = `${cacheFile}.${randomBytes(8).toString('hex')}.tmp`;
  let fd;
  try {
    // Created first: where it cannot be (a read-only tree), the cache is not made in vain.
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch {
    return;
  }
  try {
    fchmodSync(fd, 0o644); // whatever the umask: every user who runs the script reads it
    writeFileSync(fd, codeCacheFile(bundle.source, bundle.stat, bundle.script));
    closeSync(fd);
    fd = undefined;
    renameSync(temp, cacheFile);
  } catch {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}

module.exports = { codeCacheFile, loadBundle, saveCodeCache, SCRIPTS, worthCaching };
