// The trust store's rules, without the disk: loading and re-verifying its state, applying an update
// (rotations, revocations, the expired-tail rule), recording an install, which site a release is for,
// verifying as that site and describing the store. lib/node/trust-store.ts reads and writes it
// (spec/trust-store.md).
import type * as generated from './generated/types.js';
import { fromUtf8, utf8 } from './bytes.js';
import { openEnvelope, type Envelope } from './envelope.js';
import {
  CountersignError,
  DistributionError,
  FormatError,
  KeyError,
  StoreError,
  UsageError,
  VerificationError,
  toReason,
  type ErrorCode,
  type Reason,
} from './errors.js';
import { manifestFromPayload, type Manifest, type SiteState } from './manifest.js';
import { checkPolicyFresh, loadTrustedPolicy, type TrustedPolicy } from './policy.js';
import { verifyRevocation, type Revocation } from './revocation.js';
import { MAX_POLICY_BYTES, verifyRotation } from './rotation.js';
import { validate } from './schema.js';
import { formatTimestamp, parseTimestamp } from './time.js';
import { compareVersions, parseVersion, sameScheme } from './version.js';
import { verifyBundle, type BundleInput, type Limits, type NamedRing, type Verified } from './verify.js';
import { STORE_FORMAT } from './file-types.js';

export { STORE_FORMAT };

const MAX_ROTATIONS = 1000;
const MAX_REVOCATIONS = 100_000;
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** DIR/state.json, as schemas/store.schema.json describes it. */
export type StoreState = generated.Store;
/** `updated` is when it was last recorded; `highest` is never lowered. */
export type InstalledRelease = StoreState['installed'][string];
export type PartialInstall = NonNullable<InstalledRelease['partial']>;
/** Re-verified against `policyVersion` every time the store is opened. */
export type StoredRevocation = StoreState['revocations'][number];

/** An opened, fully re-verified store: a snapshot; writers re-read it under the lock. */
export interface TrustStore {
  readonly dir: string;
  readonly state: StoreState;
  /** The pinned policy, then each accepted rotation: policies[i] has version pinned + i. */
  readonly policies: readonly TrustedPolicy[];
  /** The policy the site trusts now: the last of `policies`. */
  readonly trusted: TrustedPolicy;
  readonly revocations: readonly Revocation[];
}

export interface InstalledSpec {
  product: string;
  component: string;
  version: string;
}

export function installedKey(product: string, component: string): string {
  return `${product}/${component}`;
}

/** Checks a product/component/version the caller gives; a bad one is a usage error. */
export function checkInstalledSpec(spec: InstalledSpec): InstalledSpec {
  for (const field of ['product', 'component'] as const) {
    if (typeof spec[field] !== 'string' || !NAME.test(spec[field])) {
      throw new UsageError('USAGE', `${field} ${JSON.stringify(spec[field])} is not a machine name (a-z, 0-9, _; starting with a letter)`);
    }
  }
  try {
    parseVersion(spec.version);
  } catch (err) {
    throw new UsageError('USAGE', `version of ${spec.product}/${spec.component}: ${(err as Error).message}`);
  }
  return spec;
}

