// State auditors (`log audit`): a witness that cosigns a checkpoint only when the whole log up to it replays correctly
// and ends with a correct state entry. A lying state entry gets no cosignature (422 STATE_MISMATCH), so a site whose
// tlog-policy requires auditors refuses its checkpoint (WITNESS_QUORUM_NOT_MET), and so does `log sync`; through
// `log serve` the lying checkpoint is never even published. Each test fails when its rule is removed.
import { expect } from 'chai';
import { join } from 'node:path';
import { toHex } from '../../lib/core/bytes.js';
import { serializeEnvelope } from '../../lib/core/envelope.js';
import type { CountersignError } from '../../lib/core/errors.js';
import { listen } from '../../lib/distribution/listen.js';
import { Auditor } from '../../lib/log/auditor.js';
import { parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { cosigner, cosignatureVerifier } from '../../lib/log/cosignature.js';
import { entryForEnvelope } from '../../lib/log/entry.js';
import { formatNote, parseNote, verifyNote } from '../../lib/log/note.js';
import { formatProof } from '../../lib/log/proof.js';
import { inclusionProof } from '../../lib/log/merkle.js';
import { LogServer } from '../../lib/log/server.js';
import { Sequencer, submissionFor } from '../../lib/log/sequencer.js';
import { syncStore } from '../../lib/log/sync.js';
import { openLogSource } from '../../lib/log/tile-reader.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { verifyLogProof } from '../../lib/log/verify-proof.js';
import { initStore } from '../../lib/node/trust-store.js';
import { envelopeBytes, makeSigners } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { Driver, enrolment, makeProvider, makeRoot, releaseOf } from './provider-support.js';
import { makeLog } from './service-support.js';
import { ServedLog, stateEntryBytes, witnessKeys } from './sync-support.js';

const P = 'drupal.org/project/webform';
const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 600) * 1000);

function providerLog() {
  const root = makeRoot({ delay: 0 });
  const d = new Driver();
  const p = makeProvider(P);
  d.add(root.policy);
  d.add(enrolment(p, root.signers.slice(0, 2)));
  d.state(T - 100);
  const rel = releaseOf(P, '1.0.0', [p.release[0]!]);
  d.add(rel);
  d.state(T - 50);
  const served = new ServedLog({ witnesses: witnessKeys(1) });
  for (const e of d.entries) served.append(e);
  for (const [k, v] of d.manifests) served.manifests.set(k, v);
  served.publish(T);
  return { root, d, p, served, rel };
}

const auditorKey = () => cosigner('auditor.example/a1', new Uint8Array(32).fill(0x51));

async function openAuditor(served: ServedLog, state = join(tempDir(), 'auditor')): Promise<Auditor> {
  return Auditor.open({ cosigner: auditorKey(), log: served.signer.vkey, source: served, state, now: () => NOW });
}

/** The served checkpoint with the auditor's cosignature line added (what log serve would publish). */
function withLine(note: string, body: string): string {
  const n = parseNote(note);
  return formatNote({ text: n.text, signatures: [...n.signatures, ...parseNote(`${n.text}\n${body}`).signatures] });
}

/** A tlog-policy requiring the witness and the auditor (group both all). */
function auditedPolicy(served: ServedLog): string {
  return [
    `log ${served.signer.vkey}`,
    `witness W1 ${served.witnesses[0]!.vkey}`,
    `witness A1 ${auditorKey().vkey}`,
    'group both all W1 A1',
    'quorum both',
    '',
  ].join('\n');
}

