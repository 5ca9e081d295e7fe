// The sequencer SIGKILLed at every step of publishing (COUNTERSIGN_TEST_CRASH_AT_STEP, lib/installer/hooks.ts, in the
// bundled CLI's `log add`): after each crash, `log add` of the same documents again must leave a log whose tiles hash
// to its checkpoint, consistent with every checkpoint published before, each document at one index, none lost.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeEnvelope } from '../../lib/core/envelope.js';
import { parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { entryIdentity } from '../../lib/log/replay.js';
import { leafHash, rootOf, verifyConsistency } from '../../lib/log/merkle.js';
import { fetchConsistencyProof, fetchEntries, openLogSource } from '../../lib/log/tile-reader.js';
import { runCliOk } from '../support/cli.js';
import { createTestDatabase, postgresAvailable, testPostgresLabel } from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';
import { runChild } from '../installer/support.js';
import { makeTeam, release } from './service-support.js';
import { submissionFor } from '../../lib/log/sequencer.js';

async function checkLog(tiles: string, earlier: string[]): Promise<{ size: number; identities: string[] }> {
  const source = openLogSource(tiles);
  const cp = parseSignedCheckpoint((await source.checkpoint())!);
  const entries = await fetchEntries(source, 0, cp.size, cp.size);
  expect(Buffer.from(rootOf(entries.map(leafHash))).equals(Buffer.from(cp.root)), 'the tiles hash to the checkpoint').to.equal(true);
  for (const e of earlier) {
    const old = parseSignedCheckpoint(e);
    expect(old.size).to.be.at.most(cp.size);
    if (old.size > 0 && old.size < cp.size) verifyConsistency(old.size, cp.size, old.root, cp.root, await fetchConsistencyProof(source, old.size, cp.size));
    if (old.size === cp.size) expect(Buffer.from(old.root).equals(Buffer.from(cp.root))).to.equal(true);
  }
  const identities = entries.map(entryIdentity);
  expect(new Set(identities).size, 'no document twice').to.equal(identities.length);
  return { size: cp.size, identities };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`log add: SIGKILL at every publishing step (${backend})`, function () {
    this.timeout(900_000);

    it('leaves a consistent log, loses nothing acknowledged, sequences nothing twice', async function () {
      if (backend === 'postgres' && !(await postgresAvailable())) {
        console.log(`      PostgreSQL not reachable at ${testPostgresLabel()}: skipping`);
        this.skip();
      }
      const dir = tempDir();
      await runCliOk(['keygen', '--out', join(dir, 'log'), '--unencrypted']);
      const team = makeTeam(2, 2);
      // The last is submitted after the crash, before the others again: a checkpoint published but not committed
      // would then be contradicted by a different entry at the same index.
      const docs = [team.policy, release(team, '1.0.0'), release(team, '1.0.1'), release(team, '1.0.2'), release(team, '1.0.9')];
      const files = docs.map((env, i) => {
        const f = join(dir, `doc-${i}.json`);
        writeFileSync(f, serializeEnvelope(env));
        return f;
      });
      const wanted = docs.map((env) => entryIdentity(submissionFor(Buffer.from(serializeEnvelope(env))).entry));
      // Each round: a log holding the first two documents, then `log add` of the last two killed at point k.
      const labels: string[] = [];
      for (let k = 1; ; k++) {
        const round = join(dir, `round-${k}`);
        const tiles = join(round, 'tiles');
        const db = backend === 'postgres' ? await createTestDatabase() : undefined;
        const dbArgs = db ? ['--db', db.url] : [];
        try {
          await runCliOk(['log', 'init', '--origin', 'log.example.test/crash', '--key', join(dir, 'log.key'), '--tiles', tiles, ...dbArgs]);
          await runCliOk(['log', 'add', files[0]!, files[1]!, '--tiles', tiles, ...dbArgs]);
          const published = [(await openLogSource(tiles).checkpoint())!];
          const crashed = await runChild(['log', 'add', files[2]!, files[3]!, '--tiles', tiles, '--json', ...dbArgs], {
            env: { COUNTERSIGN_TEST_CRASH_AT_STEP: String(k) },
          });
          if (crashed.signal === null) {
            expect(crashed.code, crashed.stderr).to.equal(0);
            expect(k, 'at least the staging, swap and publishing points were hit').to.be.greaterThan(6);
            break;
          }
          expect(crashed.signal).to.equal('SIGKILL');
          // What a reader sees right after the crash is consistent with everything published before.
          await checkLog(tiles, published);
          published.push((await openLogSource(tiles).checkpoint())!);
          // Another document, then the same two again: each document at one index, the log consistent throughout.
          const other = await runChild(['log', 'add', files[4]!, '--tiles', tiles, '--json', ...dbArgs]);
          expect(other.code, other.stderr).to.equal(0);
          published.push((await openLogSource(tiles).checkpoint())!);
          await checkLog(tiles, published);
          const again = await runChild(['log', 'add', files[2]!, files[3]!, '--tiles', tiles, '--json', ...dbArgs]);
          expect(again.code, again.stderr).to.equal(0);
          const { size, identities } = await checkLog(tiles, published);
          expect(size).to.equal(5);
          expect([...identities].sort()).to.deep.equal([...wanted].sort());
          labels.push(String(k));
        } finally {
          await db?.drop();
        }
      }
      expect(labels.length).to.be.greaterThan(5);
    });
  });
}
