// The log's replayed state beyond the root policy chain (spec/log.md "Providers"): each provider's current policy,
// its keys' activation times and its revoked keys, every release's status, the log time from the state entries, and
// the state map (lib/log/map.ts) of the records of lib/log/state-records.ts, kept in step with every change so a
// state entry's root is `stateRoot()` at once. Pure: the rules that decide what may change are in replay.ts.
import { fromBase64, toBase64 } from '../core/bytes.js';
import { sha256Hex } from '../core/envelope.js';
import type { Reason } from '../core/errors.js';
import type { CheckedPolicy } from '../core/policy.js';
import { countQuorum, type KeyRing, type QuorumResult, type SignedDocument } from '../core/quorum.js';
import type { EnvelopeSignature } from '../core/envelope.js';
import { roleRing, type Role } from '../core/provider-policy.js';
import { mayBeSameRelease } from '../core/version.js';
import { LogError } from './errors.js';
import { SparseMap } from './map.js';
import {
  encodeProviderRecord,
  encodeReleaseRecord,
  encodeRootRecord,
  providerPath,
  recordKey,
  releasePath,
  rootPath,
  type ProviderRecord,
  type RecordPath,
  type ReleaseStateRecord,
} from './state-records.js';

/** When a key may act in a role of a provider: from log time `activeFrom`, unknown until the next state entry. */
export interface KeyActivation {
  /** The entry index at which the key entered the role. */
  addedAt: number;
  /** The activation delay (seconds) of the root policy current at `addedAt`. */
  delay: number;
  /** Log time from which it counts: the first state entry's time after `addedAt` plus `delay`. */
  activeFrom: number | undefined;
}

export interface ProviderEntry {
  name: string;
  policy: CheckedPolicy;
  /** The exact payload bytes of the current policy (whose SHA-256 the provider record holds). */
  payload: Uint8Array;
  version: number;
  /** The entry that made this policy current (enrolment or rotation). */
  index: number;
  /** Every key of each role of the current policy, by roleKey(role, key id): a key that enters a role waits in it. */
  keys: Map<string, KeyActivation>;
  /** Revoked key ids and their effective index (a key's signatures at or after it never count). */
  revoked: Map<string, number>;
}

/** A ring of (provider, role) at an index, and why each key of the role left out does not count. */
export interface ActiveRing {
  ring: KeyRing;
  excluded: Map<string, Reason>;
}

export interface SavedProviderState {
  time: number;
  lastState: number | null;
  root: { version: number; policy: string } | null;
  /** name, policy payload (base64), index, keys: roleKey -> [addedAt, delay, activeFrom|null], revoked: keyid -> index. */
  providers: Array<{ name: string; payload: string; index: number; keys: Record<string, [number, number, number | null]>; revoked: Record<string, number> }>;
  /** JSON of the record path, index, revoked. */
  releases: Array<[string, number | null, number | null]>;
  /** Every release revocation in log order: JSON of the record path of the version it names, its index. */
  revocations: Array<[string, number]>;
}

const ROLES: readonly Role[] = ['admin', 'release'];

/** The key of a key's activation in a role: "admin <keyid>" or "release <keyid>". */
const roleKey = (role: Role, keyid: string): string => `${role} ${keyid}`;

/** The release records and revocations of one (provider or "", product, component). */
interface ReleaseGroup {
  versions: string[];
  revocations: Array<[version: string, index: number]>;
}

export class ProviderState {
  readonly providers = new Map<string, ProviderEntry>();
  /** By JSON of the release record path. */
  readonly releases = new Map<string, ReleaseStateRecord>();
  /** Log time: the `time` of the last state entry (0 before any). */
  time = 0;
  /** The index of the last state entry. */
  lastState: number | undefined;
  root: { version: number; policy: string } | undefined;
  readonly map = new SparseMap();
  /** By JSON of [provider or "", product, component]: a revocation reaches every version it may name (mayBeSameRelease). */
  readonly #groups = new Map<string, ReleaseGroup>();
  /** Keys added to a role since the last state entry (by roleKey): their activation starts at the next one. */
  #pending: Array<{ provider: string; key: string }> = [];
  /** Activation times still ahead of the log time (a removed key's may linger: it only costs one early state entry). */
  #upcoming: number[] = [];

  /** The root of the state map over everything applied so far: what the next state entry must commit to. */
  stateRoot(): Uint8Array {
    return this.map.root();
  }

