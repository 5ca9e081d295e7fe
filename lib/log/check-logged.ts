// The edge around verify-proof.ts for `verify --log-policy` and a store with a log policy: when a log location is
// known (--log URL|DIR), the proof a bundle lacks is fetched from the tiles, and so is the consistency proof from
// the largest checkpoint seen. Offline, the bundle's own proof is checked as it is.
import { StoreError, UsageError } from '../core/errors.js';
import type { StoreLogCheck, TrustStore } from '../core/trust-state.js';
import { recordLog } from '../node/trust-store.js';
import { parseSignedCheckpoint } from './checkpoint.js';
import { LogError } from './errors.js';
import { parseProof } from './proof.js';
import { proveDocument } from './prove.js';
import { fetchConsistencyProof, openLogSource, type LogSource } from './tile-reader.js';
import { parseTlogPolicy } from './tlog-policy.js';
import { verifyLogProof, type ProofCheckInput, type ProofCheckResult } from './verify-proof.js';

export interface CheckLoggedInput extends Omit<ProofCheckInput, 'consistency'> {
  /** Where to fetch a missing proof and consistency proofs from; undefined: offline. */
  source?: LogSource;
}

export async function checkLogged(input: CheckLoggedInput): Promise<ProofCheckResult & { fetched: boolean }> {
  let proof = input.proof;
  let fetched = false;
  if (proof === undefined && input.source) {
    proof = (await proveDocument(input.source, input.envelopeBytes)).proof;
    fetched = true;
  }
  let consistency: Uint8Array[] | undefined;
  if (proof !== undefined && input.largestSeen !== undefined && input.source) {
    const size = parseProof(proof).checkpoint.size;
    const seen = parseSignedCheckpoint(input.largestSeen).size;
    if (size > seen && seen > 0) {
      try {
        consistency = await fetchConsistencyProof(input.source, seen, size);
      } catch (err) {
        // The log given could not prove its own checkpoint extends the largest seen: a failure, never 'unchecked'
        // (I/O errors stay operational). Not fork evidence: nothing shows two trees, only that this one is unproved.
        if (!(err instanceof LogError)) throw err;
        throw new LogError('LOG_INCONSISTENT', `the log cannot prove size ${size} consistent with the largest checkpoint seen (size ${seen}): ${err.message}`, {
          kind: 'unproved',
          seenSize: seen,
          presentedSize: size,
        });
      }
    }
  }
  return { ...verifyLogProof({ ...input, proof, ...(consistency ? { consistency } : {}) }), fetched };
}

/** What a verify command reports about the log. */
export function describeLogged(r: ProofCheckResult & { fetched?: boolean }): Record<string, unknown> {
  return {
    index: r.index,
    origin: r.checkpoint.origin,
    size: r.checkpoint.size,
    witnesses: r.witnesses,
    cosigned: r.cosigned,
    consistency: r.consistency,
    ...(r.fetched ? { fetched: true } : {}),
  };
}

/**
 * The log check of a trust store with a log policy (verifyWithStore's checkLog): the store's policy and largest
 * checkpoint seen. A larger checkpoint that passed is recorded as the largest at once (it is signed, witnessed and
 * proved consistent whatever the rest of the bundle's checks say; an 'unchecked' one is not recorded), and a fork's two checkpoints are recorded as evidence
 * before the refusal is reported. Recording is best effort: a verifier that may not write the store (a web server
 * user) still gets its verdict, and the summary says `recorded: false`.
 */
export function storeLogCheck(dir: string, opts: { now: Date; maxAgeSeconds?: number; source?: LogSource; record?: boolean }): StoreLogCheck {
  const record = async (found: Parameters<typeof recordLog>[1]): Promise<boolean | undefined> => {
    // record: false (trust update, which holds the lock and writes the verdict's newLargest itself).
    if (opts.record === false) return undefined;
    try {
      await recordLog(dir, found, { now: opts.now });
      return true;
    } catch (err) {
      if (err instanceof UsageError || err instanceof StoreError) return false;
      throw err;
    }
  };
  return async (input, log) => {
    const policy = parseTlogPolicy(log.policy);
    const base = {
      envelopeBytes: input.envelopeBytes,
      policy,
      now: opts.now,
      ...(opts.maxAgeSeconds ? { maxAgeSeconds: opts.maxAgeSeconds } : {}),
      ...(log.largest ? { largestSeen: log.largest } : {}),
    };
    let r: Awaited<ReturnType<typeof checkLogged>>;
    try {
      r = await checkLogged({ ...base, proof: input.proof, ...(opts.source ? { source: opts.source } : {}) });
    } catch (offline) {
      // A bundle whose proof is missing or older than max-age (a release installed weeks after it was logged) gets a
      // fresh proof from the log the policy names, when it names one by URL; if that fails, the first verdict stands.
      const url = policy.logs.find((l) => l.url !== undefined)?.url;
      const refresh =
        offline instanceof LogError && (offline.code === 'NOT_LOGGED' || offline.code === 'CHECKPOINT_STALE') && !opts.source && url !== undefined;
      if (!refresh) return reportFork(offline);
      try {
        r = await checkLogged({ ...base, proof: undefined, source: openLogSource(url) });
      } catch (err) {
        // A fork shown by the fresh proof is reported (and kept); any other failure leaves the offline verdict.
        if (err instanceof LogError && err.code === 'LOG_INCONSISTENT') return reportFork(err);
        throw new LogError(offline.code, `${offline.message} (and no fresh proof from ${url}: ${(err as Error).message})`, offline.details);
      }
    }
    const recorded = r.newLargest ? await record({ largest: r.newLargest }) : undefined;
    return { ...(r.newLargest ? { newLargest: r.newLargest } : {}), summary: { ...describeLogged(r), ...(recorded === false ? { recorded } : {}) } };
  };

  async function reportFork(err: unknown): Promise<never> {
    const d = err instanceof LogError && err.code === 'LOG_INCONSISTENT' ? err.details : {};
    if (d.kind === 'fork' && typeof d.seen === 'string' && typeof d.presented === 'string') {
      const recorded = await record({ fork: { seen: d.seen, presented: d.presented } });
      throw new LogError('LOG_INCONSISTENT', (err as Error).message, { ...d, recorded });
    }
    throw err;
  }
}

const DURATION = /^([1-9][0-9]{0,9})(s|m|h|d)?$/;
const UNIT = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `--max-age`: a positive number of seconds, or with a unit s, m, h, d (7d, 36h). Undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNIT[(m[2] ?? 's') as keyof typeof UNIT];
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** The checkLog option of verifyWithStore for a store that has a log policy (offline: the bundle's own proof), else none. */
export function logCheckFor(store: TrustStore, now: Date): { checkLog?: StoreLogCheck } {
  return store.state.log ? { checkLog: storeLogCheck(store.dir, { now }) } : {};
}
