// `log sync` (local trust): the store replays the log with proofs, reaches exactly the state the state entries commit
// to, resumes from what it kept, re-checks what it kept on every open, stops at the first invalid entry naming it
// (never skipping), and never follows a stale or forked view. Each test fails when its rule is removed.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../lib/core/bytes.js';
import type { CountersignError } from '../../lib/core/errors.js';
import { parseEntry } from '../../lib/log/entry.js';
import { submissionFor } from '../../lib/log/sequencer.js';
import { syncStore } from '../../lib/log/sync.js';
import { loadReplayedState, replayPath } from '../../lib/node/replayed-state.js';
import { initStore, openStore } from '../../lib/node/trust-store.js';
import { envelopeBytes, makeSigners } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { Driver, enrolment, keyRevocation, makeProvider, makeRoot, releaseOf, releaseRevocation, type Root } from './provider-support.js';
import { ServedLog, stateEntryBytes, witnessKeys } from './sync-support.js';

const P = 'wordpress.org/plugins/wordfence';
const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 600) * 1000);

async function failure(p: Promise<unknown>): Promise<CountersignError> {
  try {
    await p;
  } catch (err) {
    return err as CountersignError;
  }
  throw new Error('expected a refusal');
}

/** A provider log: the root, P enrolled, releases, a key and a release revocation, a state entry after each batch. */
function providerLog(): { root: Root; d: Driver; served: ServedLog; p: ReturnType<typeof makeProvider> } {
  const root = makeRoot({ delay: 0 });
  const d = new Driver();
  const p = makeProvider(P);
  d.add(root.policy);
  d.add(enrolment(p, root.signers.slice(0, 2)));
  d.state(T - 100);
  for (let i = 0; i < 5; i++) d.add(releaseOf(P, `1.0.${i}`, [p.release[0]!]));
  d.add(releaseRevocation(P, '1.0.1', [p.release[1]!]));
  d.add(keyRevocation(P, p.release[1]!.id, 'now', p.admin));
  d.state(T - 50);
  const served = new ServedLog({ witnesses: witnessKeys(2) });
  for (const e of d.entries) served.append(e);
  for (const [k, v] of d.manifests) served.manifests.set(k, v);
  served.publish(T);
  return { root, d, served, p };
}

async function storeFor(root: Root, served: ServedLog): Promise<string> {
  const dir = join(tempDir(), 'store');
  await initStore(dir, envelopeBytes(root.policy), { logPolicy: served.policy(), now: NOW });
  return dir;
}

const largestSize = async (dir: string): Promise<number | undefined> => {
  const log = (await openStore(dir)).state.log!;
  return log.largest === undefined ? undefined : Number(log.largest.split('\n')[1]);
};

