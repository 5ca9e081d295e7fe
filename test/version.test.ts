import { expect } from 'chai';
import { compareVersions, isSameRelease, mayBeSameRelease, parseVersion, sameScheme, versionScheme } from '../lib/core/version.js';
import { codeOf } from './support/codes.js';

/** Asserts every adjacent pair is strictly ascending, and the relation both ways. */
function expectAscending(versions: string[]): void {
  for (let i = 0; i + 1 < versions.length; i++) {
    const [lo, hi] = [versions[i]!, versions[i + 1]!];
    expect(compareVersions(lo, hi), `${lo} < ${hi}`).to.equal(-1);
    expect(compareVersions(hi, lo), `${hi} > ${lo}`).to.equal(1);
  }
}

describe('version: parseVersion', () => {
  it('parses Drupal core, contrib and WordPress versions', () => {
    expect(parseVersion('10.2.3')).to.deep.equal({ text: '10.2.3', core: null, release: [10, 2, 3], pre: null, build: null });
    expect(parseVersion('7.99')).to.deep.include({ core: null, release: [7, 99], pre: null });
    expect(parseVersion('11.0.0-rc1')).to.deep.include({ release: [11, 0, 0], pre: { tag: 'rc', n: 1 } });
    expect(parseVersion('10.3.0-beta2')).to.deep.include({ pre: { tag: 'beta', n: 2 } });
    expect(parseVersion('10.1.0-alpha1')).to.deep.include({ pre: { tag: 'alpha', n: 1 } });
    expect(parseVersion('8.x-1.2')).to.deep.include({ core: 8, release: [1, 2], pre: null });
    expect(parseVersion('8.x-1.2-rc3')).to.deep.include({ core: 8, release: [1, 2], pre: { tag: 'rc', n: 3 } });
    expect(parseVersion('2.0.5')).to.deep.include({ core: null, release: [2, 0, 5] });
    expect(parseVersion('6.4.2')).to.deep.include({ release: [6, 4, 2] });
    expect(parseVersion('6.5')).to.deep.include({ release: [6, 5] });
    expect(parseVersion('6.5-RC1')).to.deep.include({ text: '6.5-RC1', pre: { tag: 'rc', n: 1 } });
    expect(parseVersion('10.3.0-dev')).to.deep.include({ pre: { tag: 'dev', n: 0 } });
    expect(parseVersion('1.0.0+build.7')).to.deep.include({ release: [1, 0, 0], build: 'build.7' });
  });

  it('rejects garbage with BAD_VERSION', () => {
    const bad = [
      '',
      ' 10.2.3',
      '10.2.3 ',
      'v10.2.3',
      '10..2',
      '10.2.',
      '.10',
      '10.02.3', // leading zero: a second spelling of 10.2.3
      '1.2.3.4.5',
      '10.2.3-gamma1',
      '10.2.3-rc',
      '10.2.3-rc-1',
      '10.2.3-dev1',
      '10.2.3-rc01',
      '10.2.3_rc1',
      '10.2.3-',
      '10.2.3+',
      '10.2.3+a..b',
      '8.x-1.x-dev', // a branch, not a release
      '11.x-dev',
      '8.x-',
      'x.x-1.2',
      '8.x-9.x-1.2',
      '1234567890.0', // beyond nine digits
      '10.2.3\n',
      '10.2.3/../x',
      '１０.2.3', // full-width digits
      '1'.repeat(65),
    ];
    for (const v of bad)
      expect(
        codeOf(() => parseVersion(v)),
        JSON.stringify(v),
      ).to.equal('BAD_VERSION');
    expect(codeOf(() => parseVersion(10 as unknown as string))).to.equal('BAD_VERSION');
    expect(codeOf(() => compareVersions('10.2.3', 'latest'))).to.equal('BAD_VERSION');
  });
});

