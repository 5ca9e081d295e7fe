// The log's rules, replayed entry by entry from the first: what `log add` checks before it sequences a document and
// what a monitor re-checks for every entry it reads. Pure: manifests come from a callback.
//
//   - a policy without `provider` is the root chain: the first one (signed by a quorum of its own keys), or version
//     N+1 signed by a quorum of N and of N+1 (lib/core/rotation.ts). Its quorum is the super provider;
//   - an enrolment binds a provider name to its first policy (root quorum or the root's registry ring), or
//     re-enrols it (`previous` = its current version, root quorum only);
//   - a policy with `provider` rotates that provider: N+1 signed by the admin quorum of N (active, unrevoked keys)
//     and of N+1 (its new keys count: possession);
//   - a release carries a quorum over its manifest: of the root policy (a root release), or of its provider's
//     release ring (keys active at this index and not revoked at or before it) or the super provider; the first
//     release of (provider, product, component, version) wins, forever;
//   - a revocation carries the root quorum, or for a provider's release its release or admin quorum or the super
//     provider's; a key revocation its provider's admin quorum or the super provider's, effective at most now;
//   - a state entry (the sequencer's, last of each batch) names its own index, a time not below the previous one
//     (nor ahead of the replaying reader's clock), and the root of the state map (provider-state.ts) over the
//     entries before it.
// The signer keys always come from the replayed state for (provider, role), never from the entry under check.
import { canonicalBytes } from '../core/canonical.js';
import { toHex } from '../core/bytes.js';
import { openEnvelope, sha256Hex, type EnvelopeSignature, type OpenedEnvelope } from '../core/envelope.js';
import { PolicyError, SignatureError } from '../core/errors.js';
import { enrolmentFromPayload } from '../core/enrolment.js';
import { effectiveIndex, keyRevocationFromPayload } from '../core/key-revocation.js';
import { manifestFromPayload, type Manifest } from '../core/manifest.js';
import { loadTrustedPolicy, policyFromPayload, type CheckedPolicy, type TrustedPolicy } from '../core/policy.js';
import { activationDelay, providerOf, registryRing, roleRing } from '../core/provider-policy.js';
import { countQuorum, describeQuorum, publicSigner, requireQuorum, type KeyRing, type QuorumResult } from '../core/quorum.js';
import { revocationFromPayload, type Revocation } from '../core/revocation.js';
import { checkRotationVersion, verifyRotation } from '../core/rotation.js';
import { LogError } from './errors.js';
import { parseEntry, type ReleaseStatement, type StateEntry } from './entry.js';
import { ProviderState, type ProviderEntry, type SavedProviderState } from './provider-state.js';

/** How far (seconds) a state entry's time may be ahead of the clock of whoever replays it. */
export const MAX_STATE_AHEAD_SECONDS = 600;

/** The manifest payload whose SHA-256 (hex) is given, from beside the tiles; undefined when absent. */
export type ManifestSource = (payloadSha256: string) => Uint8Array | undefined;

export type ReplayedEntry =
  | { kind: 'policy'; index: number; policy: TrustedPolicy; payload: Uint8Array; keyids: string[] }
  | {
      kind: 'provider-policy';
      index: number;
      provider: string;
      policy: CheckedPolicy;
      payload: Uint8Array;
      delay: number;
      quorum: QuorumResult;
      keyids: string[];
    }
  | {
      kind: 'enrolment';
      index: number;
      provider: string;
      policy: CheckedPolicy;
      payload: Uint8Array;
      delay: number;
      /** Who authorised it: the root quorum (the super provider) or the root's registry ring. */
      by: 'root' | 'registry';
      reenrolment: boolean;
      quorum: QuorumResult;
      superProvider: boolean;
      keyids: string[];
    }
  | {
      kind: 'key-revocation';
      index: number;
      provider: string;
      keyid: string;
      effective: number;
      quorum: QuorumResult;
      superProvider: boolean;
      keyids: string[];
    }
  | {
      kind: 'release';
      index: number;
      key: string;
      provider?: string;
      statement: ReleaseStatement;
      manifest: Manifest;
      quorum: QuorumResult;
      superProvider: boolean;
      keyids: string[];
    }
  | { kind: 'revocation'; index: number; provider?: string; revocation: Revocation; quorum: QuorumResult; superProvider: boolean; keyids: string[] }
  | { kind: 'state'; index: number; state: StateEntry; keyids: string[] };

