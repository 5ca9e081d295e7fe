// A bundle's `state` section (spec/log.md "State proofs"): what a site needs, beside the release's tlog-proof, to
// show offline that the release is not revoked and that its signers are the provider's current, unrevoked keys:
// the checkpoint's last entry (the state entry at index size−1, which commits to the state map over every entry
// before it) with its inclusion proof in the SAME checkpoint, map proofs of the root, provider and release records,
// and the provider's current policy payload. Pure: bytes, the verified checkpoint and the pinned root in; the
// provider's map-committed policy and revoked keys, or one coded error, out.
//
// Encoding (one spelling; every length checked; nothing after the last field):
//   "countersign-state v1\n"
//   u16 length ‖ state entry bytes
//   u8 count (≤ 63) ‖ count × 32-byte inclusion-proof hashes (the state entry at size−1 in the tree of size)
//   root record, provider record, release record, each: u8 present (0 or 1) ‖ [u16 length ‖ value] ‖ u16 length ‖ map proof
//   u16 length ‖ the provider's policy payload (length 0 exactly when the provider record is absent)
// Integers are big-endian. Map proofs are lib/log/map.ts encodeMapProof's bytes.
import { fromHex } from '../core/bytes.js';
import { canonicalBytes } from '../core/canonical.js';
import { sha256Hex } from '../core/envelope.js';
import { CountersignError, ReleaseError, type Reason } from '../core/errors.js';
import { policyFromPayload, type CheckedPolicy, type TrustedPolicy } from '../core/policy.js';
import { providerOf, roleRing } from '../core/provider-policy.js';
import type { KeyRing } from '../core/quorum.js';
import type { Checkpoint } from './checkpoint.js';
import { MAX_LOG_ENTRY_BYTES, parseEntry, type StateEntry } from './entry.js';
import { LogError } from './errors.js';
import { decodeMapProof, encodeMapProof, MAP_MAX_DEPTH, verifyMapProof, type MapProof } from './map.js';
import { HASH_BYTES, leafHash, verifyInclusion } from './merkle.js';
import type { ProviderState } from './provider-state.js';
import {
  decodeProviderRecord,
  decodeReleaseRecord,
  decodeRootRecord,
  providerPath,
  recordKey,
  releasePath,
  rootPath,
  type ProviderRecord,
  type RecordPath,
  type ReleaseStateRecord,
  type RootRecord,
} from './state-records.js';

const MAGIC = 'countersign-state v1\n';
/** The most a state section may hold (bundle.md): three ~8 KiB map proofs at most, values and a policy well within. */
export const MAX_STATE_PROOF_BYTES = 64 * 1024;
const MAX_INCLUSION_HASHES = 63;
/** A record value and the policy came into the log inside entries, which are at most 16 KiB. */
const MAX_VALUE_BYTES = MAX_LOG_ENTRY_BYTES;
/** kind, depth, a 256-bit bitmap, 256 siblings, another leaf's key and value hash. */
const MAX_MAP_PROOF_BYTES = 3 + MAP_MAX_DEPTH / 8 + MAP_MAX_DEPTH * HASH_BYTES + 2 * HASH_BYTES;

/** A record's value (undefined: absent) and the map proof of it. */
export interface RecordProof {
  value?: Uint8Array;
  proof: MapProof;
}

export interface StateProof {
  /** The checkpoint's last entry: a countersign.state/v1 entry at index size−1. */
  stateEntry: Uint8Array;
  /** Its inclusion proof at index size−1 in the checkpoint's tree. */
  inclusion: Uint8Array[];
  root: RecordProof;
  provider: RecordProof;
  release: RecordProof;
  /** The provider's current policy payload (its SHA-256 is the provider record's `policy`); absent with the record. */
  policy?: Uint8Array;
}

const bad = (message: string, details?: Record<string, unknown>): LogError => new LogError('BAD_STATE_PROOF', message, details);

