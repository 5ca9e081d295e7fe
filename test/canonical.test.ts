import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import { canonicalBytes, canonicalize, canonicalizeMemberByMember, parseCanonical } from '../lib/core/canonical.js';
import { utf8 } from '../lib/core/bytes.js';
import { codeOf } from './support/codes.js';

// cyberphone/json-canonicalization testdata, vendored whole in test/vectors/jcs (see test/vectors/SOURCES.md).
const JCS = new URL('./vectors/jcs/', import.meta.url);

function fromSpacedHex(text: string): Uint8Array {
  return new Uint8Array(
    text
      .split(/\s+/)
      .filter((h) => h !== '')
      .map((h) => parseInt(h, 16)),
  );
}

describe('canonical: RFC 8785 vectors', () => {
  const names = readdirSync(new URL('input/', JCS))
    .filter((n) => n.endsWith('.json'))
    .sort();

  it('finds the vectors', () => {
    expect(names.length).to.be.greaterThanOrEqual(6);
  });

  for (const name of names) {
    const base = name.slice(0, -'.json'.length);
    it(base, () => {
      const input = readFileSync(new URL(`input/${name}`, JCS), 'utf8');
      const output = new Uint8Array(readFileSync(new URL(`output/${name}`, JCS)));
      const outhex = fromSpacedHex(readFileSync(new URL(`outhex/${base}.txt`, JCS), 'utf8'));
      const value: unknown = JSON.parse(input);

      expect(Buffer.from(canonicalBytes(value))).to.deep.equal(Buffer.from(output));
      expect(Buffer.from(canonicalBytes(value))).to.deep.equal(Buffer.from(outhex));
      expect(canonicalize(value)).to.equal(new TextDecoder().decode(output));
      // The canonical output is accepted as is and parses back to the same value ...
      expect(parseCanonical(output, base)).to.deep.equal(value);
      // ... and the pretty-printed input is not canonical.
      expect(codeOf(() => parseCanonical(utf8(input), base))).to.equal('NOT_CANONICAL');
    });
  }
});

describe('canonical: canonicalize', () => {
  it('writes numbers as ECMAScript Number::toString', () => {
    expect(canonicalize([-0, 0, 1, -1.5, 1e21, 1e-7, 123456789012345680000, 5e-324, 0.1 + 0.2])).to.equal(
      '[0,0,1,-1.5,1e+21,1e-7,123456789012345680000,5e-324,0.30000000000000004]',
    );
  });

  it('rejects NaN and the infinities with MALFORMED', () => {
    for (const n of [NaN, Infinity, -Infinity]) {
      expect(codeOf(() => canonicalize({ n }))).to.equal('MALFORMED');
    }
  });

  it('rejects values JSON cannot hold', () => {
    expect(codeOf(() => canonicalize(undefined))).to.equal('MALFORMED');
    expect(codeOf(() => canonicalize({ a: undefined }))).to.equal('MALFORMED');
    expect(codeOf(() => canonicalize(10n))).to.equal('MALFORMED');
    expect(codeOf(() => canonicalize(() => 1))).to.equal('MALFORMED');
    expect(codeOf(() => canonicalize(new Date(0)))).to.equal('MALFORMED');
    expect(codeOf(() => canonicalize(new Uint8Array(2)))).to.equal('MALFORMED');
    // eslint-disable-next-line no-sparse-arrays
    expect(codeOf(() => canonicalize([1, , 3]))).to.equal('MALFORMED');
  });

  it('rejects lone surrogates in strings and member names', () => {
    expect(codeOf(() => canonicalize('\ud800'))).to.equal('MALFORMED');
    expect(codeOf(() => canonicalize({ '\udc00': 1 }))).to.equal('MALFORMED');
    expect(canonicalize('\ud83d\ude02')).to.equal('"\ud83d\ude02"');
  });

  it('rejects cycles and absurd nesting', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(codeOf(() => canonicalize(cycle))).to.equal('MALFORMED');
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = [deep];
    expect(codeOf(() => canonicalize(deep))).to.equal('MALFORMED');
  });

  it('sorts member names by UTF-16 code units, not code points', () => {
    // U+FB33 (one unit, 0xFB33) sorts after U+1F602 (surrogates 0xD83D 0xDE02).
    expect(canonicalize({ '\ufb33': 1, '\u{1f602}': 2, b: 3, B: 4 })).to.equal('{"B":4,"b":3,"\u{1f602}":2,"\ufb33":1}');
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.z = 1;
    bare.a = [true, null, 's'];
    expect(canonicalize(bare)).to.equal('{"a":[true,null,"s"],"z":1}');
  });
});

