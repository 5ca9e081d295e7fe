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
