// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte spelling of a JSON value that every
// signer and verifier agrees on.
import { bytesEqual, fromUtf8, utf8 } from './bytes.js';
import { FormatError } from './errors.js';

// Deeper nesting than any countersign document needs; also stops cycles and stack exhaustion.
const MAX_DEPTH = 64;

// ES2024's String.prototype.isWellFormed (Node 20 has it; the compile target's lib does not name it yet).
type MaybeWellFormed = string & { isWellFormed(): boolean };

/** I-JSON (RFC 7493 2.1), which JCS requires, forbids lone UTF-16 surrogates. */
function checkWellFormed(text: string): void {
  if (!(text as MaybeWellFormed).isWellFormed()) throw new FormatError('MALFORMED', 'string holds a lone UTF-16 surrogate');
}

function serializeString(text: string): string {
  checkWellFormed(text);
  // RFC 8785 3.2.2.2 is exactly ECMAScript JSON.stringify for well-formed strings: the two-letter
  // escapes \b \t \n \f \r \" \\, \u00xx (lower-case hex) for other controls, everything else literal.
  return JSON.stringify(text);
}

function serializeNumber(n: number): string {
  // RFC 8785 3.2.2.3: ECMAScript Number::toString; -0 becomes 0; NaN and the infinities have no JSON form.
  if (!Number.isFinite(n)) throw new FormatError('MALFORMED', `${n} has no JSON representation`);
  return Object.is(n, -0) ? '0' : String(n);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` has a JSON representation (throwing as serializeSorted would) and tells whether
 * JSON.stringify already writes its canonical text: every object's members in sorted order (as JSON.parse
 * of canonical text leaves them). JSON.stringify writes members in Object.keys order, well-formed strings and
 * finite numbers (-0 as 0) exactly as RFC 8785 does, and consults toJSON only on objects, which must be plain here.
 */
function inCanonicalOrder(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      checkWellFormed(value);
      return true;
    case 'number':
      serializeNumber(value);
      return true;
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      throw new FormatError('MALFORMED', `a ${typeof value} has no JSON representation`);
  }
  if (value === null) return true;
  if (depth >= MAX_DEPTH) throw new FormatError('MALFORMED', `JSON nested deeper than ${MAX_DEPTH} levels`);
  // A false answer stops the walk: the member-by-member path then checks what is left as it writes it.
  if (Array.isArray(value)) {
    // JSON.stringify would call a toJSON of an array's own or of another prototype; member by member ignores it.
    if (Object.getPrototypeOf(value) !== Array.prototype || Object.hasOwn(value, 'toJSON')) return false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new FormatError('MALFORMED', 'array has a hole');
      if (!inCanonicalOrder(value[i], depth + 1)) return false;
    }
    return true;
  }
  if (!isPlainObject(value)) throw new FormatError('MALFORMED', 'only plain objects have a JSON representation');
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    checkWellFormed(key);
    if (i > 0 && !(keys[i - 1]! < key)) return false;
    const member = value[key];
    if (member === undefined) throw new FormatError('MALFORMED', `member ${JSON.stringify(key)} is undefined`);
    if (!inCanonicalOrder(member, depth + 1)) return false;
  }
  return true;
}

// Object.prototype.toJSON or Array.prototype.toJSON, if some code defined one, would change what JSON.stringify writes.
function noInheritedToJson(): boolean {
  return !('toJSON' in Object.prototype) && !('toJSON' in Array.prototype);
}

function serialize(value: unknown, depth: number, slow = false): string {
  if (slow) return serializeSorted(value, depth, true);
  // A value already in canonical order (a parsed canonical document, a built manifest's file list) is written by
  // JSON.stringify, several times faster than member by member; anything else is sorted here, its parts again through this test.
  if (typeof value === 'object' && value !== null && inCanonicalOrder(value, depth) && noInheritedToJson()) return JSON.stringify(value);
  return serializeSorted(value, depth);
}

function serializeSorted(value: unknown, depth: number, slow = false): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return serializeNumber(value);
    case 'string':
      return serializeString(value);
    case 'object':
      break;
    default:
      throw new FormatError('MALFORMED', `a ${typeof value} has no JSON representation`);
  }
  if (depth >= MAX_DEPTH) throw new FormatError('MALFORMED', `JSON nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new FormatError('MALFORMED', 'array has a hole');
      parts.push(serialize(value[i], depth + 1, slow));
    }
    return `[${parts.join(',')}]`;
  }
  if (!isPlainObject(value)) throw new FormatError('MALFORMED', 'only plain objects have a JSON representation');
  // RFC 8785 3.2.3: members sorted by their names as arrays of UTF-16 code units; the default
  // string order of ECMAScript is exactly that (not locale, not code points).
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const member = value[key];
    if (member === undefined) throw new FormatError('MALFORMED', `member ${JSON.stringify(key)} is undefined`);
    parts.push(`${serializeString(key)}:${serialize(member, depth + 1, slow)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The RFC 8785 canonical text of a JSON value; throws FormatError('MALFORMED') for anything JSON cannot hold. */
export function canonicalize(value: unknown): string {
  return serialize(value, 0);
}

/** canonicalize without the JSON.stringify fast path (exported for the test that the two agree). */
export function canonicalizeMemberByMember(value: unknown): string {
  return serializeSorted(value, 0, true);
}

/** The canonical text as UTF-8 bytes: what gets hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

/**
 * Parses bytes that must already be canonical JSON. Anything with a second spelling (whitespace,
 * duplicate or unsorted members, other escapes or number forms, a BOM) is NOT_CANONICAL, so one
 * signed document has exactly one accepted byte string. `first` sees the parsed value before that check
 * (the format check: a newer format may spell itself differently).
 */
export function parseCanonical(bytes: Uint8Array, what: string, first?: (parsed: unknown) => void): unknown {
  const text = fromUtf8(bytes, what);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FormatError('MALFORMED', `${what} is not valid JSON`);
  }
  first?.(parsed);
  if (!bytesEqual(canonicalBytes(parsed), bytes)) {
    throw new FormatError('NOT_CANONICAL', `${what} is not in canonical JSON form (RFC 8785)`);
  }
  return parsed;
}
