// The client side of `log serve`'s POST /add: submits a signed document's envelope and waits until the log has
// published it. A 503 (the witness quorum has not cosigned yet, or the log is briefly down) is retried, so a release
// is not lost when the log or a witness blinks; a refusal comes back with the log's own code.
import { CountersignError, DistributionError } from '../core/errors.js';

export interface Submitted {
  index: number;
  duplicate: boolean;
  size: number;
}

export async function submitToLog(url: string, envelopeBytes: Uint8Array, opts: { tries?: number; waitMs?: number } = {}): Promise<Submitted> {
  const tries = opts.tries ?? 6;
  const target = new URL('add', url.endsWith('/') ? url : `${url}/`);
  let last = '';
  for (let attempt = 1; attempt <= tries; attempt++) {
    let res: Response | undefined;
    try {
      res = await fetch(target, {
        method: 'POST',
        body: Buffer.from(envelopeBytes).toString('utf8'),
        headers: { 'Content-Type': 'application/json' },
        signal: AbortSignal.timeout(60_000),
        redirect: 'error',
      });
    } catch (err) {
      last = `cannot reach ${target}: ${(err as Error).message}`;
    }
    if (res) {
      const text = (await res.text()).slice(0, 1024 * 1024);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // reported below
      }
      if (res.status === 200 && Number.isSafeInteger(body.index))
        return { index: body.index as number, duplicate: body.duplicate === true, size: Number(body.size) };
      if (res.status !== 503 && res.status !== 429 && typeof body.code === 'string') {
        // Why a key did not count (KEY_NOT_ACTIVE, KEY_REVOKED, …), as the log said it.
        const problems = ((body.details as { problems?: Array<{ code: string; message: string }> } | undefined)?.problems ?? []).filter(
          (p) => typeof p?.code === 'string' && typeof p.message === 'string',
        );
        const why = problems.map((p) => `; ${p.code}: ${p.message}`).join('');
        throw new CountersignError(body.code as CountersignError['code'], `the log refused the document: ${String(body.message)}${why}`, {
          status: res.status,
          ...(problems.length ? { problems: problems.map((p) => ({ code: p.code, message: p.message })) } : {}),
        });
      }
      last = `${target} answered HTTP ${res.status}: ${String(body.message ?? text.slice(0, 200))}`;
    }
    if (attempt < tries) await new Promise((r) => setTimeout(r, (opts.waitMs ?? 1000) * attempt));
  }
  throw new DistributionError('UNREACHABLE', `${last} (after ${tries} tries)`);
}
