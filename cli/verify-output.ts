// What verify prints about a verified document, shared by its --policy/--store and --root forms.
import { describeSignatureInfo } from '../lib/core/signer-kinds.js';
import type { QuorumResult } from '../lib/core/quorum.js';
import type { VerifiedDocument } from '../lib/core/verify.js';

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
