import { CountersignError } from '../../lib/core/errors.js';

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

/** The countersign error a promise rejects with; anything else (or no rejection) fails the test. */
export async function rejectionOf(p: Promise<unknown>): Promise<CountersignError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CountersignError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** The stable code of the countersign error a promise rejects with. */
export async function rejectionCode(p: Promise<unknown>): Promise<string> {
  return (await rejectionOf(p)).code;
}

/** The problems an installer error lists, each as "CODE path". */
export function problemCodes(err: CountersignError): string[] {
  return ((err.details.problems ?? []) as Array<{ code: string; path?: string }>).map((p) => `${p.code} ${p.path ?? ''}`.trim());
}
