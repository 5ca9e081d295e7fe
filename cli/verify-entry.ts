// What the bin runs for a `countersign verify` line: scripts/bundle-cli.mjs bundles this module on its own, beside
// the whole CLI, so the check a site makes on cron and on every pushed notification loads, hashes and
// deserialises the verify command's code alone, not every command's. It runs only the lines the direct parser
// takes (cli/direct-argv.ts) and hands any other (help, a mistake, anything yargs must parse) to the whole CLI,
// which answers it as it always has; test/verify-entry.test.ts holds the two to the same output.
import { processContext, type Context } from './context.js';
import { parseDirectly } from './direct-argv.js';
import { exitQuietlyOnClosedOutput, GLOBAL_OPTIONS, runGuarded, withStdin } from './run.js';
import { verifyCommand } from './verify.js';

/**
 * The exit code of `argv` when this bundle can run it, having run it (after `beforeRun`); null, having run
 * nothing, when the whole CLI must.
 */
export async function runVerify(argv: string[], ctx: Context, beforeRun: () => void = () => {}): Promise<number | null> {
  if (argv[0] !== 'verify') return null;
  let direct: ReturnType<typeof parseDirectly>;
  try {
    direct = parseDirectly(verifyCommand(ctx), withStdin(argv), GLOBAL_OPTIONS);
  } catch {
    return null; // the whole CLI parses it again, inside its guard, and reports what went wrong
  }
  if (!direct) return null;
  beforeRun();
  return runGuarded(argv, ctx, async () => void (await direct.handler(direct.args)));
}

/** Runs this process's command line and sets its exit code, when runVerify can; false when the whole CLI must. */
export async function main(): Promise<boolean> {
  const code = await runVerify(process.argv.slice(2), processContext(), exitQuietlyOnClosedOutput);
  if (code === null) return false;
  process.exitCode = code;
  return true;
}