describe('log audit (state auditors)', () => {
  it('cosigns a checkpoint whose log replays correctly, resumes from its saved state, and a site requiring it accepts', async () => {
    const { d, p, served, rel } = providerLog();
    const state = join(tempDir(), 'auditor');
    let auditor = await openAuditor(served, state);
    try {
      const { answer } = await auditor.auditCurrent();
      expect(answer.status).to.equal(200);
      const note = withLine(served.note!, answer.body);
      verifyNote(note, [cosignatureVerifier(auditorKey().vkey)]);
      // A site requiring the witness and the auditor accepts the release's proof in that checkpoint.
      const proof = formatProof({ extra: d.entries[3]!, index: 3, proof: inclusionProof(3, served.size, served.hashAt), checkpoint: note });
      const ok = verifyLogProof({ envelopeBytes: envelopeBytes(rel), proof, policy: parseTlogPolicy(auditedPolicy(served)), now: NOW });
      expect(ok.witnesses).to.deep.equal(['A1', 'W1']);
      expect(entryForEnvelope(envelopeBytes(rel))).to.deep.equal(d.entries[3]);
    } finally {
      await auditor.close();
    }
    // Another run (another process) resumes from the state it saved: only the new entries are replayed.
    d.add(releaseOf(P, '1.1.0', [p.release[0]!]));
    d.state(T);
    served.append(d.entries.at(-2)!, [...d.manifests.values()].at(-1));
    served.append(d.entries.at(-1)!);
    served.publish(T + 1);
    auditor = await openAuditor(served, state);
    try {
      expect((await auditor.auditCurrent()).answer.status).to.equal(200);
      expect(auditor.lastAdvance).to.include({ from: 5, entries: 2 });
    } finally {
      await auditor.close();
    }
  });

  it('a lying state entry gets no cosignature (STATE_MISMATCH), and a site and log sync requiring auditors refuse its checkpoint', async () => {
    const { root, d, served, rel } = providerLog();
    const auditor = await openAuditor(served);
    try {
      expect((await auditor.auditCurrent()).answer.status).to.equal(200);
      // A compromised sequencer appends a release and a state entry whose map root is not the replay's.
      const lie = served.append(stateEntryBytes(served.size, T, toHex(new Uint8Array(32).fill(0xee))));
      served.publish(T + 1);
      const { answer } = await auditor.auditCurrent();
      expect(answer.status).to.equal(422);
      expect(answer.body).to.match(new RegExp(`^STATE_MISMATCH: entry ${lie} is invalid`));

      // The site's check of a proof in that checkpoint (only the witness cosigned it): the auditor's quorum is missing.
      const proof = formatProof({ extra: d.entries[3]!, index: 3, proof: inclusionProof(3, served.size, served.hashAt), checkpoint: served.note! });
      const refused = () => verifyLogProof({ envelopeBytes: envelopeBytes(rel), proof, policy: parseTlogPolicy(auditedPolicy(served)), now: NOW });
      expect(refused).to.throw().with.property('code', 'WITNESS_QUORUM_NOT_MET');
      // log sync into a store whose log policy requires the auditor.
      const store = join(tempDir(), 'store');
      await initStore(store, envelopeBytes(root.policy), { logPolicy: auditedPolicy(served), now: NOW });
      const err = await syncStore(store, served, { now: NOW }).then(
        () => undefined,
        (e: CountersignError) => e,
      );
      expect(err?.code).to.equal('WITNESS_QUORUM_NOT_MET');
    } finally {
      await auditor.close();
    }
  });

  it('refuses an invalid entry with its code, and a checkpoint that does not end with a state entry', async () => {
    const { served } = providerLog();
    const auditor = await openAuditor(served);
    try {
      const outsider = submissionFor(envelopeBytes(releaseOf(P, '6.6.6', makeSigners(1))));
      served.append(outsider.entry, outsider.manifest);
      served.publish(T + 1);
      const { answer } = await auditor.auditCurrent();
      expect([answer.status, answer.body.split(':')[0]]).to.deep.equal([422, 'QUORUM_NOT_MET']);
    } finally {
      await auditor.close();
    }
    const honest = providerLog();
    // The honest log's last batch without its state entry: drop it and publish the tree before it.
    const cut = honest.served.prefix(honest.served.size - 1);
    cut.publish(T);
    const a2 = await openAuditor(cut);
    try {
      const { answer } = await a2.auditCurrent();
      expect(answer.status).to.equal(422);
      expect(answer.body).to.match(/^STATE_MISMATCH: .*not a state entry/);
    } finally {
      await a2.close();
    }
  });

  it('through log serve: a checkpoint is published only once the auditor cosigned it; a lying state entry is never published', async function () {
    this.timeout(60_000);
    const log = await makeLog({ witnessed: true });
    const auditor = await Auditor.open({ cosigner: auditorKey(), log: log.signer.vkey, source: openLogSource(log.dir), state: join(tempDir(), 'a') });
    const al = await listen(auditor.witness.handler(), { host: '127.0.0.1', port: 0 });
    const clock = { t: T };
    const sequencer = new Sequencer({ store: log.store, tiles: log.tiles, signer: log.signer, witnessed: true, now: () => new Date(clock.t * 1000) });
    const lines: string[] = [];
    const server = new LogServer({
      sequencer,
      witnesses: [{ name: 'auditor.example/a1', url: `http://127.0.0.1:${al.port}`, vkey: auditorKey().vkey }],
      quorum: 1,
      batchMs: 10,
      log: (l) => lines.push(l),
    });
    const sl = await listen(server.handler(), { host: '127.0.0.1', port: 0 });
    try {
      await server.start();
      const root = makeRoot({ delay: 0 });
      const p = makeProvider(P);
      const post = async (body: string) => (await fetch(`http://127.0.0.1:${sl.port}/add`, { method: 'POST', body })).json() as Promise<{ ok: boolean; index?: number }>;
      expect(await post(serializeEnvelope(root.policy))).to.include({ ok: true, index: 0 });
      expect(await post(serializeEnvelope(enrolment(p, root.signers.slice(0, 2))))).to.include({ ok: true });
      const published = parseSignedCheckpoint(log.tiles.readCheckpoint()!);
      verifyNote(log.tiles.readCheckpoint()!, [cosignatureVerifier(auditorKey().vkey)]);
      expect(published.size).to.equal(4);

      // The database gets a lying state entry behind the sequencer's back (a patched sequencer): the next batch's
      // checkpoint covers it, the auditor refuses, and nothing new is published.
      await log.store.locked(async (db) => {
        const cp = await db.checkpoint();
        const { leafHash, TreeEdge } = await import('../../lib/log/merkle.js');
        const { signNote } = await import('../../lib/log/note.js');
        const { formatCheckpoint } = await import('../../lib/log/checkpoint.js');
        const { keepTileNode } = await import('../../lib/log/publish.js');
        const data = stateEntryBytes(cp.size, T, '11'.repeat(32));
        const edge = new TreeEdge(cp.size, cp.edge);
        const levels = new Map<number, Uint8Array[]>();
        for (const n of edge.append(leafHash(data))) keepTileNode(levels, n);
        log.tiles.stage(cp.size, edge.size, (l) => levels.get(l) ?? [], [data], () => {});
        log.tiles.sync();
        const { createHash } = await import('node:crypto');
        await db.append([{ index: cp.size, hash: createHash('sha256').update(data).digest(), data, releaseKey: null }]);
        const note = signNote(formatCheckpoint({ origin: log.signer.name, size: edge.size, root: edge.root(), extensions: [] }), [log.signer]);
        await db.swapCheckpoint({ size: cp.size, root: cp.root }, { size: edge.size, root: edge.root(), edge: [...edge.hashes], note, cosigned: null, cosignedAt: null });
      });
      const fresh = new Sequencer({ store: log.store, tiles: log.tiles, signer: log.signer, witnessed: true, now: () => new Date(clock.t * 1000) });
      const server2 = new LogServer({
        sequencer: fresh,
        witnesses: [{ name: 'auditor.example/a1', url: `http://127.0.0.1:${al.port}`, vkey: auditorKey().vkey }],
        quorum: 1,
        log: (l) => lines.push(l),
      });
      await server2.start();
      await server2.stop();
      expect(parseSignedCheckpoint(log.tiles.readCheckpoint()!).size).to.equal(4);
      expect(lines.join('\n')).to.match(/refused checkpoint 5: HTTP 422 STATE_MISMATCH/);
    } finally {
      await server.stop();
      await sl.close();
      await al.close();
      await auditor.close();
      await log.store.close();
    }
  });
});
