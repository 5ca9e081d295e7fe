// The witness (c2sp.org/tlog-witness): each answer of the protocol, fork refusal with the evidence kept, and state
// that survives a SIGKILL of the process at every point around its commit.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { generateSeed } from '../../lib/core/ed25519.js';
import { cosigner, cosignatureVerifier } from '../../lib/log/cosignature.js';
import { parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { verifyNote } from '../../lib/log/note.js';
import { fetchConsistencyProof, openLogSource } from '../../lib/log/tile-reader.js';
import { addCheckpointBody, Witness } from '../../lib/log/witness.js';
import { openWitnessStore, type WitnessStore } from '../../lib/log/witness-store.js';
import { runCliOk } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';
import { bundledCli } from '../installer/support.js';
import { makeLog, makeTeam, release, sub, type TestLog } from './service-support.js';

const W = 'witness.example.test/w1';

async function checkpointOf(log: TestLog): Promise<string> {
  return (await openLogSource(log.dir).checkpoint())!;
}

async function grow(log: TestLog, versions: string[], team = makeTeam(1, 1)): Promise<string> {
  await log.sequencer.add([sub(team.policy), ...versions.map((v) => sub(release(team, v)))]);
  return checkpointOf(log);
}

describe('witness: add-checkpoint', () => {
  let dir: string;
  let store: WitnessStore;
  let log: TestLog;
  let witness: Witness;
  const w = cosigner(W, generateSeed());

  beforeEach(async () => {
    dir = tempDir();
    store = await openWitnessStore(`sqlite:${join(dir, 'w.db')}`);
    log = await makeLog();
    witness = new Witness({ cosigner: w, logs: [log.signer.vkey], store });
  });
  afterEach(async () => {
    await store.close();
    await log.store.close();
  });

  it('cosigns a first checkpoint from old 0, then only from the size it holds, with a consistency proof', async () => {
    const first = await grow(log, ['1.0.0', '1.0.1']);
    const a = await witness.addCheckpoint(Buffer.from(addCheckpointBody(0, [], first)));
    expect(a.status).to.equal(200);
    const cp = parseSignedCheckpoint(first);
    verifyNote(`${cp.note.text}\n${a.body}`, [cosignatureVerifier(w.vkey)]);
    // Old 0 again: 409 with the size held, as text/x.tlog.size.
    const again = await witness.addCheckpoint(Buffer.from(addCheckpointBody(0, [], first)));
    expect([again.status, again.body, again.contentType]).to.deep.equal([409, '3\n', 'text/x.tlog.size']);
    // The same checkpoint from its own size: re-cosigned (the log's hourly refresh).
    expect((await witness.addCheckpoint(Buffer.from(addCheckpointBody(3, [], first)))).status).to.equal(200);
  });

  it('answers 404 for an unknown origin, 403 for a bad log signature, 400 for old > size or a malformed body', async () => {
    const note = await grow(log, ['1.0.0']);
    const other = await makeLog();
    try {
      const foreign = await grow(other, ['1.0.0']);
      expect(
        (await witness.addCheckpoint(Buffer.from(addCheckpointBody(0, [], foreign.replace(/^log\.example\.test\/countersign/, 'other.example/log'))))).status,
      ).to.equal(404);
      // Same origin, signed by another key.
      expect((await witness.addCheckpoint(Buffer.from(addCheckpointBody(0, [], foreign)))).status).to.equal(403);
    } finally {
      await other.store.close();
    }
    expect((await witness.addCheckpoint(Buffer.from(addCheckpointBody(5, [], note)))).status).to.equal(400);
    expect((await witness.addCheckpoint(Buffer.from('old x\n\n' + note))).status).to.equal(400);
  });

  it('refuses a fork (409 same size other root, 422 a proof that fails) and keeps the log-signed request as evidence', async () => {
    const seed = generateSeed();
    const honest = await makeLog({ seed });
    const evil = await makeLog({ seed });
    const wit = new Witness({ cosigner: w, logs: [honest.signer.vkey], store });
    try {
      const team = makeTeam(1, 1);
      const h2 = await grow(honest, ['1.0.0'], team);
      expect((await wit.addCheckpoint(Buffer.from(addCheckpointBody(0, [], h2)))).status).to.equal(200);
      // The same log key signs another tree of the same size: a split view.
      const e2 = await grow(evil, ['6.6.6'], team);
      const same = await wit.addCheckpoint(Buffer.from(addCheckpointBody(2, [], e2)));
      expect(same.status).to.equal(409);
      // A larger forked tree with the proof its own tiles give: not consistent with the root held.
      await evil.sequencer.add([sub(release(team, '6.6.7'))]);
      const e3 = await checkpointOf(evil);
      const proof = await fetchConsistencyProof(openLogSource(evil.dir), 2, 3);
      const bigger = await wit.addCheckpoint(Buffer.from(addCheckpointBody(2, proof, e3)));
      expect(bigger.status).to.equal(422);
      const evidence = await store.evidence();
      expect(evidence.map((e) => e.reason.split(' ')[0])).to.deep.equal(['same', 'inconsistent']);
      expect(evidence[0]!.request).to.include(e2);
      expect(evidence[0]!.held).to.equal(h2);
      // The honest log still extends.
      await honest.sequencer.add([sub(release(team, '1.0.1'))]);
      const h3 = await checkpointOf(honest);
      const ok = await wit.addCheckpoint(Buffer.from(addCheckpointBody(2, await fetchConsistencyProof(openLogSource(honest.dir), 2, 3), h3)));
      expect(ok.status).to.equal(200);
    } finally {
      await honest.store.close();
      await evil.store.close();
    }
  });
});

/** Starts `witness serve` in a child (the bundled CLI, test hooks on); resolves with its URL. */
async function startWitness(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const cli = await bundledCli();
  const child = spawn(process.execPath, [cli, 'witness', 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(signal ? -1 : code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(http:\/\/\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`witness exited: ${out}`)));
  });
  return { child, url, exited };
}

