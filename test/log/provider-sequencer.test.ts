// The sequencer of a provider log: every batch that added entries ends with a state entry (its index, the injected
// clock, never decreasing, the state root over the entries before it), submitted state entries are refused, and a
// sequencer restarted from its database, or a replay restored from a saved state, has exactly the same state.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseEntry, type StateEntry } from '../../lib/log/entry.js';
import { monitorOnce } from '../../lib/log/monitor.js';
import { Replay } from '../../lib/log/replay.js';
import { Sequencer, type AddOutcome } from '../../lib/log/sequencer.js';
import { openSequencerStore } from '../../lib/log/sequencer-store.js';
import { TileDir } from '../../lib/log/publish.js';
import { openLogSource } from '../../lib/log/tile-reader.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { NOW } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { Driver, enrolment, keyRevocation, makeProvider, makeRoot, releaseOf, releaseRevocation } from './provider-support.js';
import { logPolicy, makeLog, makeTeam, release, revocation, sub, type TestLog } from './service-support.js';

const P = 'drupal.org/project/webform';

function sequencer(log: TestLog, clock: { t: number }, store = log.store): Sequencer {
  return new Sequencer({ store, tiles: new TileDir(log.dir), signer: log.signer, now: () => new Date(clock.t * 1000) });
}

const indexes = (outcomes: AddOutcome[]) => outcomes.map((o) => (o.ok ? o.index : o.error.code));

async function allEntries(log: TestLog): Promise<Uint8Array[]> {
  const cp = await log.store.checkpoint();
  return log.store.entries(0, cp.size);
}

/** Replays every entry with check + apply (a monitor's or auditor's replay); manifests from beside the tiles. */
function replayAll(log: TestLog, entries: Uint8Array[]): Replay {
  const replay = new Replay();
  for (const e of entries) replay.next(e, (sha) => log.tiles.readManifest(sha));
  return replay;
}

