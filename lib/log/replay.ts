// The log's rules, replayed entry by entry from the first: what `log add` checks before it sequences a document and
// what a monitor re-checks for every entry it reads. Pure: manifests come from a callback.
//
//   - a policy is the first one (signed by a quorum of its own keys), or extends the logged chain: version N+1,
//     signed by a quorum of N and of N+1 (lib/core/rotation.ts);
//   - a release carries a quorum of the currently logged policy over its manifest, and no other release was
//     logged for its product, component and version (the first one wins, forever);
//   - a revocation carries a quorum of the currently logged policy.
// The signer keys always come from the replayed policy chain, never from the entry under check.
import { canonicalBytes } from '../core/canonical.js';
import { sha256Hex } from '../core/envelope.js';
import { SignatureError } from '../core/errors.js';
import { manifestFromPayload, type Manifest } from '../core/manifest.js';
import { loadTrustedPolicy, type TrustedPolicy } from '../core/policy.js';
import { countQuorum, describeQuorum, publicSigner, requireQuorum, type QuorumResult } from '../core/quorum.js';
import { revocationFromPayload, type Revocation } from '../core/revocation.js';
import { verifyRotation } from '../core/rotation.js';
import { openEnvelope } from '../core/envelope.js';
import { LogError } from './errors.js';
import { parseEntry, type ReleaseStatement } from './entry.js';

/** The manifest payload whose SHA-256 (hex) is given, from beside the tiles; undefined when absent. */
export type ManifestSource = (payloadSha256: string) => Uint8Array | undefined;

export type ReplayedEntry =
  | { kind: 'policy'; index: number; policy: TrustedPolicy; keyids: string[] }
  | { kind: 'release'; index: number; key: string; statement: ReleaseStatement; manifest: Manifest; quorum: QuorumResult; keyids: string[] }
  | { kind: 'revocation'; index: number; revocation: Revocation; quorum: QuorumResult; keyids: string[] };

