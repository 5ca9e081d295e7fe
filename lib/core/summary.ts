// Human-readable summaries of documents: what a signer reviews before signing, and what `inspect` shows.
import type { OpenedEnvelope } from './envelope.js';
import { FormatError } from './errors.js';
import { versionFileOf } from './version-file.js';
import { countFileOps, manifestFromPayload, type Manifest } from './manifest.js';
import { policyFromPayload, type Policy } from './policy.js';
import { revocationFromPayload, type Revocation } from './revocation.js';
import { signerLabel } from './signer-kinds.js';

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

/** What the caller knows beyond the document itself; each shown when given. */
export interface ReviewContext {
  /** The policy in force: a policy N+1 is then reviewed as a rotation (who is added and removed, threshold and expiry). */
  current?: Policy;
  /** What the release's version file states, read from its verified archive (null: none); undefined when not read. */
  versionFileSays?: string | null;
}

export function summarizeDocument(doc: OpenedEnvelope, context: ReviewContext = {}): DocumentSummary {
  const base = {
    kind: doc.kind,
    payloadType: doc.envelope.payloadType,
    payloadSha256: doc.payloadSha256,
    signatures: doc.envelope.signatures.length,
  };
  if (doc.kind === 'manifest') {
    const manifest = manifestFromPayload(doc.payloadBytes);
    return { ...base, manifest, lines: manifestLines(manifest, doc, context) };
  }
  if (doc.kind === 'policy') {
    const { policy } = policyFromPayload(doc.payloadBytes);
    return { ...base, policy, lines: policyLines(policy, doc, context.current) };
  }
  if (doc.kind === 'revocation') {
    const revocation = revocationFromPayload(doc.payloadBytes);
    return { ...base, revocation, lines: revocationLines(revocation, doc) };
  }
  // Nothing is signed or shown blind: a kind without a reviewed summary is refused.
  throw new FormatError('WRONG_TYPE', `countersign cannot summarise a ${doc.kind} for review`);
}

function manifestLines(m: Manifest, doc: OpenedEnvelope, context: ReviewContext): string[] {
  const c = countFileOps(m.files);
  return [
    `Type:         release manifest (${doc.envelope.payloadType})`,
    `Release:      ${m.product} ${m.component} ${m.version}`,
    `Applies to:   ${m.appliesTo.length ? m.appliesTo.join(', ') : 'ANY installed version: the release names none, so a site of any version may install it'}`,
    `Risk:         ${m.risk ? `${m.risk.level} (${m.risk.score}/25, ${m.risk.vector})` : 'not rated'}`,
    `Advisory:     ${m.advisory ?? 'none'}`,
    `Files:        ${c.add} added, ${c.modify} modified, ${c.delete} deleted`,
    ...fileLines(m),
    `Archive:      ${m.archive.name}, ${m.archive.size} bytes`,
    `  sha256      ${m.archive.sha256}`,
    ...postUpdateLines(m),
    versionFileLine(m, context.versionFileSays),
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

/** The version file and what it will say once installed: the version a site will report. */
function versionFileLine(m: Manifest, says: string | null | undefined): string {
  const path = versionFileOf(m);
  if (path === null) return 'Version file: none (this release does not write the file that carries the version number)';
  const head = `Version file: ${path} (written last by the installer)`;
  if (says === undefined) return `${head}: what it will say is NOT CHECKED (pass --archive)`;
  return says === null ? `${head} will state NO version after installation` : `${head} will say ${says} after installation`;
}

// Full key ids: a 16-hex prefix is cheap to collide for someone who wants to pass as a signer.
function policyLines(p: Policy, doc: OpenedEnvelope, current: Policy | undefined): string[] {
  return [
    `Type:         trust policy (${doc.envelope.payloadType})`,
    `Policy:       version ${p.version}`,
    `Threshold:    ${p.threshold} of ${p.signers.length} signers`,
    ...p.signers.flatMap((s, i) => [`${i === 0 ? 'Signers:' : '        '}      ${s.name}  ${s.id}`, ...kindLine(s)]),
    ...(current
      ? rotationLines(current, p)
      : p.version > 1
        ? ['Changes:      NOT SHOWN: countersign sign DOC --policy CURRENT shows who is added and removed']
        : []),
    `Expires:      ${p.expires}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached (not verified here)`,
  ];
}

/** The signer kind under a signer of another kind than countersign: which tool, which key in that tool's terms. */
function kindLine(s: Policy['signers'][number]): string[] {
  return s.kind === undefined || s.kind === 'countersign' ? [] : [`                ${signerLabel(s)}`];
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

export interface PolicyChanges {
  version: { from: number; to: number };
  added: Array<{ id: string; name: string }>;
  removed: Array<{ id: string; name: string }>;
  /** Signers kept whose kind (or security-key requirements) change: `from` and `to` as signerLabel words them. */
  changed: Array<{ id: string; name: string; from: string; to: string }>;
  threshold: { from: string; to: string };
  expires: { from: string; to: string };
}

/** Who policy `next` adds and removes (by key id), and how threshold ("m of n") and expiry change. */
export function policyChanges(current: Policy, next: Policy): PolicyChanges {
  const before = new Set(current.signers.map((s) => s.id));
  const after = new Set(next.signers.map((s) => s.id));
  return {
    version: { from: current.version, to: next.version },
    added: next.signers.filter((s) => !before.has(s.id)).map(({ id, name }) => ({ id, name })),
    removed: current.signers.filter((s) => !after.has(s.id)).map(({ id, name }) => ({ id, name })),
    changed: next.signers.flatMap((s) => {
      const was = current.signers.find((c) => c.id === s.id);
      return was && signerLabel(was) !== signerLabel(s) ? [{ id: s.id, name: s.name, from: signerLabel(was), to: signerLabel(s) }] : [];
    }),
    threshold: { from: `${current.threshold} of ${current.signers.length}`, to: `${next.threshold} of ${next.signers.length}` },
    expires: { from: current.expires, to: next.expires },
  };
}

/** policyChanges in words, with full key ids. */
export function rotationLines(current: Policy, next: Policy): string[] {
  const { added, removed, changed, threshold, expires } = policyChanges(current, next);
  const list = (label: string, signers: PolicyChanges['added']) =>
    signers.length === 0 ? [`  ${label}nobody`] : signers.map((s, i) => `  ${i === 0 ? label : ' '.repeat(label.length)}${s.name}  ${s.id}`);
  const change = (a: string, b: string) => (a === b ? `${a} (unchanged)` : `${a} -> ${b}`);
  return [
    `Rotation:     from version ${current.version} to ${next.version}${next.version === current.version + 1 ? '' : ' (NOT the next version: sites will refuse it)'}`,
    ...list('Added:      ', added),
    ...list('Removed:    ', removed),
    ...changed.map((c) => `  Changed:    ${c.name}  ${c.id}: ${c.from} -> ${c.to}`),
    `  Threshold:  ${change(threshold.from, threshold.to)}`,
    `  Expires:    ${change(expires.from, expires.to)}`,
  ];
}
