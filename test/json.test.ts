import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { parseStrictJson } from '../lib/core/json.js';
import { codeOf } from './support/codes.js';

describe('strict JSON for envelopes', () => {
  const inputs = new URL('./vectors/jcs/input/', import.meta.url);
  for (const name of readdirSync(inputs)) {
    it(`parses ${name} exactly as JSON.parse does`, () => {
      const text = readFileSync(new URL(name, inputs), 'utf8');
      expect(parseStrictJson(text, name)).to.deep.equal(JSON.parse(text));
    });
  }

  it('parses random documents exactly as JSON.parse does: raw and escaped strings, keys, numbers, nesting', () => {
    const chars = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '\ud83d\ude00', '\ufeff', '{', '}', ':', ','];
    const rand = (n: number) => Math.floor(Math.random() * n);
    const text = () => Array.from({ length: rand(12) }, () => chars[rand(chars.length)]).join('');
    const value = (depth: number): unknown => {
      switch (depth > 3 ? rand(4) : rand(6)) {
        case 0:
          return text();
        case 1:
          return rand(3) === 0 ? -rand(1e6) / 7 : rand(1e9);
        case 2:
          return [true, false, null][rand(3)];
        case 3:
          return '';
        case 4:
          return Array.from({ length: rand(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: rand(4) }, (_, i) => [`${text()}${i}`, value(depth + 1)]));
      }
    };
    for (let i = 0; i < 2000; i++) {
      const doc = value(0);
      // Escaped (JSON.stringify escapes quotes, backslashes and controls) and, for non-ASCII, spelled as \\u escapes too.
      for (const spelled of [
        JSON.stringify(doc),
        JSON.stringify(doc, null, 2),
        JSON.stringify(doc).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
      ]) {
        expect(parseStrictJson(spelled, 'e'), spelled).to.deep.equal(JSON.parse(spelled));
      }
    }
  });

  it('refuses every truncation of a document that JSON.parse refuses, a string cut after its backslash included', () => {
    const doc = JSON.stringify({ a: 'x\\y"z', b: ['\u00e9\n', 1.5e3, null, { c: '' }], 'd\\': true }, null, 1);
    for (let end = 0; end < doc.length; end++) {
      const cut = doc.slice(0, end);
      let parsable = true;
      try {
        JSON.parse(cut);
      } catch {
        parsable = false;
      }
      if (!parsable)
        expect(
          codeOf(() => parseStrictJson(cut, 'e')),
          JSON.stringify(cut),
        ).to.equal('MALFORMED');
    }
    expect(() => parseStrictJson('{"a":"x\\', 'e')).to.throw(/unterminated string/);
  });

  it('refuses duplicate keys, at any depth (JSON.parse would keep the last)', () => {
    expect(codeOf(() => parseStrictJson('{"payload":"fake","payload":"real"}', 'e'))).to.equal('MALFORMED');
    expect(codeOf(() => parseStrictJson('{"a":[{"k":1,"k":2}]}', 'e'))).to.equal('MALFORMED');
    expect(codeOf(() => parseStrictJson('{"\\u0061":1,"a":2}', 'e'))).to.equal('MALFORMED');
  });

  it('keeps a "__proto__" key as data, never as a prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true}}', 'e') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).to.equal(Object.prototype);
    expect(Object.keys(v)).to.deep.equal(['__proto__']);
  });

  it('refuses what JSON refuses: trailing commas, garbage, control characters, BOM, deep nesting', () => {
    for (const bad of [
      '"\\x41"',
      '"\\u12"',
      '"\\',
      '{"a":1,}',
      '[1,]',
      '{"a":1} x',
      '"a\nb"',
      '\ufeff{}',
      '['.repeat(100) + ']'.repeat(100),
      '01',
      'NaN',
      "{'a':1}",
    ]) {
      expect(
        codeOf(() => parseStrictJson(bad, 'e')),
        JSON.stringify(bad),
      ).to.equal('MALFORMED');
    }
  });
});
