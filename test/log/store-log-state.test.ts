import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { utf8 } from '../../lib/core/bytes.js';
import { verifyWithStore, type StoreState } from '../../lib/core/trust-state.js';
import { checkLogged, logCheckFor, storeLogCheck } from '../../lib/log/check-logged.js';
import { entryForEnvelope } from '../../lib/log/entry.js';
import { openLogSource } from '../../lib/log/tile-reader.js';
import { encodeEntryBundle, tileContent, tilePath, tilesOfTree } from '../../lib/log/tiles.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { initStore, openStore, updateStore } from '../../lib/node/trust-store.js';
import { runCli } from '../support/cli.js';
import { envelopeBytes, makeRelease, signedBy, tempDir } from '../support/fixtures.js';
import { firstGeneration, nextGeneration, revocationBytes } from '../support/store-fixtures.js';
import { MemoryLog } from './support.js';

// Issue 12 review: key changes in a store with a log policy must be logged (F1), and a larger checkpoint whose
// consistency with the largest seen was not proved never becomes the largest (F2).
const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 3600) * 1000);
const INSTALLED = [{ product: 'drupal', component: 'core', version: '10.2.3' }];

const state = (store: string): StoreState => JSON.parse(readFileSync(join(store, 'state.json'), 'utf8'));
const verdict = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (e: { code: string }) => e.code,
  );

/** A log directory as the publisher lays it out: checkpoint, tiles and entry bundles of `log`. */
function writeTiles(dir: string, log: MemoryLog): string {
  const put = (path: string, bytes: Uint8Array | string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  };
  put('checkpoint', log.checkpoint(T));
  for (const t of tilesOfTree(log.size)) {
    put(tilePath(t), t.level === 'entries' ? encodeEntryBundle(log.entries.slice(t.index * 256, t.index * 256 + t.width)) : tileContent(t, log.hashAt));
  }
  return dir;
}

