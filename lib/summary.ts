// Human-readable summaries of documents: what a signer reviews before signing, and what `inspect` shows.
import type { OpenedEnvelope } from './envelope.js';
import { countFileOps, manifestFromPayload, type Manifest } from './manifest.js';
import { policyFromPayload, type Policy } from './policy.js';

export interface DocumentSummary {
  kind: OpenedEnvelope['kind'];
  payloadType: string;
  payloadSha256: string;
  signatures: number;
  manifest?: Manifest;
  policy?: Policy;
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
  return { ...base, lines: [`Type:         ${doc.kind} (${doc.envelope.payloadType})`, `Payload:      sha256 ${doc.payloadSha256}`] };
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
    `Post-update:  ${m.postUpdate.length ? m.postUpdate.map((argv) => argv.join(' ')).join('; ') : 'none'}`,
    `Created:      ${m.created}`,
    `Expires:      ${m.expires}`,
    `Policy:       version ${m.policyVersion}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached`,
  ];
}

const LISTED_FILES = 40;
const OP_MARK = { add: 'A', modify: 'M', delete: 'D' } as const;

function fileLines(m: Manifest): string[] {
  const shown = m.files.slice(0, LISTED_FILES).map((f) => `  ${OP_MARK[f.op]} ${f.path}${f.op !== 'delete' && f.mode === '0755' ? '  (executable)' : ''}`);
  const more = m.files.length - shown.length;
  return more > 0 ? [...shown, `  … and ${more} more (inspect --json lists them all)`] : shown;
}

function policyLines(p: Policy, doc: OpenedEnvelope): string[] {
  return [
    `Type:         trust policy (${doc.envelope.payloadType})`,
    `Policy:       version ${p.version}`,
    `Threshold:    ${p.threshold} of ${p.signers.length} signers`,
    ...p.signers.map((s, i) => `${i === 0 ? 'Signers:' : '        '}      ${s.name}  ${s.id.slice(0, 16)}…`),
    `Expires:      ${p.expires}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached`,
  ];
}
