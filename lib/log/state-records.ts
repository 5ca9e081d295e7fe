// The records of the state map (spec/log.md "State map"): a path (array of strings) and a canonical JSON value each.
// The replay writes them, a state entry commits to their map's root, and sync, verify and the tests read them.
//   ["root"]                                        -> {version, policy: hex SHA-256 of the root policy payload}
//   ["provider", P]                                 -> {version, policy, index, revoked: {keyid: effective index},
//                                                       activeFrom: {"<role> <keyid>": log time | null}}
//   ["release", P or "", product, component, version] -> {index: entry index | null, revoked: revocation index | null}
import { canonicalBytes, parseCanonical } from '../core/canonical.js';
import { LogError } from './errors.js';
import { mapKey } from './map.js';

export type RecordPath = readonly string[];

export interface RootRecord {
  version: number;
  /** Hex SHA-256 of the root policy's payload bytes. */
  policy: string;
}

export interface ProviderRecord {
  version: number;
  /** Hex SHA-256 of the provider's current policy payload bytes. */
  policy: string;
  /** The index of the entry that made this policy current (enrolment or rotation). */
  index: number;
  /** Revoked key ids and the index from which their signatures are invalid. */
  revoked: Record<string, number>;
  /**
   * Each key of each role of the current policy ("admin <keyid>", "release <keyid>") and the log time from which it
   * may act in that role; null until the state entry after the key was added. So an offline verifier never counts a
   * key that is still waiting out the activation delay.
   */
  activeFrom: Record<string, number | null>;
}

export interface ReleaseStateRecord {
  /** The release entry's index; null when a revocation came first. */
  index: number | null;
  /** The index of the first revocation of this release; null when it is not revoked. */
  revoked: number | null;
}

export const rootPath = (): RecordPath => ['root'];
export const providerPath = (provider: string): RecordPath => ['provider', provider];
/** A root release (no provider) is under "". */
export const releasePath = (provider: string | undefined, product: string, component: string, version: string): RecordPath => [
  'release',
  provider ?? '',
  product,
  component,
  version,
];

/** The 32-byte map key of a record: SHA-256(utf8(JSON.stringify(path))). */
export function recordKey(path: RecordPath): Uint8Array {
  return mapKey(path);
}

export const encodeRootRecord = (r: RootRecord): Uint8Array => canonicalBytes({ version: r.version, policy: r.policy });

export function encodeProviderRecord(r: ProviderRecord): Uint8Array {
  return canonicalBytes({ version: r.version, policy: r.policy, index: r.index, revoked: { ...r.revoked }, activeFrom: { ...r.activeFrom } });
}

export const encodeReleaseRecord = (r: ReleaseStateRecord): Uint8Array => canonicalBytes({ index: r.index, revoked: r.revoked });

const HEX64 = /^[0-9a-f]{64}$/;
const ROLE_KEY = /^(admin|release) [0-9a-f]{64}$/;
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function object(bytes: Uint8Array, what: string, keys: string[]): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseCanonical(bytes, what);
  } catch (err) {
    throw new LogError('BAD_MAP_PROOF', `${what} is not canonical JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).sort().join() !== [...keys].sort().join()) {
    throw new LogError('BAD_MAP_PROOF', `${what} is an object of ${keys.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

/** A record value read back (from a bundle or a store): exactly the shape the encoder writes, else BAD_MAP_PROOF. */
export function decodeRootRecord(bytes: Uint8Array): RootRecord {
  const o = object(bytes, 'the root record', ['version', 'policy']);
  if (!isIndex(o.version) || o.version < 1 || typeof o.policy !== 'string' || !HEX64.test(o.policy))
    throw new LogError('BAD_MAP_PROOF', 'the root record has a version and a hex policy hash');
  return { version: o.version, policy: o.policy };
}

export function decodeProviderRecord(bytes: Uint8Array): ProviderRecord {
  const o = object(bytes, 'a provider record', ['version', 'policy', 'index', 'revoked', 'activeFrom']);
  const revoked = o.revoked as Record<string, unknown> | null;
  const activeFrom = o.activeFrom as Record<string, unknown> | null;
  if (!isIndex(o.version) || o.version < 1 || typeof o.policy !== 'string' || !HEX64.test(o.policy) || !isIndex(o.index))
    throw new LogError('BAD_MAP_PROOF', 'a provider record has a version, a hex policy hash and an index');
  if (typeof revoked !== 'object' || revoked === null || Array.isArray(revoked) || !Object.entries(revoked).every(([k, v]) => HEX64.test(k) && isIndex(v)))
    throw new LogError('BAD_MAP_PROOF', 'a provider record lists revoked key ids with their effective index');
  if (
    typeof activeFrom !== 'object' ||
    activeFrom === null ||
    Array.isArray(activeFrom) ||
    !Object.entries(activeFrom).every(([k, v]) => ROLE_KEY.test(k) && (v === null || isIndex(v)))
  )
    throw new LogError('BAD_MAP_PROOF', 'a provider record lists each role key with the log time it is active from (or null)');
  return {
    version: o.version,
    policy: o.policy,
    index: o.index,
    revoked: revoked as Record<string, number>,
    activeFrom: activeFrom as Record<string, number | null>,
  };
}

export function decodeReleaseRecord(bytes: Uint8Array): ReleaseStateRecord {
  const o = object(bytes, 'a release record', ['index', 'revoked']);
  if (!(o.index === null || isIndex(o.index)) || !(o.revoked === null || isIndex(o.revoked)) || (o.index === null && o.revoked === null))
    throw new LogError('BAD_MAP_PROOF', 'a release record has an index or null, and a revocation index or null (not both null)');
  return { index: o.index, revoked: o.revoked };
}