describe('log: trust update requires logged key changes (F1)', () => {
  const gen1 = firstGeneration();
  const gen2 = nextGeneration(gen1);
  // Under version 1 and given first, so that it is judged on its own whatever becomes of the rotation.
  const revocation = revocationBytes(gen1, '10.2.9');
  const dir = tempDir();
  const log = new MemoryLog();
  log.append(entryForEnvelope(gen1.bytes));
  const i2 = log.append(entryForEnvelope(gen2.bytes));
  const iRev = log.append(entryForEnvelope(revocation));
  const cp = log.checkpoint(T);
  const newStore = async (name: string): Promise<string> => {
    const store = join(dir, name);
    await initStore(store, gen1.bytes, { installed: INSTALLED, logPolicy: log.policy(2), now: NOW });
    return store;
  };
  const files = (proofs?: [string, string]) => [
    { name: 'rev', bytes: revocation, ...(proofs ? { proof: utf8(proofs[0]) } : {}) },
    { name: 'p2', bytes: gen2.bytes, ...(proofs ? { proof: utf8(proofs[1]) } : {}) },
  ];

  it('a rotation and a revocation not in the log are refused NOT_LOGGED and change nothing; without a check too (fail closed)', async () => {
    const store = await newStore('unlogged');
    const before = readFileSync(join(store, 'state.json'), 'utf8');
    const checkLog = storeLogCheck(store, { now: NOW, record: false });
    for (const opts of [{ now: NOW, checkLog }, { now: NOW }]) {
      const r = await updateStore(store, files(), opts);
      expect(r.results.map((x) => `${x.file}:${x.status}:${'code' in x ? x.code : ''}`)).to.deep.equal(['rev:rejected:NOT_LOGGED', 'p2:rejected:NOT_LOGGED']);
      expect(r.written).to.equal(false);
    }
    expect(readFileSync(join(store, 'state.json'), 'utf8')).to.equal(before);
    // A release signed by the rotated-in keys stays refused: the store still trusts version 1.
    const rel2 = makeRelease({ policyVersion: 2 });
    const env2 = envelopeBytes(signedBy(rel2.envelope, gen2.signers.slice(0, 2)));
    const log2 = new MemoryLog();
    const j = log2.append(entryForEnvelope(env2));
    const opened = await openStore(store);
    const input = {
      envelopeBytes: env2,
      archive: {
        size: rel2.archive.length,
        chunks: async function* () {
          yield rel2.archive;
        },
      },
      proof: utf8(log2.proof(j, log2.checkpoint(T))),
    };
    expect(await verdict(verifyWithStore(opened, input, { now: NOW, ...logCheckFor(opened, NOW) }))).to.not.equal('accepted');
  });

  it('a proof for another document (LOG_ENTRY_MISMATCH) or none readable (BAD_PROOF) is refused, a logged rotation and revocation are accepted and the largest recorded', async () => {
    const store = await newStore('logged');
    const checkLog = storeLogCheck(store, { now: NOW, record: false });
    const swapped = await updateStore(store, files([log.proof(i2, cp), 'not a proof']), { now: NOW, checkLog });
    expect(swapped.results.map((x) => ('code' in x ? x.code : x.status))).to.deep.equal(['LOG_ENTRY_MISMATCH', 'BAD_PROOF']);
    const r = await updateStore(store, files([log.proof(iRev, cp), log.proof(i2, cp)]), { now: NOW, checkLog });
    expect(r.results.map((x) => x.status)).to.deep.equal(['accepted', 'accepted']);
    expect(state(store).highestPolicyVersion).to.equal(2);
    expect(state(store).log!.largest).to.equal(cp);
  });

  it('a rotation whose proof shows a fork of the largest seen is rejected LOG_INCONSISTENT and the fork is kept as evidence', async () => {
    const store = await newStore('fork');
    const checkLog = storeLogCheck(store, { now: NOW, record: false });
    expect((await updateStore(store, [files([log.proof(iRev, cp), ''])[0]!], { now: NOW, checkLog })).results[0]!.status).to.equal('accepted');
    const fork = new MemoryLog();
    fork.append(utf8('another history'));
    const j = fork.append(entryForEnvelope(gen2.bytes));
    fork.append(utf8('x'));
    const forkCp = fork.checkpoint(T);
    const r = await updateStore(store, [{ name: 'p2', bytes: gen2.bytes, proof: utf8(fork.proof(j, forkCp)) }], { now: NOW, checkLog });
    expect(r.results.map((x) => ('code' in x ? x.code : x.status))).to.deep.equal(['LOG_INCONSISTENT']);
    expect(r.written).to.equal(true);
    expect(state(store).highestPolicyVersion).to.equal(1);
    expect(state(store).log!.forks).to.have.length(1);
    expect(state(store).log!.forks[0]).to.deep.include({ seen: cp, presented: forkCp });
  });

  it('trust update --log-proof FILE per document (CLI): exit 1 NOT_LOGGED without, 0 with, 2 for a count that does not match', async () => {
    const store = join(dir, 'cli');
    const write = (name: string, bytes: Uint8Array | string): string => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    };
    const policy = write('policy.signed.json', gen1.bytes);
    const logPolicy = write('log.policy', log.policy(2));
    const init = await runCli([
      'trust',
      'init',
      '--policy',
      policy,
      '--store',
      store,
      '--installed',
      'drupal/core=10.2.3',
      '--log-policy',
      logPolicy,
      '--json',
    ]);
    expect(init.code).to.equal(0);
    expect(init.json.warnings).to.deep.equal([]);
    const p2 = write('p2.signed.json', gen2.bytes);
    const rev = write('rev.signed.json', revocation);
    const none = await runCli(['trust', 'update', '--store', store, rev, p2, '--json'], { now: NOW });
    expect(none.code).to.equal(1);
    expect(none.json.code).to.equal('NOT_LOGGED');
    // A log that cannot be reached is operational (exit 2), not a verdict on the documents.
    const down = await runCli(['trust', 'update', '--store', store, rev, p2, '--log', 'http://127.0.0.1:1/', '--json'], { now: NOW });
    expect(down.code).to.equal(2);
    expect(down.stderr + down.stdout).to.match(/UNREACHABLE/);
    const proofs = ['--log-proof', write('rev.proof', log.proof(iRev, cp)), '--log-proof', write('p2.proof', log.proof(i2, cp))];
    expect((await runCli(['trust', 'update', '--store', store, rev, p2, proofs[0]!, proofs[1]!, '--json'], { now: NOW })).code).to.equal(2);
    const ok = await runCli(['trust', 'update', '--store', store, rev, p2, ...proofs, '--json'], { now: NOW });
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.json.accepted).to.equal(2);
  });
});

