import { CountersignError } from '../../lib/errors.js';

/** The stable code of the countersign error `fn` throws; anything else fails the test. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError) return err.code;
    throw err;
  }
  throw new Error('expected an error');
}
