// Path rules shared by the archive writer, the archive reader and the installer (spec/verification.md "Paths").
// A path names a regular file relative to the site root; anything else is refused, never repaired.
import { ArchiveError } from './errors.js';

/** The two modes a release file may have. */
export type FileMode = '0644' | '0755';

/** ustar header field sizes: `name` holds the last part, `prefix` the directories before it. */
export const USTAR_NAME_MAX = 100;
export const USTAR_PREFIX_MAX = 155;
/** Longest path we accept, in UTF-8 bytes (ustar itself could hold 256). */
export const PATH_MAX_BYTES = 255;

// C0 controls (NUL included), DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Format characters (bidi controls, zero-width joiners and spaces): they make a path displayed for
// review read differently from the bytes that get installed ("Trojan Source", CVE-2021-42574), and
// some filesystems (HFS+) ignore them, aliasing two names.
const FORMAT = /\p{Cf}/u;
// Names Windows filesystems alias or reserve: a trailing dot or space is dropped, ':' opens an
// alternate data stream, and device names (CON, NUL, COM1, ...) exist in every directory.
// (The superscript digits 1-3 are escaped: the bundled CLI stays ASCII, which V8 reads fastest.)
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(?:\.|$)/i;

function unsafe(path: string, rule: string): never {
  throw new ArchiveError('UNSAFE_PATH', `unsafe path ${JSON.stringify(path)}: ${rule}`, { path, rule });
}

/**
 * The ustar split of a path's UTF-8 bytes, or null when it does not fit.
 * Paths of at most 100 bytes go in `name` alone (prefix empty). Longer ones are split at the
 * last '/' that leaves a prefix of at most 155 bytes (as GNU tar does), and the rest must fit
 * in 100 bytes. UTF-8 never uses 0x2F inside a multi-byte sequence, so a byte split at '/' is
 * a character split. One path has exactly one split: the reader insists on it.
 */
