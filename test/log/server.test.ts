// log serve in-process: submissions rate-limited per address (429), the witnessed checkpoint re-cosigned when idle,
// and requests other than POST /add and the static files refused.
import { expect } from 'chai';
import { join } from 'node:path';
import { generateSeed } from '../../lib/core/ed25519.js';
import { serializeEnvelope } from '../../lib/core/envelope.js';
import { cosigner } from '../../lib/log/cosignature.js';
import { listen, type Listening } from '../../lib/distribution/listen.js';
import { LogServer } from '../../lib/log/server.js';
import { Witness } from '../../lib/log/witness.js';
import { openWitnessStore } from '../../lib/log/witness-store.js';
import { tempDir } from '../support/tmp.js';
import { makeLog, makeTeam, release, reopen } from './service-support.js';

describe('log serve (in-process)', function () {
  this.timeout(60_000);

  it('limits submissions per address (429 with Retry-After) and answers only POST /add and the static files', async () => {
    const log = await makeLog();
    const server = new LogServer({ sequencer: log.sequencer, witnesses: [], quorum: 0, batchMs: 20, submissionsPerMinute: 2, log: () => {} });
    await server.start();
    const l = await listen(server.handler(), { host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${l.port}`;
      const team = makeTeam(1, 1);
      const post = (body: string) => fetch(`${url}/add`, { method: 'POST', body });
      expect((await post(serializeEnvelope(team.policy))).status).to.equal(200);
      expect((await post(serializeEnvelope(release(team, '1.0.0')))).status).to.equal(200);
      const limited = await post(serializeEnvelope(release(team, '1.0.1')));
      expect(limited.status).to.equal(429);
      expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
      expect((await fetch(`${url}/add`)).status).to.equal(405);
      expect((await fetch(`${url}/../tiles.db`)).status).to.equal(404);
      expect((await fetch(`${url}/tile/0/000.p/2`)).status).to.equal(200);
      expect((await fetch(`${url}/tile/0/000.p/02`)).status).to.equal(404);
    } finally {
      await l.close();
      await server.stop();
      await log.store.close();
    }
  });

  it('re-cosigns the newest checkpoint when idle, so its cosignatures stay fresh', async () => {
    const log = await makeLog({ witnessed: true });
    const store = await openWitnessStore(`sqlite:${join(tempDir(), 'w.db')}`);
    const w = cosigner('w1.example.test', generateSeed());
    let asked = 0;
    const witness = new Witness({ cosigner: w, logs: [log.signer.vkey], store });
    const inner = witness.handler();
    const wl: Listening = await listen(
      async (req, res) => {
        asked++;
        await inner(req, res);
      },
      { host: '127.0.0.1', port: 0 },
    );
    const sequencer = await reopen(log, { witnessed: true });
    const server = new LogServer({
      sequencer,
      witnesses: [{ name: 'w1.example.test', url: `http://127.0.0.1:${wl.port}`, vkey: w.vkey }],
      quorum: 1,
      recosignMs: 200,
      log: () => {},
    });
    try {
      await server.start();
      const first = asked;
      expect(first).to.equal(1);
      await new Promise((r) => setTimeout(r, 1000));
      expect(asked).to.be.greaterThan(first + 2);
      expect((await store.state(log.signer.name))?.size).to.equal(0);
    } finally {
      await server.stop();
      await wl.close();
      await store.close();
      await sequencer.store.close();
      await log.store.close();
    }
  });
});