  provider(name: string): ProviderEntry | undefined {
    return this.providers.get(name);
  }

  release(provider: string | undefined, product: string, component: string, version: string): ReleaseStateRecord | undefined {
    return this.releases.get(JSON.stringify(releasePath(provider, product, component, version)));
  }

  /** Why a key does not count in a role of the provider at `index` (revoked at or before it, or not active in the role). */
  keyStatus(p: ProviderEntry, role: Role, keyid: string, index: number): Reason | undefined {
    return this.#revokedBy(p, keyid, index) ?? this.#inactive(p, role, keyid);
  }

  /**
   * `ring` (`role` of the provider's policy) with only the keys that count at `index`: active in the role and
   * unrevoked, or with `possession` (a rotation's new policy counting its own quorum) merely unrevoked.
   */
  activeRing(p: ProviderEntry, role: Role, ring: KeyRing, index: number, possession = false): ActiveRing {
    const excluded = new Map<string, Reason>();
    const keys = ring.keys.filter((k) => {
      const why = possession ? this.#revokedBy(p, k.signer.id, index) : this.keyStatus(p, role, k.signer.id, index);
      if (why) excluded.set(k.signer.id, why);
      return why === undefined;
    });
    return { ring: { threshold: ring.threshold, keys }, excluded };
  }

