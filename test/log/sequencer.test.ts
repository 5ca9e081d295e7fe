// `log add`'s rules and the sequencer's output: each rule refuses with its code (and the test fails without it),
// the tiles and checkpoint it publishes are the RFC 6962 tree of its entries, readable by the tile reader, and
// several sequencers sharing one PostgreSQL log never fork it.
import { expect } from 'chai';
import { openCheckpoint } from '../../lib/log/checkpoint.js';
import { parseEntry } from '../../lib/log/entry.js';
import { leafHash, rootOf, verifyInclusion } from '../../lib/log/merkle.js';
import { ed25519Verifier } from '../../lib/log/note.js';
import type { AddOutcome } from '../../lib/log/sequencer.js';
import { fetchEntries, fetchInclusionProof, openLogSource } from '../../lib/log/tile-reader.js';
import { tilesOfTree, tilePath } from '../../lib/log/tiles.js';
import { createTestDatabase, skipWithoutPostgres } from '../support/postgres.js';
import { makeLog, makeTeam, release, reopen, revocation, rotate, sub, type TestLog } from './service-support.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeSigners } from '../support/fixtures.js';

function code(o: AddOutcome): string {
  if (o.ok) throw new Error(`expected a refusal, got index ${o.index}`);
  return o.error.code;
}

function index(o: AddOutcome): number {
  if (!o.ok) throw new Error(`expected an index, got ${o.error.code}: ${o.error.message}`);
  return o.index;
}

async function published(log: TestLog) {
  const text = await openLogSource(log.dir).checkpoint();
  return openCheckpoint(text!, ed25519Verifier(log.signer.vkey));
}

describe('log sequencer: log add rules', () => {
  let log: TestLog;
  beforeEach(async () => {
    log = await makeLog();
  });
  afterEach(() => log.store.close());

  it('logs the first policy, then a release with its quorum, and publishes a checkpoint of size 2', async () => {
    const team = makeTeam();
    const [p, r] = await log.sequencer.add([sub(team.policy), sub(release(team, '10.2.4'))]);
    expect([index(p!), index(r!)]).to.deep.equal([0, 1]);
    const cp = await published(log);
    expect(cp.size).to.equal(2);
  });

  it('refuses a release (NO_POLICY) or a revocation before any policy', async () => {
    const team = makeTeam();
    const [r, v] = await log.sequencer.add([sub(release(team, '10.2.4')), sub(revocation(team, '10.2.4'))]);
    expect(code(r!)).to.equal('NO_POLICY');
    expect(code(v!)).to.equal('NO_POLICY');
  });

  it('refuses a first policy not signed by a quorum of its own keys (POLICY_UNSIGNED)', async () => {
    const team = makeTeam(3, 2);
    const weak = { ...team.policy, signatures: team.policy.signatures.slice(0, 1) };
    expect(code((await log.sequencer.add([sub(weak)]))[0]!)).to.equal('POLICY_UNSIGNED');
  });

  it('the same document twice is the same index (also with other signatures), and nothing new is signed', async () => {
    const team = makeTeam(3, 2);
    await log.sequencer.add([sub(team.policy)]);
    const r = release(team, '10.2.4');
    const first = await log.sequencer.add([sub(r)]);
    const again = await log.sequencer.add([sub(r), sub(release(team, '10.2.4', { by: team.signers.slice(1) }))]);
    expect(index(first[0]!)).to.equal(1);
    expect(again.map(index)).to.deep.equal([1, 1]);
    expect(again.every((o) => o.ok && o.duplicate)).to.equal(true);
    expect((await published(log)).size).to.equal(2);
  });

  it('refuses a release short of the logged quorum (QUORUM_NOT_MET), and one signed by keys outside the policy', async () => {
    const team = makeTeam(3, 2);
    await log.sequencer.add([sub(team.policy)]);
    const outsiders = makeSigners(2);
    const [short, foreign] = await log.sequencer.add([
      sub(release(team, '10.2.4', { by: team.signers.slice(0, 1) })),
      sub(release(team, '10.2.5', { by: outsiders })),
    ]);
    expect(code(short!)).to.equal('QUORUM_NOT_MET');
    expect(code(foreign!)).to.equal('QUORUM_NOT_MET');
  });

  it('the first release for a product, component and version wins forever (RELEASE_EXISTS)', async () => {
    const team = makeTeam(3, 2);
    await log.sequencer.add([sub(team.policy), sub(release(team, '10.2.4'))]);
    const other = release(team, '10.2.4', { sha: 'f'.repeat(64) });
    expect(code((await log.sequencer.add([sub(other)]))[0]!)).to.equal('RELEASE_EXISTS');
    // Another product with the same version is its own release.
    expect(index((await log.sequencer.add([sub(release(team, '10.2.4', { product: 'wordpress' }))]))[0]!)).to.equal(2);
  });

  it('a rotation must be N+1 with both quorums; releases then need the new quorum', async () => {
    const team = makeTeam(3, 2);
    await log.sequencer.add([sub(team.policy)]);
    const next = makeSigners(3);
    const gap = rotate(team, next, { version: 3 });
    const onlyNew = rotate(team, next, { by: next.slice(0, 2) });
    const onlyOld = rotate(team, next, { by: team.signers.slice(0, 2) });
    const [g, n, o] = await log.sequencer.add([sub(gap.policy), sub(onlyNew.policy), sub(onlyOld.policy)]);
    expect(code(g!)).to.equal('POLICY_VERSION_GAP');
    expect(code(n!)).to.equal('QUORUM_NOT_MET');
    expect(code(o!)).to.equal('QUORUM_NOT_MET');
    const v2 = rotate(team, next);
    expect(index((await log.sequencer.add([sub(v2.policy)]))[0]!)).to.equal(1);
    const [oldQuorum, newQuorum] = await log.sequencer.add([sub(release(team, '10.2.4')), sub(release(v2, '10.2.5'))]);
    expect(code(oldQuorum!)).to.equal('QUORUM_NOT_MET');
    expect(index(newQuorum!)).to.equal(2);
  });

  it('a revocation needs the logged quorum', async () => {
    const team = makeTeam(3, 2);
    await log.sequencer.add([sub(team.policy)]);
    const [bad, good] = await log.sequencer.add([sub(revocation(team, '10.2.4', { by: team.signers.slice(0, 1) })), sub(revocation(team, '10.2.4'))]);
    expect(code(bad!)).to.equal('QUORUM_NOT_MET');
    expect(index(good!)).to.equal(1);
  });

  it('a restarted sequencer replays the logged state from the database', async () => {
    const team = makeTeam(3, 2);
    await log.sequencer.add([sub(team.policy), sub(release(team, '10.2.4'))]);
    const again = await reopen(log);
    try {
      const [dup, clash, next] = await again.add([
        sub(release(team, '10.2.4')),
        sub(release(team, '10.2.4', { sha: 'e'.repeat(64) })),
        sub(release(team, '10.2.6')),
      ]);
      expect(index(dup!)).to.equal(1);
      expect(code(clash!)).to.equal('RELEASE_EXISTS');
      expect(index(next!)).to.equal(2);
    } finally {
      await again.store.close();
    }
  });
});

