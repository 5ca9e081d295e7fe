// log sync and log audit from the CLI, in-process: a provider log in a directory; the auditor prints its cosignature
// line for an honest checkpoint and exits 1 with STATE_MISMATCH for a lying state entry; log sync exits 1 naming the
// invalid entry, and 2 for a store without a log policy.
import { expect } from 'chai';
import { join } from 'node:path';
import { cosignatureVerifier } from '../../lib/log/cosignature.js';
import { formatCheckpoint, parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { leafHash, TreeEdge } from '../../lib/log/merkle.js';
import { formatNote, parseNote, signNote, verifyNote } from '../../lib/log/note.js';
import { keepTileNode } from '../../lib/log/publish.js';
import { Sequencer } from '../../lib/log/sequencer.js';
import { initStore } from '../../lib/node/trust-store.js';
import { runCli, runCliOk } from '../support/cli.js';
import { envelopeBytes } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { enrolment, makeProvider, makeRoot, releaseOf } from './provider-support.js';
import { makeLog, sub, type TestLog } from './service-support.js';
import { stateEntryBytes } from './sync-support.js';

const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 600) * 1000);
const P = 'wordpress.org/plugins/wordfence';

/** Appends raw entries to the log's tiles and publishes a log-signed checkpoint over them (a compromised sequencer). */
function appendRaw(log: TestLog, size: number, edgeHashes: readonly Uint8Array[], entries: Uint8Array[]): void {
  const edge = new TreeEdge(size, edgeHashes);
  const levels = new Map<number, Uint8Array[]>();
  for (const e of entries) for (const n of edge.append(leafHash(e))) keepTileNode(levels, n);
  log.tiles.stage(size, edge.size, (l) => levels.get(l) ?? [], entries, () => {});
  log.tiles.sync();
  log.tiles.publishCheckpoint(signNote(formatCheckpoint({ origin: log.signer.name, size: edge.size, root: edge.root(), extensions: [] }), [log.signer]));
}

describe('log sync and log audit (CLI)', function () {
  this.timeout(60_000);

  it('log audit prints a verifying cosignature line, and refuses a lying state entry (exit 1, STATE_MISMATCH); log sync names it', async () => {
    const dir = tempDir();
    const log = await makeLog();
    try {
      const root = makeRoot({ delay: 0 });
      const p = makeProvider(P);
      const seq = new Sequencer({ store: log.store, tiles: log.tiles, signer: log.signer, now: () => new Date(T * 1000) });
      await seq.add([sub(root.policy), sub(enrolment(p, root.signers.slice(0, 2)))]);
      await seq.add([sub(releaseOf(P, '1.0.0', [p.release[0]!]))]);
      await runCliOk(['keygen', '--out', join(dir, 'a1'), '--unencrypted']);
      const audit = ['log', 'audit', '--log', log.dir, '--log-vkey', log.signer.vkey, '--key', join(dir, 'a1.key'), '--name', 'auditor.example/a1'];
      const state = ['--state', join(dir, 'auditor')];
      const vkey = String((await runCliOk(['witness', 'vkey', '--key', join(dir, 'a1.key'), '--name', 'auditor.example/a1', '--json'])).json.vkey);
      const ok = await runCliOk([...audit, ...state, '--json'], { now: NOW });
      expect(ok.json).to.include({ size: 5 });
      const note = parseNote(log.tiles.readCheckpoint()!);
      verifyNote(formatNote({ text: note.text, signatures: [...note.signatures, ...parseNote(`${note.text}\n${String(ok.json.cosignature)}\n`).signatures] }), [
        cosignatureVerifier(vkey),
      ]);

      const cp = await log.store.checkpoint();
      appendRaw(log, cp.size, cp.edge, [stateEntryBytes(cp.size, T, 'ab'.repeat(32))]);
      expect(parseSignedCheckpoint(log.tiles.readCheckpoint()!).size).to.equal(6);
      const refused = await runCli([...audit, ...state, '--json'], { now: NOW });
      expect(refused.code).to.equal(1);
      expect(JSON.parse(refused.stdout)).to.include({ ok: false, code: 'STATE_MISMATCH' });

      const store = join(dir, 'store');
      await initStore(store, envelopeBytes(root.policy), { logPolicy: `log ${log.signer.vkey}\nquorum none\n`, now: NOW });
      const synced = await runCli(['log', 'sync', '--store', store, '--log', log.dir, '--json'], { now: NOW });
      expect(synced.code, synced.stdout + synced.stderr).to.equal(1);
      expect(JSON.parse(synced.stdout)).to.deep.include({ ok: false, code: 'STATE_MISMATCH' });
      expect(JSON.parse(synced.stdout).details.index).to.equal(5);
      const human = await runCli(['log', 'sync', '--store', store, '--log', log.dir], { now: NOW });
      expect(human.stderr).to.match(/error\[STATE_MISMATCH\]: entry 5 is invalid/);

      const bare = join(dir, 'bare');
      await initStore(bare, envelopeBytes(root.policy), { now: NOW });
      expect((await runCli(['log', 'sync', '--store', bare, '--log', log.dir], { now: NOW })).code).to.equal(2);
    } finally {
      await log.store.close();
    }
  });
});
