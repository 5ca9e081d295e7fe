// The provider rules of the log's replay (spec/log.md "Providers"): enrolment is authorised, a name is taken once,
// signers always come from the replayed state, keys wait for their activation delay in log time, revoked keys stop
// counting at their effective index, the super provider is the root quorum (and flagged), first release wins per
// provider, and a state entry commits to exactly the replayed state. Each test fails when its rule is removed.
import { expect } from 'chai';
import { toHex } from '../../lib/core/bytes.js';
import type { CountersignError } from '../../lib/core/errors.js';
import { ENTRY_TYPES, encodeEntry } from '../../lib/log/entry.js';
import { recordKey, releasePath, providerPath, rootPath, decodeProviderRecord, decodeReleaseRecord, decodeRootRecord } from '../../lib/log/state-records.js';
import { sha256Hex } from '../../lib/core/envelope.js';
import type { ReplayedEntry } from '../../lib/log/replay.js';
import { makeSigners } from '../support/fixtures.js';
import { codeOf } from '../support/codes.js';
import { Driver, enrolment, keyRevocation, makeProvider, makeRoot, releaseOf, releaseRevocation, rotation } from './provider-support.js';

const P = 'wordpress.org/plugins/wordfence';

function errorOf(fn: () => unknown): CountersignError {
  try {
    fn();
  } catch (err) {
    return err as CountersignError;
  }
  throw new Error('expected an error');
}

/** The problem codes of a QUORUM_NOT_MET. */
const problemCodes = (err: CountersignError): string[] => [...new Set(((err.details.problems ?? []) as Array<{ code: string }>).map((p) => p.code))].sort();

/** A log with the root policy, provider P enrolled by the root quorum, and a state entry at `t0` (keys active at t0 + delay). */
function enrolled(opts: { delay?: number; t0?: number } = {}) {
  const root = makeRoot({ delay: opts.delay ?? 0 });
  const d = new Driver();
  d.add(root.policy);
  const p = makeProvider(P);
  d.add(enrolment(p, root.signers.slice(0, 2)));
  d.state(opts.t0 ?? 1000);
  return { root, d, p };
}

const record = (d: Driver, path: readonly string[]): Uint8Array | undefined => d.replay.state.map.get(recordKey(path));

