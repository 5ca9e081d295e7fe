// What a site asks for (lib/site/choose.ts), rule by rule, and as a property over random indexes.
import { expect } from 'chai';
import fc from 'fast-check';
import type { IndexEntry } from '../../lib/distribution/messages.js';
import { RISK_LEVELS, riskLevelForScore, type RiskLevel } from '../../lib/core/risk.js';
import { meetsRisk } from '../../lib/core/risk.js';
import { nextWanted, type Installed } from '../../lib/site/choose.js';
import { compareVersions } from '../../lib/core/version.js';

function offer(version: string, fields: Partial<IndexEntry> = {}): IndexEntry {
  const product = fields.product ?? 'drupal';
  const component = fields.component ?? 'core';
  return {
    name: `${product}-${component}-${version}`,
    product,
    component,
    version,
    appliesTo: [],
    risk: { vector: 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default', score: 24, level: 'Highly Critical' },
    advisory: null,
    size: 1000,
    sha256: '0'.repeat(64),
    ...fields,
  };
}

const CORE_10_2_3: Installed[] = [{ product: 'drupal', component: 'core', version: '10.2.3' }];
const ANY = { minRisk: null, asked: new Set<string>() };

describe('site: which package it asks for', () => {
  it('asks for a newer release of what it runs', () => {
    expect(nextWanted([offer('10.2.4')], CORE_10_2_3, ANY)?.name).to.equal('drupal-core-10.2.4');
  });
  it('never asks for what it does not run, nor for an older or equal version', () => {
    expect(nextWanted([offer('10.2.4', { component: 'views' })], CORE_10_2_3, ANY)).to.equal(undefined);
    expect(nextWanted([offer('10.2.4', { product: 'backdrop' })], CORE_10_2_3, ANY)).to.equal(undefined);
    expect(nextWanted([offer('10.2.3'), offer('10.2.2')], CORE_10_2_3, ANY)).to.equal(undefined);
  });
  it('asks only for releases that apply to its version (backports name older versions)', () => {
    const offers = [offer('10.3.1', { appliesTo: ['10.3.0'] }), offer('10.2.4', { appliesTo: ['10.2.3'] })];
    expect(nextWanted(offers, CORE_10_2_3, ANY)?.name).to.equal('drupal-core-10.2.4');
    expect(nextWanted(offers, [{ product: 'drupal', component: 'core', version: '10.3.0' }], ANY)?.name).to.equal('drupal-core-10.3.1');
  });
  it('prefers the highest applicable version, and never asks twice', () => {
    const offers = [offer('10.2.4'), offer('10.2.5'), offer('10.2.10')];
    expect(nextWanted(offers, CORE_10_2_3, ANY)?.version).to.equal('10.2.10');
    expect(nextWanted(offers, CORE_10_2_3, { minRisk: null, asked: new Set(['drupal-core-10.2.10']) })?.version).to.equal('10.2.5');
  });
  it('keeps to its risk threshold; a release without a score qualifies only when there is no threshold', () => {
    const critical = offer('10.2.4', { risk: { vector: 'x', score: 15, level: 'Critical' } });
    expect(nextWanted([critical], CORE_10_2_3, { minRisk: 'Highly Critical', asked: new Set() })).to.equal(undefined);
    expect(nextWanted([critical], CORE_10_2_3, { minRisk: 'Critical', asked: new Set() })?.version).to.equal('10.2.4');
    expect(meetsRisk({ risk: null }, 'Not Critical')).to.equal(false);
    expect(meetsRisk({ risk: null }, null)).to.equal(true);
  });
  it('skips offers with malformed versions instead of trusting or failing on them (the index is unsigned)', () => {
    expect(nextWanted([offer('not a version'), offer('10.2.4')], CORE_10_2_3, ANY)?.version).to.equal('10.2.4');
  });

  it('property: the choice is eligible, and no eligible offer is higher', () => {
    const versionArb = fc.tuple(fc.integer({ min: 9, max: 11 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 })).map((p) => p.join('.'));
    const offerArb = fc.record({
      version: versionArb,
      component: fc.constantFrom('core', 'views'),
      appliesTo: fc.array(versionArb, { maxLength: 3 }).map((a) => [...new Set(a)]),
      score: fc.option(fc.integer({ min: 0, max: 25 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.array(offerArb, { maxLength: 12 }),
        versionArb,
        fc.option(fc.constantFrom(...RISK_LEVELS), { nil: null }),
        (specs, installedVersion, minRisk: RiskLevel | null) => {
          const offers = specs.map((o) =>
            offer(o.version, {
              component: o.component,
              appliesTo: o.appliesTo,
              risk: o.score === null ? null : { vector: 'x', score: o.score, level: riskLevelForScore(o.score) },
            }),
          );
          const installed: Installed[] = [{ product: 'drupal', component: 'core', version: installedVersion }];
          const eligible = (o: IndexEntry) =>
            o.component === 'core' &&
            compareVersions(o.version, installedVersion) > 0 &&
            (o.appliesTo.length === 0 || o.appliesTo.includes(installedVersion)) &&
            meetsRisk(o, minRisk);
          const chosen = nextWanted(offers, installed, { minRisk, asked: new Set() });
          const candidates = offers.filter(eligible);
          if (candidates.length === 0) return chosen === undefined;
          return chosen !== undefined && eligible(chosen) && candidates.every((c) => compareVersions(c.version, chosen.version) <= 0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