export function encodeStateProof(p: StateProof): Uint8Array {
  const out: number[] = [...Buffer.from(MAGIC, 'latin1')];
  const u16 = (n: number, what: string, max: number) => {
    if (!Number.isInteger(n) || n < 0 || n > max) throw bad(`${what} is ${n} bytes; at most ${max}`);
    out.push(n >> 8, n & 0xff);
  };
  const bytes = (b: Uint8Array, what: string, max: number) => {
    u16(b.length, what, max);
    for (const x of b) out.push(x);
  };
  bytes(p.stateEntry, 'the state entry', MAX_LOG_ENTRY_BYTES);
  if (p.inclusion.length > MAX_INCLUSION_HASHES || p.inclusion.some((h) => h.length !== HASH_BYTES))
    throw bad('the inclusion proof is at most 63 hashes of 32 bytes');
  out.push(p.inclusion.length);
  for (const h of p.inclusion) for (const x of h) out.push(x);
  for (const [what, r] of [
    ['root record', p.root],
    ['provider record', p.provider],
    ['release record', p.release],
  ] as const) {
    out.push(r.value === undefined ? 0 : 1);
    if (r.value !== undefined) bytes(r.value, `the ${what}`, MAX_VALUE_BYTES);
    bytes(encodeMapProof(r.proof), `the map proof of the ${what}`, MAX_MAP_PROOF_BYTES);
  }
  if ((p.policy === undefined) !== (p.provider.value === undefined)) throw bad('the provider policy is carried exactly when the provider record is');
  bytes(p.policy ?? new Uint8Array(0), 'the provider policy', MAX_VALUE_BYTES);
  if (p.policy?.length === 0) throw bad('the provider policy is not empty');
  if (out.length > MAX_STATE_PROOF_BYTES) throw bad(`the state proof is ${out.length} bytes; the limit is ${MAX_STATE_PROOF_BYTES}`);
  return new Uint8Array(out);
}

/** Reads a state section; anything but its one spelling is BAD_STATE_PROOF (a malformed map proof inside: BAD_MAP_PROOF). */
export function decodeStateProof(input: Uint8Array): StateProof {
  if (!(input instanceof Uint8Array)) throw bad('a state proof is bytes');
  if (input.length > MAX_STATE_PROOF_BYTES) throw bad(`the state proof is ${input.length} bytes; the limit is ${MAX_STATE_PROOF_BYTES}`);
  let at = 0;
  const take = (n: number, what: string): Uint8Array => {
    if (at + n > input.length) throw bad(`the state proof is truncated in ${what}`);
    const b = input.slice(at, at + n);
    at += n;
    return b;
  };
  const u8 = (what: string) => take(1, what)[0]!;
  const sized = (what: string, max: number, min = 1): Uint8Array => {
    const [hi, lo] = take(2, `the length of ${what}`);
    const n = (hi! << 8) | lo!;
    if (n < min || n > max) throw bad(`${what} is ${n} bytes; ${min}–${max} are allowed`);
    return take(n, what);
  };
  if (Buffer.from(take(MAGIC.length, 'its header')).toString('latin1') !== MAGIC) throw bad(`a state proof starts with ${JSON.stringify(MAGIC)}`);
  const stateEntry = sized('the state entry', MAX_LOG_ENTRY_BYTES);
  const count = u8('the inclusion proof');
  if (count > MAX_INCLUSION_HASHES) throw bad(`the inclusion proof has ${count} hashes; at most ${MAX_INCLUSION_HASHES}`);
  const inclusion = Array.from({ length: count }, () => take(HASH_BYTES, 'the inclusion proof'));
  const record = (what: string): RecordProof => {
    const present = u8(what);
    if (present > 1) throw bad(`the ${what} is marked ${present}; 0 (absent) or 1 (present)`);
    const value = present ? sized(`the ${what}`, MAX_VALUE_BYTES) : undefined;
    const proof = decodeMapProof(sized(`the map proof of the ${what}`, MAX_MAP_PROOF_BYTES, 3));
    return { ...(value ? { value } : {}), proof };
  };
  const root = record('root record');
  const provider = record('provider record');
  const release = record('release record');
  const policy = sized('the provider policy', MAX_VALUE_BYTES, 0);
  if ((policy.length === 0) !== (provider.value === undefined)) throw bad('the provider policy is carried exactly when the provider record is');
  if (at !== input.length) throw bad(`the state proof has ${input.length - at} bytes after its last field`);
  return { stateEntry, inclusion, root, provider, release, ...(policy.length ? { policy } : {}) };
}

