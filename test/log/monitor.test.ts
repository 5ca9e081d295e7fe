// The monitor catches a fork (and a rollback), an entry whose quorum does not verify, a second release for the same
// version, and reports every entry signed with a watched key or of a watched product; it resumes where it stopped.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { generateSeed } from '../../lib/core/ed25519.js';
import { monitorOnce, type MonitorReport } from '../../lib/log/monitor.js';
import { openLogSource } from '../../lib/log/tile-reader.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { ed25519Signer } from '../../lib/log/note.js';
import { cosigner } from '../../lib/log/cosignature.js';
import { NOW } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { logPolicy, makeLog, makeTeam, release, revocation, rogueLog, rotate, sub, ORIGIN } from './service-support.js';
import { makeSigners } from '../support/fixtures.js';

function run(location: string, vkey: string, state: string, opts: { keys?: string[]; products?: string[] } = {}): Promise<MonitorReport> {
  return monitorOnce({
    source: openLogSource(location),
    policy: parseTlogPolicy(logPolicy(vkey)),
    stateDir: state,
    watchKeys: opts.keys,
    watchProducts: opts.products,
    now: NOW,
  });
}

describe('log monitor', () => {
  it('replays a good log, reports the watched key and product, and resumes from its state', async () => {
    const log = await makeLog();
    try {
      const team = makeTeam(3, 2);
      const [alice, bob, carol] = team.signers as [(typeof team.signers)[0], (typeof team.signers)[0], (typeof team.signers)[0]];
      await log.sequencer.add([
        sub(team.policy),
        sub(release(team, '10.2.4')),
        sub(release(team, '10.2.5', { by: [bob, carol] })),
        sub(revocation(team, '10.2.4')),
      ]);
      const state = tempDir();
      const first = await run(log.dir, log.signer.vkey, state, { keys: [alice.id] });
      expect(first.anomalies).to.deep.equal([]);
      expect([first.from, first.size, first.entries]).to.deep.equal([0, 4, 4]);
      // Alice signed the policy (and is listed in it), 10.2.4 and the revocation; not 10.2.5.
      expect(first.watched.map((w) => w.index)).to.deep.equal([0, 1, 3]);
      await log.sequencer.add([sub(release(team, '10.2.6', { product: 'wordpress', by: [bob, carol] }))]);
      const second = await run(log.dir, log.signer.vkey, state, { keys: [alice.id], products: ['wordpress'] });
      expect(second.anomalies).to.deep.equal([]);
      expect([second.from, second.size, second.entries]).to.deep.equal([4, 5, 1]);
      expect(second.watched.map((w) => [w.index, w.because])).to.deep.equal([[4, ['product wordpress']]]);
      // A rotation that drops Alice's key touches it too.
      const v2 = rotate(team, [bob, carol, ...makeSigners(1)]);
      await log.sequencer.add([sub(v2.policy)]);
      const third = await run(log.dir, log.signer.vkey, state, { keys: [alice.id] });
      expect(third.watched.map((w) => w.index)).to.deep.equal([5]);
    } finally {
      await log.store.close();
    }
  });

  it('catches a fork: the same log key signs another tree (same size, then larger), with both checkpoints as evidence', async () => {
    const seed = generateSeed();
    const honest = await makeLog({ seed });
    try {
      const team = makeTeam(1, 1);
      await honest.sequencer.add([sub(team.policy), sub(release(team, '1.0.0'))]);
      const state = tempDir();
      expect((await run(honest.dir, honest.signer.vkey, state)).anomalies).to.deep.equal([]);
      const split = rogueLog(seed, [team.policy, release(team, '6.6.6')]);
      const same = await run(split.dir, honest.signer.vkey, state);
      expect(same.anomalies.map((a) => a.code)).to.deep.equal(['LOG_INCONSISTENT']);
      const files = same.anomalies[0]!.evidence;
      expect(files).to.have.length(2);
      expect(readFileSync(files[1]!, 'utf8')).to.equal(split.checkpoint);
      const larger = rogueLog(seed, [team.policy, release(team, '6.6.6'), release(team, '6.6.7')]);
      expect((await run(larger.dir, honest.signer.vkey, state)).anomalies.map((a) => a.code)).to.deep.equal(['LOG_INCONSISTENT']);
      // A rollback to a smaller tree.
      await honest.sequencer.add([sub(release(team, '1.0.1'))]);
      expect((await run(honest.dir, honest.signer.vkey, state)).anomalies).to.deep.equal([]);
      const smaller = rogueLog(seed, [team.policy, release(team, '1.0.0')]);
      expect((await run(smaller.dir, honest.signer.vkey, state)).anomalies[0]!.message).to.match(/rolled back/);
      // The state did not move: the honest log still checks.
      expect((await run(honest.dir, honest.signer.vkey, state)).anomalies).to.deep.equal([]);
    } finally {
      await honest.store.close();
    }
  });

  it('catches an entry whose quorum does not verify against the logged policy, and stops there every run', async () => {
    const seed = generateSeed();
    const team = makeTeam(3, 2);
    const rogue = rogueLog(seed, [team.policy, release(team, '1.0.0'), release(team, '1.0.1', { by: team.signers.slice(0, 1) }), release(team, '1.0.2')]);
    const vkey = ed25519Signer(ORIGIN, seed).vkey;
    const state = tempDir();
    for (let i = 0; i < 2; i++) {
      const r = await run(rogue.dir, vkey, state);
      expect(r.anomalies.map((a) => [a.code, a.index])).to.deep.equal([['QUORUM_NOT_MET', 2]]);
      expect(existsSync(r.anomalies[0]!.evidence[0]!)).to.equal(true);
    }
  });

  it('catches a second release for the same version (the first wins)', async () => {
    const seed = generateSeed();
    const team = makeTeam(1, 1);
    const rogue = rogueLog(seed, [team.policy, release(team, '1.0.0'), release(team, '1.0.0', { sha: 'a'.repeat(64) })]);
    const r = await run(rogue.dir, ed25519Signer(ORIGIN, seed).vkey, tempDir());
    expect(r.anomalies.map((a) => [a.code, a.index])).to.deep.equal([['RELEASE_EXISTS', 2]]);
  });

  it('refuses a checkpoint short of the witness quorum the log policy asks for', async () => {
    const log = await makeLog();
    try {
      await log.sequencer.add([sub(makeTeam(1, 1).policy)]);
      const policy = parseTlogPolicy(logPolicy(log.signer.vkey, [{ name: 'w1', vkey: cosigner('w1', generateSeed()).vkey }]));
      const r = await monitorOnce({ source: openLogSource(log.dir), policy, stateDir: tempDir(), now: NOW });
      expect(r.anomalies.map((a) => a.code)).to.deep.equal(['WITNESS_QUORUM_NOT_MET']);
    } finally {
      await log.store.close();
    }
  });
});
