// Human or --json output, and the mapping from errors to exit codes (0 ok, 1 rejected, 2 usage or I/O).
import { CountersignError, DistributionError, KeyError, StoreError, UsageError, VerificationError } from '../lib/core/errors.js';
import type { Context } from './context.js';
import { stringifyForOutput } from '../lib/core/json.js';

export interface OutputFlags {
  json?: boolean;
}

/** Prints one result: a JSON object with `ok: true` under --json, else the human lines. */
export function succeed(ctx: Context, flags: OutputFlags, data: Record<string, unknown>, human: string | string[]): void {
  if (flags.json) ctx.out(stringifyForOutput({ ok: true, ...data }));
  else ctx.out(Array.isArray(human) ? human.join('\n') : human);
}

/** Prints a rejection that is an answer, not a crash (e.g. a bundle that fails verification). */
export function fail(ctx: Context, flags: OutputFlags, err: CountersignError, human?: string[]): void {
  ctx.exitCode = exitCodeFor(err);
  if (flags.json) {
    const body: Record<string, unknown> = { ok: false, code: err.code, message: err.message };
    if (err instanceof VerificationError) body.reasons = err.reasons;
    else if (Object.keys(err.details).length > 0) body.details = err.details;
    ctx.out(stringifyForOutput(body));
    return;
  }
  if (human) ctx.err(human.join('\n'));
  // A VerificationError's message already names each reason's code: print the reasons, not the message.
  else if (err instanceof VerificationError) ctx.err(err.reasons.map((r) => `error[${r.code}]: ${r.message}`).join('\n'));
  else ctx.err(`error[${err.code}]: ${err.message}`);
}

/**
 * Usage, I/O, the user's own keys and passphrases, trust-store errors (missing, locked, corrupt) and a failed
 * hub/site conversation (an unreachable peer, a registry error) are not verdicts on anything: exit 2.
 */
export function exitCodeFor(err: CountersignError): number {
  if (callersOwn.has(err)) return 2;
  return err instanceof UsageError || err instanceof KeyError || err instanceof StoreError || err instanceof DistributionError ? 2 : 1;
}

/** The message of every `.demandCommand()`: the parser answers it with the help page of the command named. */
export const SUBCOMMAND_NEEDED = 'Name a command; see --help.';

const callersOwn = new WeakSet<CountersignError>();

/**
 * Runs `make` over the caller's own inputs (a policy built from --threshold and --signer): a rule it breaks
 * is their mistake, exit 2, under the rule's own code (BAD_THRESHOLD), since no document is under check.
 */
export function fromCallersInput<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof CountersignError) callersOwn.add(err);
    throw err;
  }
}

// yargs wraps epilogues to the terminal width, which breaks a long example across lines. Each example is
// therefore a short token in the epilogue, replaced by the whole line once yargs has rendered the page.
const examples_: string[] = [];

/** An epilogue (add it last) of one full, copyable line per example, each starting `countersign `. */
export function examples(...lines: string[]): string {
  const tokens = lines.map((line) => {
    const i = examples_.indexOf(line);
    return `  @@example-${i >= 0 ? i : examples_.push(line) - 1}@@`;
  });
  return `\n${lines.length > 1 ? 'Examples' : 'Example'}:\n${tokens.join('\n')}`;
}

/** A rendered --help page with every example token replaced by its line. */
export function renderHelp(page: string): string {
  return page.replace(/@@example-(\d+)@@/g, (_, i: string) => examples_[Number(i)]!);
}