describe('log sync', () => {
  it('replays into the store: the state root of the last state entry, resumed from what it kept, up to date after', async () => {
    const { root, d, served, p } = providerLog();
    const dir = await storeFor(root, served);
    const first = await syncStore(dir, served, { now: NOW });
    expect(first).to.include({ from: 0, size: d.entries.length, advanced: true, consistency: 'first', written: true });
    let kept = (await loadReplayedState(await openStore(dir)))!;
    const lastState = parseEntry(d.entries.at(-1)!);
    expect(lastState.kind).to.equal('state');
    expect(toHex(kept.replay.state.stateRoot())).to.equal((lastState.entry as { map: string }).map);
    expect(toHex(kept.replay.state.stateRoot())).to.equal(toHex(d.replay.state.stateRoot()));
    expect(await syncStore(dir, served, { now: NOW })).to.include({ entries: 0, advanced: false, consistency: 'same' });

    // More entries: the next sync starts where the last one stopped.
    d.add(releaseOf(P, '2.0.0', [p.release[0]!]));
    d.state(T);
    served.append(d.entries.at(-2)!, d.manifests.get([...d.manifests.keys()].at(-1)!));
    served.append(d.entries.at(-1)!);
    served.publish(T + 1);
    expect(await syncStore(dir, served, { now: NOW })).to.include({ from: first.size, size: d.entries.length, entries: 2, consistency: 'proved' });
    kept = (await loadReplayedState(await openStore(dir)))!;
    expect(toHex(kept.replay.state.stateRoot())).to.equal(toHex(d.replay.state.stateRoot()));
    expect(kept.replay.state.release(P, 'drupal', 'core', '1.0.1')).to.deep.equal({ index: 4, revoked: 8 });
    expect(await largestSize(dir)).to.equal(d.entries.length);
  });

  it('re-checks the kept state on every open: a record changed on disk is STORE_CORRUPT', async () => {
    const { root, served } = providerLog();
    const dir = await storeFor(root, served);
    await syncStore(dir, served, { now: NOW });
    const path = replayPath(dir);
    const good = readFileSync(path, 'utf8');
    // Un-revoke release 1.0.1 in the kept provider state: the records no longer hash to the state entry's root.
    const [head, body] = good.split('\n');
    const saved = JSON.parse(body!);
    saved.providerState.releases = saved.providerState.releases.map((r: [string, number, number | null]) => (r[0].includes('1.0.1') ? [r[0], r[1], null] : r));
    writeFileSync(path, `${head}\n${JSON.stringify(saved)}\n`);
    expect((await failure(syncStore(dir, served, { now: NOW }))).code).to.equal('STORE_CORRUPT');
    expect((await failure(loadReplayedState(await openStore(dir)))).code).to.equal('STORE_CORRUPT');
    // A checkpoint not signed by the store's log.
    const other = new ServedLog({ seed: new Uint8Array(32).fill(9) });
    other.append(served.entries[0]!);
    const forged = JSON.parse(head!);
    forged.checkpoint = other.publish(T);
    writeFileSync(path, `${JSON.stringify(forged)}\n${body}\n`);
    expect((await failure(loadReplayedState(await openStore(dir)))).code).to.equal('STORE_CORRUPT');
    writeFileSync(path, good);
    expect(await loadReplayedState(await openStore(dir))).to.not.equal(undefined);
  });

  it('stops at the first invalid entry with its code and index, keeps nothing, and stops there again', async () => {
    const { root, d, served, p } = providerLog();
    const dir = await storeFor(root, served);
    await syncStore(dir, served, { now: NOW });
    const before = readFileSync(replayPath(dir), 'utf8');
    // A compromised sequencer logs a release signed by an outsider's key, then an honest-looking release.
    const outsider = submissionFor(envelopeBytes(releaseOf(P, '6.6.6', makeSigners(1))));
    const bad = served.append(outsider.entry, outsider.manifest);
    const next = submissionFor(envelopeBytes(releaseOf(P, '3.0.0', [p.release[0]!])));
    served.append(next.entry, next.manifest);
    served.append(stateEntryBytes(served.size, T, toHex(d.replay.state.stateRoot())));
    served.publish(T + 2);
    for (let i = 0; i < 2; i++) {
      const err = await failure(syncStore(dir, served, { now: NOW }));
      expect([err.code, err.details.index]).to.deep.equal(['QUORUM_NOT_MET', bad]);
      expect(err.message).to.match(new RegExp(`^entry ${bad} is invalid`));
      expect(readFileSync(replayPath(dir), 'utf8')).to.equal(before);
    }
  });

  it('a lying state entry (a map root that is not the replay) is STATE_MISMATCH at its index', async () => {
    const { root, d, served } = providerLog();
    const lie = served.append(stateEntryBytes(served.size, T, '00'.repeat(32)));
    served.publish(T + 1);
    const dir = await storeFor(root, served);
    const err = await failure(syncStore(dir, served, { now: NOW }));
    expect([err.code, err.details.index]).to.deep.equal(['STATE_MISMATCH', lie]);
    expect(toHex(d.replay.state.stateRoot())).to.not.equal('00'.repeat(32));
    // A checkpoint of a provider log that does not end with a state entry commits to no state.
    const { root: root2, served: served2, p } = providerLog();
    const r = submissionFor(envelopeBytes(releaseOf(P, '4.0.0', [p.release[0]!])));
    served2.append(r.entry, r.manifest);
    served2.publish(T + 1);
    const err2 = await failure(syncStore(await storeFor(root2, served2), served2, { now: NOW }));
    expect([err2.code, err2.details.index]).to.deep.equal(['STATE_MISMATCH', served2.size - 1]);
  });

  it('needs the witness quorum and a fresh one, and the root the store pinned', async () => {
    const { root, served } = providerLog();
    const dir = await storeFor(root, served);
    served.publish(T, served.witnesses.slice(0, 1));
    expect((await failure(syncStore(dir, served, { now: NOW }))).code).to.equal('WITNESS_QUORUM_NOT_MET');
    served.publish(T - 8 * 86400);
    expect((await failure(syncStore(dir, served, { now: NOW }))).code).to.equal('CHECKPOINT_STALE');
    served.publish(T);
    const elsewhere = await storeFor(makeRoot(), served);
    expect((await failure(syncStore(elsewhere, served, { now: NOW }))).code).to.equal('ROOT_NOT_LOGGED');
    expect(await syncStore(dir, served, { now: NOW })).to.include({ advanced: true });
  });

  it('a stale mirror (older than the store has seen) is refused and nothing rolls back', async () => {
    const { root, d, served } = providerLog();
    const dir = await storeFor(root, served);
    const stale = served.prefix(3);
    stale.publish(T);
    await syncStore(dir, served, { now: NOW });
    const before = readFileSync(replayPath(dir), 'utf8');
    const err = await failure(syncStore(dir, stale, { now: NOW }));
    expect([err.code, err.details.kind]).to.deep.equal(['LOG_INCONSISTENT', 'rollback']);
    expect(readFileSync(replayPath(dir), 'utf8')).to.equal(before);
    expect(await largestSize(dir)).to.equal(d.entries.length);
  });

  it('a forked view is LOG_INCONSISTENT with both checkpoints kept; entries that do not hash to the checkpoint are never replayed', async () => {
    const { root, d, served, p } = providerLog();
    const dir = await storeFor(root, served);
    await syncStore(dir, served, { now: NOW });
    const before = readFileSync(replayPath(dir), 'utf8');
    // The same log key signs another tree extending a common prefix.
    const fork = served.prefix(3);
    const r = submissionFor(envelopeBytes(releaseOf(P, '9.0.0', [p.release[0]!])));
    for (let i = 3; i < d.entries.length + 2; i++) fork.append(r.entry, r.manifest);
    fork.publish(T);
    const err = await failure(syncStore(dir, fork, { now: NOW }));
    expect([err.code, err.details.kind]).to.deep.equal(['LOG_INCONSISTENT', 'fork']);
    const forks = (await openStore(dir)).state.log!.forks;
    expect(forks.length).to.equal(1);
    expect(forks[0]!.presented).to.equal(fork.note);
    expect(readFileSync(replayPath(dir), 'utf8')).to.equal(before);

    // A mirror serving entry bundles that are not the log's (with the honest checkpoint): refused before replay.
    const { root: root2, served: honest } = providerLog();
    const dir2 = await storeFor(root2, honest);
    const swapped = [...honest.entries];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const { encodeEntryBundle } = await import('../../lib/log/tiles.js');
    honest.forged.set(`tile/entries/000.p/${honest.size}`, encodeEntryBundle(swapped));
    const err2 = await failure(syncStore(dir2, honest, { now: NOW }));
    expect([err2.code, err2.details.kind]).to.deep.equal(['LOG_INCONSISTENT', 'unproved']);
    expect(await loadReplayedState(await openStore(dir2))).to.equal(undefined);
  });
});
