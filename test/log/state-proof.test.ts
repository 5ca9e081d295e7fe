// A provider's release verified offline from its bundle (lib/log/state-proof.ts, verify-provider.ts): the state
// section proves, against the checkpoint of the bundle's tlog-proof, that the release is recorded and not revoked,
// that the pinned root is current, and which keys of the provider count. Each test fails when its rule is removed.
import { expect } from 'chai';
import { toBase64, toHex, utf8 } from '../../lib/core/bytes.js';
import { canonicalBytes, parseCanonical } from '../../lib/core/canonical.js';
import { PAYLOAD_TYPES, type Envelope } from '../../lib/core/envelope.js';
import { CountersignError, VerificationError } from '../../lib/core/errors.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import type { BundleInput } from '../../lib/core/verify.js';
import { encodeEntry, ENTRY_TYPES } from '../../lib/log/entry.js';
import { inclusionProof } from '../../lib/log/merkle.js';
import { parseProof } from '../../lib/log/proof.js';
import { decodeStateProof, encodeStateProof, makeStateProof, verifyStateProof, type StateProof } from '../../lib/log/state-proof.js';
import {
  decodeProviderRecord,
  encodeProviderRecord,
  encodeReleaseRecord,
  providerPath,
  recordKey,
  releasePath,
  rootPath,
} from '../../lib/log/state-records.js';
import { sha256Hex } from '../../lib/core/envelope.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { verifyProviderBundle } from '../../lib/log/verify-provider.js';
import { envelopeBytes, makeRelease, makeSigners, NOW, chunked, signedBy } from '../support/fixtures.js';
import {
  Driver,
  enrolment,
  keyRevocation,
  makeProvider,
  makeRoot,
  releaseOf,
  releaseRevocation,
  rotation,
  type Provider,
  type Root,
} from './provider-support.js';
import type { SparseMap } from '../../lib/log/map.js';
import { submissionFor } from '../../lib/log/sequencer.js';
import { MemoryLog } from './support.js';

const P = 'wordpress.org/plugins/wordfence';
const Q = 'drupal.org/project/webform';
const NOW_S = Math.floor(NOW.getTime() / 1000);
const { archive } = makeRelease();

/** Codes of an error: a VerificationError's reasons, or the error's own. */
function codesOf(err: unknown): string[] {
  if (err instanceof VerificationError) return err.reasons.map((r) => r.code);
  if (err instanceof CountersignError) return [err.code];
  throw err;
}

async function rejection(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    return codesOf(err);
  }
  throw new Error('expected a rejection');
}

function rejectionSync(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    return codesOf(err);
  }
  throw new Error('expected a rejection');
}

/** A provider log replayed entry by entry (the log's rules) into an in-memory tree with three witnesses. */
class World {
  readonly d = new Driver();
  readonly log = new MemoryLog();
  readonly root: Root;
  readonly p: Provider = makeProvider(P);
  t = 1000;

  constructor(opts: { rootExpires?: string; delay?: number } = {}) {
    const root = makeRoot({ delay: opts.delay ?? 0 });
    if (opts.rootExpires) {
      const payload = parseCanonical(Buffer.from(root.policy.payload, 'base64'), 'root') as Record<string, unknown>;
      const policy = { payloadType: PAYLOAD_TYPES.policy, payload: toBase64(canonicalBytes({ ...payload, expires: opts.rootExpires })), signatures: [] };
      root.policy = signedBy(policy, root.signers.slice(0, 2));
    }
    this.root = root;
    this.add(this.root.policy, enrolment(this.p, this.root.signers.slice(0, 2)));
  }

  /** One batch: the documents, then the sequencer's state entry. Returns the documents' indexes. */
  add(...envs: Envelope[]): number[] {
    const at = envs.map((e) => this.d.add(e).index);
    this.d.state(this.t++);
    while (this.log.size < this.d.entries.length) this.log.append(this.d.entries[this.log.size]!);
    return at;
  }

  /** The bundle of `env` (logged at `index`) with its tlog-proof and state section against the current checkpoint. */
  bundle(env: Envelope, index: number, release = { provider: P, version: '1.0.0' }): BundleInput & { proof: Uint8Array; state: Uint8Array } {
    const cp = this.log.checkpoint(NOW_S);
    const last = this.log.size - 1;
    const state = makeStateProof(this.d.replay.state, this.log.entries[last]!, inclusionProof(last, this.log.size, this.log.hashAt), {
      provider: release.provider,
      product: 'drupal',
      component: 'core',
      version: release.version,
    });
    return {
      envelopeBytes: envelopeBytes(env),
      archive: { size: archive.length, chunks: () => chunked(archive) },
      proof: utf8(this.log.proof(index, cp)),
      state,
    };
  }

