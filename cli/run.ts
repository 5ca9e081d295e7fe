// One command line run to its exit code, whichever bundle runs it (the whole CLI, cli/parser.ts, or the verify
// bundle, cli/verify-entry.ts): every error becomes a coded message, never a stack trace.
import type { Options } from 'yargs';
import { CountersignError, UsageError } from '../lib/core/errors.js';
import { errnoOf } from '../lib/core/errno.js';
import type { Context } from './context.js';
import { STDIN } from './files.js';
import { fail } from './output.js';

/** The options every command takes. */
export const GLOBAL_OPTIONS: Record<string, Options> = {
  json: { type: 'boolean', describe: 'Print one JSON object (ok: true|false) instead of text', global: true },
  debug: { type: 'boolean', describe: 'Print stack traces of internal errors', global: true },
};

/** The command line as commands read it: `-` stands for standard input (files.ts). */
export function withStdin(argv: readonly string[]): string[] {
  return argv.map((a) => (a === '-' ? STDIN : a));
}

/**
 * Runs `body` for the command line `argv` and returns the exit code. `printHelp` prints a command's help page,
 * for an error that asks for one (a group named without its subcommand; none is given where no such error can arise).
 */
export async function runGuarded(
  argv: readonly string[],
  ctx: Context,
  body: () => Promise<void>,
  printHelp?: (ctx: Context, argv: string[]) => Promise<void>,
): Promise<number> {
  const json = argv.includes('--json');
  try {
    await body();
  } catch (caught) {
    // The stand-in for `-` reached a path that is not read as a document (node refuses its NUL).
    const err =
      argv.includes('-') && (errnoOf(caught) === 'ERR_INVALID_ARG_VALUE' || String((caught as Error)?.message).includes(STDIN))
        ? new UsageError('USAGE', '- (standard input) is taken only where a bundle or document is read')
        : caught;
    if (err instanceof CountersignError) {
      if (err.details.showHelp === true) {
        // A group named without its subcommand (`countersign hub`, or nothing at all) gets its help page.
        if (!json && printHelp) await printHelp({ ...ctx, out: ctx.err }, [...argv.filter((a) => a !== '--debug'), '--help']);
        fail(ctx, { json }, new UsageError('USAGE', err.message));
      } else fail(ctx, { json }, err);
    } else {
      ctx.exitCode = 2;
      const message = (err as Error)?.message ?? String(err);
      if (json) ctx.out(JSON.stringify({ ok: false, code: 'INTERNAL', message }));
      else ctx.err(`error[INTERNAL]: ${message}${argv.includes('--debug') ? `\n${(err as Error)?.stack}` : ''}`);
    }
  }
  return ctx.exitCode;
}

/** Output piped into `head` or a closed pager is not an error worth a stack trace. */
export function exitQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