describe('log replay: providers', () => {
  describe('enrolment', () => {
    it('needs the root quorum or the registry ring: an outsider, or one root key of two, is QUORUM_NOT_MET', () => {
      const root = makeRoot();
      const d = new Driver();
      d.add(root.policy);
      const p = makeProvider(P);
      expect(codeOf(() => d.add(enrolment(p, makeSigners(2))))).to.equal('QUORUM_NOT_MET');
      expect(codeOf(() => d.add(enrolment(p, [root.signers[0]!])))).to.equal('QUORUM_NOT_MET');
      expect(d.replay.state.provider(P)).to.equal(undefined);
    });

    it('by the registry role: accepted, not a super-provider action', () => {
      const root = makeRoot();
      const d = new Driver();
      d.add(root.policy);
      const e = d.add(enrolment(makeProvider(P), root.registry)) as Extract<ReplayedEntry, { kind: 'enrolment' }>;
      expect([e.kind, e.by, e.superProvider]).to.deep.equal(['enrolment', 'registry', false]);
      const rec = decodeProviderRecord(record(d, providerPath(P))!);
      expect(rec).to.deep.equal({ version: 1, policy: sha256Hex(makeProviderPayload(d)), index: 1, revoked: {} });
    });

    it('a second enrolment of a taken name is PROVIDER_EXISTS, even by the root quorum', () => {
      const { root, d } = enrolled();
      expect(codeOf(() => d.add(enrolment(makeProvider(P), root.signers.slice(0, 2))))).to.equal('PROVIDER_EXISTS');
      expect(codeOf(() => d.add(enrolment(makeProvider(P), root.registry)))).to.equal('PROVIDER_EXISTS');
    });

    it('re-enrolment (previous = current version): by the root quorum accepted and flagged; by the registry QUORUM_NOT_MET', () => {
      const { root, d } = enrolled();
      const v2 = makeProvider(P, { version: 2 });
      const byRegistry = errorOf(() => d.add(enrolment(v2, root.registry, 1)));
      expect(byRegistry.code).to.equal('QUORUM_NOT_MET');
      expect(byRegistry.message).to.match(/registry may only enrol a new name/);
      expect(codeOf(() => d.add(enrolment(v2, root.signers.slice(0, 2), 2)))).to.equal('POLICY_VERSION_GAP');
      expect(codeOf(() => d.add(enrolment(makeProvider(P, { version: 3 }), root.signers.slice(0, 2), 1)))).to.equal('POLICY_VERSION_GAP');
      const e = d.add(enrolment(v2, root.signers.slice(0, 2), 1)) as Extract<ReplayedEntry, { kind: 'enrolment' }>;
      expect([e.by, e.reenrolment, e.superProvider]).to.deep.equal(['root', true, true]);
      expect(decodeProviderRecord(record(d, providerPath(P))!).version).to.equal(2);
    });
  });

  describe('signers come from the replayed state', () => {
    it('an entry naming an outsider key and signed by it counts nothing', () => {
      const { d } = enrolled();
      const outsider = makeSigners(1);
      // A release signed by a key the provider never listed.
      const err = errorOf(() => d.add(releaseOf(P, '1.0.0', outsider)));
      expect(err.code).to.equal('QUORUM_NOT_MET');
      expect(problemCodes(err)).to.include('UNKNOWN_KEY');
      // A rotation whose new policy names the outsider as its only admin, signed by it: its own quorum is met
      // (possession), the current admin quorum is not.
      const next = makeProvider(P, { version: 2, admin: outsider, release: outsider });
      expect(codeOf(() => d.add(rotation(next, outsider)))).to.equal('QUORUM_NOT_MET');
    });
  });

  describe('activation delay (log time)', () => {
    it('a key does not count before the first state entry after it entered plus the delay, and does after', () => {
      const root = makeRoot({ delay: 3600 });
      const d = new Driver();
      d.add(root.policy);
      const p = makeProvider(P);
      d.add(enrolment(p, root.signers.slice(0, 2)));
      // In the batch that added it (no state entry since): not active.
      let err = errorOf(() => d.add(releaseOf(P, '1.0.0', p.release)));
      expect([err.code, problemCodes(err)]).to.deep.equal(['QUORUM_NOT_MET', ['KEY_NOT_ACTIVE', 'UNKNOWN_KEY']]);
      d.state(1000);
      d.state(4599);
      err = errorOf(() => d.add(releaseOf(P, '1.0.0', p.release)));
      expect(problemCodes(err)).to.include('KEY_NOT_ACTIVE');
      d.state(4600);
      const r = d.add(releaseOf(P, '1.0.0', p.release));
      expect([r.kind, (r as { superProvider: boolean }).superProvider]).to.deep.equal(['release', false]);
    });

    it('with delay 0 a key still never signs in the batch that added it', () => {
      const root = makeRoot({ delay: 0 });
      const d = new Driver();
      d.add(root.policy);
      const p = makeProvider(P);
      d.add(enrolment(p, root.signers.slice(0, 2)));
      expect(codeOf(() => d.add(releaseOf(P, '1.0.0', p.release)))).to.equal('QUORUM_NOT_MET');
      d.state(0);
      expect(d.add(releaseOf(P, '1.0.0', p.release)).kind).to.equal('release');
    });

    it('a key added by a rotation waits; the keys it kept stay active', () => {
      const { d, p } = enrolled({ delay: 60, t0: 1000 });
      d.state(1060);
      const fresh = makeSigners(1);
      const next = makeProvider(P, { version: 2, admin: p.admin, release: [...p.release, ...fresh] });
      expect(d.add(rotation(next, p.admin)).kind).to.equal('provider-policy');
      expect(d.add(releaseOf(P, '1.0.0', [p.release[0]!])).kind).to.equal('release');
      expect(problemCodes(errorOf(() => d.add(releaseOf(P, '1.0.1', fresh))))).to.include('KEY_NOT_ACTIVE');
      d.state(2000);
      d.state(2059);
      expect(codeOf(() => d.add(releaseOf(P, '1.0.1', fresh)))).to.equal('QUORUM_NOT_MET');
      d.state(2060);
      expect(d.add(releaseOf(P, '1.0.1', fresh)).kind).to.equal('release');
    });
  });

  describe('provider rotation', () => {
    it('needs the admin quorum of N and of N+1, of an enrolled provider, version N+1', () => {
      const { d, p } = enrolled();
      const fresh = makeSigners(2);
      const next = makeProvider(P, { version: 2, admin: fresh, release: p.release });
      expect(codeOf(() => d.add(rotation(next, fresh)))).to.equal('QUORUM_NOT_MET');
      expect(codeOf(() => d.add(rotation(next, p.admin)))).to.equal('QUORUM_NOT_MET');
      expect(codeOf(() => d.add(rotation(makeProvider(P, { version: 3, admin: p.admin }), p.admin)))).to.equal('POLICY_VERSION_GAP');
      expect(codeOf(() => d.add(rotation(makeProvider('drupal/core', { version: 2, admin: p.admin }), p.admin)))).to.equal('PROVIDER_UNKNOWN');
      expect(d.add(rotation(next, [...p.admin, ...fresh])).kind).to.equal('provider-policy');
      expect(decodeProviderRecord(record(d, providerPath(P))!)).to.include({ version: 2, index: d.entries.length - 1 });
    });
  });

  describe('key revocation', () => {
    it('from an index: releases at or after it are refused, the record keeps the effective index (earlier releases stand)', () => {
      const { d, p } = enrolled();
      const k = p.release[0]!;
      const before = d.add(releaseOf(P, '1.0.0', [k])).index;
      const from = d.entries.length; // the revocation's own index
      expect(codeOf(() => d.add(keyRevocation(P, k.id, from + 1, p.admin)))).to.equal('BAD_REVOCATION_INDEX');
      const kr = d.add(keyRevocation(P, k.id, from, p.admin)) as Extract<ReplayedEntry, { kind: 'key-revocation' }>;
      expect([kr.effective, kr.superProvider]).to.deep.equal([from, false]);
      const err = errorOf(() => d.add(releaseOf(P, '1.0.1', [k])));
      expect([err.code, problemCodes(err)]).to.deep.equal(['QUORUM_NOT_MET', ['KEY_REVOKED', 'UNKNOWN_KEY']]);
      expect(decodeProviderRecord(record(d, providerPath(P))!).revoked).to.deep.equal({ [k.id]: from });
      // 1.0.0, logged before the effective index, stays valid: its record is not revoked.
      expect(decodeReleaseRecord(record(d, releasePath(P, 'drupal', 'core', '1.0.0'))!)).to.deep.equal({ index: before, revoked: null });
      expect(before).to.be.below(from);
      expect(d.add(releaseOf(P, '1.0.1', [p.release[1]!])).kind).to.equal('release');
    });

    it('"all" is effective from 0; a later, larger revocation of the same key does not move it', () => {
      const { d, p } = enrolled();
      const k = p.release[0]!;
      d.add(keyRevocation(P, k.id, 'all', p.admin));
      d.add(keyRevocation(P, k.id, 'now', p.admin));
      expect(decodeProviderRecord(record(d, providerPath(P))!).revoked).to.deep.equal({ [k.id]: 0 });
      expect(codeOf(() => d.add(releaseOf(P, '1.0.0', [k])))).to.equal('QUORUM_NOT_MET');
    });

    it('needs the admin quorum (release keys are not enough) or the super provider', () => {
      const { root, d, p } = enrolled();
      expect(codeOf(() => d.add(keyRevocation(P, p.admin[0]!.id, 'now', p.release)))).to.equal('QUORUM_NOT_MET');
      expect(codeOf(() => d.add(keyRevocation(P, p.admin[0]!.id, 'now', [root.signers[0]!])))).to.equal('QUORUM_NOT_MET');
      const kr = d.add(keyRevocation(P, p.admin[0]!.id, 'now', root.signers.slice(0, 2)));
      expect((kr as { superProvider: boolean }).superProvider).to.equal(true);
      expect(codeOf(() => d.add(keyRevocation('drupal/core', p.admin[0]!.id, 'now', root.signers.slice(0, 2))))).to.equal('PROVIDER_UNKNOWN');
    });
  });

  describe('the super provider', () => {
    it('is the root quorum: below it refused, at it accepted and flagged', () => {
      const { root, d } = enrolled();
      expect(codeOf(() => d.add(releaseOf(P, '1.0.0', [root.signers[0]!])))).to.equal('QUORUM_NOT_MET');
      const r = d.add(releaseOf(P, '1.0.0', root.signers.slice(0, 2)));
      expect([r.kind, (r as { superProvider: boolean }).superProvider]).to.deep.equal(['release', true]);
    });
  });

  describe('release revocation', () => {
    it('by the provider (release or admin quorum) and by the super provider: the map record shows the revocation', () => {
      const { root, d, p } = enrolled();
      d.add(releaseOf(P, '1.0.0', [p.release[0]!]));
      d.add(releaseOf(P, '1.0.1', [p.release[0]!]));
      const at = d.entries.length;
      expect(codeOf(() => d.add(releaseRevocation(P, '1.0.0', makeSigners(1))))).to.equal('QUORUM_NOT_MET');
      const byProvider = d.add(releaseRevocation(P, '1.0.0', [p.release[1]!]));
      expect((byProvider as { superProvider: boolean }).superProvider).to.equal(false);
      expect(codeOf(() => d.add(releaseRevocation(P, '1.0.1', [root.signers[0]!])))).to.equal('QUORUM_NOT_MET');
      const bySuper = d.add(releaseRevocation(P, '1.0.1', root.signers.slice(0, 2)));
      expect((bySuper as { superProvider: boolean }).superProvider).to.equal(true);
      expect(decodeReleaseRecord(record(d, releasePath(P, 'drupal', 'core', '1.0.0'))!)).to.deep.equal({ index: at - 2, revoked: at });
      expect(decodeReleaseRecord(record(d, releasePath(P, 'drupal', 'core', '1.0.1'))!)).to.deep.equal({ index: at - 1, revoked: at + 1 });
    });

    it('of a release not yet logged: {index: null, revoked}; the release logged later stays revoked', () => {
      const { d, p } = enrolled();
      const at = d.entries.length;
      d.add(releaseRevocation(P, '2.0.0', p.admin));
      expect(decodeReleaseRecord(record(d, releasePath(P, 'drupal', 'core', '2.0.0'))!)).to.deep.equal({ index: null, revoked: at });
      d.add(releaseOf(P, '2.0.0', [p.release[0]!]));
      expect(decodeReleaseRecord(record(d, releasePath(P, 'drupal', 'core', '2.0.0'))!)).to.deep.equal({ index: at + 1, revoked: at });
    });
  });

  describe('first release wins', () => {
    it('per provider, product, component and version; another provider and the root have their own', () => {
      const { root, d, p } = enrolled();
      const q = makeProvider('drupal/core');
      d.add(enrolment(q, root.signers.slice(0, 2)));
      d.state(1001);
      d.add(releaseOf(P, '1.0.0', [p.release[0]!]));
      expect(codeOf(() => d.add(releaseOf(P, '1.0.0', [p.release[1]!])))).to.equal('RELEASE_EXISTS');
      expect(d.add(releaseOf('drupal/core', '1.0.0', [q.release[0]!])).kind).to.equal('release');
      expect(d.add(releaseOf(undefined, '1.0.0', root.signers.slice(0, 2))).kind).to.equal('release');
      expect(codeOf(() => d.add(releaseOf(undefined, '1.0.0', root.signers.slice(1, 3))))).to.equal('RELEASE_EXISTS');
    });
  });

  describe('root releases as today', () => {
    it('the root quorum signs; the map records ["root"] and ["release", "", …] with their revocation', () => {
      const root = makeRoot();
      const d = new Driver();
      d.add(root.policy);
      const r = d.add(releaseOf(undefined, '1.0.0', root.signers.slice(0, 2)));
      expect([r.kind, (r as { superProvider: boolean }).superProvider]).to.deep.equal(['release', false]);
      expect(codeOf(() => d.add(releaseOf(undefined, '1.0.1', [root.signers[0]!])))).to.equal('QUORUM_NOT_MET');
      d.add(releaseRevocation(undefined, '1.0.0', root.signers.slice(0, 2)));
      expect(decodeRootRecord(record(d, rootPath())!)).to.deep.equal({ version: 1, policy: sha256Hex(Buffer.from(root.policy.payload, 'base64')) });
      expect(decodeReleaseRecord(record(d, releasePath(undefined, 'drupal', 'core', '1.0.0'))!)).to.deep.equal({ index: 1, revoked: 2 });
    });
  });

  describe('state entries', () => {
    it('a lying state entry is STATE_MISMATCH: another map root, size or an earlier time', () => {
      const { d } = enrolled({ t0: 1000 });
      const size = d.entries.length;
      const root = toHex(d.replay.state.stateRoot());
      const lie = (o: object) => encodeEntry({ entry: ENTRY_TYPES.state, size, time: 2000, map: root, ...o });
      expect(codeOf(() => d.check(lie({ map: '0'.repeat(64) })))).to.equal('STATE_MISMATCH');
      expect(codeOf(() => d.check(lie({ size: size + 1 })))).to.equal('STATE_MISMATCH');
      expect(codeOf(() => d.check(lie({ time: 999 })))).to.equal('STATE_MISMATCH');
      expect(d.check(lie({})).kind).to.equal('state');
    });

    it('the map root changes with every record, and only then', () => {
      const { root, d, p } = enrolled();
      const before = toHex(d.replay.state.stateRoot());
      d.state(1001);
      expect(toHex(d.replay.state.stateRoot())).to.equal(before);
      d.add(releaseOf(P, '1.0.0', [p.release[0]!]));
      expect(toHex(d.replay.state.stateRoot())).to.not.equal(before);
      expect(root.signers.length).to.equal(3);
    });
  });
});

function makeProviderPayload(d: Driver): Uint8Array {
  return d.replay.state.provider(P)!.payload;
}
