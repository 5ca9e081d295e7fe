// Human or --json output, and the mapping from errors to exit codes (0 ok, 1 rejected, 2 usage or I/O).
import { CountersignError, DistributionError, StoreError, UsageError, VerificationError } from '../lib/errors.js';
import type { Context } from './context.js';
import { stringifyForOutput } from '../lib/json.js';

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
  else ctx.err(`error[${err.code}]: ${err.message}`);
}

/**
 * Usage, I/O, trust-store errors (missing, locked, corrupt) and a failed hub/site conversation (an
 * unreachable peer, a registry error) are not verdicts on anything: exit 2.
 */
export function exitCodeFor(err: CountersignError): number {
  return err instanceof UsageError || err instanceof StoreError || err instanceof DistributionError ? 2 : 1;
}
