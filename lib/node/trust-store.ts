// The site trust store: what a site trusts (the policy it pinned, and the rotations and revocations it
// has accepted since) and what it has installed, so that verification needs no flags to say so and
// never goes back: not to an older policy, not below the highest release ever installed.
//
// Layout (one directory):
//   DIR/state.json   the state (schemas/store.schema.json); replaced whole, atomically and durably
//                    (temporary file, fsync, rename, fsync of DIR), so it is never seen torn
//   DIR/lock         present while a writer holds the lock (lib/node/lock.ts); readers never take it
//
// Permissions: DIR 0755 and state.json 0644 (set explicitly, whatever the umask). The store holds no
// secret, only signed public documents and version numbers, and the web server user must read it to
// verify; what matters is that only its owner (the operator or the installer) can write it, so keep DIR
// owned by that user. A directory given to `init` that already exists keeps the mode it has.
//
// Every signed document is re-verified each time the store is opened: the pinned policy by its own
// quorum, each rotation from the policy before it, each revocation against the policy it was accepted
// under. A store that fails any check is STORE_CORRUPT and is never reset or overwritten.
import { chmodSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { commitPending, tempPathFor, writeDurably } from './durable.js';
import { openEnvelope, type Envelope } from '../core/envelope.js';
import { CountersignError, FormatError, StoreError, UsageError, VerificationError, toReason, type ErrorCode, type Reason } from '../core/errors.js';
import { withLock } from './lock.js';
import { manifestFromPayload, type Manifest, type SiteState } from '../core/manifest.js';
import { checkPolicyFresh, loadTrustedPolicy, type TrustedPolicy } from '../core/policy.js';
import { verifyRevocation, type Revocation } from '../core/revocation.js';
import { MAX_POLICY_BYTES, verifyRotation } from '../core/rotation.js';
import { validate } from '../core/schema.js';
import { formatTimestamp, parseTimestamp } from '../core/time.js';
import { compareVersions, parseVersion, sameScheme } from '../core/version.js';
import { verifyBundle, type BundleInput, type Limits, type Verified } from '../core/verify.js';

export const STORE_FORMAT = 1;
export const STATE_FILE = 'state.json';
export const LOCK_FILE = 'lock';
/** A state file larger than this is not one countersign wrote. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;
const MAX_ROTATIONS = 1000;
const MAX_REVOCATIONS = 100_000;
const DIR_MODE = 0o755;
const FILE_MODE = 0o644;
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export interface InstalledRelease {
  /** The version installed now. */
  version: string;
  /** The highest version ever installed; never lowered. */
  highest: string;
  /** When it was last recorded. */
  updated: string;
  /** A release applied only in part (apply --keep-local): `version` stays the one before, so the release is still offered. */
  partial?: PartialInstall;
}

export interface PartialInstall {
  /** The release applied in part. */
  version: string;
  /** The files it changes that the site kept as they were (locally modified). */
  kept: string[];
  recorded: string;
}

export interface StoredRevocation {
  /** The signed revocation envelope, as JSON text. */
  envelope: string;
  /** The trusted policy version it was verified against when accepted (and is re-verified against). */
  policyVersion: number;
  accepted: string;
}

/** DIR/state.json, as schemas/store.schema.json describes it. */
export interface StoreState {
  format: typeof STORE_FORMAT;
  /** The signed policy envelope pinned by initStore, as JSON text. */
  pinned: string;
  /** Signed policy envelopes N+1, N+2, ... accepted since, in order, as JSON text. */
  rotations: string[];
  highestPolicyVersion: number;
  /** Keyed by `product/component`. */
  installed: Record<string, InstalledRelease>;
  revocations: StoredRevocation[];
}

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

export interface StoreWriteOptions {
  /** The reference time (acceptance and freshness); default: the clock. */
  now?: Date;
  /** How long to wait for another writer before STORE_LOCKED; default 5000 ms. */
  lockTimeoutMs?: number;
}

export interface InstalledSpec {
  product: string;
  component: string;
  version: string;
}