  verify(input: BundleInput, opts: { provider?: string; root?: Envelope; now?: Date } = {}) {
    return verifyProviderBundle(input, {
      root: loadTrustedPolicy(envelopeBytes(opts.root ?? this.root.policy)),
      logPolicy: parseTlogPolicy(this.log.policy(2)),
      provider: opts.provider ?? P,
      now: opts.now ?? NOW,
      maxAgeSeconds: 30 * 86400,
    });
  }

  /**
   * A lying sequencer: `env` logged (not yet in a batch), then a state entry committing to the replayed map as
   * `change` leaves it. The bundle's state section proves each record (present or absent) against that map.
   */
  lie(
    env: Envelope,
    change: (map: SparseMap, index: number) => void,
    opts: { unchecked?: boolean; policy?: Uint8Array } = {},
  ): BundleInput & { proof: Uint8Array; state: Uint8Array; index: number } {
    // unchecked: the lying sequencer logs what the log's rules refuse.
    const index = opts.unchecked ? this.log.append(submissionFor(envelopeBytes(env)).entry) : this.d.add(env).index;
    if (!opts.unchecked) this.log.append(this.d.entries[index]!);
    const map = this.d.replay.state.map.clone();
    change(map, index);
    const stateEntry = encodeEntry({ entry: ENTRY_TYPES.state, size: this.log.size, time: this.t++, map: toHex(map.root()) });
    this.log.append(stateEntry);
    const last = this.log.size - 1;
    const record = (path: readonly string[]) => {
      const value = map.get(recordKey(path));
      return { ...(value ? { value } : {}), proof: map.prove(recordKey(path)) };
    };
    const provider = record(providerPath(P));
    const state = encodeStateProof({
      stateEntry,
      inclusion: inclusionProof(last, this.log.size, this.log.hashAt),
      root: record(rootPath()),
      provider,
      release: record(releasePath(P, 'drupal', 'core', '1.0.0')),
      ...(provider.value ? { policy: opts.policy ?? this.p.payload } : {}),
    });
    return {
      envelopeBytes: envelopeBytes(env),
      archive: { size: archive.length, chunks: () => chunked(archive) },
      proof: utf8(this.log.proof(index, this.log.checkpoint(NOW_S))),
      state,
      index,
    };
  }

  /** verifyStateProof on a (perhaps tampered) state section of `bundle`. */
  checkState(bundle: { proof: Uint8Array; envelopeBytes: Uint8Array }, state: Uint8Array, provider = P) {
    const tp = parseProof(bundle.proof);
    return verifyStateProof({
      checkpoint: tp.checkpoint,
      releaseIndex: tp.index,
      releaseEntry: tp.extra!,
      stateProof: state,
      provider,
      pinnedRoot: loadTrustedPolicy(envelopeBytes(this.root.policy)),
    });
  }
}

const withState = (b: BundleInput & { state: Uint8Array }, change: (p: StateProof) => StateProof) => ({
  ...b,
  state: encodeStateProof(change(decodeStateProof(b.state))),
});

