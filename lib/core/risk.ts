// The Drupal security risk calculator (drupal.org/drupal-security-team/security-risk-levels-defined):
// six metrics, each with three values, summed to a score out of 25 that names a level.
import { ReleaseError } from './errors.js';

/** Levels from least to most severe; the index is the rank. */
export const RISK_LEVELS = ['Not Critical', 'Less Critical', 'Moderately Critical', 'Critical', 'Highly Critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface Risk {
  vector: string;
  score: number;
  level: RiskLevel;
}

export const MAX_RISK_SCORE = 25;

/**
 * Points per metric value, in the order a vector must list the metrics.
 *
 * AC, A, CI and II, and E:Proof and E:Theoretical, are the points the published page lists.
 * Target distribution has no points on that page and its older copies give E:Exploit +3, but the
 * scores the team publishes on advisories fix the rest: E:Exploit is E:Proof + 2 (AC:Basic/A:None/
 * CI:None/II:None/E:Exploit/TD:Default = 12; AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default =
 * 24) and TD steps by one point (…/E:Theoretical/TD:Uncommon, TD:Default and TD:All score 2, 3 and
 * 4 over the other four metrics). Together they reach exactly the stated maximum of 25.
 */
export const RISK_METRICS = [
  { code: 'AC', name: 'Access complexity', values: { None: 4, Basic: 2, Complex: 1 } },
  { code: 'A', name: 'Authentication', values: { None: 4, User: 2, Admin: 1 } },
  { code: 'CI', name: 'Confidentiality impact', values: { All: 5, Some: 3, None: 0 } },
  { code: 'II', name: 'Integrity impact', values: { All: 5, Some: 3, None: 0 } },
  { code: 'E', name: 'Exploit (zero-day impact)', values: { Exploit: 4, Proof: 2, Theoretical: 1 } },
  { code: 'TD', name: 'Target distribution', values: { All: 3, Default: 2, Uncommon: 1 } },
] as const satisfies readonly { code: string; name: string; values: Record<string, number> }[];

// Longest possible vector is well under this; anything longer is not worth splitting.
const MAX_VECTOR_LENGTH = 200;

/** The level a score names: 0–4, 5–9, 10–14, 15–19, 20–25. */
export function riskLevelForScore(score: number): RiskLevel {
  if (!Number.isInteger(score) || score < 0 || score > MAX_RISK_SCORE) {
    throw new ReleaseError('BAD_RISK_VECTOR', `risk score ${score} is not an integer from 0 to ${MAX_RISK_SCORE}`);
  }
  return RISK_LEVELS[Math.min(Math.floor(score / 5), RISK_LEVELS.length - 1)]!;
}

/** 0 for Not Critical up to 4 for Highly Critical; anything else is BAD_RISK_VECTOR. */
export function riskLevelRank(level: RiskLevel): number {
  const rank = (RISK_LEVELS as readonly string[]).indexOf(level);
  if (rank < 0) throw new ReleaseError('BAD_RISK_VECTOR', `unknown risk level ${JSON.stringify(level)}`);
  return rank;
}

/** Whether a release rated `risk` reaches `minRisk`: with no minimum anything does; an unrated one reaches none. */
export function meetsRisk(rated: { risk: Risk | null }, minRisk: RiskLevel | null): boolean {
  if (minRisk === null) return true;
  return rated.risk !== null && riskLevelRank(rated.risk.level) >= riskLevelRank(minRisk);
}

/**
 * Scores a vector such as `AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default` (24, Highly
 * Critical). Strict: all six metrics exactly once, in the order AC/A/CI/II/E/TD, known values
 * only, case as published, no spaces.
 */
export function computeRisk(vector: string): Risk {
  const bad = (why: string) => new ReleaseError('BAD_RISK_VECTOR', `risk vector ${JSON.stringify(vector)} ${why}`, { vector });
  if (typeof vector !== 'string') throw new ReleaseError('BAD_RISK_VECTOR', 'risk vector is not a string');
  if (vector.length > MAX_VECTOR_LENGTH) throw new ReleaseError('BAD_RISK_VECTOR', 'risk vector is too long');
  const parts = vector.split('/');
  if (parts.length !== RISK_METRICS.length) {
    throw bad(`has ${parts.length} metrics, expected ${RISK_METRICS.map((m) => m.code).join('/')}`);
  }
  let score = 0;
  RISK_METRICS.forEach((metric, i) => {
    const part = parts[i]!;
    const prefix = `${metric.code}:`;
    if (!part.startsWith(prefix)) throw bad(`has ${JSON.stringify(part)} where ${metric.code} (${metric.name}) belongs`);
    const value = part.slice(prefix.length);
    const values: Readonly<Record<string, number>> = metric.values;
    if (!Object.hasOwn(values, value)) {
      throw bad(`has unknown ${metric.code} value ${JSON.stringify(value)}; expected one of ${Object.keys(values).join(', ')}`);
    }
    score += values[value]!;
  });
  return { vector, score, level: riskLevelForScore(score) };
}
