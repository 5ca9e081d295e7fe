// npm run soak: the property tests (test/properties.test.ts, test/paths.test.ts) for a fixed time each, from one
// printed seed, until at least TARGET cases have run in all; prints seed, cases, seconds and cases/s, per
// property and in total. For before a release, not CI: `npm test` runs each property's usual number of cases.
//
//   node bench/soak.mjs [SECONDS_PER_PROPERTY=20] [TARGET_CASES=1000000] [SEED=random]
//
// A property that finds a counterexample (an accepted forgery, an uncoded throw, a wrong count) fails its
// test with fast-check's report; the soak then exits 1. Replay with the printed seed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FILES = ['test/properties.test.ts', 'test/paths.test.ts'];
const seconds = Number(process.argv[2] ?? 20);
const target = Number(process.argv[3] ?? 1_000_000);
const seed = process.argv[4] !== undefined ? Number(process.argv[4]) : (Math.random() * 2 ** 31) | 0;
if (!(seconds > 0) || !(target > 0) || !Number.isSafeInteger(seed)) {
  console.error('usage: soak.mjs [SECONDS_PER_PROPERTY] [TARGET_CASES] [SEED]');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'countersign-soak-'));
const rounds = [];
let cases = 0;
let ms = 0;
let failed = 0;
console.log(`soak: seed ${seed}, ${seconds} s per property, until ${target.toLocaleString('en')} cases`);
try {
  // Each round replays the suite from the seed plus the round number, so rounds explore different cases.
  for (let round = 0; cases < target; round++) {
    const report = join(work, `round-${round}.jsonl`);
    const roundSeed = (seed + round) | 0;
    const t0 = Date.now();
    const run = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/mocha/bin/mocha.js'),
        '--no-config',
        '--node-option',
        'import=tsx',
        '--require',
        'test/support/root-hooks.ts',
        '--timeout',
        '0',
        ...FILES,
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, COUNTERSIGN_SOAK_SECONDS: String(seconds), COUNTERSIGN_SOAK_SEED: String(roundSeed), COUNTERSIGN_SOAK_REPORT: report },
      },
    );
    const lines = readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const roundCases = lines.reduce((a, l) => a + l.cases, 0);
    const roundMs = lines.reduce((a, l) => a + l.ms, 0);
    cases += roundCases;
    ms += roundMs;
    failed += lines.filter((l) => l.failed).length + (run.status === 0 ? 0 : 1);
    rounds.push({ seed: roundSeed, properties: lines.length, cases: roundCases, propertyMs: roundMs, wallMs: Date.now() - t0, exit: run.status });
    console.log(
      `soak round ${round} (seed ${roundSeed}): ${lines.length} properties, ${roundCases.toLocaleString('en')} cases in ${(roundMs / 1000).toFixed(1)} s of property time, ` +
        `${Math.round(roundCases / (roundMs / 1000)).toLocaleString('en')} cases/s; per property (cases/s): ${lines.map((l) => Math.round(l.cases / Math.max(l.ms / 1000, 0.001))).join(' ')}; mocha exit ${run.status}`,
    );
    if (run.status !== 0) break;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(
  `soak: seed ${seed}: ${cases.toLocaleString('en')} cases in ${(ms / 1000).toFixed(1)} s of property time, ${Math.round(cases / (ms / 1000)).toLocaleString('en')} cases/s; ` +
    `${failed === 0 ? 'no property failed (no accepted forgery, no uncoded throw)' : `${failed} FAILED`}`,
);
process.exit(failed === 0 ? 0 : 1);
