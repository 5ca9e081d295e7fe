// Human-readable summaries of documents: what a signer reviews before signing, and what `inspect` shows.
import type { OpenedEnvelope } from './envelope.js';
import { FormatError } from './errors.js';
import { versionFileOf } from './version-file.js';
import { countFileOps, manifestFromPayload, type Manifest } from './manifest.js';
import { policyFromPayload, type Policy } from './policy.js';
import { revocationFromPayload, type Revocation } from './revocation.js';
import { enrolmentFromPayload, type Enrolment } from './enrolment.js';
import { keyRevocationFromPayload, type KeyRevocation } from './key-revocation.js';
import { sha256Hex } from './envelope.js';
import { signerLabel } from './signer-kinds.js';

export interface DocumentSummary {
  kind: OpenedEnvelope['kind'];
  payloadType: string;
  payloadSha256: string;
  signatures: number;
  manifest?: Manifest;
  policy?: Policy;
  revocation?: Revocation;
  enrolment?: Enrolment;
  keyRevocation?: KeyRevocation;
  lines: string[];
}

/** What the caller knows beyond the document itself; each shown when given. */
export interface ReviewContext {
  /**
   * The policy in force: a policy N+1 (or a re-enrolment's policy) is then reviewed as a rotation (who is added and
   * removed, threshold and expiry); a key revocation names the key's holder from it.
   */
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
  if (doc.kind === 'enrolment') {
    const { enrolment, policy, policyBytes } = enrolmentFromPayload(doc.payloadBytes);
    return { ...base, enrolment, policy: policy.policy, lines: enrolmentLines(enrolment, policy.policy, policyBytes, doc, context.current) };
  }
  if (doc.kind === 'key-revocation') {
    const keyRevocation = keyRevocationFromPayload(doc.payloadBytes);
    return { ...base, keyRevocation, lines: keyRevocationLines(keyRevocation, doc, context.current) };
  }
  // Nothing is signed or shown blind: a kind without a reviewed summary is refused.
  throw new FormatError('WRONG_TYPE', `countersign cannot summarise a ${doc.kind} for review`);
}

