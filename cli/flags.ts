// Flag values are the caller's words: a malformed one is a usage error (exit 2), not a rejection.
import { CountersignError, UsageError } from '../lib/core/errors.js';
import { RISK_LEVELS, type RiskLevel } from '../lib/core/risk.js';
import { parseUserTime } from '../lib/core/time.js';

export function checkFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof CountersignError && !(err instanceof UsageError)) {
      // The message names the flag once: lib errors that were told the flag's name already start with it.
      const message = err.message.startsWith(flag) ? err.message : `${flag}: ${err.message}`;
      throw new UsageError('USAGE', message, { flag, cause: err.code });
    }
    throw err;
  }
}

export function timeFlag(flag: string, text: string): Date {
  return checkFlag(flag, () => parseUserTime(text, flag));
}

/** A risk level as a person types it: `Critical`, `highly-critical`, `Highly_Critical`; absent is null. */
export function riskFlag(flag: string, text: string | undefined): RiskLevel | null {
  if (text === undefined) return null;
  const found = RISK_LEVELS.find((l) => l.toLowerCase().replace(/ /g, '-') === text.toLowerCase().replace(/[ _]/g, '-'));
  if (!found) throw new UsageError('USAGE', `${flag} ${JSON.stringify(text)} is not a risk level (${RISK_LEVELS.join(', ')})`);
  return found;
}

/** The one overwrite rule: every command that writes a file refuses an existing one (OUTPUT_EXISTS) without it. */
export const FORCE_OPTION = { type: 'boolean', describe: 'Replace output files that already exist (else OUTPUT_EXISTS)' } as const;

/**
 * For commands that take a site's trust either from --policy or from --store: exactly one is
 * required, and with --store what the site runs comes from the store, not from flags.
 */
export function checkTrustSource(args: { policy?: string; store?: string; product?: string; component?: string; installed?: string; chain?: string[] }): void {
  if ((args.policy === undefined) === (args.store === undefined)) throw new UsageError('USAGE', 'give exactly one of --policy or --store');
  if (args.store === undefined) return;
  const given = (['product', 'component', 'installed'] as const).filter((f) => args[f] !== undefined);
  if (given.length > 0)
    throw new UsageError('USAGE', `--${given.join(', --')}: with --store, what the site runs comes from the store (countersign trust record)`);
  if (args.chain !== undefined) throw new UsageError('USAGE', '--chain: with --store, accept rotations into the store first (countersign trust update)');
}