/** (provider,) product, component and version: the key of "first release wins". A root release keeps today's key. */
export function releaseKey(r: { provider?: string; product: string; component: string; version: string }): string {
  return JSON.stringify(r.provider === undefined ? [r.product, r.component, r.version] : [r.provider, r.product, r.component, r.version]);
}

export interface ReleaseRecord {
  index: number;
  /** entryIdentity of the entry. */
  identity: string;
}

/**
 * What makes two entries "the same document" (hex SHA-256 of the entry without its signatures): `log add` of a
 * document already logged, with the same or other signatures, returns the index it has.
 */
export function entryIdentity(entry: Uint8Array): string {
  return sha256Hex(canonicalBytes({ ...parseEntry(entry).entry, signatures: [] }));
}

/** Where first-wins looks a release up: a Map for a monitor, the database for a sequencer. */
export interface ReleaseIndex {
  get(key: string): ReleaseRecord | undefined;
  set(key: string, record: ReleaseRecord): void;
}

export class Replay {
  size = 0;
  policy: TrustedPolicy | undefined;
  readonly releases: ReleaseIndex;
  /** The root policy entries so far, in order (what a saved replay keeps to walk the chain again). */
  policyEntries: Uint8Array[] = [];
  /** Providers, releases' status, log time and the state map. */
  state = new ProviderState();

  constructor(releases: ReleaseIndex = new Map()) {
    this.releases = releases;
  }

  /**
   * Whether the sequencer ends each batch with a state entry: once the log has providers (a format 3 root policy or
   * an enrolment). A log of today's single policy keeps its entries as they were.
   */
  get keepsState(): boolean {
    return this.state.providers.size > 0 || (this.policy?.policy.format ?? 1) >= 3;
  }

