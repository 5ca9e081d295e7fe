import { expect } from 'chai';
import fc from 'fast-check';
import { runs } from './support/soak.js';
import { ArchiveError } from '../lib/core/errors.js';
import {
  PathSet,
  caseFoldKey,
  checkPath,
  checkPathFully,
  checkPathSet,
  comparePathBytes,
  normaliseMode,
  sortByPathBytes,
  ustarSplit,
} from '../lib/core/paths.js';

function expectUnsafe(fn: () => void, rule?: RegExp): ArchiveError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ArchiveError);
    const e = err as ArchiveError;
    expect(e.code).to.equal('UNSAFE_PATH');
    if (rule) expect(String(e.details.rule ?? e.message)).to.match(rule);
    return e;
  }
  expect.fail('expected UNSAFE_PATH');
}

// 200 bytes: needs the ustar prefix field.
const LONG_OK = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(40)}/${'g'.repeat(33)}.php`;

describe('paths: checkPath', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['absolute', '/etc/passwd', /absolute/],
    ['trailing slash', 'core/lib/', /trailing/],
    ["'..' segment", 'core/../../etc/passwd', /'\.\.'/],
    ["leading '..'", '../x', /'\.\.'/],
    ["'.' segment", 'core/./x.php', /'\.'/],
    ["lone '.'", '.', /'\.'/],
    ['empty segment', 'core//x.php', /empty segment/],
    ['backslash', 'core\\x.php', /backslash/],
    ['NUL', 'core/x.php\0.txt', /NUL/],
    ['newline', 'core/x\n.php', /control/],
    ['tab', 'core/x\t.php', /control/],
    ['DEL', 'core/x\u007f.php', /control/],
    ['C1 control', 'core/x\u0085.php', /control/],
    ['bidi override', 'core/evil\u202ephp.txt', /formatting/],
    ['non-NFC e + combining acute', 'core/caf' + 'e\u0301' + '.php', /NFC/],
    ['non-NFC Hangul jamo', 'core/\u1100\u1161.php', /NFC/],
    ['lone surrogate', 'core/\ud800.php', /surrogate/],
    ['over 255 bytes', ('a'.repeat(99) + '/').repeat(2) + 'b'.repeat(57), /255/],
    ['last segment over 100 bytes', 'core/' + 'x'.repeat(101), /ustar/],
    ['no split leaving a prefix of at most 155 bytes', 'p'.repeat(160) + '/x.php', /ustar/],
    ['a zero-width space (HFS+ ignores it)', 'core/Dru\u200bpal.php', /formatting/],
    ['a trailing dot (Windows drops it)', 'index.php.', /dot or space/],
    ['a trailing space (Windows drops it)', 'core/lib /x.php', /dot or space/],
    ['an alternate data stream', 'index.php::$DATA', /data stream/],
    ['a Windows device name', 'core/aux.php', /device name/],
    ['a Windows device name, any case', 'CON', /device name/],
  ];
  for (const [what, path, rule] of refused) {
    it(`refuses ${what}`, () => {
      const e = expectUnsafe(() => checkPath(path), rule);
      expect(e.message).to.contain(JSON.stringify(path));
    });
  }

  const accepted: Array<[string, string]> = [
    ['a plain file', 'index.php'],
    ['nested file', 'core/lib/Drupal.php'],
    ['a dot file', '.htaccess'],
    ['dots inside names', 'core/..x/a..b/.c'],
    ['spaces and punctuation', 'sites/default/files/a b (1) #2.txt'],
    ['NFC unicode', 'modules/café/naïve-日本語-😀.php'],
    ['precomposed Hangul', 'core/\uac00.php'],
    ['a 200-byte path needing the prefix split', LONG_OK],
    ['exactly 100 bytes, no prefix', 'a/' + 'b'.repeat(98)],
  ];
  for (const [what, path] of accepted) {
    it(`accepts ${what}`, () => {
      checkPath(path);
    });
  }

  it('splits a long path at the last / that leaves a prefix of at most 155 bytes', () => {
    expect(Buffer.byteLength(LONG_OK)).to.equal(200);
    const split = ustarSplit(Buffer.from(LONG_OK))!;
    // d…/e…/f… would be 162 bytes, so the prefix stops one '/' earlier.
    expect(Buffer.from(split.prefix).toString()).to.equal(`${'d'.repeat(60)}/${'e'.repeat(60)}`);
    expect(Buffer.from(split.name).toString()).to.equal(`${'f'.repeat(40)}/${'g'.repeat(33)}.php`);
    expect(ustarSplit(Buffer.from('short/name'))!.prefix.length).to.equal(0);
  });

  it('accepts the longest representable path (255 bytes: 155 prefix + / + 99 name)', () => {
    const path = 'p'.repeat(155) + '/' + 'n'.repeat(99);
    expect(Buffer.byteLength(path)).to.equal(255);
    checkPath(path);
  });
});

describe('paths: checkPathSet', () => {
  it('accepts distinct paths', () => {
    checkPathSet(['a.php', 'b.php', 'core/a.php', 'core/lib/a.php', LONG_OK]);
  });

  it('refuses the same path twice', () => {
    expectUnsafe(() => checkPathSet(['a.php', 'a.php']), /twice/);
  });

  it("refuses a case-fold duplicate ('A.php' / 'a.php')", () => {
    expectUnsafe(() => checkPathSet(['A.php', 'a.php']), /case folding/);
  });

  it('refuses case-fold duplicates in a directory component', () => {
    expectUnsafe(() => checkPathSet(['Core/a.php', 'core/a.php']), /case folding/);
  });

  it('refuses pairs that only meet through upper case (ſ/s, ς/σ, ﬁ/fi)', () => {
    expectUnsafe(() => checkPathSet(['ſ.php', 's.php']), /case folding/);
    expectUnsafe(() => checkPathSet(['ας.php', 'ασ.php']), /case folding/);
    expectUnsafe(() => checkPathSet(['\ufb01le.php', 'file.php']), /case folding/);
    expect(caseFoldKey('STRASSE')).to.equal(caseFoldKey('straße'));
  });

  it('refuses a file that is also a directory of another path, in either order and across case', () => {
    expectUnsafe(() => checkPathSet(['a', 'a/b']), /directory/);
    expectUnsafe(() => checkPathSet(['a/b/c.php', 'a/b']), /directory/);
    expectUnsafe(() => checkPathSet(['A/b.php', 'a']), /directory/);
    checkPathSet(['a/b.php', 'ab', 'a-b/c', 'a.b']);
  });

  it('checks each path too', () => {
    expectUnsafe(() => checkPathSet(['ok.php', '../x']), /'\.\.'/);
  });

  it('PathSet counts what it accepted', () => {
    const set = new PathSet();
    set.add('x');
    set.add('y/z');
    expect(set.size).to.equal(2);
  });
});

describe('paths: normaliseMode and byte order', () => {
  it('maps any execute bit to 0755 and everything else to 0644', () => {
    expect(normaliseMode(0o644)).to.equal('0644');
    expect(normaliseMode(0o600)).to.equal('0644');
    expect(normaliseMode(0o666)).to.equal('0644');
    expect(normaliseMode(0o100644)).to.equal('0644');
    expect(normaliseMode(0o4644)).to.equal('0644');
    expect(normaliseMode(0o755)).to.equal('0755');
    expect(normaliseMode(0o700)).to.equal('0755');
    expect(normaliseMode(0o601)).to.equal('0755');
    expect(normaliseMode(0o610)).to.equal('0755');
    expect(normaliseMode(0o104755)).to.equal('0755');
  });

  it('sorts by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF21 (fullwidth A) is EF BC A1 in UTF-8; U+1F600 is F0 9F 98 80. UTF-16 orders them the other way.
    const items = [{ path: 'b' }, { path: '\u{1F600}' }, { path: '\uff21' }, { path: 'a/b' }, { path: 'a-b' }, { path: 'B' }];
    expect(sortByPathBytes(items).map((i) => i.path)).to.deep.equal(['B', 'a-b', 'a/b', 'b', '\uff21', '\u{1F600}']);
    expect('\u{1F600}' < '\uff21').to.equal(true);
    expect(comparePathBytes('\u{1F600}', '\uff21')).to.equal(1);
    expect(items[0]!.path).to.equal('b'); // not mutated
  });
});

describe('paths: the fast paths agree with the full rules', () => {
  const verdict = (check: (p: string) => void, path: string): string => {
    try {
      check(path);
      return 'ok';
    } catch (err) {
      return (err as ArchiveError).message;
    }
  };
  // Paths near the rules' edges: dots, spaces, separators, device names, backslash, colon, controls and non-ASCII.
  const piece = fc.constantFrom(
    'a',
    'Z',
    '0',
    '.',
    '..',
    ' ',
    '/',
    '//',
    '\\',
    ':',
    'con',
    'NUL',
    'lpt1',
    'com9',
    'aux.',
    '\u0000',
    '\u001f',
    '\u007f',
    '~',
    'é',
    'ſ',
    '\u200b',
  );
  const path = fc.oneof(
    fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
    fc.string({ maxLength: 120 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );

  it('checkPath gives the verdict and message of the full check on every path', () => {
    fc.assert(
      fc.property(path, (p) => verdict(checkPath, p) === verdict(checkPathFully, p)),
      runs(5000),
    );
    expect(verdict(checkPath, 'a'.repeat(101))).to.equal(verdict(checkPathFully, 'a'.repeat(101)));
  });

  it('caseFoldKey of ASCII is the full fold', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (p) => {
        expect(caseFoldKey(p)).to.equal(p.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC'));
      }),
      runs(2000),
    );
  });

  it('sortByPathBytes orders by UTF-8 bytes with and without astral characters', () => {
    const unit = fc.constantFrom('a', 'B', '/', '-', '\uff21', '\u{1F600}', '\u00e9', '\ud7ff', '\ue000');
    fc.assert(
      fc.property(
        fc.array(
          fc.array(unit, { maxLength: 5 }).map((u) => ({ path: u.join('') })),
          { maxLength: 30 },
        ),
        (items) => {
          const expected = [...items].sort((x, y) => Buffer.compare(Buffer.from(x.path, 'utf8'), Buffer.from(y.path, 'utf8')));
          expect(sortByPathBytes(items)).to.deep.equal(expected);
        },
      ),
      runs(2000),
    );
  });
});
