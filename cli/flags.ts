// Flag values are the caller's words: a malformed one is a usage error (exit 2), not a rejection.
import { CountersignError, UsageError } from '../lib/errors.js';
import { parseUserTime } from '../lib/time.js';

export function checkFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof CountersignError && !(err instanceof UsageError)) {
      throw new UsageError('USAGE', `${flag}: ${err.message}`, { flag, cause: err.code });
    }
    throw err;
  }
}

export function timeFlag(flag: string, text: string): Date {
  return checkFlag(flag, () => parseUserTime(text, flag));
}