/**
 * The state section for the release `release` from `state`, the provider state replayed over every entry before
 * `stateEntry` (the checkpoint's last entry), whose inclusion proof at size−1 is `inclusion`.
 */
export function makeStateProof(
  state: ProviderState,
  stateEntry: Uint8Array,
  inclusion: Uint8Array[],
  release: { provider: string; product: string; component: string; version: string },
): Uint8Array {
  const record = (path: RecordPath): RecordProof => {
    const key = recordKey(path);
    const value = state.map.get(key);
    return { ...(value ? { value } : {}), proof: state.map.prove(key) };
  };
  const policy = state.provider(release.provider)?.payload;
  return encodeStateProof({
    stateEntry,
    inclusion,
    root: record(rootPath()),
    provider: record(providerPath(release.provider)),
    release: record(releasePath(release.provider, release.product, release.component, release.version)),
    ...(policy ? { policy } : {}),
  });
}

export interface StateProofInput {
  /** The checkpoint of the bundle's tlog-proof, already verified (lib/log/verify-proof.ts): its size and root. */
  checkpoint: Pick<Checkpoint, 'size' | 'root'>;
  /** The release entry's index in that checkpoint (the tlog-proof's, verified). */
  releaseIndex: number;
  /** The release entry's bytes (the tlog-proof's extra, checked against the envelope). */
  releaseEntry: Uint8Array;
  /** The bundle's state section. */
  stateProof: Uint8Array;
  /** The provider the site asks for (--provider). */
  provider: string;
  /** The root policy the site pins. */
  pinnedRoot: TrustedPolicy;
}

export interface StateVerdict {
  /** The provider's current policy, as the state map commits to it: the keys a release is counted over. */
  providerPolicy: CheckedPolicy;
  /** Its revoked key ids and the index from which their signatures do not count. */
  revokedKeys: Map<string, number>;
  releaseRecord: ReleaseStateRecord;
  providerRecord: ProviderRecord;
  rootRecord: RootRecord;
  /** The state entry the map proofs are against (its `size` is the checkpoint's size − 1). */
  state: StateEntry;
}

/**
 * Checks a bundle's state section against the checkpoint of its verified tlog-proof, in this order: the section's
 * spelling (BAD_STATE_PROOF; BAD_MAP_PROOF for a map proof), the release is the provider's (PROVIDER_MISMATCH), the
 * carried entry is a state entry whose size is the checkpoint's size − 1 (BAD_STATE_PROOF) and is included there
 * (BAD_PROOF), the three map proofs (BAD_MAP_PROOF), the root record is the pinned root (ROOT_NOT_CURRENT), the
 * provider is enrolled (PROVIDER_UNKNOWN) with the carried policy (BAD_STATE_PROOF), the release is recorded
 * (NOT_LOGGED) at the proof's index (LOG_ENTRY_MISMATCH) and not revoked (REVOKED).
 */
