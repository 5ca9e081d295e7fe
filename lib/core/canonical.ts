// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte spelling of a JSON value that every
// signer and verifier agrees on.
import { bytesEqual, fromUtf8, utf8 } from './bytes.js';
import { FormatError } from './errors.js';

// Deeper nesting than any countersign document needs; also stops cycles and stack exhaustion.
const MAX_DEPTH = 64;

// A lone surrogate: with the `u` flag a paired surrogate reads as one astral code point, so only
// unpaired halves match. I-JSON (RFC 7493 2.1), which JCS requires, forbids them.
const LONE_SURROGATE = /\p{Cs}/u;

function serializeString(text: string): string {
  if (LONE_SURROGATE.test(text)) throw new FormatError('MALFORMED', 'string holds a lone UTF-16 surrogate');
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

function serialize(value: unknown, depth: number): string {
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
      parts.push(serialize(value[i], depth + 1));
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
    parts.push(`${serializeString(key)}:${serialize(member, depth + 1)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The RFC 8785 canonical text of a JSON value; throws FormatError('MALFORMED') for anything JSON cannot hold. */
export function canonicalize(value: unknown): string {
  return serialize(value, 0);
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
