// Human-readable summaries of documents: what a signer reviews before signing, and what `inspect` shows.
import type { OpenedEnvelope } from './envelope.js';
import { FormatError } from './errors.js';
import { countFileOps, manifestFromPayload, type Manifest } from './manifest.js';
import { policyFromPayload, type Policy } from './policy.js';
import { revocationFromPayload, type Revocation } from './revocation.js';

export interface DocumentSummary {
  kind: OpenedEnvelope['kind'];
  payloadType: string;
  payloadSha256: string;
  signatures: number;
  manifest?: Manifest;
  policy?: Policy;
  revocation?: Revocation;
  lines: string[];
}

export function summarizeDocument(doc: OpenedEnvelope): DocumentSummary {
  const base = {
    kind: doc.kind,
    payloadType: doc.envelope.payloadType,
    payloadSha256: doc.payloadSha256,
    signatures: doc.envelope.signatures.length,
  };
  if (doc.kind === 'manifest') {
    const manifest = manifestFromPayload(doc.payloadBytes);
    return { ...base, manifest, lines: manifestLines(manifest, doc) };
  }
  if (doc.kind === 'policy') {
    const { policy } = policyFromPayload(doc.payloadBytes);
    return { ...base, policy, lines: policyLines(policy, doc) };
  }
  if (doc.kind === 'revocation') {
    const revocation = revocationFromPayload(doc.payloadBytes);
    return { ...base, revocation, lines: revocationLines(revocation, doc) };
  }
  // Nothing is signed or shown blind: a kind without a reviewed summary is refused.
  throw new FormatError('WRONG_TYPE', `countersign cannot summarise a ${doc.kind} for review`);
}

function manifestLines(m: Manifest, doc: OpenedEnvelope): string[] {
  const c = countFileOps(m.files);
  return [
    `Type:         release manifest (${doc.envelope.payloadType})`,
    `Release:      ${m.product} ${m.component} ${m.version}`,
    `Applies to:   ${m.appliesTo.length ? m.appliesTo.join(', ') : 'any installed version'}`,
    `Risk:         ${m.risk ? `${m.risk.level} (${m.risk.score}/25, ${m.risk.vector})` : 'not rated'}`,
    `Advisory:     ${m.advisory ?? 'none'}`,
    `Files:        ${c.add} added, ${c.modify} modified, ${c.delete} deleted`,
    ...fileLines(m),
    `Archive:      ${m.archive.name}, ${m.archive.size} bytes`,
    `  sha256      ${m.archive.sha256}`,
    ...postUpdateLines(m),
    `Version file: ${m.versionFile ?? 'none'}${m.versionFile ? ' (written last by the installer; read to tell the installed version)' : ''}`,
    `Created:      ${m.created}`,
    `Expires:      ${m.expires}`,
    `Policy:       version ${m.policyVersion}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached (not verified here)`,
  ];
}
const OP_MARK = { add: 'A', modify: 'M', delete: 'D' } as const;

/** Every file operation: a reviewer must be able to see each path a release touches. */
function fileLines(m: Manifest): string[] {
  return m.files.map((f) => `  ${OP_MARK[f.op]} ${f.path}${f.op !== 'delete' && f.mode === '0755' ? '  (executable)' : ''}`);
}

/** Each step as the exact argv array it runs with (no shell), so "a b" and "a","b" never look alike. */
function postUpdateLines(m: Manifest): string[] {
  if (m.postUpdate.length === 0) return ['Post-update:  none'];
  return m.postUpdate.map((argv, i) => `${i === 0 ? 'Post-update: ' : '             '} ${JSON.stringify(argv)}`);
}

function policyLines(p: Policy, doc: OpenedEnvelope): string[] {
  return [
    `Type:         trust policy (${doc.envelope.payloadType})`,
    `Policy:       version ${p.version}`,
    `Threshold:    ${p.threshold} of ${p.signers.length} signers`,
    ...p.signers.map((s, i) => `${i === 0 ? 'Signers:' : '        '}      ${s.name}  ${s.id.slice(0, 16)}…`),
    `Expires:      ${p.expires}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached (not verified here)`,
  ];
}

function revocationLines(r: Revocation, doc: OpenedEnvelope): string[] {
  return [
    `Type:         REVOCATION (${doc.envelope.payloadType})`,
    `Revokes:      ${r.product} ${r.component} ${r.version}: sites will refuse every bundle of this release`,
    `Reason:       ${r.reason}`,
    `Created:      ${r.created}`,
    `Policy:       version ${r.policyVersion}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached (not verified here)`,
  ];
}