export function verifyStateProof(input: StateProofInput): StateVerdict {
  const sp = decodeStateProof(input.stateProof);
  const cp = input.checkpoint;
  const release = parseEntry(input.releaseEntry);
  if (release.kind !== 'release') throw new LogError('LOG_ENTRY_MISMATCH', `the proof's entry is a ${release.kind}, not a release`);
  const st = release.statement;
  if (st.provider !== input.provider) {
    throw new LogError(
      'PROVIDER_MISMATCH',
      `the release is ${st.provider === undefined ? "the root policy's (no provider)" : `provider ${st.provider}'s`}, not ${input.provider}'s`,
      { provider: st.provider ?? null, expected: input.provider },
    );
  }

  let state: StateEntry;
  try {
    const parsed = parseEntry(sp.stateEntry);
    if (parsed.kind !== 'state') throw bad(`the carried entry is a ${parsed.kind}, not a state entry`);
    state = parsed.state;
  } catch (err) {
    if (err instanceof LogError && err.code === 'BAD_STATE_PROOF') throw err;
    throw bad(`the carried state entry does not read: ${(err as Error).message}`);
  }
  if (cp.size < 1 || state.size !== cp.size - 1)
    throw bad(`the state entry says size ${state.size}; the checkpoint's last entry is at ${cp.size - 1}`, { size: state.size, checkpointSize: cp.size });
  verifyInclusion(leafHash(sp.stateEntry), cp.size - 1, cp.size, sp.inclusion, cp.root);

  const map = fromHex(state.map, 'state map root');
  const releaseAt = releasePath(st.provider, st.product, st.component, st.version);
  verifyMapProof(map, recordKey(rootPath()), sp.root.value, sp.root.proof);
  verifyMapProof(map, recordKey(providerPath(input.provider)), sp.provider.value, sp.provider.proof);
  verifyMapProof(map, recordKey(releaseAt), sp.release.value, sp.release.proof);

  if (sp.root.value === undefined) throw bad('the state map holds no root policy');
  const rootRecord = decodeRootRecord(sp.root.value);
  const pinned = { version: input.pinnedRoot.policy.version, policy: sha256Hex(canonicalBytes(input.pinnedRoot.policy)) };
  if (rootRecord.version !== pinned.version || rootRecord.policy !== pinned.policy) {
    throw new LogError(
      'ROOT_NOT_CURRENT',
      `the log's current root policy is version ${rootRecord.version} (${rootRecord.policy.slice(0, 16)}…), not the pinned version ${pinned.version} (${pinned.policy.slice(0, 16)}…): update the pin`,
      { logged: rootRecord, pinned },
    );
  }

  if (sp.provider.value === undefined)
    throw new LogError('PROVIDER_UNKNOWN', `provider ${input.provider} is not enrolled in the log's state at size ${state.size}`, { provider: input.provider });
  const providerRecord = decodeProviderRecord(sp.provider.value);
  const policyBytes = sp.policy!;
  if (sha256Hex(policyBytes) !== providerRecord.policy)
    throw bad(`the carried policy is not the one the provider record commits to (${providerRecord.policy.slice(0, 16)}…)`);
  let providerPolicy: CheckedPolicy;
  try {
    providerPolicy = policyFromPayload(policyBytes, `the policy of ${input.provider}`);
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    throw bad(`the committed policy of ${input.provider} does not read: ${err.message}`);
  }
  if (providerOf(providerPolicy) !== input.provider || providerPolicy.policy.version !== providerRecord.version)
    throw bad(`the committed policy is not version ${providerRecord.version} of ${input.provider}`);

  if (sp.release.value === undefined) {
    throw new LogError('NOT_LOGGED', `the log's state at size ${state.size} has no record of ${st.provider} ${st.product} ${st.component} ${st.version}`, {
      provider: st.provider,
      version: st.version,
    });
  }
  const releaseRecord = decodeReleaseRecord(sp.release.value);
  if (releaseRecord.index !== input.releaseIndex) {
    throw new LogError('LOG_ENTRY_MISMATCH', `the state records this release at entry ${releaseRecord.index}, the proof at ${input.releaseIndex}`, {
      recorded: releaseRecord.index,
      index: input.releaseIndex,
    });
  }
  if (releaseRecord.revoked !== null) {
    throw new ReleaseError('REVOKED', `${st.provider} ${st.product} ${st.component} ${st.version} was revoked by entry ${releaseRecord.revoked}`, {
      revokedAt: releaseRecord.revoked,
    });
  }
  return {
    providerPolicy,
    revokedKeys: new Map(Object.entries(providerRecord.revoked)),
    releaseRecord,
    providerRecord,
    rootRecord,
    state,
  };
}

/**
 * The keys that count for a release at `releaseIndex`: the provider policy's release role without the keys revoked
 * at or before it; `excluded` says why each left-out key does not count (KEY_REVOKED).
 */
export function releaseRing(
  policy: CheckedPolicy,
  revokedKeys: ReadonlyMap<string, number>,
  releaseIndex: number,
): { ring: KeyRing; excluded: Map<string, Reason> } {
  const role = roleRing(policy, 'release');
  const excluded = new Map<string, Reason>();
  const keys = role.keys.filter((k) => {
    const from = revokedKeys.get(k.signer.id);
    if (from === undefined || from > releaseIndex) return true;
    excluded.set(k.signer.id, {
      code: 'KEY_REVOKED',
      message: `key ${k.signer.name} (${k.signer.id.slice(0, 16)}…) is revoked from entry ${from}, at or before the release's entry ${releaseIndex}`,
      details: { keyid: k.signer.id, revokedAt: from },
    });
    return false;
  });
  return { ring: { threshold: role.threshold, keys }, excluded };
}