  /**
   * Checks `entry` as the next entry (index `this.size`) and returns what it is, changing nothing. A document
   * that breaks a rule throws its own code (QUORUM_NOT_MET, POLICY_VERSION_GAP, PROVIDER_EXISTS, …) or ENTRY_INVALID.
   * `now`: the reader's clock (a monitor's, an auditor's), which no state entry's time may be ahead of.
   */
  check(entry: Uint8Array, manifests: ManifestSource, now?: Date): ReplayedEntry {
    const index = this.size;
    const parsed = parseEntry(entry);
    if (parsed.kind === 'state') return this.#checkState(parsed.state, index, now);
    if (parsed.kind === 'release') return this.#checkRelease(parsed.statement, index, manifests);
    const keyids = parsed.entry.signatures.map((x) => x.keyid);
    const what = `${parsed.kind} at entry ${index}`;
    if (parsed.kind === 'revocation') this.#current(index, 'revocation');
    const opened = openEnvelope(parsed.envelopeBytes, what);
    const sigs = opened.envelope.signatures;
    if (parsed.kind === 'policy') {
      const provider = providerOf(policyFromPayload(opened.payloadBytes, what));
      if (provider !== undefined) return this.#checkProviderPolicy(opened, provider, index, keyids);
      const policy = this.policy ? verifyRotation(this.policy, parsed.envelopeBytes, what) : loadTrustedPolicy(parsed.envelopeBytes, what);
      return { kind: 'policy', index, policy, payload: opened.payloadBytes, keyids };
    }
    if (parsed.kind === 'enrolment') return this.#checkEnrolment(opened, index, keyids);
    if (parsed.kind === 'key-revocation') {
      const kr = keyRevocationFromPayload(opened.payloadBytes, what);
      const p = this.#provider(kr.provider, index);
      const effective = effectiveIndex(kr.from, index);
      if (effective === undefined)
        throw new LogError('BAD_REVOCATION_INDEX', `${what} takes effect from entry ${kr.from}, after its own index: revocations take effect at once`, {
          index,
          from: kr.from,
        });
      const { quorum, superProvider } = this.#providerOrRoot(opened, sigs, p, ['admin'], index, `revocation of key ${kr.keyid.slice(0, 16)}… of ${p.name}`);
      return { kind: 'key-revocation', index, provider: p.name, keyid: kr.keyid, effective, quorum, superProvider, keyids };
    }
    const current = this.policy!;
    const revocation = revocationFromPayload(opened.payloadBytes, what);
    const provider = revocation.provider;
    if (provider === undefined) {
      // verifyRevocation's checks, with the quorum counted once (the monitor's hot path).
      const quorum = countQuorum(opened, sigs, current);
      requireQuorum(quorum);
      return { kind: 'revocation', index, revocation, quorum, superProvider: false, keyids };
    }
    const p = this.#provider(provider, index);
    const { quorum, superProvider } = this.#providerOrRoot(
      opened,
      sigs,
      p,
      ['release', 'admin'],
      index,
      `revocation of ${p.name} ${revocation.product} ${revocation.version}`,
    );
    return { kind: 'revocation', index, provider, revocation, quorum, superProvider, keyids };
  }

  #checkState(s: StateEntry, index: number, now: Date | undefined): ReplayedEntry {
    const mismatch = (message: string, details: Record<string, unknown>) =>
      new LogError('STATE_MISMATCH', `state entry ${index}: ${message}`, { index, ...details });
    if (s.size !== index) throw mismatch(`it says size ${s.size}; a state entry's size is its own index`, { size: s.size });
    if (s.time < this.state.time)
      throw mismatch(`its time ${s.time} is before the previous state entry's ${this.state.time}`, { time: s.time, previous: this.state.time });
    // Log time ahead of the clock would start every pending key's activation delay early (or end it at once).
    const latest = now === undefined ? undefined : Math.floor(now.getTime() / 1000) + MAX_STATE_AHEAD_SECONDS;
    if (latest !== undefined && s.time > latest)
      throw mismatch(`its time ${s.time} is more than ${MAX_STATE_AHEAD_SECONDS} s ahead of the clock (${latest - MAX_STATE_AHEAD_SECONDS})`, {
        time: s.time,
        now: latest - MAX_STATE_AHEAD_SECONDS,
      });
    const root = toHex(this.state.stateRootAt(s.time));
    if (s.map !== root) throw mismatch(`its map root ${s.map} is not the root of the replayed state, ${root}`, { map: s.map, replayed: root });
    return { kind: 'state', index, state: s, keyids: [] };
  }

  #checkRelease(s: ReleaseStatement, index: number, manifests: ManifestSource): ReplayedEntry {
    const current = this.#current(index, 'release');
    const payload = manifests(s.payloadSha256);
    if (!payload)
      throw new LogError('ENTRY_INVALID', `entry ${index}: the manifest ${s.payloadSha256} is not beside the tiles`, { reason: 'MANIFEST_MISSING', index });
    if (sha256Hex(payload) !== s.payloadSha256)
      throw new LogError('ENTRY_INVALID', `entry ${index}: the stored manifest does not hash to ${s.payloadSha256}`, { index });
    const manifest = manifestFromPayload(payload, `manifest of entry ${index}`);
    if (
      manifest.provider !== s.provider ||
      manifest.product !== s.product ||
      manifest.component !== s.component ||
      manifest.version !== s.version ||
      manifest.archive.sha256 !== s.archive.sha256 ||
      manifest.archive.size !== s.archive.size ||
      manifest.policyVersion !== s.policyVersion
    ) {
      throw new LogError('ENTRY_INVALID', `entry ${index}: the release statement does not say what its manifest says`, { index });
    }
    const doc = { envelope: { payloadType: s.payloadType }, payloadBytes: payload };
    let quorum: QuorumResult;
    let superProvider = false;
    if (s.provider === undefined) {
      quorum = countQuorum(doc, s.signatures, current);
      if (!quorum.met) {
        throw new SignatureError(
          'QUORUM_NOT_MET',
          `release ${s.product} ${s.component} ${s.version} lacks the quorum of logged policy ${current.policy.version}: ${describeQuorum(quorum)}`,
          {
            index,
            signedBy: quorum.signedBy.map(publicSigner),
            couldSign: quorum.couldSign.map(publicSigner),
          },
        );
      }
    } else {
      const p = this.#provider(s.provider, index);
      ({ quorum, superProvider } = this.#providerOrRoot(
        doc,
        s.signatures,
        p,
        ['release'],
        index,
        `release ${p.name} ${s.product} ${s.component} ${s.version}`,
      ));
    }
    const key = releaseKey(s);
    const first = this.releases.get(key);
    if (first) {
      const same = first.identity === sha256Hex(canonicalBytes({ ...s, signatures: [] })) ? ' (the same release, logged twice)' : '';
      throw new LogError(
        'RELEASE_EXISTS',
        `${s.provider === undefined ? '' : `${s.provider} `}${s.product} ${s.component} ${s.version} was already logged at entry ${first.index}${same}: the first release wins`,
        { index, first: first.index },
      );
    }
    return { kind: 'release', index, key, provider: s.provider, statement: s, manifest, quorum, superProvider, keyids: s.signatures.map((x) => x.keyid) };
  }

  #checkEnrolment(opened: OpenedEnvelope, index: number, keyids: string[]): ReplayedEntry {
    const what = `enrolment at entry ${index}`;
    const root = this.#current(index, 'enrolment');
    const { enrolment, policy, policyBytes } = enrolmentFromPayload(opened.payloadBytes, what);
    const name = enrolment.provider;
    const existing = this.state.provider(name);
    const previous = enrolment.previous;
    const byRoot = countQuorum(opened, opened.envelope.signatures, root);
    const registry = registryRing(root);
    const byRegistry = registry ? countQuorum(opened, opened.envelope.signatures, registry) : undefined;
    if (existing && previous === undefined)
      throw new LogError('PROVIDER_EXISTS', `${what}: provider ${name} is already enrolled (policy version ${existing.version} at entry ${existing.index})`, {
        index,
        provider: name,
        version: existing.version,
      });
    if (!existing && previous !== undefined)
      throw new LogError('PROVIDER_UNKNOWN', `${what} re-enrols ${name} from version ${previous}, but ${name} is not enrolled`, { index, provider: name });
    if (existing && previous !== existing.version)
      throw new PolicyError('POLICY_VERSION_GAP', `${what} re-enrols ${name} from version ${previous}; its current version is ${existing.version}`, {
        trusted: existing.version,
        offered: previous,
      });
    let by: 'root' | 'registry';
    if (byRoot.met) by = 'root';
    else if (!existing && byRegistry?.met) by = 'registry';
    else {
      const why = existing
        ? byRegistry?.met
          ? 'a re-enrolment needs the root quorum; the registry may only enrol a new name'
          : 'a re-enrolment needs the root quorum'
        : 'an enrolment needs the root quorum or the root policy registry quorum';
      throw quorumError(`${what} of ${name}: ${why}`, index, [['root', byRoot], ...(byRegistry ? [['registry', byRegistry] as const] : [])]);
    }
    const quorum = by === 'root' ? byRoot : byRegistry!;
    return {
      kind: 'enrolment',
      index,
      provider: name,
      policy,
      payload: policyBytes,
      delay: activationDelay(root),
      by,
      reenrolment: existing !== undefined,
      quorum,
      superProvider: by === 'root',
      keyids,
    };
  }

  #checkProviderPolicy(opened: OpenedEnvelope, name: string, index: number, keyids: string[]): ReplayedEntry {
    const what = `policy of ${name} at entry ${index}`;
    const root = this.#current(index, 'provider policy');
    const p = this.#provider(name, index);
    const next = policyFromPayload(opened.payloadBytes, what);
    checkRotationVersion(p.policy, next);
    const sigs = opened.envelope.signatures;
    const current = ProviderState.count(opened, sigs, this.state.activeRing(p, 'admin', roleRing(p.policy, 'admin'), index));
    const own = ProviderState.count(opened, sigs, this.state.activeRing(p, 'admin', roleRing(next, 'admin'), index, true));
    if (!current.met || !own.met) {
      throw quorumError(
        `rotation of ${name} to policy ${next.policy.version} lacks the admin quorums of versions ${p.version} and ${next.policy.version}`,
        index,
        [
          [`admin ${p.version}`, current],
          [`admin ${next.policy.version}`, own],
        ],
      );
    }
    return {
      kind: 'provider-policy',
      index,
      provider: name,
      policy: next,
      payload: opened.payloadBytes,
      delay: activationDelay(root),
      quorum: current,
      keyids,
    };
  }

  /** The quorum of one of the provider's roles (keys that count at `index`), else the super provider's (flagged). */
  #providerOrRoot(
    doc: { envelope: { payloadType: string }; payloadBytes: Uint8Array },
    sigs: readonly EnvelopeSignature[],
    p: ProviderEntry,
    roles: Array<'admin' | 'release'>,
    index: number,
    what: string,
  ): { quorum: QuorumResult; superProvider: boolean } {
    const tried: Array<readonly [string, QuorumResult]> = [];
    for (const role of roles) {
      const quorum = ProviderState.count(doc, sigs, this.state.activeRing(p, role, roleRing(p.policy, role), index));
      if (quorum.met) return { quorum, superProvider: false };
      tried.push([`${p.name} ${role}`, quorum]);
    }
    const root = countQuorum(doc, sigs, this.#current(index, what));
    if (root.met) return { quorum: root, superProvider: true };
    throw quorumError(`${what} lacks the quorum of ${roles.map((r) => `${p.name}'s ${r} keys`).join(' or ')}, or of the super provider`, index, [
      ...tried,
      ['super provider', root],
    ]);
  }

  #current(index: number, kind: string): TrustedPolicy {
    if (!this.policy) throw new LogError('NO_POLICY', `entry ${index} is a ${kind}, but no policy is logged yet`, { index });
    return this.policy;
  }

  #provider(name: string, index: number): ProviderEntry {
    const p = this.state.provider(name);
    if (!p) throw new LogError('PROVIDER_UNKNOWN', `entry ${index} names provider ${name}, which is not enrolled`, { index, provider: name });
    return p;
  }

  /** Makes a checked entry part of the state. */
  apply(checked: ReplayedEntry, entry: Uint8Array): void {
    if (checked.index !== this.size) throw new LogError('ENTRY_INVALID', `entry ${checked.index} applied at ${this.size}`);
    const s = this.state;
    switch (checked.kind) {
      case 'policy':
        this.policy = checked.policy;
        this.policyEntries.push(entry);
        s.setRoot(checked.policy, checked.payload);
        break;
      case 'provider-policy':
      case 'enrolment':
        s.setProvider(checked.provider, checked.policy, checked.payload, checked.index, checked.delay);
        break;
      case 'key-revocation':
        s.revokeKey(checked.provider, checked.keyid, checked.effective);
        break;
      case 'release': {
        const st = checked.statement;
        // First (it refuses a second release of a version, as the database's UNIQUE does): nothing changed then.
        s.addRelease(st.provider, st.product, st.component, st.version, checked.index);
        this.releases.set(checked.key, { index: checked.index, identity: entryIdentity(entry) });
        break;
      }
      case 'revocation': {
        const r = checked.revocation;
        s.revokeRelease(checked.provider, r.product, r.component, r.version, checked.index);
        break;
      }
      case 'state':
        s.applyState(checked.index, checked.state.time);
        break;
    }
    this.size++;
  }

  /**
   * Takes an entry this log's own database holds (checked when it was sequenced) without re-verifying quorums: how
   * a sequencer restarts or catches up with another process. Root policies are still walked; the documents are
   * still read, so the provider state is exactly what check + apply made.
   */
  adopt(entry: Uint8Array): void {
    const index = this.size;
    const parsed = parseEntry(entry);
    const s = this.state;
    if (parsed.kind === 'state') {
      s.applyState(index, parsed.state.time);
    } else if (parsed.kind === 'release') {
      const st = parsed.statement;
      this.releases.set(releaseKey(st), { index, identity: entryIdentity(entry) });
      s.addRelease(st.provider, st.product, st.component, st.version, index);
    } else {
      const what = `${parsed.kind} at entry ${index}`;
      const payload = openEnvelope(parsed.envelopeBytes, what).payloadBytes;
      if (parsed.kind === 'policy') {
        const read = policyFromPayload(payload, what);
        const provider = providerOf(read);
        if (provider !== undefined) s.setProvider(provider, read, payload, index, activationDelay(this.#current(index, what)));
        else {
          this.policy = this.policy ? verifyRotation(this.policy, parsed.envelopeBytes, what) : loadTrustedPolicy(parsed.envelopeBytes, what);
          this.policyEntries.push(entry);
          s.setRoot(this.policy, payload);
        }
      } else if (parsed.kind === 'enrolment') {
        const { enrolment, policy, policyBytes } = enrolmentFromPayload(payload, what);
        s.setProvider(enrolment.provider, policy, policyBytes, index, activationDelay(this.#current(index, what)));
      } else if (parsed.kind === 'key-revocation') {
        const kr = keyRevocationFromPayload(payload, what);
        s.revokeKey(kr.provider, kr.keyid, effectiveIndex(kr.from, index)!);
      } else {
        this.#current(index, 'revocation');
        const r = revocationFromPayload(payload, what);
        s.revokeRelease(r.provider, r.product, r.component, r.version, index);
      }
    }
    this.size++;
  }

  /** A replay as saved: the root policy chain is walked again, the releases are taken as recorded, and the provider state as saved. */
  static restore(saved: { size: number; policyEntries: Uint8Array[]; releases: Iterable<[string, ReleaseRecord]>; providerState: SavedProviderState }): Replay {
    const replay = new Replay();
    for (const p of saved.policyEntries) {
      if (parseEntry(p).kind !== 'policy') throw new LogError('ENTRY_INVALID', 'a saved policy entry is not a policy');
      replay.adopt(p);
    }
    replay.state = ProviderState.load(saved.providerState, (payload, what) => policyFromPayload(payload, what));
    for (const [key, record] of saved.releases) replay.releases.set(key, record);
    replay.size = saved.size;
    return replay;
  }

  /** check + apply. */
  next(entry: Uint8Array, manifests: ManifestSource, now?: Date): ReplayedEntry {
    const checked = this.check(entry, manifests, now);
    this.apply(checked, entry);
    return checked;
  }
}

/** QUORUM_NOT_MET naming each quorum tried, with its problems (a key not active or revoked is one). */
function quorumError(message: string, index: number, tried: ReadonlyArray<readonly [string, QuorumResult]>): SignatureError {
  return new SignatureError('QUORUM_NOT_MET', `${message}: ${tried.map(([name, q]) => `${name}: ${describeQuorum(q)}`).join('; ')}`, {
    index,
    quorums: tried.map(([name, q]) => ({
      name,
      threshold: q.threshold,
      signedBy: q.signedBy.map(publicSigner),
      couldSign: q.couldSign.map(publicSigner),
      problems: q.problems,
    })),
    problems: tried.flatMap(([, q]) => q.problems),
  });
}

/** Key ids of a policy's signers (for a watched key added to or removed from a policy). */
export function policyKeyids(policy: { keys: KeyRing['keys'] }): string[] {
  return policy.keys.map((k) => k.signer.id);
}