describe('canonical: the JSON.stringify fast path', () => {
  // Values in canonical member order are written by JSON.stringify; these are the cases where it would differ.
  const same = (value: unknown) => expect(canonicalize(value)).to.equal(canonicalizeMemberByMember(value));

  it('sorts members that JSON.stringify would write in another order', () => {
    // Integer-like names come first in Object.keys, ascending numerically: 9 before 10, but "10" < "9".
    expect(canonicalize(JSON.parse('{"9":1,"10":2}'))).to.equal('{"10":2,"9":1}');
    expect(canonicalize({ files: [{ b: 1, a: 2 }] })).to.equal('{"files":[{"a":2,"b":1}]}');
    expect(canonicalize([{ a: 1 }, { d: 1, c: 2 }])).to.equal('[{"a":1},{"c":2,"d":1}]');
  });

  it('ignores a toJSON that JSON.stringify would call', () => {
    const own = Object.assign([1, 2], { toJSON: () => 'forged' });
    expect(canonicalize({ a: own })).to.equal('{"a":[1,2]}');
    class Listed extends Array<number> {
      toJSON() {
        return 'forged';
      }
    }
    expect(canonicalize({ a: Listed.from([3]) })).to.equal('{"a":[3]}');
    for (const proto of [Object.prototype, Array.prototype]) {
      Object.defineProperty(proto, 'toJSON', { value: () => 'forged', configurable: true });
      try {
        expect(canonicalize({ a: [1], b: { c: 2 } })).to.equal('{"a":[1],"b":{"c":2}}');
      } finally {
        delete (proto as { toJSON?: unknown }).toJSON;
      }
    }
  });

  it('refuses in the fast path what the member-by-member path refuses', () => {
    for (const bad of [{ a: [NaN] }, { a: '\udc00' }, { '\ud800': 1 }, { a: { b: undefined } }, [1, 2n], { a: new Date(0) }]) {
      expect(codeOf(() => canonicalize(bad))).to.equal('MALFORMED');
    }
  });

  it('agrees with the member-by-member path on any JSON value, parsed or built', () => {
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('0', '1', '9', '10', '__proto__', 'toJSON', 'a', 'b'));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double(),
        fc.integer(),
        fc.constant(-0),
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        let expected: string | null = null;
        try {
          expected = canonicalizeMemberByMember(v);
        } catch {
          expect(codeOf(() => canonicalize(v))).to.equal('MALFORMED');
          return;
        }
        same(v);
        // Parsed back, members come in canonical order and take the fast path.
        same(JSON.parse(expected));
        expect(canonicalize(JSON.parse(expected))).to.equal(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('canonical: parseCanonical', () => {
  const reject = (text: string) => codeOf(() => parseCanonical(utf8(text), 'document'));

  it('accepts canonical bytes', () => {
    expect(parseCanonical(utf8('{"a":1,"b":[true,"x"]}'), 'document')).to.deep.equal({ a: 1, b: [true, 'x'] });
    expect(parseCanonical(utf8('"\\u001f"'), 'document')).to.equal('\u001f');
  });

  it('keeps a member named __proto__ as data', () => {
    const parsed = parseCanonical(utf8('{"__proto__":{"x":1},"a":2}'), 'document') as Record<string, unknown>;
    expect(Object.keys(parsed)).to.deep.equal(['__proto__', 'a']);
    expect(canonicalize(parsed)).to.equal('{"__proto__":{"x":1},"a":2}');
  });

  it('rejects duplicate keys', () => {
    expect(reject('{"a":1,"a":2}')).to.equal('NOT_CANONICAL');
    expect(reject('{"a":1,"a":1}')).to.equal('NOT_CANONICAL');
  });

  it('rejects whitespace', () => {
    expect(reject('{"a": 1}')).to.equal('NOT_CANONICAL');
    expect(reject('{"a":1}\n')).to.equal('NOT_CANONICAL');
    expect(reject(' {"a":1}')).to.equal('NOT_CANONICAL');
  });

  it('rejects other number spellings', () => {
    expect(reject('{"a":1.0}')).to.equal('NOT_CANONICAL');
    expect(reject('[1E2]')).to.equal('NOT_CANONICAL');
    expect(reject('[-0]')).to.equal('NOT_CANONICAL');
    expect(reject('[12345678901234567890]')).to.equal('NOT_CANONICAL');
  });

  it('rejects needless escapes', () => {
    expect(reject('{"a":"\\u0041"}')).to.equal('NOT_CANONICAL');
    expect(reject('["\\/"]')).to.equal('NOT_CANONICAL');
    expect(reject('["\\u001F"]')).to.equal('NOT_CANONICAL');
  });

  it('rejects unsorted keys', () => {
    expect(reject('{"b":1,"a":2}')).to.equal('NOT_CANONICAL');
    expect(reject('{"a":{"d":1,"c":2}}')).to.equal('NOT_CANONICAL');
  });

  it('rejects what is not JSON or not UTF-8 with MALFORMED', () => {
    expect(reject('{"a":1')).to.equal('MALFORMED');
    expect(reject('')).to.equal('MALFORMED');
    expect(reject('[1e400]')).to.equal('MALFORMED');
    expect(reject('["\\ud800"]')).to.equal('MALFORMED');
    expect(codeOf(() => parseCanonical(new Uint8Array([0x22, 0xff, 0x22]), 'document'))).to.equal('MALFORMED');
    expect(codeOf(() => parseCanonical(new Uint8Array([0xef, 0xbb, 0xbf, 0x31]), 'document'))).to.equal('MALFORMED');
  });
});