function manifestLines(m: Manifest, doc: OpenedEnvelope, context: ReviewContext): string[] {
  const c = countFileOps(m.files);
  return [
    `Type:         release manifest (${doc.envelope.payloadType})`,
    ...(m.provider === undefined ? [] : [`Provider:     ${m.provider} (its release role signs it; policyVersion is the provider policy's)`]),
    `Release:      ${m.product} ${m.component} ${m.version}`,
    `Applies to:   ${m.appliesTo.length ? m.appliesTo.join(', ') : 'ANY installed version: the release names none, so a site of any version may install it'}`,
    `Risk:         ${m.risk ? `${m.risk.level} (${m.risk.score}/25, ${m.risk.vector})` : 'not rated'}`,
    `Advisory:     ${m.advisory ?? 'none'}`,
    `Files:        ${c.add} added, ${c.modify} modified, ${c.delete} deleted`,
    ...fileLines(m),
    `Archive:      ${m.archive.name}, ${m.archive.size} bytes`,
    `  sha256      ${m.archive.sha256}`,
    // Format 2 signs the entries' mtime (the archive is rebuilt from it on verify), so the reviewer sees it too.
    ...('mtime' in m.archive ? [`  mtime       ${m.archive.mtime} (every entry)`] : []),
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
    `Type:         ${p.provider === undefined ? 'trust policy' : 'PROVIDER POLICY'} (${doc.envelope.payloadType})`,
    ...policyBodyLines(p),
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

/** A policy's own members: provider, version, threshold, each signer with its full key id, roles, rules for providers. */
function policyBodyLines(p: Policy): string[] {
  return [
    ...(p.provider === undefined ? [] : [`Provider:     ${p.provider}`]),
    `Policy:       version ${p.version}`,
    `Threshold:    ${p.threshold} of ${p.signers.length} signers`,
    ...p.signers.flatMap((s, i) => [`${i === 0 ? 'Signers:' : '        '}      ${s.name}  ${s.id}`, ...kindLine(s)]),
    ...roleLines(p),
  ];
}

/** Each role as "K of N: names"; an absent role of a provider policy is the top-level threshold, said so. */
function roleLines(p: Policy): string[] {
  const names = (ids: string[]) => ids.map((id) => p.signers.find((s) => s.id === id)?.name ?? id).join(', ');
  const rule = (label: string, r: { threshold: number; signers: string[] } | undefined, absent: string) =>
    r === undefined
      ? `${label}${absent}`
      : `${label}${r.threshold} of ${r.signers.length}: ${names(r.signers)}${r.threshold === 1 ? '  (ANY ONE of them alone)' : ''}`;
  if (p.provider !== undefined) {
    return [
      rule('Admin role:   ', p.roles?.admin, 'the policy threshold over all signers (changes the policy, revokes keys)'),
      rule('Release role: ', p.roles?.release, 'the policy threshold over all signers (signs releases)'),
    ];
  }
  if (p.providers === undefined) return [];
  return [
    `Providers:    a key added to a provider takes effect ${p.providers.activationDelay} s of log time after it is logged`,
    rule('Registry:     ', p.providers.registry, "none (only this policy's quorum enrols providers)"),
  ];
}

function enrolmentLines(e: Enrolment, p: Policy, policyBytes: Uint8Array, doc: OpenedEnvelope, current: Policy | undefined): string[] {
  return [
    `Type:         PROVIDER ENROLMENT (${doc.envelope.payloadType})`,
    e.previous === undefined
      ? `Enrols:       ${e.provider} as a NEW provider: these keys will sign its releases and change its policy`
      : `Enrols:       RE-ENROLMENT of ${e.provider}, REPLACING its policy version ${e.previous}: every key of it is set aside for these (only the root quorum may sign this)`,
    ...policyBodyLines(p),
    ...(current !== undefined && current.provider === p.provider ? rotationLines(current, p) : []),
    `Expires:      ${p.expires} (the enrolled policy)`,
    `Policy bytes: sha256 ${sha256Hex(policyBytes)}`,
    `Created:      ${e.created}`,
    `Payload:      sha256 ${doc.payloadSha256}`,
    `Signatures:   ${doc.envelope.signatures.length} attached (not verified here)`,
  ];
}

function keyRevocationLines(r: KeyRevocation, doc: OpenedEnvelope, current: Policy | undefined): string[] {
  const holder = current?.provider === r.provider ? current.signers.find((s) => s.id === r.keyid) : undefined;
  const from =
    r.from === 'all'
      ? 'ALL: every release it ever signed stops counting'
      : r.from === 'now'
        ? 'NOW: releases it signs from this entry on stop counting; earlier ones stand'
        : `log index ${r.from}: releases it signed at or after that index stop counting`;
  return [
    `Type:         KEY REVOCATION (${doc.envelope.payloadType})`,
    `Provider:     ${r.provider}`,
    `Key:          ${r.keyid}`,
    `Holder:       ${holder ? holder.name : current === undefined ? 'not shown (pass --policy PROVIDER.signed.json)' : `not a signer of the given policy of ${current.provider ?? 'the root'}`}`,
    `From:         ${from}`,
    `Reason:       ${r.reason}`,
    `Created:      ${r.created}`,
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
    ...(r.provider === undefined ? [] : [`Provider:     ${r.provider}`]),
    `Revokes:      ${r.product} ${r.component} ${r.version}${r.provider === undefined ? '' : ` of provider ${r.provider}`}: sites will refuse every bundle of this release`,
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
    ...providerChangeLines(current, next, change),
    `  Expires:    ${change(expires.from, expires.to)}`,
  ];
}

/** A provider rotation's name and roles, and a root rotation's rules for providers, when either side has them. */
function providerChangeLines(current: Policy, next: Policy, change: (a: string, b: string) => string): string[] {
  const role = (p: Policy, r: { threshold: number; signers: string[] } | undefined) =>
    r === undefined ? 'the policy threshold' : `${r.threshold} of ${r.signers.map((id) => p.signers.find((s) => s.id === id)?.name ?? id).join(', ')}`;
  const lines: string[] = [];
  if (current.provider !== undefined || next.provider !== undefined) {
    lines.push(`  Provider:   ${change(current.provider ?? '(root)', next.provider ?? '(root)')}`);
    lines.push(`  Admin:      ${change(role(current, current.roles?.admin), role(next, next.roles?.admin))}`);
    lines.push(`  Release:    ${change(role(current, current.roles?.release), role(next, next.roles?.release))}`);
  } else if (current.providers !== undefined || next.providers !== undefined) {
    const delay = (p: Policy) => (p.providers === undefined ? 'default' : `${p.providers.activationDelay} s`);
    const registry = (p: Policy) => (p.providers?.registry === undefined ? 'none' : role(p, p.providers.registry));
    lines.push(`  Activation: ${change(delay(current), delay(next))}`);
    lines.push(`  Registry:   ${change(registry(current), registry(next))}`);
  }
  return lines;
}