describe('state proofs: a provider release verified offline from its bundle', () => {
  it("accepts a release signed by the provider's release key: logged, current, not revoked", async () => {
    const w = new World();
    const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
    const [i] = w.add(env);
    const v = await w.verify(w.bundle(env, i!));
    expect([v.superProvider, v.quorumName, v.log.index, v.state.releaseRecord]).to.deep.equal([false, `release keys of ${P}`, i, { index: i, revoked: null }]);
    expect(v.quorum.signedBy.map((s) => s.id)).to.deep.equal([w.p.release[0]!.id]);
  });

  describe('map proofs inside a bundle', () => {
    it('presence: each record is checked against the state map (a value changed is BAD_MAP_PROOF)', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const b = w.bundle(env, i!);
      const forged = canonicalBytes({ index: i, revoked: null, x: 1 });
      for (const which of ['root', 'provider', 'release'] as const) {
        const tampered = withState(b, (p) => ({ ...p, [which]: { ...p[which], value: forged } }));
        expect(await rejection(w.verify(tampered)), which).to.deep.equal(['BAD_MAP_PROOF']);
      }
    });

    it('absence: a state entry that leaves the release out proves it NOT_LOGGED; the honest presence proof against it fails', async () => {
      const w = new World();
      const key = recordKey(releasePath(P, 'drupal', 'core', '1.0.0'));
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const b = w.lie(env, (map) => map.set(key, undefined));
      expect(decodeStateProof(b.state).release.value).to.equal(undefined);
      expect(await rejection(w.verify(b))).to.deep.equal(['NOT_LOGGED']);
      const honest = { value: w.d.replay.state.map.get(key)!, proof: w.d.replay.state.map.prove(key) };
      expect(await rejection(w.verify(withState(b, (p) => ({ ...p, release: honest }))))).to.deep.equal(['BAD_MAP_PROOF']);
    });

    it('a state that leaves the provider out proves it PROVIDER_UNKNOWN; an absence proof of another key cannot stand for it', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const b = w.lie(env, (map) => map.set(recordKey(providerPath(P)), undefined));
      expect(await rejection(w.verify(b))).to.deep.equal(['PROVIDER_UNKNOWN']);
      const w2 = new World();
      const env2 = releaseOf(P, '1.0.0', [w2.p.release[0]!]);
      const honest = w2.bundle(env2, w2.add(env2)[0]!);
      const map = w2.d.replay.state.map;
      const elsewhere = withState(honest, ({ policy: _policy, ...p }) => ({ ...p, provider: { proof: map.prove(recordKey(providerPath(Q))) } }));
      expect(await rejection(w2.verify(elsewhere))).to.deep.equal(['BAD_MAP_PROOF']);
    });
  });

  describe("the provider record names the carried policy, and that policy is the provider's, at the record's version", () => {
    it("a record whose version is not the policy's is BAD_STATE_PROOF", async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const key = recordKey(providerPath(P));
      const b = w.lie(env, (map) => map.set(key, encodeProviderRecord({ ...decodeProviderRecord(map.get(key)!), version: 3 })));
      expect(await rejection(w.verify(b))).to.deep.equal(['BAD_STATE_PROOF']);
    });

    it("a record of P naming another provider's policy (whose key signed) is BAD_STATE_PROOF", async () => {
      const w = new World();
      const q = makeProvider(Q);
      const env = releaseOf(P, '1.0.0', [q.release[0]!]);
      const b = w.lie(
        env,
        (map, index) => {
          map.set(recordKey(providerPath(P)), encodeProviderRecord({ version: 1, policy: sha256Hex(q.payload), index: 1, revoked: {}, activeFrom: {} }));
          map.set(recordKey(releasePath(P, 'drupal', 'core', '1.0.0')), encodeReleaseRecord({ index, revoked: null }));
        },
        { unchecked: true, policy: q.payload },
      );
      expect(await rejection(w.verify(b))).to.deep.equal(['BAD_STATE_PROOF']);
    });
  });

  describe('every tamper of the state section is refused', () => {
    it('each byte changed (its low bit flipped), each truncation, a byte added', () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const b = w.bundle(env, i!);
      expect(() => w.checkState(b, b.state)).to.not.throw();
      const accepted: string[] = [];
      const codes = new Set<string>();
      const tryOne = (state: Uint8Array, what: string) => {
        try {
          w.checkState(b, state);
          accepted.push(what);
        } catch (err) {
          codes.add(codesOf(err)[0]!);
        }
      };
      for (let at = 0; at < b.state.length; at++) {
        const t = b.state.slice();
        t[at]! ^= 0x01;
        tryOne(t, `byte ${at} ^ 1`);
      }
      for (let n = 0; n < b.state.length; n++) tryOne(b.state.slice(0, n), `first ${n} bytes`);
      tryOne(new Uint8Array([...b.state, 0]), 'a byte added');
      expect(accepted).to.deep.equal([]);
      expect(
        [...codes].every((c) => ['BAD_STATE_PROOF', 'BAD_MAP_PROOF', 'BAD_PROOF'].includes(c)),
        [...codes].join(),
      ).to.equal(true);
    });

    it("a state entry other than the checkpoint's last (an older state entry, proved at its own index) is BAD_STATE_PROOF", async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const old = w.bundle(env, i!);
      w.add(releaseOf(P, '1.0.1', [w.p.release[0]!]));
      const fresh = w.bundle(env, i!);
      // The old state section beside the new checkpoint's proof: its state entry is not at size − 1.
      expect(await rejection(w.verify({ ...fresh, state: old.state }))).to.deep.equal(['BAD_STATE_PROOF']);
      expect(await rejection(w.verify({ ...old, proof: fresh.proof }))).to.deep.equal(['BAD_STATE_PROOF']);
    });

    it('a bundle without a state section is BAD_STATE_PROOF', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const { state: _state, ...b } = w.bundle(env, i!);
      expect(await rejection(w.verify(b))).to.deep.equal(['BAD_STATE_PROOF']);
    });
  });

  describe('revoked releases', () => {
    it('revoked by the provider: REVOKED', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      w.add(releaseRevocation(P, '1.0.0', [w.p.release[1]!]));
      expect(await rejection(w.verify(w.bundle(env, i!)))).to.deep.equal(['REVOKED']);
    });

    it('revoked by the super provider (the root quorum): REVOKED', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      w.add(releaseRevocation(P, '1.0.0', w.root.signers.slice(0, 2)));
      expect(await rejection(w.verify(w.bundle(env, i!)))).to.deep.equal(['REVOKED']);
    });

    it('a release record at another index than the proof is LOG_ENTRY_MISMATCH; a state without a root policy is BAD_STATE_PROOF', async () => {
      const w = new World();
      const key = recordKey(releasePath(P, 'drupal', 'core', '1.0.0'));
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const b = w.lie(env, (map) => map.set(key, canonicalBytes({ index: w.log.size + 5, revoked: null })));
      expect(await rejection(w.verify(b))).to.deep.equal(['LOG_ENTRY_MISMATCH']);
      const w2 = new World();
      const env2 = releaseOf(P, '1.0.0', [w2.p.release[0]!]);
      expect(await rejection(w2.verify(w2.lie(env2, (map) => map.set(recordKey(rootPath()), undefined))))).to.deep.equal(['BAD_STATE_PROOF']);
    });
  });

  describe("the signers: the provider's current release keys, minus those revoked at or before the release", () => {
    it('a key revoked from "all", or from the release\'s own index, no longer counts: QUORUM_NOT_MET (KEY_REVOKED)', async () => {
      for (const from of ['all', 'at'] as const) {
        const w = new World();
        const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
        const [i] = w.add(env);
        w.add(keyRevocation(P, w.p.release[0]!.id, from === 'all' ? 'all' : i!, w.p.admin));
        const err = await w.verify(w.bundle(env, i!)).then(
          () => undefined,
          (e: VerificationError) => e,
        );
        expect(codesOf(err), from).to.deep.equal(['QUORUM_NOT_MET']);
        const problems = (err!.reasons[0]!.details!.problems as Array<{ code: string }>).map((p) => p.code);
        expect(problems, from).to.include('KEY_REVOKED');
      }
    });

    it('a key revoked from a later index still counts for a release before it', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const later = releaseOf(P, '1.0.1', [w.p.release[1]!]);
      const [j] = w.add(later);
      w.add(keyRevocation(P, w.p.release[0]!.id, j!, w.p.admin));
      const v = await w.verify(w.bundle(env, i!));
      expect(v.state.revokedKeys.get(w.p.release[0]!.id)).to.equal(j);
      expect(v.quorum.signedBy.map((s) => s.id)).to.deep.equal([w.p.release[0]!.id]);
    });

    it('a key still waiting out the activation delay does not count (KEY_NOT_ACTIVE): it cannot re-sign a logged release for a revoked key', async () => {
      const w = new World({ delay: 3600 });
      w.t = 5000;
      w.add(); // log time passes the first keys' activation (1000 + 3600)
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      // A stolen admin quorum adds its own release key, then the provider revokes the key that signed 1.0.0.
      const [late] = makeSigners(1, 'late release key');
      w.add(rotation(makeProvider(P, { version: 2, admin: w.p.admin, release: [w.p.release[0]!, late!] }), w.p.admin));
      // Proved right after the batch that added the key: the state entry commits to the activation it starts.
      expect((await w.verify(w.bundle(env, i!))).state.providerRecord.activeFrom[`release ${late!.id}`]).to.equal(w.t - 1 + 3600);
      w.add(keyRevocation(P, w.p.release[0]!.id, 'all', w.p.admin));
      const resigned = releaseOf(P, '1.0.0', [late!]);
      const err = await w.verify(w.bundle(resigned, i!)).then(
        () => undefined,
        (e: VerificationError) => e,
      );
      expect(codesOf(err)).to.deep.equal(['QUORUM_NOT_MET']);
      expect((err!.reasons[0]!.details!.problems as Array<{ code: string }>).map((p) => p.code)).to.include('KEY_NOT_ACTIVE');
      // Once log time has passed its activation (monitors have had the delay to warn), the key counts.
      w.t += 3600;
      w.add();
      const v = await w.verify(w.bundle(resigned, i!));
      expect(v.quorum.signedBy.map((s) => s.id)).to.deep.equal([late!.id]);
    });

    it('a key rotated out of the provider policy no longer counts; the old policy swapped in for the current is BAD_STATE_PROOF', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const v2 = makeProvider(P, { version: 2, admin: w.p.admin, release: [w.p.release[1]!] });
      w.add(rotation(v2, w.p.admin));
      const b = w.bundle(env, i!);
      expect(await rejection(w.verify(b))).to.deep.equal(['QUORUM_NOT_MET']);
      // Another valid policy of P, version 2, that still lists the old key: not the one the provider record commits to.
      const forged = makeProvider(P, { version: 2, admin: w.p.admin, release: w.p.release });
      expect(await rejection(w.verify(withState(b, (p) => ({ ...p, policy: forged.payload }))))).to.deep.equal(['BAD_STATE_PROOF']);
    });
  });

  describe('the root pin and the super provider', () => {
    it('an expired root pin is POLICY_EXPIRED, though the provider policy and the release are fresh', async () => {
      const w = new World({ rootExpires: '2026-12-01T00:00:00Z' });
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const b = w.bundle(env, i!);
      expect((await w.verify(b)).superProvider).to.equal(false);
      expect(await rejection(w.verify(b, { now: new Date('2026-12-02T00:00:00Z') }))).to.deep.equal(['POLICY_EXPIRED']);
    });

    it('a root that the log has rotated past is ROOT_NOT_CURRENT (update the pin); the current pin is accepted', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      const payload = parseCanonical(Buffer.from(w.root.policy.payload, 'base64'), 'root') as Record<string, unknown>;
      const next = signedBy(
        { payloadType: PAYLOAD_TYPES.policy, payload: toBase64(canonicalBytes({ ...payload, version: 2 })), signatures: [] },
        w.root.signers.slice(0, 2),
      );
      w.add(next);
      const b = w.bundle(env, i!);
      expect(await rejection(w.verify(b))).to.deep.equal(['ROOT_NOT_CURRENT']);
      expect((await w.verify(b, { root: next })).superProvider).to.equal(false);
    });

    it('a release signed by the super provider is accepted and flagged; below the root quorum it is QUORUM_NOT_MET', async () => {
      const w = new World();
      const env = releaseOf(P, '1.0.0', w.root.signers.slice(0, 2));
      const [i] = w.add(env);
      const v = await w.verify(w.bundle(env, i!));
      expect([v.superProvider, v.quorumName]).to.deep.equal([true, 'the super provider (root policy quorum)']);
      // The bundle keeps one of the two root signatures: logged (the entry ignores signatures), but short of the quorum.
      const one = { ...env, signatures: env.signatures.slice(0, 1) };
      expect(await rejection(w.verify(w.bundle(one, i!)))).to.deep.equal(['QUORUM_NOT_MET']);
    });

    it("a release of provider A verified with --provider B is PROVIDER_MISMATCH, even with B's records", async () => {
      const w = new World();
      const q = makeProvider(Q);
      w.add(enrolment(q, w.root.signers.slice(0, 2)));
      const env = releaseOf(P, '1.0.0', [w.p.release[0]!]);
      const [i] = w.add(env);
      expect(await rejection(w.verify(w.bundle(env, i!), { provider: Q }))).to.deep.equal(['PROVIDER_MISMATCH']);
      expect(await rejection(w.verify(w.bundle(env, i!, { provider: Q, version: '1.0.0' }), { provider: Q }))).to.deep.equal(['PROVIDER_MISMATCH']);
      // verifyStateProof checks it of the logged entry too, whatever the manifest says.
      const b = w.bundle(env, i!);
      expect(rejectionSync(() => w.checkState(b, b.state, Q))).to.deep.equal(['PROVIDER_MISMATCH']);
    });
  });
});
