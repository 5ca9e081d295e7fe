// Fixtures of the provider tests: a format 3 root policy (the super provider, with an activation delay and a
// registry ring), provider policies with roles, enrolments, rotations, key and release revocations and provider
// releases, as signed envelopes; and a Replay driven entry by entry with state entries at chosen log times.
import { toBase64 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { PAYLOAD_TYPES, sha256Hex, type Envelope } from '../../lib/core/envelope.js';
import type { Manifest } from '../../lib/core/manifest.js';
import { Replay, type ReplayedEntry } from '../../lib/log/replay.js';
import { stateEntry, submissionFor } from '../../lib/log/sequencer.js';
import { envelopeBytes, makeRelease, makeSigners, manifestEnvelope, NOW, signedBy, type TestSigner } from '../support/fixtures.js';

const EXPIRES = '2030-01-01T00:00:00Z';
const CREATED = NOW.toISOString().replace(/\.\d+Z$/, 'Z');

const signerEntry = (s: TestSigner) => ({ id: s.id, publicKey: toBase64(s.publicKey), name: `key-${s.id.slice(0, 12)}` });
const envelope = (payloadType: string, payload: object): Envelope => ({ payloadType, payload: toBase64(canonicalBytes(payload)), signatures: [] });

export interface Root {
  signers: TestSigner[];
  threshold: number;
  registry: TestSigner[];
  policy: Envelope;
}

/** A format 3 root policy: `n` signers, `threshold`, the activation delay, and a 1-of-1 registry ring of its last signer. */
export function makeRoot(opts: { n?: number; threshold?: number; delay?: number; registry?: boolean } = {}): Root {
  const signers = makeSigners(opts.n ?? 3);
  const threshold = opts.threshold ?? 2;
  const registry = opts.registry === false ? [] : [signers[signers.length - 1]!];
  const providers = { activationDelay: opts.delay ?? 0, ...(registry.length ? { registry: { threshold: 1, signers: registry.map((s) => s.id) } } : {}) };
  const policy = { format: 3, version: 1, expires: EXPIRES, threshold, signers: signers.map(signerEntry), providers };
  return { signers, threshold, registry, policy: signedBy(envelope(PAYLOAD_TYPES.policy, policy), signers.slice(0, threshold)) };
}

export interface Provider {
  name: string;
  admin: TestSigner[];
  release: TestSigner[];
  version: number;
  /** The policy payload bytes. */
  payload: Uint8Array;
}

/** A provider policy: admin keys (2-of-n) and release keys (1-of-n), every key in `signers`. */
export function makeProvider(name: string, opts: { admin?: TestSigner[]; release?: TestSigner[]; version?: number; extra?: object } = {}): Provider {
  const admin = opts.admin ?? makeSigners(2);
  const release = opts.release ?? makeSigners(2);
  const version = opts.version ?? 1;
  const all = [...admin, ...release.filter((r) => !admin.includes(r))];
  const policy = {
    format: 3,
    provider: name,
    version,
    expires: EXPIRES,
    threshold: Math.min(2, all.length),
    signers: all.map(signerEntry),
    roles: { admin: { threshold: Math.min(2, admin.length), signers: admin.map((s) => s.id) }, release: { threshold: 1, signers: release.map((s) => s.id) } },
    ...opts.extra,
  };
  return { name, admin, release, version, payload: canonicalBytes(policy) };
}

export function enrolment(p: Provider, by: TestSigner[], previous?: number): Envelope {
  const payload = { format: 1, provider: p.name, policy: toBase64(p.payload), created: CREATED, ...(previous === undefined ? {} : { previous }) };
  return signedBy(envelope(PAYLOAD_TYPES.enrolment, payload), by);
}

/** The provider's next policy as a policy envelope (a rotation), signed by `by`. */
export function rotation(next: Provider, by: TestSigner[]): Envelope {
  return signedBy({ payloadType: PAYLOAD_TYPES.policy, payload: toBase64(next.payload), signatures: [] }, by);
}

export function keyRevocation(provider: string, keyid: string, from: 'all' | 'now' | number, by: TestSigner[]): Envelope {
  return signedBy(envelope(PAYLOAD_TYPES['key-revocation'], { format: 1, provider, keyid, from, reason: 'test', created: CREATED }), by);
}

/** A release revocation (format 2 with a provider, format 1 without). */
export function releaseRevocation(provider: string | undefined, version: string, by: TestSigner[], policyVersion = 1): Envelope {
  const base = { product: 'drupal', component: 'core', version, reason: 'test', created: CREATED, policyVersion };
  return signedBy(envelope(PAYLOAD_TYPES.revocation, provider === undefined ? { format: 1, ...base } : { format: 2, provider, ...base }), by);
}

let base: Manifest | undefined;

/** A signed release manifest of `version` (format 3 with `provider`; format 2 as today without). */
export function releaseOf(provider: string | undefined, version: string, by: TestSigner[], policyVersion = 1): Envelope {
  base ??= makeRelease().manifest;
  const manifest = { ...base, version, policyVersion, ...(provider === undefined ? {} : { format: 3, provider }) } as Manifest;
  return signedBy(manifestEnvelope(manifest), by);
}

/** A Replay fed envelopes one by one, with the manifests beside it, and state entries at chosen times. */
export class Driver {
  readonly replay = new Replay();
  readonly entries: Uint8Array[] = [];
  readonly manifests = new Map<string, Uint8Array>();

  add(env: Envelope): ReplayedEntry {
    const sub = submissionFor(envelopeBytes(env));
    if (sub.manifest) this.manifests.set(sha256Hex(sub.manifest), sub.manifest);
    return this.#next(sub.entry);
  }

  /** The sequencer's state entry at log time `time` (seconds). */
  state(time: number): ReplayedEntry {
    return this.#next(stateEntry(this.replay, new Date(time * 1000)));
  }

  /** Checks an entry's bytes as the next one without applying it. */
  check(entry: Uint8Array): ReplayedEntry {
    return this.replay.check(entry, (sha) => this.manifests.get(sha));
  }

  #next(entry: Uint8Array): ReplayedEntry {
    const checked = this.check(entry);
    this.replay.apply(checked, entry);
    this.entries.push(entry);
    return checked;
  }
}