describe('witness: state survives SIGKILL', function () {
  this.timeout(120_000);

  it('killed before its commit it keeps the old state; killed after, the new one, and it refuses a fork afterwards', async () => {
    const dir = tempDir();
    await runCliOk(['keygen', '--out', join(dir, 'w'), '--unencrypted']);
    const seed = generateSeed();
    const honest = await makeLog({ seed });
    const evil = await makeLog({ seed });
    try {
      const team = makeTeam(1, 1);
      const h2 = await grow(honest, ['1.0.0'], team);
      const e2 = await grow(evil, ['6.6.6'], team);
      const args = ['--key', join(dir, 'w.key'), '--name', W, '--listen', '127.0.0.1:0', '--log', honest.signer.vkey];
      const post = (url: string, body: string) =>
        fetch(`${url}/add-checkpoint`, { method: 'POST', body }).then(async (r) => ({ status: r.status, text: await r.text() }));

      // Point 1: the state is written but not committed when the process dies: nothing was answered, nothing kept.
      let w = await startWitness(args, { COUNTERSIGN_TEST_CRASH_AT_STEP: '1' });
      await post(w.url, addCheckpointBody(0, [], h2)).catch(() => undefined);
      expect(await w.exited).to.equal(-1);
      w = await startWitness(args);
      try {
        // Still at size 0: a fresh old-0 request is cosigned.
        expect((await post(w.url, addCheckpointBody(0, [], h2))).status).to.equal(200);
      } finally {
        w.child.kill('SIGKILL');
        await w.exited;
      }

      // Point 2 (of the next process): committed, then killed before answering: the new state is kept.
      await honest.sequencer.add([sub(release(team, '1.0.1'))]);
      const h3 = await checkpointOf(honest);
      const proof = await fetchConsistencyProof(openLogSource(honest.dir), 2, 3);
      w = await startWitness(args, { COUNTERSIGN_TEST_CRASH_AT_STEP: '2' });
      await post(w.url, addCheckpointBody(2, proof, h3)).catch(() => undefined);
      expect(await w.exited).to.equal(-1);
      w = await startWitness(args);
      try {
        expect(await post(w.url, addCheckpointBody(2, proof, h3))).to.deep.equal({ status: 409, text: '3\n' });
        // And the split view of size 2 is refused against the root it held then: it is behind now (409 with 3).
        expect((await post(w.url, addCheckpointBody(2, [], e2))).status).to.equal(409);
        expect((await post(w.url, addCheckpointBody(3, [], h3))).status).to.equal(200);
      } finally {
        w.child.kill('SIGKILL');
        await w.exited;
      }
    } finally {
      await honest.store.close();
      await evil.store.close();
    }
  });
});
