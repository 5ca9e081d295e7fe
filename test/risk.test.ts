import { expect } from 'chai';
import { MAX_RISK_SCORE, RISK_LEVELS, RISK_METRICS, computeRisk, riskLevelForScore, riskLevelRank, type RiskLevel } from '../lib/core/risk.js';
import { codeOf } from './support/codes.js';

// Vectors and scores as published on Drupal security advisories.
const PUBLISHED: [string, number][] = [
  ['AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default', 24], // the design's example (SA-CORE-2018-002)
  ['AC:None/A:None/CI:All/II:All/E:Exploit/TD:All', 25], // SA-CORE-2014-005
  ['AC:None/A:User/CI:All/II:All/E:Exploit/TD:All', 23], // DRUPAL-SA-PSA-2016-004
  ['AC:Basic/A:None/CI:None/II:None/E:Exploit/TD:Default', 12],
  ['AC:Basic/A:None/CI:Some/II:Some/E:Theoretical/TD:All', 16],
  ['AC:Complex/A:User/CI:Some/II:Some/E:Theoretical/TD:Uncommon', 11],
  ['AC:Basic/A:Admin/CI:All/II:All/E:Theoretical/TD:Uncommon', 15],
  ['AC:None/A:None/CI:Some/II:None/E:Theoretical/TD:Uncommon', 13],
  ['AC:Complex/A:None/CI:Some/II:Some/E:Theoretical/TD:Uncommon', 13],
  ['AC:Basic/A:User/CI:Some/II:Some/E:Theoretical/TD:Default', 13],
  ['AC:Complex/A:None/CI:None/II:Some/E:Theoretical/TD:Default', 11],
  ['AC:None/A:User/CI:Some/II:None/E:Theoretical/TD:Default', 12],
  ['AC:Basic/A:None/CI:Some/II:Some/E:Theoretical/TD:Uncommon', 14],
  ['AC:Basic/A:User/CI:Some/II:Some/E:Proof/TD:Default', 14],
  ['AC:Basic/A:User/CI:Some/II:None/E:Theoretical/TD:Default', 10],
  ['AC:Basic/A:None/CI:None/II:Some/E:Theoretical/TD:Uncommon', 11],
  ['AC:Complex/A:None/CI:Some/II:Some/E:Theoretical/TD:Default', 14],
];

describe('risk: computeRisk', () => {
  it('scores the published example 24/25, Highly Critical', () => {
    expect(computeRisk('AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default')).to.deep.equal({
      vector: 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
      score: 24,
      level: 'Highly Critical',
    });
  });

  for (const [vector, score] of PUBLISHED) {
    it(`${vector} = ${score}`, () => {
      expect(computeRisk(vector).score).to.equal(score);
    });
  }

  it('reaches exactly 25 at most and 4 at least', () => {
    const worst = RISK_METRICS.map((m) => `${m.code}:${Object.keys(m.values)[0]}`).join('/');
    const least = RISK_METRICS.map((m) => `${m.code}:${Object.keys(m.values).at(-1)}`).join('/');
    expect(worst).to.equal('AC:None/A:None/CI:All/II:All/E:Exploit/TD:All');
    expect(computeRisk(worst).score).to.equal(MAX_RISK_SCORE);
    expect(computeRisk(least)).to.deep.include({ score: 4, level: 'Not Critical' });
  });

  it('scores every one of the 729 vectors within 0..25', () => {
    let vectors = [''];
    for (const m of RISK_METRICS) {
      vectors = vectors.flatMap((prefix) => Object.keys(m.values).map((v) => `${prefix}${prefix ? '/' : ''}${m.code}:${v}`));
    }
    expect(vectors).to.have.length(729);
    for (const v of vectors) {
      const { score, level } = computeRisk(v);
      expect(score).to.be.within(0, 25);
      expect(level).to.equal(riskLevelForScore(score));
    }
  });

  it('rejects bad vectors with BAD_RISK_VECTOR', () => {
    const bad = [
      '',
      'AC:None/A:None/CI:All/II:All/E:Exploit', // a metric missing
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default/TD:Default', // a metric twice
      'AC:None/A:None/CI:All/II:All/E:Exploit/E:Exploit', // E twice, TD missing
      'A:None/AC:None/CI:All/II:All/E:Exploit/TD:Default', // out of order
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Everything', // unknown value
      'AC:none/A:None/CI:All/II:All/E:Exploit/TD:Default', // wrong case
      'ac:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
      'AC: None/A:None/CI:All/II:All/E:Exploit/TD:Default', // space
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default ',
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default/',
      'AC:None//A:None/CI:All/II:All/E:Exploit/TD:Default',
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:toString', // inherited property names are not values
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:__proto__',
      'AC=None/A=None/CI=All/II=All/E=Exploit/TD=Default',
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default'.repeat(10),
      '24/25 AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
    ];
    for (const v of bad)
      expect(
        codeOf(() => computeRisk(v)),
        v,
      ).to.equal('BAD_RISK_VECTOR');
    expect(codeOf(() => computeRisk(42 as unknown as string))).to.equal('BAD_RISK_VECTOR');
  });
});