/** product, component and version: the key of "first release wins". */
export function releaseKey(r: { product: string; component: string; version: string }): string {
  return JSON.stringify([r.product, r.component, r.version]);
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
  /** The policy entries so far, in order (what a saved replay keeps to walk the chain again). */
  policyEntries: Uint8Array[] = [];

  constructor(releases: ReleaseIndex = new Map()) {
    this.releases = releases;
  }

  /**
   * Checks `entry` as the next entry (index `this.size`) and returns what it is, changing nothing. A document
   * that breaks a rule throws its own code (QUORUM_NOT_MET, POLICY_VERSION_GAP, …) or ENTRY_INVALID.
   */
  check(entry: Uint8Array, manifests: ManifestSource): ReplayedEntry {
    const index = this.size;
    const parsed = parseEntry(entry);
    if (parsed.kind !== 'release') {
      const keyids = parsed.entry.signatures.map((x) => x.keyid);
      if (parsed.kind === 'policy') {
        const policy = this.policy
          ? verifyRotation(this.policy, parsed.envelopeBytes, `policy at entry ${index}`)
          : loadTrustedPolicy(parsed.envelopeBytes, `policy at entry ${index}`);
        return { kind: 'policy', index, policy, keyids };
      }
      const current = this.#current(index, 'revocation');
      // verifyRevocation's checks, with the quorum counted once (the monitor's hot path).
      const what = `revocation at entry ${index}`;
      const opened = openEnvelope(parsed.envelopeBytes, what);
      const revocation = revocationFromPayload(opened.payloadBytes, what);
      const quorum = countQuorum(opened, opened.envelope.signatures, current);
      requireQuorum(quorum);
      return { kind: 'revocation', index, revocation, quorum, keyids };
    }
    const current = this.#current(index, 'release');
    const s = parsed.statement;
    const payload = manifests(s.payloadSha256);
    if (!payload)
      throw new LogError('ENTRY_INVALID', `entry ${index}: the manifest ${s.payloadSha256} is not beside the tiles`, { reason: 'MANIFEST_MISSING', index });
    if (sha256Hex(payload) !== s.payloadSha256)
      throw new LogError('ENTRY_INVALID', `entry ${index}: the stored manifest does not hash to ${s.payloadSha256}`, { index });
    const manifest = manifestFromPayload(payload, `manifest of entry ${index}`);
    if (
      manifest.product !== s.product ||
      manifest.component !== s.component ||
      manifest.version !== s.version ||
      manifest.archive.sha256 !== s.archive.sha256 ||
      manifest.archive.size !== s.archive.size ||
      manifest.policyVersion !== s.policyVersion
    ) {
      throw new LogError('ENTRY_INVALID', `entry ${index}: the release statement does not say what its manifest says`, { index });
    }
    const quorum = countQuorum({ envelope: { payloadType: s.payloadType }, payloadBytes: payload }, s.signatures, current);
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
    const key = releaseKey(s);
    const first = this.releases.get(key);
    if (first) {
      const same = first.identity === entryIdentity(entry) ? ' (the same release, logged twice)' : '';
      throw new LogError(
        'RELEASE_EXISTS',
        `${s.product} ${s.component} ${s.version} was already logged at entry ${first.index}${same}: the first release wins`,
        {
          index,
          first: first.index,
        },
      );
    }
    return { kind: 'release', index, key, statement: s, manifest, quorum, keyids: s.signatures.map((x) => x.keyid) };
  }

  #current(index: number, kind: string): TrustedPolicy {
    if (!this.policy) throw new LogError('NO_POLICY', `entry ${index} is a ${kind}, but no policy is logged yet`, { index });
    return this.policy;
  }

  /** Makes a checked entry part of the state. */
  apply(checked: ReplayedEntry, entry: Uint8Array): void {
    if (checked.index !== this.size) throw new LogError('ENTRY_INVALID', `entry ${checked.index} applied at ${this.size}`);
    if (checked.kind === 'policy') {
      this.policy = checked.policy;
      this.policyEntries.push(entry);
    } else if (checked.kind === 'release') this.releases.set(checked.key, { index: checked.index, identity: entryIdentity(entry) });
    this.size++;
  }

  /**
   * Takes an entry this log's own database holds (checked when it was sequenced) without re-verifying release and
   * revocation quorums: how a sequencer restarts or catches up with another process. Policies are still walked.
   */
  adopt(entry: Uint8Array): void {
    const index = this.size;
    const parsed = parseEntry(entry);
    if (parsed.kind === 'policy') {
      this.policy = this.policy
        ? verifyRotation(this.policy, parsed.envelopeBytes, `policy at entry ${index}`)
        : loadTrustedPolicy(parsed.envelopeBytes, `policy at entry ${index}`);
    } else if (parsed.kind === 'release') {
      this.releases.set(releaseKey(parsed.statement), { index, identity: entryIdentity(entry) });
    } else if (!this.policy) throw new LogError('NO_POLICY', `entry ${index} is a revocation before any policy`, { index });
    this.size++;
  }

  /**
   * A replay as saved: the policy chain is walked again, the releases are taken as recorded. (A revocation changes
   * no rule of the log: it is checked when replayed and reported, not kept.)
   */
  static restore(saved: { size: number; policyEntries: Uint8Array[]; releases: Iterable<[string, ReleaseRecord]> }): Replay {
    const replay = new Replay();
    for (const p of saved.policyEntries) {
      if (parseEntry(p).kind !== 'policy') throw new LogError('ENTRY_INVALID', 'a saved policy entry is not a policy');
      replay.adopt(p);
    }
    for (const [key, record] of saved.releases) replay.releases.set(key, record);
    replay.size = saved.size;
    return replay;
  }

  /** check + apply. */
  next(entry: Uint8Array, manifests: ManifestSource): ReplayedEntry {
    const checked = this.check(entry, manifests);
    this.apply(checked, entry);
    return checked;
  }
}

/** Key ids of a policy's signers (for a watched key added to or removed from a policy). */
export function policyKeyids(policy: TrustedPolicy): string[] {
  return policy.keys.map((k) => k.signer.id);
}