export function storeFiles(dir: string): { state: string; lock: string } {
  return { state: join(dir, STATE_FILE), lock: join(dir, LOCK_FILE) };
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
// Creating and opening

/**
 * Creates a store at `dir` pinning `policyBytes`, which must load as a trusted policy (signed by a
 * quorum of its own keys). Refuses, with STORE_EXISTS, a directory that already holds a store. The
 * pinned policy may have expired (a site can still walk rotations from it); verification checks expiry.
 */
export async function initStore(dir: string, policyBytes: Uint8Array, opts: StoreWriteOptions & { installed?: readonly InstalledSpec[] } = {}): Promise<TrustStore> {
  const now = opts.now ?? new Date();
  if (policyBytes.length > MAX_POLICY_BYTES) throw new FormatError('SIZE_LIMIT', `the policy is ${policyBytes.length} bytes; a policy may be at most ${MAX_POLICY_BYTES}`);
  const pinned = loadTrustedPolicy(policyBytes, 'policy to pin');
  const installed: Record<string, InstalledRelease> = {};
  for (const spec of opts.installed ?? []) {
    const { product, component, version } = checkInstalledSpec(spec);
    const key = installedKey(product, component);
    if (installed[key]) throw new UsageError('USAGE', `${key} is given twice`);
    installed[key] = { version, highest: version, updated: formatTimestamp(now) };
  }
  const state: StoreState = {
    format: STORE_FORMAT,
    pinned: envelopeText(openEnvelope(policyBytes).envelope),
    rotations: [],
    highestPolicyVersion: pinned.policy.version,
    installed,
    revocations: [],
  };
  const files = storeFiles(dir);
  if (existsSync(files.state)) throw storeExists(dir);
  try {
    const created = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    if (created !== undefined) chmodSync(dir, DIR_MODE);
    if (!statSync(dir).isDirectory()) throw new UsageError('IO', `${dir} is not a directory`);
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new UsageError('IO', `cannot create the store directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  await withLock(files.lock, { timeoutMs: opts.lockTimeoutMs }, async () => {
    // Checked again under the lock: two concurrent inits must not both write.
    if (existsSync(files.state)) throw storeExists(dir);
    writeState(dir, state);
  });
  return openStore(dir);
}

function storeExists(dir: string): StoreError {
  return new StoreError('STORE_EXISTS', `${dir} already holds a trust store; it was left as it is (use trust update, or init a new directory)`, { dir });
}

/** Opens and fully re-verifies the store at `dir`. Takes no lock: state.json is only ever replaced by rename. */
export async function openStore(dir: string): Promise<TrustStore> {
  const path = storeFiles(dir).state;
  let bytes: Uint8Array;
  try {
    // No-follow and non-blocking: a daemon reading a site owner's store must not be led elsewhere by a
    // symlink, nor stalled by a FIFO; either is refused just below.
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const info = await file.stat();
      if (!info.isFile()) throw corrupt(path, 'is not a regular file');
      if (info.size > MAX_STATE_BYTES) throw corrupt(path, `is ${info.size} bytes; a store is at most ${MAX_STATE_BYTES}`);
      bytes = new Uint8Array(await file.readFile());
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw corrupt(path, 'is a symbolic link');
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StoreError('STORE_MISSING', `there is no trust store at ${dir} (create one with countersign trust init)`, { dir });
    }
    throw new UsageError('IO', `cannot read the trust store ${path}: ${code ?? (err as Error).message}`);
  }
  return loadStore(dir, path, bytes);
}

function corrupt(path: string, what: string, cause?: unknown): StoreError {
  const details: Record<string, unknown> = { path };
  if (cause instanceof CountersignError) details.cause = toReason(cause);
  return new StoreError('STORE_CORRUPT', `the trust store ${path} ${what}; it was left untouched: restore it from a backup, or init a new store`, details);
}

function loadStore(dir: string, path: string, bytes: Uint8Array): TrustStore {
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
    policies.push(step(`holds rotation ${i + 1} that does not follow from the policy before it`, () => verifyRotation(policies.at(-1)!, utf8(text), `rotation ${i + 1}`)));
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
    if (!sameScheme(entry.highest, entry.version) || compareVersions(entry.highest, entry.version) < 0) throw corrupt(path, `records ${key} ${entry.version} installed above its highest ever ${entry.highest}`);
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

/** Writes state.json durably and atomically. Only ever called while holding the lock. */
function writeState(dir: string, state: StoreState): void {
  // Never write what could not be read back.
  validate<StoreState>('store', state, 'trust store');
  const target = storeFiles(dir).state;
  removeLeftoverTemps(dir);
  const temp = tempPathFor(target);
  try {
    writeDurably(temp, JSON.stringify(state, null, 2) + '\n', FILE_MODE);
    chmodSync(temp, FILE_MODE);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new UsageError('IO', `cannot write ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // Renames into place and fsyncs the directory; on failure the temporary file is removed.
  commitPending([{ target, temp }]);
}

/** Temporary files of a writer that died mid-write; safe to remove because we hold the lock. */
function removeLeftoverTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`.${STATE_FILE}.`) && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }
}