describe('log: an unproved larger checkpoint never becomes the largest (F2)', () => {
  const gen1 = firstGeneration();
  const rel = makeRelease();
  const env = envelopeBytes(signedBy(rel.envelope, gen1.signers.slice(0, 3)));
  const input = (proof: string) => ({
    envelopeBytes: env,
    archive: {
      size: rel.archive.length,
      chunks: async function* () {
        yield rel.archive;
      },
    },
    proof: utf8(proof),
  });
  const honest = new MemoryLog();
  honest.append(entryForEnvelope(gen1.bytes));
  const i = honest.append(entryForEnvelope(env));
  const honestCp = honest.checkpoint(T);
  const pHonest = honest.proof(i, honestCp);

  it('quorum none, offline: a forked larger tree is accepted unchecked for its bundle but not recorded; the honest log still verifies', async () => {
    const store = join(tempDir(), 's');
    await initStore(store, gen1.bytes, { installed: INSTALLED, logPolicy: `log ${honest.signer.vkey}\nquorum none\n`, now: NOW });
    const check = async (proof: string) => {
      const s = await openStore(store);
      return verifyWithStore(s, input(proof), { now: NOW, ...logCheckFor(s, NOW) }).then(
        (v) => v.log!.summary.consistency,
        (e: { code: string }) => e.code,
      );
    };
    expect(await check(pHonest)).to.equal('first');
    const fork = new MemoryLog();
    fork.append(utf8('another history'));
    const j = fork.append(entryForEnvelope(env));
    fork.append(utf8('x'));
    expect(await check(fork.proof(j, fork.checkpoint(T)))).to.equal('unchecked');
    expect(state(store).log!.largest, 'the proved largest is kept').to.equal(honestCp);
    expect(await check(pHonest)).to.equal('same');
  });

  it('trust init --log-policy with quorum none warns (LOG_NO_WITNESS_QUORUM) that nothing detects forks, and still creates the store', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'policy.signed.json'), gen1.bytes);
    writeFileSync(join(d, 'log.policy'), `log ${honest.signer.vkey}\nquorum none\n`);
    const args = ['trust', 'init', '--policy', join(d, 'policy.signed.json'), '--log-policy', join(d, 'log.policy')];
    const r = await runCli([...args, '--store', join(d, 's'), '--json']);
    expect(r.code).to.equal(0);
    expect((r.json.warnings as Array<{ code: string }>).map((w) => w.code)).to.deep.equal(['LOG_NO_WITNESS_QUORUM']);
    expect(r.stderr).to.match(/^warning: LOG_NO_WITNESS_QUORUM: .*fork/m);
    expect((await runCli([...args, '--store', join(d, 't')])).stderr).to.match(/LOG_NO_WITNESS_QUORUM/);
  });

  it('with a log source, a consistency proof the log cannot give is LOG_INCONSISTENT, not unchecked', async () => {
    const grown = new MemoryLog();
    for (const e of honest.entries) grown.append(e);
    grown.append(utf8('later'));
    const bigger = grown.proof(i, grown.checkpoint(T));
    const policy = parseTlogPolicy(honest.policy(2));
    const base = { envelopeBytes: env, proof: bigger, policy, now: NOW, largestSeen: honestCp };
    // Tiles of the size-2 tree only: the 2 -> 3 proof cannot be built from them.
    const stale = openLogSource(writeTiles(join(tempDir(), 'tiles-2'), honest));
    const err = await checkLogged({ ...base, source: stale }).then(
      () => undefined,
      (e: { code: string; details: { kind?: string } }) => e,
    );
    expect(err?.code).to.equal('LOG_INCONSISTENT');
    expect(err?.details.kind).to.equal('unproved');
    const full = openLogSource(writeTiles(join(tempDir(), 'tiles-3'), grown));
    const proved = await checkLogged({ ...base, source: full });
    expect(proved.consistency).to.equal('proved');
    expect(proved.newLargest).to.equal(grown.checkpoint(T));
  });
});