describe('version: compareVersions', () => {
  it('compares segments as numbers', () => {
    expectAscending(['7.9', '7.10', '7.99', '7.100', '8.0.0', '9.5.11', '10.0.0', '10.1.9', '10.1.10', '10.2.0', '10.2.3', '11.0.0']);
    expectAscending(['6.4', '6.4.1', '6.4.2', '6.5']);
  });

  it('treats missing trailing segments as 0', () => {
    expect(compareVersions('6.5', '6.5.0')).to.equal(0);
    expect(compareVersions('6.5.0', '6.5')).to.equal(0);
    expect(compareVersions('6.5', '6.5.0.0')).to.equal(0);
    expect(compareVersions('6.5', '6.5.1')).to.equal(-1);
    expect(compareVersions('6.5.0-rc1', '6.5-rc1')).to.equal(0);
  });

  it('orders pre-releases dev < alpha < beta < rc < release', () => {
    expectAscending([
      '10.3.0-dev',
      '10.3.0-alpha1',
      '10.3.0-alpha2',
      '10.3.0-beta1',
      '10.3.0-beta2',
      '10.3.0-rc1',
      '10.3.0-rc2',
      '10.3.0',
      '10.3.1-alpha1',
      '10.3.1',
    ]);
    expectAscending(['10.2.9', '10.3.0-dev']);
    expectAscending(['6.5-beta3', '6.5-RC1', '6.5-rc2', '6.5']);
    expect(compareVersions('6.5-RC1', '6.5-rc1')).to.equal(0);
    expect(compareVersions('11.0.0-rc1', '11.0.0')).to.equal(-1);
    expect(compareVersions('11.0.0', '11.0.0-rc1')).to.equal(1);
  });

  it('compares legacy contrib versions after the core prefix when the prefix matches', () => {
    expectAscending(['8.x-1.0-beta1', '8.x-1.0', '8.x-1.2', '8.x-1.10', '8.x-2.0-alpha1', '8.x-2.0']);
    expect(compareVersions('8.x-1.2', '8.x-1.2.0')).to.equal(0);
  });

  it('orders different core prefixes by the prefix', () => {
    expectAscending(['6.x-3.9', '7.x-1.0', '7.x-3.99', '8.x-1.0']);
    expect(compareVersions('7.x-9.9', '8.x-1.0')).to.equal(-1);
  });

  it('never compares a legacy version with a numeric one (VERSION_SCHEME_MISMATCH), either way round', () => {
    // The old mixed rule was not transitive: 7.x-5.0 < 8.x-1.0 < 4.0.0 and yet 7.x-5.0 > 4.0.0.
    expect(compareVersions('7.x-5.0', '8.x-1.0')).to.equal(-1);
    for (const [a, b] of [
      ['7.x-5.0', '4.0.0'],
      ['8.x-1.0', '4.0.0'],
      ['8.x-1.2', '1.2.0'],
      ['8.x-1.2', '1.2'],
    ]) {
      expect(
        codeOf(() => compareVersions(a!, b!)),
        `${a} vs ${b}`,
      ).to.equal('VERSION_SCHEME_MISMATCH');
      expect(
        codeOf(() => compareVersions(b!, a!)),
        `${b} vs ${a}`,
      ).to.equal('VERSION_SCHEME_MISMATCH');
    }
  });

  it('a legacy prefix is part of the version: 7.x-1.2 is neither 8.x-1.2 nor 1.2', () => {
    expect(versionScheme('7.x-1.2')).to.equal('legacy');
    expect(versionScheme('1.2')).to.equal('numeric');
    expect(isSameRelease('7.x-1.2', '8.x-1.2')).to.equal(false);
    expect(isSameRelease('7.x-1.2', '1.2')).to.equal(false);
    expect(isSameRelease('7.x-1.2', '7.x-1.2.0')).to.equal(true);
    expect(sameScheme('7.x-1.2', '8.x-3.0')).to.equal(true);
    expect(sameScheme('7.x-1.2', '7.2')).to.equal(false);
  });

  it('a revocation errs towards refusing: mayBeSameRelease matches across schemes by what follows the prefix', () => {
    expect(mayBeSameRelease('8.x-1.2', '1.2.0')).to.equal(true);
    expect(mayBeSameRelease('1.2.0', '8.x-1.2')).to.equal(true);
    expect(mayBeSameRelease('8.x-1.2', '7.x-1.2')).to.equal(false);
    expect(mayBeSameRelease('8.x-1.2', '1.3.0')).to.equal(false);
  });

  it('ignores build metadata', () => {
    expect(compareVersions('1.0.0+a', '1.0.0+b')).to.equal(0);
    expect(compareVersions('1.0.0+a', '1.0.0')).to.equal(0);
    expect(compareVersions('1.0.0-rc1+a', '1.0.0')).to.equal(-1);
  });

  it('is reflexive and accepts parsed versions', () => {
    for (const v of ['10.2.3', '7.99', '11.0.0-rc1', '8.x-1.2', '2.0.5', '6.4.2', '6.5']) {
      expect(compareVersions(v, v)).to.equal(0);
      expect(compareVersions(parseVersion(v), v)).to.equal(0);
    }
  });

  it('is a total order over a mixed list (sort is stable and transitive)', () => {
    const list = ['10.2.3', '7.99', '11.0.0-rc1', '10.3.0-beta2', '10.1.0-alpha1', '10.1.0', '10.3.0-dev', '11.0.0', '7.100', '10.3.0'];
    const sorted = [...list].sort(compareVersions);
    expect(sorted).to.deep.equal(['7.99', '7.100', '10.1.0-alpha1', '10.1.0', '10.2.3', '10.3.0-dev', '10.3.0-beta2', '10.3.0', '11.0.0-rc1', '11.0.0']);
    for (const a of list) for (const b of list) expect(compareVersions(a, b)).to.equal(-compareVersions(b, a) || 0);
  });
});