export function ustarSplit(bytes: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | null {
  if (bytes.length <= USTAR_NAME_MAX) return { prefix: bytes.subarray(0, 0), name: bytes };
  for (let i = Math.min(bytes.length - 1, USTAR_PREFIX_MAX); i > 0; i--) {
    if (bytes[i] === 0x2f) {
      const name = bytes.subarray(i + 1);
      return name.length <= USTAR_NAME_MAX && name.length > 0 ? { prefix: bytes.subarray(0, i), name } : null;
    }
  }
  return null;
}

// A fast accept for the common case, printable ASCII without '\\' or ':': segments that are non-empty and do
// not end with a dot or a space (so never '.' or '..'), at most 100 bytes (the ustar name field alone), and
// no Windows device name. ASCII is NFC, well-formed and free of format characters, so a match passes every
// rule of checkPath; anything else takes the full check, which also names the rule it breaks.
const SAFE_ASCII_PATH = /^[^\x00-\x1f\x7f-\uffff\\:/]*[^\x00-\x1f\x7f-\uffff\\:/. ](?:\/[^\x00-\x1f\x7f-\uffff\\:/]*[^\x00-\x1f\x7f-\uffff\\:/. ])*$/;
const RESERVED_ASCII_SEGMENT = /(?:^|\/)(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|\/|$)/i;

/** Throws ArchiveError('UNSAFE_PATH') naming the path and the first rule it breaks. */
export function checkPath(path: string): void {
  if (typeof path === 'string' && path.length <= USTAR_NAME_MAX && SAFE_ASCII_PATH.test(path) && !RESERVED_ASCII_SEGMENT.test(path)) return;
  checkPathFully(path);
}

/** checkPath without the fast accept (exported for the test that the two agree). */
export function checkPathFully(path: string): void {
  if (typeof path !== 'string') unsafe(String(path), 'not a string');
  if (path.length === 0) unsafe(path, 'empty');
  if (path.includes('\0')) unsafe(path, 'contains NUL');
  if (path.includes('\\')) unsafe(path, 'contains a backslash (paths are /-separated)');
  if (CONTROL.test(path)) unsafe(path, 'contains a control character');
  if (FORMAT.test(path)) unsafe(path, 'contains an invisible formatting character (bidi control, zero-width)');
  if (path.includes(':')) unsafe(path, "contains ':' (an alternate data stream on Windows)");
  if (path.startsWith('/')) unsafe(path, 'absolute (leading /)');
  if (path.endsWith('/')) unsafe(path, 'trailing / (names a directory, not a file)');
  for (const segment of path.split('/')) {
    if (segment === '') unsafe(path, 'empty segment (//)');
    if (segment === '.') unsafe(path, "'.' segment");
    if (segment === '..') unsafe(path, "'..' segment");
    if (/[. ]$/.test(segment)) unsafe(path, 'a name ends with a dot or space (Windows drops it, aliasing another name)');
    if (WINDOWS_RESERVED.test(segment)) unsafe(path, `${JSON.stringify(segment)} is a reserved device name on Windows`);
  }
  const bytes = Buffer.from(path, 'utf8');
  // A lone surrogate encodes as U+FFFD, so the round trip fails exactly for ill-formed strings.
  if (bytes.toString('utf8') !== path) unsafe(path, 'not well-formed Unicode (lone surrogate)');
  if (path.normalize('NFC') !== path) unsafe(path, 'not in Unicode normalization form C (NFC)');
  if (bytes.length > PATH_MAX_BYTES) unsafe(path, `longer than ${PATH_MAX_BYTES} UTF-8 bytes`);
  if (ustarSplit(bytes) === null) {
    unsafe(path, `not representable in ustar (last segment over ${USTAR_NAME_MAX} bytes or no '/' leaving a prefix of at most ${USTAR_PREFIX_MAX})`);
  }
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * The key under which two paths collide on a case-insensitive file system.
 * toLowerCase() alone misses pairs that only meet in upper case: 'ſ' (long s) and 's', 'ς' and
 * 'σ', 'ß' and 'ss', 'ﬁ' and 'fi', the Kelvin sign and 'k'. Going through toUpperCase() first
 * folds those together, at the price of two string passes per path, which is nothing next to
 * hashing the file. This over-approximates some file systems (NTFS and APFS keep 'ß' and 'ss'
 * apart): refusing a few legal pairs is the safe side. Final sigma is context-dependent in
 * toLowerCase(), so it is mapped to 'σ' explicitly; NFC is re-applied because case mapping can
 * leave a string unnormalised ('İ' lower-cases to 'i' + U+0307).
 */
export function caseFoldKey(path: string): string {
  // ASCII: upper- then lower-casing is plain lower-casing, and NFC changes nothing.
  if (ASCII.test(path)) return path.toLowerCase();
  return path
    .normalize('NFC')
    .toUpperCase()
    .toLowerCase()
    .replace(/\u03c2/g, '\u03c3')
    .normalize('NFC');
}

/**
 * Collects paths one at a time and refuses, with UNSAFE_PATH, a path that breaks checkPath,
 * equals an earlier one after case folding, or is a file where another path needs a directory
 * (file `a` and file `a/b`, in either order, also across case). Memory is one key per path plus
 * one per distinct directory.
 */
export class PathSet {
  private readonly files = new Map<string, string>();
  private readonly dirs = new Map<string, string>();
  private readonly exact = new Set<string>();

  get size(): number {
    return this.files.size;
  }

  /** Whether this exact path was accepted. */
  has(path: string): boolean {
    return this.exact.has(path);
  }

  add(path: string): void {
    checkPath(path);
    const key = caseFoldKey(path);
    const sameFile = this.files.get(key);
    if (sameFile !== undefined) {
      unsafe(path, sameFile === path ? 'listed twice' : `equals ${JSON.stringify(sameFile)} after case folding`);
    }
    const under = this.dirs.get(key);
    if (under !== undefined) unsafe(path, `is a file but ${JSON.stringify(under)} needs it to be a directory`);
    // Ancestors, deepest first: once one is known as a directory, all above it are too.
    const ancestors: string[] = [];
    for (let i = key.lastIndexOf('/'); i > 0; i = key.lastIndexOf('/', i - 1)) {
      const dir = key.slice(0, i);
      const file = this.files.get(dir);
      if (file !== undefined) unsafe(path, `needs ${JSON.stringify(file)} to be a directory, but it is a file`);
      if (this.dirs.has(dir)) break;
      ancestors.push(dir);
    }
    for (const dir of ancestors) this.dirs.set(dir, path);
    this.files.set(key, path);
    this.exact.add(path);
  }
}

/** Checks every path and the set as a whole; throws ArchiveError('UNSAFE_PATH') on the first problem. */
export function checkPathSet(paths: Iterable<string>): PathSet {
  const set = new PathSet();
  for (const path of paths) set.add(path);
  return set;
}

/** Any execute bit (user, group or other) makes a file 0755; everything else is 0644. Type, setuid, setgid and sticky bits are dropped. */
export function normaliseMode(mode: number): FileMode {
  return (mode & 0o111) !== 0 ? '0755' : '0644';
}

/** Compares two strings by their UTF-8 bytes (JavaScript's `<` compares UTF-16 code units, which orders astral characters differently). */
export function comparePathBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const SURROGATE = /[\ud800-\udfff]/;

/** A new array sorted by path in UTF-8 byte order, the order archives are written in. */
export function sortByPathBytes<T extends { path: string }>(items: Iterable<T>): T[] {
  const list = Array.from(items);
  // UTF-16 code unit order equals UTF-8 byte order unless a string holds a surrogate (an astral character).
  if (!list.some((item) => SURROGATE.test(item.path))) return list.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const keyed = list.map((item) => ({ item, key: Buffer.from(item.path, 'utf8') }));
  keyed.sort((x, y) => Buffer.compare(x.key, y.key));
  return keyed.map((k) => k.item);
}
