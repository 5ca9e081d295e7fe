// Strict JSON (RFC 8259) for documents that are not canonical themselves (envelopes, partial
// signatures): JSON.parse silently keeps the last of two equal keys, so a reader that keeps the
// first would see another document. This parser refuses duplicate keys instead.
import { FormatError } from './errors.js';

const MAX_DEPTH = 64;
// What a string holds raw up to its next quote, backslash or control character: one native regex step for a
// whole base64 payload, where a loop per character runs interpreted on a short-lived process.
const STRING_RUN = /[^"\\\u0000-\u001f]*/y;

export function parseStrictJson(text: string, what: string): unknown {
  let at = 0;
  const fail = (why: string): never => {
    throw new FormatError('MALFORMED', `${what} is not valid JSON: ${why} at offset ${at}`);
  };
  const ws = () => {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++;
  };
  const str = (): string => {
    const start = at;
    let escaped = false;
    at++; // opening quote
    for (;;) {
      STRING_RUN.lastIndex = at;
      STRING_RUN.test(text);
      at = STRING_RUN.lastIndex;
      const c = text.charCodeAt(at);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      escaped = true;
      at += 2; // a backslash and the character after it; JSON.parse below checks the escape
      if (at > text.length) fail('unterminated string'); // a sticky regex would start again from 0
    }
    at++;
    if (!escaped) return text.slice(start + 1, at - 1); // no escape: the characters are the value
    try {
      return JSON.parse(text.slice(start, at)) as string; // escapes decoded by the engine, after the scan
    } catch {
      return fail('invalid escape in string');
    }
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
    ws();
    const c = text[at];
    if (c === '{') {
      at++;
      const obj: Record<string, unknown> = {};
      const keys = new Set<string>();
      ws();
      if (text[at] === '}') return (at++, obj);
      for (;;) {
        ws();
        if (text[at] !== '"') fail('expected a string key');
        const key = str();
        if (keys.has(key)) fail(`duplicate key ${JSON.stringify(key)}`);
        keys.add(key);
        ws();
        if (text[at++] !== ':') fail("expected ':'");
        Object.defineProperty(obj, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        const sep = text[at++];
        if (sep === '}') return obj;
        if (sep !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      at++;
      const arr: unknown[] = [];
      ws();
      if (text[at] === ']') return (at++, arr);
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const sep = text[at++];
        if (sep === ']') return arr;
        if (sep !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(at, at + 400));
    if (!m) fail('unexpected token');
    at += m![0].length;
    return JSON.parse(m![0]);
  };
  const result = value(0);
  ws();
  if (at !== text.length) fail('trailing characters');
  return result;
}

// Characters JSON lets through raw that a terminal or log viewer may act on (C1 controls, bidi and
// other invisible marks, line separators). Escaping them as \uXXXX keeps the text valid JSON.
const UNSAFE_IN_OUTPUT = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/gu;

/** JSON.stringify on one line, with every character a terminal could act on escaped. */
export function stringifyForOutput(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_OUTPUT, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
