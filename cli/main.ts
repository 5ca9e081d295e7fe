// The program: `node dist/cli/main.js`, or cli/main.ts under tsx. The shipped bin, dist/countersign.cjs,
// runs the bundle of this module (scripts/bundle-cli.mjs), which calls main() itself.
import { processContext } from './context.js';
import { run } from './parser.js';
import { exitQuietlyOnClosedOutput } from './run.js';
import { startThreadPool } from './thread-pool.js';

export { run };

/** Runs the command line this process was given and sets its exit code. */
export async function main(): Promise<void> {
  exitQuietlyOnClosedOutput();
  const argv = process.argv.slice(2);
  await startThreadPool(argv);
  process.exitCode = await run(argv, processContext());
}

declare const COUNTERSIGN_BUNDLED: boolean | undefined;
if (typeof COUNTERSIGN_BUNDLED === 'undefined') void main();