describe('risk: levels', () => {
  it('names each score range', () => {
    const expected: [number, RiskLevel][] = [
      [0, 'Not Critical'],
      [4, 'Not Critical'],
      [5, 'Less Critical'],
      [9, 'Less Critical'],
      [10, 'Moderately Critical'],
      [14, 'Moderately Critical'],
      [15, 'Critical'],
      [19, 'Critical'],
      [20, 'Highly Critical'],
      [25, 'Highly Critical'],
    ];
    for (const [score, level] of expected) expect(riskLevelForScore(score), String(score)).to.equal(level);
  });

  it('crosses each boundary through real vectors', () => {
    // 4 → 5: Complex/Admin/None/None/Theoretical/Uncommon is 1+1+0+0+1+1 = 4; AC:Basic adds one.
    expect(computeRisk('AC:Complex/A:Admin/CI:None/II:None/E:Theoretical/TD:Uncommon')).to.deep.include({ score: 4, level: 'Not Critical' });
    expect(computeRisk('AC:Basic/A:Admin/CI:None/II:None/E:Theoretical/TD:Uncommon')).to.deep.include({ score: 5, level: 'Less Critical' });
    expect(computeRisk('AC:Basic/A:Admin/CI:Some/II:None/E:Theoretical/TD:Default')).to.deep.include({ score: 9, level: 'Less Critical' });
    expect(computeRisk('AC:Basic/A:User/CI:Some/II:None/E:Theoretical/TD:Default')).to.deep.include({ score: 10, level: 'Moderately Critical' });
    expect(computeRisk('AC:Basic/A:None/CI:Some/II:Some/E:Theoretical/TD:Uncommon')).to.deep.include({ score: 14, level: 'Moderately Critical' });
    expect(computeRisk('AC:Basic/A:None/CI:Some/II:Some/E:Theoretical/TD:Default')).to.deep.include({ score: 15, level: 'Critical' });
    expect(computeRisk('AC:Basic/A:None/CI:All/II:Some/E:Theoretical/TD:All')).to.deep.include({ score: 18, level: 'Critical' });
    expect(computeRisk('AC:Basic/A:None/CI:All/II:Some/E:Proof/TD:All')).to.deep.include({ score: 19, level: 'Critical' });
    expect(computeRisk('AC:None/A:None/CI:All/II:Some/E:Proof/TD:Default')).to.deep.include({ score: 20, level: 'Highly Critical' });
  });

  it('refuses scores outside 0..25', () => {
    for (const s of [-1, 26, 2.5, NaN])
      expect(
        codeOf(() => riskLevelForScore(s)),
        String(s),
      ).to.equal('BAD_RISK_VECTOR');
  });

  it('ranks levels from Not Critical (0) to Highly Critical (4)', () => {
    expect(RISK_LEVELS.map(riskLevelRank)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(riskLevelRank('Critical')).to.be.lessThan(riskLevelRank('Highly Critical'));
    expect(codeOf(() => riskLevelRank('Highly critical' as RiskLevel))).to.equal('BAD_RISK_VECTOR');
  });
});
