// What verify prints about a verified document, shared by its --policy/--store and --root forms.
import { describeSignatureInfo } from '../lib/core/signer-kinds.js';
import type { QuorumResult } from '../lib/core/quorum.js';
import type { VerifiedDocument } from '../lib/core/verify.js';
import { CountersignError, VerificationError, toReason } from '../lib/core/errors.js';
import type { Context } from './context.js';
import { exitCodeFor, fail } from './output.js';

/** Signatures made with another tool than countersign: which, and what they said (a security key's counter). */
export function toolLines(q: QuorumResult): string[] {
  return q.signedBy.flatMap((s, i) => {
    const info = q.signedWith[i]!;
    if (info.kind === 'countersign') return [];
    const extra = describeSignatureInfo(info);
    return [`  ${s.name}: ${info.kind}${extra ? `, ${extra}` : ''}`];
  });
}

export function describeLog(s: Record<string, unknown>): string {
  if (s.replayed === true)
    return `Logged: entry ${s.index} of ${s.origin}, in the store's replayed log (size ${s.size}): provider ${s.provider}${s.superProvider ? ', signed by the super provider (the root quorum)' : ''}`;
  const w = (s.witnesses as string[]).join(', ') || 'no witness (quorum none)';
  const c = s.cosigned as { newest: number } | null;
  return `Logged: entry ${s.index} of ${s.origin} (size ${s.size}), cosigned by ${w}${c ? ` at ${new Date(c.newest * 1000).toISOString()}` : ''}; consistency with the largest seen: ${s.consistency}${s.fetched ? ' (proof fetched from the log)' : ''}`;
}

export function describeVerified(doc: VerifiedDocument): string {
  switch (doc.kind) {
    case 'manifest': {
      const m = doc.manifest;
      return `${m.product} ${m.component} ${m.version} (risk: ${m.risk?.level ?? 'not rated'}; expires ${m.expires})`;
    }
    case 'policy':
      return `policy version ${doc.policy.version} (expires ${doc.policy.expires})`;
    case 'revocation': {
      const r = doc.revocation;
      return `revocation of ${r.product} ${r.component} ${r.version} (${r.reason})`;
    }
  }
}

/**
 * Reports a failed check of `bundle` as its verdict (exit 1, each reason with its code). The caller's own mistakes
 * (a file of the wrong kind, I/O, a store error: exit 2) are not a verdict on the bundle and are thrown on.
 */
export function rejectBundle(ctx: Context, args: { json?: boolean }, bundle: string, err: unknown): void {
  if (!(err instanceof CountersignError) || exitCodeFor(err) === 2) throw err;
  const reasons = err instanceof VerificationError ? err.reasons : [toReason(err)];
  fail(ctx, args, err instanceof VerificationError ? err : new VerificationError(reasons), [
    `REJECTED: ${bundle}`,
    ...reasons.map((r) => `  ${r.code}: ${r.message}`),
  ]);
}