/** Parses `PRODUCT/COMPONENT=VERSION`, or `PRODUCT=VERSION` for its core (`drupal=10.2.3`). */
export function parseInstalledSpec(text: string): InstalledSpec {
  const m = /^([^/=]+)(?:\/([^/=]+))?=([^=]+)$/.exec(text);
  if (!m) throw new UsageError('USAGE', `${JSON.stringify(text)} is not PRODUCT/COMPONENT=VERSION (e.g. drupal/core=10.2.3)`);
  return checkInstalledSpec({ product: m[1]!, component: m[2] ?? 'core', version: m[3]! });
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * The state a new store starts with: `policyBytes` pinned (it must load as a trusted policy, signed by
 * a quorum of its own keys; it may have expired) and `installed` recorded at `now`.
 */
export function initialState(policyBytes: Uint8Array, installedSpecs: readonly InstalledSpec[], now: Date, logPolicy?: string): StoreState {
  if (policyBytes.length > MAX_POLICY_BYTES)
    throw new FormatError('SIZE_LIMIT', `the policy is ${policyBytes.length} bytes; a policy may be at most ${MAX_POLICY_BYTES}`);
  const pinned = loadTrustedPolicy(policyBytes, 'policy to pin');
  const installed: Record<string, InstalledRelease> = {};
  for (const spec of installedSpecs) {
    const { product, component, version } = checkInstalledSpec(spec);
    const key = installedKey(product, component);
    if (installed[key]) throw new UsageError('USAGE', `${key} is given twice`);
    installed[key] = { version, highest: version, updated: formatTimestamp(now) };
  }
  return {
    format: STORE_FORMAT,
    pinned: envelopeText(openEnvelope(policyBytes).envelope),
    rotations: [],
    highestPolicyVersion: pinned.policy.version,
    installed,
    revocations: [],
    // A log policy (checked by the caller, lib/log/tlog-policy.ts) makes every bundle verified here need a log proof.
    ...(logPolicy === undefined ? {} : { log: { policy: logPolicy, forks: [] } }),
  };
}

export function corrupt(path: string, what: string, cause?: unknown): StoreError {
  const details: Record<string, unknown> = { path };
  if (cause instanceof CountersignError) details.cause = toReason(cause);
  return new StoreError('STORE_CORRUPT', `the trust store ${path} ${what}; it was left untouched: restore it from a backup, or init a new store`, details);
}

/** Parses and fully re-verifies the state read from `path` (the store at `dir`); anything off is STORE_CORRUPT. */
export function loadStore(dir: string, path: string, bytes: Uint8Array): TrustStore {
  let raw: unknown;
  try {
    raw = JSON.parse(fromUtf8(bytes, 'trust store'));
  } catch (err) {
    throw corrupt(path, `is not valid JSON (${(err as Error).message})`, err);
  }
  const step = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      throw corrupt(path, `${what}: ${err.code}: ${err.message}`, err);
    }
  };
  const state = step('does not match its schema', () => validate<StoreState>('store', raw, 'trust store'));
  const pinned = step('holds a pinned policy that no longer verifies', () => loadTrustedPolicy(utf8(state.pinned), 'pinned policy'));
  const policies: TrustedPolicy[] = [pinned];
  state.rotations.forEach((text, i) => {
    policies.push(
      step(`holds rotation ${i + 1} that does not follow from the policy before it`, () => verifyRotation(policies.at(-1)!, utf8(text), `rotation ${i + 1}`)),
    );
  });
  const trusted = policies.at(-1)!;
  if (state.highestPolicyVersion !== trusted.policy.version) {
    throw corrupt(path, `records policy version ${state.highestPolicyVersion} as the highest seen, but its chain walks to version ${trusted.policy.version}`);
  }
  for (const [key, entry] of Object.entries(state.installed)) {
    step(`records an invalid install of ${key}`, () => {
      parseVersion(entry.version);
      parseVersion(entry.highest);
      parseTimestamp(entry.updated, 'update time');
      if (entry.partial) {
        parseVersion(entry.partial.version);
        parseTimestamp(entry.partial.recorded, 'partial install time');
      }
    });
    if (!sameScheme(entry.highest, entry.version) || compareVersions(entry.highest, entry.version) < 0)
      throw corrupt(path, `records ${key} ${entry.version} installed above its highest ever ${entry.highest}`);
  }
  const revocations = state.revocations.map((r, i) =>
    step(`holds revocation ${i + 1} that no longer verifies`, () => {
      parseTimestamp(r.accepted, 'acceptance time');
      const under = policies[r.policyVersion - pinned.policy.version];
      if (!under) throw new FormatError('SCHEMA_INVALID', `it was accepted under policy version ${r.policyVersion}, which this store never trusted`);
      return verifyRevocation(utf8(r.envelope), under, `revocation ${i + 1}`);
    }),
  );
  return { dir, state, policies, trusted, revocations };
}