describe('sequencer: state entries of a provider log', () => {
  it('ends every batch that added entries with a state entry at the clock, never decreasing; refuses submitted ones', async () => {
    const log = await makeLog();
    try {
      const clock = { t: 5000 };
      const seq = sequencer(log, clock);
      const root = makeRoot({ delay: 0 });
      const p = makeProvider(P);
      expect(indexes(await seq.add([sub(root.policy), sub(enrolment(p, root.signers.slice(0, 2)))]))).to.deep.equal([0, 1]);
      let entries = await allEntries(log);
      expect(entries.length).to.equal(3);
      const s2 = parseEntry(entries[2]!).entry as StateEntry;
      expect([s2.entry, s2.size, s2.time]).to.deep.equal(['countersign.state/v1', 2, 5000]);
      // The clock going back does not move log time back.
      clock.t = 4000;
      expect(indexes(await seq.add([sub(releaseOf(P, '1.0.0', [p.release[0]!]))]))).to.deep.equal([3]);
      entries = await allEntries(log);
      expect((parseEntry(entries[4]!).entry as StateEntry).time).to.equal(5000);
      // Only the sequencer writes state entries; a batch of duplicates and refusals adds none.
      const refused = await seq.add([{ entry: entries[4]! }, sub(releaseOf(P, '1.0.0', [p.release[0]!]))]);
      expect(indexes(refused)).to.deep.equal(['STATE_MISMATCH', 3]);
      expect((await allEntries(log)).length).to.equal(5);
      // Every state entry is the exact replay (an auditor's check).
      expect(replayAll(log, entries).size).to.equal(5);
    } finally {
      await log.store.close();
    }
  });

  it('a log of today (one root policy, format 1) gets no state entries', async () => {
    const log = await makeLog();
    try {
      const team = makeTeam(2, 2);
      await sequencer(log, { t: 1 }).add([sub(team.policy), sub(release(team, '1.0.0'))]);
      expect((await allEntries(log)).length).to.equal(2);
    } finally {
      await log.store.close();
    }
  });

  it('a restarted sequencer (state from the database) and a restored replay keep the provider state exactly', async () => {
    const log = await makeLog();
    try {
      const clock = { t: 100 };
      const root = makeRoot({ delay: 50 });
      const p = makeProvider(P);
      await sequencer(log, clock).add([sub(root.policy), sub(enrolment(p, root.signers.slice(0, 2)))]);
      clock.t = 149;
      // The provider's own keys are not active before 150: the super provider acts.
      expect(indexes(await sequencer(log, clock).add([sub(releaseRevocation(P, '0.9.0', root.signers.slice(0, 2)))]))).to.deep.equal([3]);
      // Another process: its replay comes from the database (adopt), so it knows the key is not active yet at 149.
      const other = sequencer(log, clock, await openSequencerStore(log.db));
      const early = await other.add([sub(releaseOf(P, '1.0.0', [p.release[0]!]))]);
      expect(indexes(early)).to.deep.equal(['QUORUM_NOT_MET']);
      expect(indexes(await other.add([sub(keyRevocation(P, p.release[1]!.id, 'now', root.signers.slice(0, 2)))]))).to.deep.equal([5]);
      // At 150 a restarted sequencer knows the key's time has come: the batch opens with a state entry (6 is 149's).
      clock.t = 150;
      const late = await sequencer(log, clock, await openSequencerStore(log.db)).add([sub(releaseOf(P, '1.0.0', [p.release[0]!]))]);
      expect(indexes(late)).to.deep.equal([8]);
      const entries = await allEntries(log);
      const replayed = replayAll(log, entries);
      // Restored from a saved state, then fed the rest: the same state as replaying everything.
      const d = new Driver();
      for (const e of entries.slice(0, 5)) d.replay.next(e, (sha) => log.tiles.readManifest(sha));
      const restored = Replay.restore({
        size: d.replay.size,
        policyEntries: d.replay.policyEntries,
        releases: [...(d.replay.releases as Map<string, { index: number; identity: string }>)],
        providerState: d.replay.state.save(),
      });
      for (const e of entries.slice(5)) restored.next(e, (sha) => log.tiles.readManifest(sha));
      expect(restored.state.save()).to.deep.equal(replayed.state.save());
      expect(Buffer.from(restored.state.stateRoot()).equals(Buffer.from(replayed.state.stateRoot()))).to.equal(true);
      const adopted = new Replay();
      for (const e of entries) adopted.adopt(e);
      expect(adopted.state.save()).to.deep.equal(replayed.state.save());
    } finally {
      await log.store.close();
    }
  });

  it('the monitor refuses a state entry dated more than 10 minutes ahead of its clock (STATE_MISMATCH)', async () => {
    const log = await makeLog();
    try {
      const root = makeRoot({ delay: 86400 });
      const ahead = NOW.getTime() / 1000 + 601;
      await sequencer(log, { t: ahead }).add([sub(root.policy), sub(enrolment(makeProvider(P), root.signers.slice(0, 2)))]);
      const monitor = (now: Date) =>
        monitorOnce({ source: openLogSource(log.dir), policy: parseTlogPolicy(logPolicy(log.signer.vkey)), stateDir: tempDir(), now });
      expect((await monitor(NOW)).anomalies.map((a) => [a.code, a.index])).to.deep.equal([['STATE_MISMATCH', 2]]);
      expect((await monitor(new Date(NOW.getTime() + 1000))).anomalies).to.deep.equal([]);
    } finally {
      await log.store.close();
    }
  });

  it('a monitor state of 0.3 (format 1, no provider state) is replayed again from the start: its revocations are in the map', async () => {
    const log = await makeLog();
    try {
      const team = makeTeam(2, 2);
      const seq = sequencer(log, { t: 10 });
      await seq.add([sub(team.policy), sub(release(team, '1.0.0')), sub(revocation(team, '1.0.0'))]);
      const stateDir = tempDir();
      const monitor = () => monitorOnce({ source: openLogSource(log.dir), policy: parseTlogPolicy(logPolicy(log.signer.vkey)), stateDir, now: NOW });
      expect((await monitor()).anomalies).to.deep.equal([]);
      const file = join(stateDir, 'monitor-state.json');
      const { providerState: _, ...older } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...older, format: 1 }));
      // The log gains a provider: its first state entry commits to the root release's revocation.
      await seq.add([sub(enrolment(makeProvider(P), team.signers))]);
      const report = await monitor();
      expect([report.anomalies, report.size]).to.deep.equal([[], 5]);
    } finally {
      await log.store.close();
    }
  });

  it("a quiet log: a batch opens with a state entry once a key's activation time has come, so the key counts", async () => {
    const log = await makeLog();
    try {
      const clock = { t: 1000 };
      const seq = sequencer(log, clock);
      const root = makeRoot({ delay: 2 });
      const p = makeProvider(P);
      await seq.add([sub(root.policy), sub(enrolment(p, root.signers.slice(0, 2)))]);
      // Before the delay has passed: refused, and nothing is added (no state entry either).
      clock.t = 1001;
      expect(indexes(await seq.add([sub(releaseOf(P, '1.0.0', [p.release[0]!]))]))).to.deep.equal(['QUORUM_NOT_MET']);
      expect((await allEntries(log)).length).to.equal(3);
      // Nothing else was logged meanwhile; the last state entry still says 1000, but the clock says 1002.
      clock.t = 1002;
      expect(indexes(await seq.add([sub(releaseOf(P, '1.0.0', [p.release[0]!]))]))).to.deep.equal([4]);
      const entries = await allEntries(log);
      expect(entries.map((e) => parseEntry(e).kind)).to.deep.equal(['policy', 'enrolment', 'state', 'state', 'release', 'state']);
      expect((parseEntry(entries[3]!).entry as StateEntry).time).to.equal(1002);
      expect(replayAll(log, entries).size).to.equal(6);
      // Once log time has caught up, a batch opens with no extra state entry.
      clock.t = 5000;
      expect(indexes(await seq.add([sub(releaseOf(P, '1.0.1', [p.release[0]!]))]))).to.deep.equal([6]);
    } finally {
      await log.store.close();
    }
  });

  it('the monitor reports every super-provider action', async () => {
    const log = await makeLog();
    try {
      const root = makeRoot({ delay: 0 });
      const p = makeProvider(P);
      const seq = sequencer(log, { t: 10 });
      await seq.add([sub(root.policy), sub(enrolment(p, root.registry))]);
      await seq.add([sub(releaseOf(P, '1.0.0', [p.release[0]!])), sub(releaseOf(P, '1.0.1', root.signers.slice(0, 2)))]);
      const report = await monitorOnce({ source: openLogSource(log.dir), policy: parseTlogPolicy(logPolicy(log.signer.vkey)), stateDir: tempDir(), now: NOW });
      expect(report.anomalies).to.deep.equal([]);
      expect(report.watched.map((w) => [w.index, w.kind])).to.deep.equal([[4, 'release']]);
      expect(report.watched[0]!.because[0]).to.match(/super provider/);
    } finally {
      await log.store.close();
    }
  });
});