describe('log sequencer: tiles', () => {
  it('publishes the RFC 6962 tree of its entries across tile boundaries, with proofs and entries readable from the tiles', async function () {
    this.timeout(300_000);
    const log = await makeLog();
    try {
      const team = makeTeam(1, 1);
      await log.sequencer.add([sub(team.policy)]);
      // 1 + 299 + 300 entries: partial tiles widen, a full tile completes, a level-1 tile appears.
      for (const [from, n] of [
        [0, 299],
        [299, 300],
      ] as const) {
        const out = await log.sequencer.add(Array.from({ length: n }, (_, i) => sub(release(team, `1.0.${from + i}`))));
        expect(out.every((o) => o.ok && !o.duplicate)).to.equal(true);
      }
      const cp = await published(log);
      expect(cp.size).to.equal(600);
      const source = openLogSource(log.dir);
      const entries = await fetchEntries(source, 0, 600, 600);
      const leaves = entries.map(leafHash);
      expect(Buffer.from(rootOf(leaves)).toString('hex')).to.equal(Buffer.from(cp.root).toString('hex'));
      expect(parseEntry(entries[0]!).kind).to.equal('policy');
      for (const i of [0, 255, 256, 257, 511, 512, 599]) verifyInclusion(leaves[i]!, i, 600, await fetchInclusionProof(source, i, 600), cp.root);
      for (const t of tilesOfTree(600)) expect(existsSync(join(log.dir, tilePath(t))), tilePath(t)).to.equal(true);
    } finally {
      await log.store.close();
    }
  });
});

describe('log sequencer: PostgreSQL', () => {
  before(async function () {
    await skipWithoutPostgres(this);
  });

  it('two sequencers on one PostgreSQL log take turns: every entry once, one tree, the checkpoint never forks', async function () {
    this.timeout(120_000);
    const db = await createTestDatabase();
    const log = await makeLog({ db: db.url });
    const other = await reopen(log);
    try {
      const team = makeTeam(1, 1);
      await log.sequencer.add([sub(team.policy)]);
      const batches = (k: number) => Array.from({ length: 5 }, (_, b) => Array.from({ length: 10 }, (_, i) => sub(release(team, `${k}.${b}.${i}`))));
      const results = await Promise.all([
        (async () => {
          for (const b of batches(1)) await log.sequencer.add(b);
        })(),
        (async () => {
          for (const b of batches(2)) await other.add(b);
        })(),
        // The same documents from both sides: each gets one index.
        log.sequencer.add(batches(3)[0]!),
        other.add(batches(3)[0]!),
      ]);
      const [a, b] = [results[2] as AddOutcome[], results[3] as AddOutcome[]];
      expect(a.map(index)).to.deep.equal(b.map(index));
      const cp = await published(log);
      expect(cp.size).to.equal(1 + 50 + 50 + 10);
      const entries = await fetchEntries(openLogSource(log.dir), 0, cp.size, cp.size);
      expect(Buffer.from(rootOf(entries.map(leafHash))).equals(Buffer.from(cp.root))).to.equal(true);
    } finally {
      await other.store.close();
      await log.store.close();
      await db.drop();
    }
  });
});