  #revokedBy(p: ProviderEntry, keyid: string, index: number): Reason | undefined {
    const revokedAt = p.revoked.get(keyid);
    if (revokedAt === undefined || revokedAt > index) return undefined;
    return { code: 'KEY_REVOKED', message: `key ${keyid.slice(0, 16)}… of ${p.name} is revoked from entry ${revokedAt}`, details: { keyid, revokedAt } };
  }

  #inactive(p: ProviderEntry, role: Role, keyid: string): Reason | undefined {
    const a = p.keys.get(roleKey(role, keyid));
    if (a && a.activeFrom !== undefined && this.time >= a.activeFrom) return undefined;
    const when = a?.activeFrom === undefined ? 'after the next state entry plus the activation delay' : `at log time ${a.activeFrom}`;
    return {
      code: 'KEY_NOT_ACTIVE',
      message: `key ${keyid.slice(0, 16)}… of ${p.name} is not active in its ${role} role at log time ${this.time} (it becomes active ${when})`,
      details: { keyid, role, logTime: this.time, activeFrom: a?.activeFrom ?? null },
    };
  }

  setRoot(policy: CheckedPolicy, payload: Uint8Array): void {
    this.root = { version: policy.policy.version, policy: sha256Hex(payload) };
    this.map.set(recordKey(rootPath()), encodeRootRecord(this.root));
  }

  /**
   * Makes `policy` the provider's current one at entry `index` (an enrolment, re-enrolment or rotation). A key keeps
   * its activation in each role it already had in the previous policy; in a role it enters (an admin key made a
   * release key too) it waits for the next state entry plus `delay`.
   */
  setProvider(name: string, policy: CheckedPolicy, payload: Uint8Array, index: number, delay: number): void {
    const old = this.providers.get(name);
    const keys = new Map<string, KeyActivation>();
    for (const role of ROLES) {
      for (const k of roleRing(policy, role).keys) {
        const key = roleKey(role, k.signer.id);
        const kept = old?.keys.get(key);
        if (kept) keys.set(key, kept);
        else if (!keys.has(key)) {
          keys.set(key, { addedAt: index, delay, activeFrom: undefined });
          this.#pending.push({ provider: name, key });
        }
      }
    }
    const p: ProviderEntry = { name, policy, payload, version: policy.policy.version, index, keys, revoked: old?.revoked ?? new Map() };
    this.providers.set(name, p);
    this.#writeProvider(p);
  }

  /** Revokes a provider's key from `effective`: of two revocations of one key, the smaller index stands. */
  revokeKey(name: string, keyid: string, effective: number): void {
    const p = this.#need(name);
    const was = p.revoked.get(keyid);
    if (was !== undefined && was <= effective) return;
    p.revoked.set(keyid, effective);
    this.#writeProvider(p);
  }

  /**
   * A release logged at `index` (first wins is the replay's rule). A release record's `revoked` is the index of the
   * first revocation of its provider, product and component whose version may be the same release (lib/core
   * mayBeSameRelease: 1.2 and 1.2.0, 8.x-1.2 and 1.2.0), whether it came before the release or after.
   */
  addRelease(provider: string | undefined, product: string, component: string, version: string, index: number): void {
    const path = releasePath(provider, product, component, version);
    const was = this.releases.get(JSON.stringify(path));
    if (was?.index != null) throw new LogError('RELEASE_EXISTS', `${path.join(' ')} is already logged at entry ${was.index}`, { first: was.index, index });
    const group = this.#group(path);
    if (!was) group.versions.push(version);
    this.#writeRelease(path, { index, revoked: firstRevocation(group, version) });
  }

  /** A release revocation at `index`: it revokes every release record it may name that no earlier revocation did. */
  revokeRelease(provider: string | undefined, product: string, component: string, version: string, index: number): void {
    const path = releasePath(provider, product, component, version);
    const group = this.#group(path);
    group.revocations.push([version, index]);
    if (!this.releases.has(JSON.stringify(path))) {
      group.versions.push(version);
      this.#writeRelease(path, { index: null, revoked: firstRevocation(group, version) });
    }
    for (const v of group.versions) {
      const at = releasePath(provider, product, component, v);
      const was = this.releases.get(JSON.stringify(at))!;
      if (was.revoked === null && mayBeSameRelease(version, v)) this.#writeRelease(at, { index: was.index, revoked: index });
    }
  }

  #group(path: RecordPath): ReleaseGroup {
    const id = JSON.stringify(path.slice(1, 4));
    let group = this.#groups.get(id);
    if (!group) this.#groups.set(id, (group = { versions: [], revocations: [] }));
    return group;
  }

  /**
   * A state entry at `index` with log time `time`: keys added to a role since the last one now have their activation
   * time, and their providers' records say so. The state entry commits to the map after this (stateRootAt), so the
   * state after it is exactly what its root proves.
   */
  applyState(index: number, time: number): void {
    this.time = time;
    this.lastState = index;
    for (const p of this.#activate(time)) this.#writeProvider(p);
    this.#pending = [];
    this.#upcoming = this.#upcoming.filter((t) => t > time);
  }

  /** The root a state entry with log time `time` commits to: the map with the activations it starts. Changes nothing. */
  stateRootAt(time: number): Uint8Array {
    const changed = [...this.#activatedBy(time)];
    if (changed.length === 0) return this.stateRoot();
    const before = changed.map(([p]) => [recordKey(providerPath(p.name)), this.map.get(recordKey(providerPath(p.name)))] as const);
    for (const [p, times] of changed) this.map.set(recordKey(providerPath(p.name)), encodeProviderRecord(this.#record(p, times)));
    const root = this.stateRoot();
    for (const [key, value] of before) this.map.set(key, value);
    return root;
  }

  /** The pending keys' activation times under a state entry at `time`, by provider. */
  *#activatedBy(time: number): Iterable<[ProviderEntry, Map<string, number>]> {
    const byProvider = new Map<ProviderEntry, Map<string, number>>();
    for (const { provider, key } of this.#pending) {
      const p = this.providers.get(provider);
      const a = p?.keys.get(key);
      if (!p || !a || a.activeFrom !== undefined) continue;
      let times = byProvider.get(p);
      if (!times) byProvider.set(p, (times = new Map()));
      times.set(key, time + a.delay);
    }
    yield* byProvider;
  }

  #activate(time: number): ProviderEntry[] {
    const changed: ProviderEntry[] = [];
    for (const [p, times] of this.#activatedBy(time)) {
      for (const [key, from] of times) {
        p.keys.get(key)!.activeFrom = from;
        this.#upcoming.push(from);
      }
      changed.push(p);
    }
    return changed;
  }

  /**
   * Whether a key's activation time has come by `now` (POSIX seconds) but not yet in log time: the sequencer then
   * opens the batch with a state entry, so a key's delay also ends in a quiet log (log time moves only with state entries).
   */
  activationDue(now: number): boolean {
    return this.#upcoming.some((t) => t <= now);
  }

  /** Counts `signatures` over `doc` against an ActiveRing: a left-out key's signature is reported with its reason. */
  static count(doc: SignedDocument, signatures: readonly EnvelopeSignature[], active: ActiveRing): QuorumResult {
    const q = countQuorum(doc, signatures, active.ring);
    return {
      ...q,
      problems: q.problems.map((r) => {
        const id = (r.details as { keyid?: string } | undefined)?.keyid;
        return r.code === 'UNKNOWN_KEY' && id !== undefined ? (active.excluded.get(id) ?? r) : r;
      }),
    };
  }

  save(): SavedProviderState {
    return {
      time: this.time,
      lastState: this.lastState ?? null,
      root: this.root ?? null,
      providers: [...this.providers.values()].map((p) => ({
        name: p.name,
        payload: toBase64(p.payload),
        index: p.index,
        keys: Object.fromEntries([...p.keys].map(([id, a]) => [id, [a.addedAt, a.delay, a.activeFrom ?? null]])),
        revoked: Object.fromEntries(p.revoked),
      })),
      releases: [...this.releases].map(([id, r]) => [id, r.index, r.revoked]),
      revocations: [...this.#groups]
        .flatMap(([id, g]) => g.revocations.map(([v, index]): [string, number] => [JSON.stringify(['release', ...(JSON.parse(id) as string[]), v]), index]))
        .sort((a, b) => a[1] - b[1]),
    };
  }

  /** The state as saved; `readPolicy` re-reads each provider policy payload (lib/core's checks). */
  static load(saved: SavedProviderState, readPolicy: (payload: Uint8Array, what: string) => CheckedPolicy): ProviderState {
    const s = new ProviderState();
    s.time = saved.time;
    s.lastState = saved.lastState ?? undefined;
    if (saved.root) {
      s.root = saved.root;
      s.map.set(recordKey(rootPath()), encodeRootRecord(saved.root));
    }
    for (const sp of saved.providers) {
      const payload = fromBase64(sp.payload, `saved policy of ${sp.name}`);
      const policy = readPolicy(payload, `saved policy of ${sp.name}`);
      const keys = new Map<string, KeyActivation>();
      for (const [id, [addedAt, delay, activeFrom]] of Object.entries(sp.keys)) {
        keys.set(id, { addedAt, delay, activeFrom: activeFrom ?? undefined });
        if (activeFrom === null) s.#pending.push({ provider: sp.name, key: id });
        else if (activeFrom > saved.time) s.#upcoming.push(activeFrom);
      }
      const p: ProviderEntry = {
        name: sp.name,
        policy,
        payload,
        version: policy.policy.version,
        index: sp.index,
        keys,
        revoked: new Map(Object.entries(sp.revoked)),
      };
      s.providers.set(sp.name, p);
      s.#writeProvider(p);
    }
    for (const [id, index, revoked] of saved.releases) {
      const path = JSON.parse(id) as string[];
      s.#group(path).versions.push(path[4]!);
      s.#writeRelease(path, { index, revoked });
    }
    for (const [id, index] of saved.revocations) {
      const path = JSON.parse(id) as string[];
      s.#group(path).revocations.push([path[4]!, index]);
    }
    return s;
  }

  #need(name: string): ProviderEntry {
    const p = this.providers.get(name);
    if (!p) throw new LogError('PROVIDER_UNKNOWN', `provider ${name} is not enrolled`, { provider: name });
    return p;
  }

  #writeProvider(p: ProviderEntry): void {
    this.map.set(recordKey(providerPath(p.name)), encodeProviderRecord(this.#record(p)));
  }

  /** `p`'s record; `activating`: activation times a state entry is about to give (stateRootAt). */
  #record(p: ProviderEntry, activating?: ReadonlyMap<string, number>): ProviderRecord {
    const activeFrom = activationTimes(p);
    for (const [key, from] of activating ?? []) activeFrom[key] = from;
    return { version: p.version, policy: sha256Hex(p.payload), index: p.index, revoked: Object.fromEntries(p.revoked), activeFrom };
  }

  #writeRelease(path: RecordPath, r: ReleaseStateRecord): void {
    this.releases.set(JSON.stringify(path), r);
    this.map.set(recordKey(path), encodeReleaseRecord(r));
  }
}

/** Each role key of `p` ("admin <keyid>", "release <keyid>") and the log time it is active from; null until known. */
export function activationTimes(p: ProviderEntry): Record<string, number | null> {
  return Object.fromEntries([...p.keys].map(([key, a]) => [key, a.activeFrom ?? null]));
}

/** The index of the first revocation in `group` that may name `version`; null when none does. */
function firstRevocation(group: ReleaseGroup, version: string): number | null {
  return group.revocations.find(([v]) => mayBeSameRelease(v, version))?.[1] ?? null;
}