/** Runs `fn` on the freshly re-read store while holding its lock. */
async function withStore<T>(dir: string, opts: StoreWriteOptions, fn: (store: TrustStore) => Promise<T> | T): Promise<T> {
  // A missing store is reported as such, not as a failure to create its lock.
  if (!existsSync(storeFiles(dir).state)) await openStore(dir);
  return withLock(storeFiles(dir).lock, { timeoutMs: opts.lockTimeoutMs }, async () => fn(await openStore(dir)));
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
}

export type UpdateOutcome =
  | { file: string; status: 'accepted'; kind: 'policy'; policyVersion: number; expires: string }
  | { file: string; status: 'accepted' | 'unchanged'; kind: 'revocation'; revocation: Revocation; policyVersion: number }
  | { file: string; status: 'rejected'; code: ErrorCode; message: string; details?: Record<string, unknown> };

export interface UpdateResult {
  /** One per file, in the order given. */
  results: UpdateOutcome[];
  accepted: number;
  /** Revocations the store already held. */
  unchanged: number;
  rejected: number;
  /** Whether state.json was rewritten (only when something was accepted). */
  written: boolean;
  store: TrustStore;
}

/**
 * Accepts signed policy rotations and revocations, in the order given, each only once it verifies
 * against the policy trusted at that point: a rotation must be version N+1, signed by a quorum of N
 * and of itself, and the chain must end on a policy unexpired at `now`; a revocation must be signed by a quorum of the current
 * policy, which must be unexpired. Rejected files are reported with their code and change nothing;
 * accepted ones are kept. Nothing is written when nothing was accepted.
 */
export async function updateStore(dir: string, files: readonly UpdateFile[], opts: StoreWriteOptions = {}): Promise<UpdateResult> {
  const now = opts.now ?? new Date();
  return withStore(dir, opts, async (store) => {
    const state = structuredClone(store.state) as StoreState;
    const policies = [...store.policies];
    const known = new Set(state.revocations.map((r) => openEnvelope(utf8(r.envelope)).payloadSha256));
    const results: UpdateOutcome[] = [];
    for (const file of files) {
      try {
        results.push(applyUpdate(file, state, policies, known, now));
      } catch (err) {
        if (!(err instanceof CountersignError)) throw err;
        const reason = toReason(err);
        results.push({ file: file.name, status: 'rejected', code: reason.code, message: reason.message, ...(reason.details && { details: reason.details }) });
      }
    }
    rejectExpiredTail(results, state, policies, store.policies.length, now);
    const count = (status: UpdateOutcome['status']) => results.filter((r) => r.status === status).length;
    const accepted = count('accepted');
    if (accepted > 0) writeState(dir, state);
    return { results, accepted, unchanged: count('unchanged'), rejected: count('rejected'), written: accepted > 0, store: accepted > 0 ? await openStore(dir) : store };
  });
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
      results[at] = { file: results[at]!.file, status: 'rejected', code: reason.code, message: `${reason.message}; no fresher policy follows it in this update` };
    }
  }
}