function envelopeText(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

// ---------------------------------------------------------------------------------------------
// Updating

export interface UpdateFile {
  /** Shown in results and messages (a file name). */
  name: string;
  bytes: Uint8Array;
  /** A detached log proof for it (a C2SP tlog-proof), needed when the store has a log policy. */
  proof?: Uint8Array;
}

export type UpdateOutcome =
  | { file: string; status: 'accepted'; kind: 'policy'; policyVersion: number; expires: string }
  | { file: string; status: 'accepted' | 'unchanged'; kind: 'revocation'; revocation: Revocation; policyVersion: number }
  | { file: string; status: 'rejected'; code: ErrorCode; message: string; details?: Record<string, unknown> };

/**
 * Accepts signed policy rotations and revocations, in the order given, each only once it verifies
 * against the policy trusted at that point: a rotation must be version N+1, signed by a quorum of N
 * and of itself, and the chain must end on a policy unexpired at `now`; a revocation must be signed by a quorum of the current
 * policy, which must be unexpired; with a log policy, each must also be logged (`checkLog`, see requireLogged). Rejected files are reported with their code and change nothing;
 * accepted ones are kept. Returns the new state (the caller writes it when anything was accepted).
 */
export async function applyUpdates(
  store: TrustStore,
  files: readonly UpdateFile[],
  now: Date,
  checkLog?: StoreLogCheck,
): Promise<{ state: StoreState; results: UpdateOutcome[] }> {
  const state = structuredClone(store.state) as StoreState;
  const policies = [...store.policies];
  const known = new Set(state.revocations.map((r) => openEnvelope(utf8(r.envelope)).payloadSha256));
  const results: UpdateOutcome[] = [];
  for (const file of files) {
    try {
      results.push(await applyUpdate(file, state, policies, known, now, checkLog));
    } catch (err) {
      if (err instanceof OperationalLogError) throw err.cause;
      if (!(err instanceof CountersignError)) throw err;
      const reason = toReason(err);
      results.push({ file: file.name, status: 'rejected', code: reason.code, message: reason.message, ...(reason.details && { details: reason.details }) });
    }
  }
  rejectExpiredTail(results, state, policies, store.policies.length, now);
  return { state, results };
}

/**
 * Only the last policy of a chain must be fresh. Rotations this update accepted after the last fresh
 * one (an expired tail) are rejected again with POLICY_EXPIRED and dropped from the state.
 */
function rejectExpiredTail(results: UpdateOutcome[], state: StoreState, policies: TrustedPolicy[], before: number, now: Date): void {
  while (policies.length > before) {
    const last = policies.at(-1)!;
    try {
      checkPolicyFresh(last.policy, now);
      return;
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      policies.pop();
      state.rotations.pop();
      state.highestPolicyVersion = policies.at(-1)!.policy.version;
      const at = results.findLastIndex((r) => r.status === 'accepted' && r.kind === 'policy');
      const reason = toReason(err);
      results[at] = {
        file: results[at]!.file,
        status: 'rejected',
        code: reason.code,
        message: `${reason.message}; no fresher policy follows it in this update`,
      };
    }
  }
}

async function applyUpdate(
  file: UpdateFile,
  state: StoreState,
  policies: TrustedPolicy[],
  known: Set<string>,
  now: Date,
  checkLog: StoreLogCheck | undefined,
): Promise<UpdateOutcome> {
  if (file.bytes.length > MAX_POLICY_BYTES) throw new FormatError('SIZE_LIMIT', `${file.name} is ${file.bytes.length} bytes; the limit is ${MAX_POLICY_BYTES}`);
  const opened = openEnvelope(file.bytes, file.name);
  const trusted = policies.at(-1)!;
  if (opened.kind === 'policy') {
    // Freshness is settled for the whole batch in rejectExpiredTail: a site that was offline may pass
    // through rotations that have since expired, as long as the chain ends on a fresh policy.
    const next = verifyRotation(trusted, file.bytes, file.name);
    if (state.rotations.length >= MAX_ROTATIONS) throw new FormatError('SIZE_LIMIT', `the store already holds ${MAX_ROTATIONS} rotations`);
    await requireLogged(file, state, checkLog, now);
    state.rotations.push(envelopeText(opened.envelope));
    state.highestPolicyVersion = next.policy.version;
    policies.push(next);
    return { file: file.name, status: 'accepted', kind: 'policy', policyVersion: next.policy.version, expires: next.policy.expires };
  }
  if (opened.kind === 'revocation') {
    // An expired policy's keys are not trusted to say anything, revocations included: rotate first.
    checkPolicyFresh(trusted.policy, now);
    const revocation = verifyRevocation(file.bytes, trusted, file.name);
    const policyVersion = trusted.policy.version;
    if (known.has(opened.payloadSha256)) return { file: file.name, status: 'unchanged', kind: 'revocation', revocation, policyVersion };
    if (state.revocations.length >= MAX_REVOCATIONS) throw new FormatError('SIZE_LIMIT', `the store already holds ${MAX_REVOCATIONS} revocations`);
    await requireLogged(file, state, checkLog, now);
    known.add(opened.payloadSha256);
    state.revocations.push({ envelope: envelopeText(opened.envelope), policyVersion, accepted: formatTimestamp(now) });
    return { file: file.name, status: 'accepted', kind: 'revocation', revocation, policyVersion };
  }
  throw new FormatError('WRONG_TYPE', `${file.name} is a ${opened.kind}; a trust store takes signed policy rotations and revocations`, { found: opened.kind });
}

/**
 * With a log policy, a key change is accepted only once it is in the log, checked like a bundle (spec/log.md): else a
 * rotation kept off the log would let its keys sign releases that are logged. Fails closed (NOT_LOGGED) without a
 * check. A larger checkpoint that passed becomes the largest seen in `state`, and a fork shown is kept (written with the update).
 */
async function requireLogged(file: UpdateFile, state: StoreState, checkLog: StoreLogCheck | undefined, now: Date): Promise<void> {
  if (!state.log) return;
  if (!checkLog)
    throw new VerificationError([{ code: 'NOT_LOGGED', message: `${file.name}: this trust store requires logged key changes (it has a log policy)` }]);
  let verdict: StoreLogVerdict;
  try {
    verdict = await checkLog({ envelopeBytes: file.bytes, ...(file.proof ? { proof: file.proof } : {}) }, state.log);
  } catch (err) {
    if (isOperational(err)) throw new OperationalLogError(err);
    keepForkEvidence(state.log, err, now);
    throw err;
  }
  if (verdict.newLargest !== undefined) state.log.largest = verdict.newLargest;
}

/** A fork the check showed (both signed checkpoints) is kept in `log.forks`, once, even though the document is rejected. */
function keepForkEvidence(log: NonNullable<StoreState['log']>, err: unknown, now: Date): void {
  const d = err instanceof CountersignError && err.code === 'LOG_INCONSISTENT' ? err.details : {};
  if (d.kind !== 'fork' || typeof d.seen !== 'string' || typeof d.presented !== 'string') return;
  if (log.forks.length >= 1000 || log.forks.some((f) => f.seen === d.seen && f.presented === d.presented)) return;
  log.forks.push({ seen: d.seen, presented: d.presented, detected: formatTimestamp(now) });
}

/** Carries an operational failure of the log check out of applyUpdates (the whole update stops), unlike a document's own refusal. */
class OperationalLogError extends Error {
  constructor(override readonly cause: unknown) {
    super('the log check failed');
  }
}

/** An unreachable log or unreadable file: operational (exit 2), never a verdict on the document. */
function isOperational(err: unknown): boolean {
  return err instanceof UsageError || err instanceof StoreError || err instanceof DistributionError || err instanceof KeyError;
}

/**
 * The state with `version` of product/component recorded as installed (recordInstall writes it: the
 * installer after a successful apply; an operator after a manual change, a downgrade included). The highest version
 * ever installed is never lowered, so a downgrade does not reopen the door to older releases.
 * With `kept` (files apply --keep-local left alone), the release is recorded as partly installed and
 * the version before stays (partialEntry); a full install or a manual record clears that.
 */
export function withInstall(current: StoreState, spec: InstalledSpec, kept: readonly string[], now: Date): { state: StoreState; entry: InstalledRelease } {
  const { product, component, version } = checkInstalledSpec(spec);
  const state = structuredClone(current) as StoreState;
  const key = installedKey(product, component);
  const before = state.installed[key];
  // Recording a version of the other scheme (8.x-3.5 to 4.0.0, by hand) starts its floor at that version: releases of the old scheme are never comparable to it, so all are refused.
  const highest = before && sameScheme(before.highest, version) && compareVersions(before.highest, version) > 0 ? before.highest : version;
  const entry: InstalledRelease = kept.length === 0 ? { version, highest, updated: formatTimestamp(now) } : partialEntry(key, before, version, kept, now);
  state.installed[key] = entry;
  return { state, entry };
}

/**
 * A release installed except for `kept` files: the files that carry its fix may be among them, so the site
 * is not at the new version. The version before (and its floor) stays, the release is recorded as partial.
 */
function partialEntry(key: string, before: InstalledRelease | undefined, version: string, kept: readonly string[], now: Date): InstalledRelease {
  if (!before) throw new UsageError('USAGE', `${key} ${version} cannot be recorded as partly installed: the store records no version of ${key} before it`);
  const recorded = formatTimestamp(now);
  return { version: before.version, highest: before.highest, updated: recorded, partial: { version, kept: [...kept], recorded } };
}

// ---------------------------------------------------------------------------------------------
// Verifying against a store

/** What the store says the site runs for product/component, or undefined when it is not installed. */
export function siteFor(store: TrustStore, product: string, component: string): Required<SiteState> | undefined {
  const entry = store.state.installed[installedKey(product, component)];
  if (!entry) return undefined;
  return { product, component, installed: entry.version, highestInstalled: entry.highest };
}

/** A log check (lib/log/check-logged.ts storeLogCheck): throws a coded error unless the document is logged. */
export type StoreLogCheck = (input: Pick<BundleInput, 'envelopeBytes' | 'proof'>, log: NonNullable<StoreState['log']>) => Promise<StoreLogVerdict>;

export interface StoreLogVerdict {
  /** The checkpoint to record as the largest seen, when larger than the store's. */
  newLargest?: string;
  /** What to report (index, checkpoint, witnesses, consistency). */
  summary: Record<string, unknown>;
}

export interface StoreVerifyOptions {
  /** Reference time, fixed once by the caller. */
  now: Date;
  limits?: Partial<Limits>;
  /** Revocations to honour in addition to the store's, for this check only (already verified). */
  revocations?: readonly Revocation[];
  /** Required when the store has a log policy: without it such a store refuses every document (NOT_LOGGED). */
  checkLog?: StoreLogCheck;
  /**
   * A provider's release from the store's replayed log (lib/log/local-trust.ts): the provider's policy in place of
   * the store's, and the rings the signatures count over (its release keys, then the super provider), vouched for by
   * the checkLog given with them.
   */
  provider?: { trusted: TrustedPolicy; quorums: readonly NamedRing[] };
}

/**
 * Verifies a bundle as this site: against the store's policy (rotations are accepted into the store
 * with updateStore, never walked ephemerally here), the store's revocations, and what the store says is installed for the release's product/component
 * (current version for applicability, highest ever for rollback). A release for something this site
 * has not installed is WRONG_TARGET. Every reason found is reported, as by verifyBundle.
 */
export async function verifyWithStore(store: TrustStore, input: BundleInput, opts: StoreVerifyOptions): Promise<Verified & { log?: StoreLogVerdict }> {
  // A store with a log policy accepts only logged documents, checked first (no I/O, before the archive is read).
  // Fail closed: a caller that cannot check proofs gets NOT_LOGGED, never a silent pass.
  let log: StoreLogVerdict | undefined;
  if (store.state.log) {
    if (!opts.checkLog) {
      throw new VerificationError([
        { code: 'NOT_LOGGED', message: 'this trust store requires a logged bundle (it has a log policy), and this command does not check log proofs' },
      ]);
    }
    try {
      log = await opts.checkLog(input, store.state.log);
    } catch (err) {
      if (err instanceof CountersignError && !isOperational(err)) throw new VerificationError([toReason(err)]);
      throw err;
    }
  }
  const trusted = opts.provider?.trusted ?? store.trusted;
  const revocations = [...store.revocations, ...(opts.revocations ?? [])];
  const target = peekManifest(input.envelopeBytes);
  const site = target ? siteFor(store, target.product, target.component) : undefined;
  const extra: Reason[] = [];
  if (target && !site) {
    extra.push({
      code: 'WRONG_TARGET',
      message: `${target.product} ${target.component} is not installed on this site`,
      details: { product: target.product, component: target.component, installed: Object.keys(store.state.installed) },
    });
  }
  let verified: Verified;
  try {
    verified = await verifyBundle(input, { trusted, now: opts.now, site, revocations, limits: opts.limits, ...(opts.provider ? { quorums: opts.provider.quorums } : {}) });
  } catch (err) {
    if (err instanceof VerificationError && extra.length > 0) throw new VerificationError([...err.reasons, ...extra]);
    throw err;
  }
  if (extra.length > 0) throw new VerificationError(extra);
  return log ? { ...verified, log } : verified;
}

/** The product/component a manifest envelope names; undefined for anything else (verifyBundle reports it). */
function peekManifest(envelopeBytes: Uint8Array): Pick<Manifest, 'product' | 'component'> | undefined {
  try {
    const opened = openEnvelope(envelopeBytes);
    return opened.kind === 'manifest' ? manifestFromPayload(opened.payloadBytes) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Describing

export interface StoreSummary {
  dir: string;
  policy: { version: number; expires: string; expired: boolean; threshold: number; signers: Array<{ id: string; name: string }> };
  pinnedVersion: number;
  highestPolicyVersion: number;
  rotations: number;
  installed: Array<InstalledSpec & InstalledRelease>;
  revocations: Array<Revocation & { acceptedUnder: number; accepted: string }>;
  /** With a log policy: the largest checkpoint accepted (its first two lines: origin and size) and the forks kept. */
  log?: { largest: { origin: string; size: number } | null; forks: number };
}

export function describeStore(store: TrustStore, now: Date): StoreSummary {
  const p = store.trusted.policy;
  let expired = false;
  try {
    checkPolicyFresh(p, now);
  } catch {
    expired = true;
  }
  return {
    dir: store.dir,
    policy: { version: p.version, expires: p.expires, expired, threshold: p.threshold, signers: p.signers.map(({ id, name }) => ({ id, name })) },
    pinnedVersion: store.policies[0]!.policy.version,
    highestPolicyVersion: store.state.highestPolicyVersion,
    rotations: store.state.rotations.length,
    installed: Object.entries(store.state.installed)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, e]) => {
        const [product, component] = key.split('/') as [string, string];
        return { product, component, ...e };
      }),
    revocations: store.revocations.map((r, i) => ({
      ...r,
      acceptedUnder: store.state.revocations[i]!.policyVersion,
      accepted: store.state.revocations[i]!.accepted,
    })),
    ...(store.state.log ? { log: { largest: checkpointHead(store.state.log.largest), forks: store.state.log.forks.length } } : {}),
  };
}

/** Origin and size of a checkpoint note the store holds (re-parsed in full when the store is opened). */
function checkpointHead(note: string | undefined): { origin: string; size: number } | null {
  if (note === undefined) return null;
  const [origin, size] = note.split('\n');
  return { origin: origin!, size: Number(size) };
}
