// How many cases a property test runs. In `npm test`, the number each test names. In a soak (`npm run soak`,
// bench/soak.mjs), set by the environment:
//   COUNTERSIGN_SOAK_SECONDS=S  each property runs for S seconds (as many cases as fit), not a fixed number
//   COUNTERSIGN_SOAK_SEED=N     the seed every property starts from (the soak prints it; replay with the same one)
//   COUNTERSIGN_SOAK_REPORT=F   appends one JSON line per property to F, in the order they run: {cases, ms, failed, interrupted}
// A failing property fails its test either way, with fast-check's report (seed, path, counterexample).
import fc from 'fast-check';
import { appendFileSync } from 'node:fs';

const SOAK_SECONDS = Number(process.env.COUNTERSIGN_SOAK_SECONDS ?? 0);
const SOAK_SEED = process.env.COUNTERSIGN_SOAK_SEED === undefined ? undefined : Number(process.env.COUNTERSIGN_SOAK_SEED);
const REPORT = process.env.COUNTERSIGN_SOAK_REPORT;

/** fast-check parameters for a property that runs `numRuns` cases in a normal test run. */
export function runs<T = unknown>(numRuns: number): fc.Parameters<T> {
  if (!(SOAK_SECONDS > 0)) return { numRuns };
  const started = Date.now();
  const reporter = (details: fc.RunDetails<T>) => {
    if (REPORT) {
      const line = { cases: details.numRuns, ms: Date.now() - started, failed: details.failed, interrupted: details.interrupted };
      appendFileSync(REPORT, JSON.stringify(line) + '\n');
    }
    if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? 'property failed');
  };
  return {
    numRuns: 2 ** 31 - 1,
    interruptAfterTimeLimit: SOAK_SECONDS * 1000,
    markInterruptAsFailure: false,
    ...(SOAK_SEED !== undefined && { seed: SOAK_SEED }),
    reporter,
  };
}