function applyUpdate(file: UpdateFile, state: StoreState, policies: TrustedPolicy[], known: Set<string>, now: Date): UpdateOutcome {
  if (file.bytes.length > MAX_POLICY_BYTES) throw new FormatError('SIZE_LIMIT', `${file.name} is ${file.bytes.length} bytes; the limit is ${MAX_POLICY_BYTES}`);
  const opened = openEnvelope(file.bytes, file.name);
  const trusted = policies.at(-1)!;
  if (opened.kind === 'policy') {
    // Freshness is settled for the whole batch in rejectExpiredTail: a site that was offline may pass
    // through rotations that have since expired, as long as the chain ends on a fresh policy.
    const next = verifyRotation(trusted, file.bytes, file.name);
    if (state.rotations.length >= MAX_ROTATIONS) throw new FormatError('SIZE_LIMIT', `the store already holds ${MAX_ROTATIONS} rotations`);
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
    known.add(opened.payloadSha256);
    state.revocations.push({ envelope: envelopeText(opened.envelope), policyVersion, accepted: formatTimestamp(now) });
    return { file: file.name, status: 'accepted', kind: 'revocation', revocation, policyVersion };
  }
  throw new FormatError('WRONG_TYPE', `${file.name} is a ${opened.kind}; a trust store takes signed policy rotations and revocations`, { found: opened.kind });
}

/**
 * Records that `version` of product/component is now installed (the installer calls this after a
 * successful apply; an operator after a manual change, a downgrade included). The highest version
 * ever installed is never lowered, so a downgrade does not reopen the door to older releases.
 * With `kept` (files apply --keep-local left alone), the release is recorded as partly installed and
 * the version before stays (partialEntry); a full install or a manual record clears that.
 */
export async function recordInstall(
  store: TrustStore | string,
  product: string,
  component: string,
  version: string,
  opts: StoreWriteOptions & { kept?: readonly string[] } = {},
): Promise<InstalledSpec & InstalledRelease> {
  const dir = typeof store === 'string' ? store : store.dir;
  checkInstalledSpec({ product, component, version });
  const now = opts.now ?? new Date();
  return withStore(dir, opts, (current) => {
    const state = structuredClone(current.state) as StoreState;
    const key = installedKey(product, component);
    const before = state.installed[key];
    // Recording a version of the other scheme (8.x-3.5 to 4.0.0, by hand) starts its floor at that version: releases of the old scheme are never comparable to it, so all are refused.
    const highest = before && sameScheme(before.highest, version) && compareVersions(before.highest, version) > 0 ? before.highest : version;
    const kept = opts.kept ?? [];
    const entry: InstalledRelease = kept.length === 0 ? { version, highest, updated: formatTimestamp(now) } : partialEntry(key, before, version, kept, now);
    state.installed[key] = entry;
    writeState(dir, state);
    return { product, component, ...entry };
  });
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

export interface StoreVerifyOptions {
  /** Reference time, fixed once by the caller. */
  now: Date;
  limits?: Partial<Limits>;
  /** Revocations to honour in addition to the store's, for this check only (already verified). */
  revocations?: readonly Revocation[];
}

/**
 * Verifies a bundle as this site: against the store's policy (rotations are accepted into the store
 * with updateStore, never walked ephemerally here), the store's revocations, and what the store says is installed for the release's product/component
 * (current version for applicability, highest ever for rollback). A release for something this site
 * has not installed is WRONG_TARGET. Every reason found is reported, as by verifyBundle.
 */
export async function verifyWithStore(store: TrustStore, input: BundleInput, opts: StoreVerifyOptions): Promise<Verified> {
  const trusted = store.trusted;
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
    verified = await verifyBundle(input, { trusted, now: opts.now, site, revocations, limits: opts.limits });
  } catch (err) {
    if (err instanceof VerificationError && extra.length > 0) throw new VerificationError([...err.reasons, ...extra]);
    throw err;
  }
  if (extra.length > 0) throw new VerificationError(extra);
  return verified;
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
    revocations: store.revocations.map((r, i) => ({ ...r, acceptedUnder: store.state.revocations[i]!.policyVersion, accepted: store.state.revocations[i]!.accepted })),
  };
}
