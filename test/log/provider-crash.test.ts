// A provider log (state entries in every batch) under SIGKILL at every publishing step (crash.test.ts' scenario, SQLite):
// after each crash and `log add` of the same documents again, the tiles hash to the checkpoint, each document is at one
// index, every checkpoint ends with a state entry, and a full replay (check + apply) accepts every state entry.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeEnvelope } from '../../lib/core/envelope.js';
import { parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { parseEntry } from '../../lib/log/entry.js';
import { leafHash, rootOf } from '../../lib/log/merkle.js';
import { Replay, entryIdentity } from '../../lib/log/replay.js';
import { submissionFor } from '../../lib/log/sequencer.js';
import { fetchEntries, openLogSource } from '../../lib/log/tile-reader.js';
import { runCliOk } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';
import { runChild } from '../installer/support.js';
import { enrolment, makeProvider, makeRoot, releaseOf } from './provider-support.js';

const P = 'wordpress.org/plugins/akismet';

async function checkLog(tiles: string): Promise<string[]> {
  const source = openLogSource(tiles);
  const cp = parseSignedCheckpoint((await source.checkpoint())!);
  const entries = await fetchEntries(source, 0, cp.size, cp.size);
  expect(Buffer.from(rootOf(entries.map(leafHash))).equals(Buffer.from(cp.root)), 'the tiles hash to the checkpoint').to.equal(true);
  expect(parseEntry(entries[entries.length - 1]!).kind, 'the checkpoint ends with a state entry').to.equal('state');
  const manifests = new Map<string, Uint8Array | undefined>();
  for (const e of entries) {
    const parsed = parseEntry(e);
    if (parsed.kind === 'release') manifests.set(parsed.statement.payloadSha256, await source.manifest(parsed.statement.payloadSha256));
  }
  const replay = new Replay();
  for (const e of entries) replay.next(e, (sha) => manifests.get(sha));
  const docs = entries.filter((e) => parseEntry(e).kind !== 'state').map(entryIdentity);
  expect(new Set(docs).size, 'no document twice').to.equal(docs.length);
  return docs;
}

describe('log add of a provider log: SIGKILL at every publishing step (sqlite)', function () {
  this.timeout(900_000);

  it('leaves a consistent log whose state entries all replay, loses nothing acknowledged, sequences nothing twice', async () => {
    const dir = tempDir();
    await runCliOk(['keygen', '--out', join(dir, 'log'), '--unencrypted']);
    const root = makeRoot({ delay: 0 });
    const p = makeProvider(P);
    const docs = [root.policy, enrolment(p, root.registry), ...['1.0.0', '1.0.1', '1.0.9'].map((v) => releaseOf(P, v, [p.release[0]!]))];
    const files = docs.map((env, i) => {
      const f = join(dir, `doc-${i}.json`);
      writeFileSync(f, serializeEnvelope(env));
      return f;
    });
    const wanted = docs.map((env) => entryIdentity(submissionFor(Buffer.from(serializeEnvelope(env))).entry)).sort();
    let rounds = 0;
    for (let k = 1; ; k++) {
      const tiles = join(dir, `round-${k}`, 'tiles');
      await runCliOk(['log', 'init', '--origin', 'log.example.test/crash', '--key', join(dir, 'log.key'), '--tiles', tiles]);
      await runCliOk(['log', 'add', files[0]!, files[1]!, '--tiles', tiles]);
      const crashed = await runChild(['log', 'add', files[2]!, files[3]!, '--tiles', tiles, '--json'], { env: { COUNTERSIGN_TEST_CRASH_AT_STEP: String(k) } });
      if (crashed.signal === null) {
        expect(crashed.code, crashed.stderr).to.equal(0);
        break;
      }
      expect(crashed.signal).to.equal('SIGKILL');
      await checkLog(tiles);
      const other = await runChild(['log', 'add', files[4]!, '--tiles', tiles, '--json']);
      expect(other.code, other.stderr).to.equal(0);
      await checkLog(tiles);
      const again = await runChild(['log', 'add', files[2]!, files[3]!, '--tiles', tiles, '--json']);
      expect(again.code, again.stderr).to.equal(0);
      expect((await checkLog(tiles)).sort()).to.deep.equal(wanted);
      rounds++;
    }
    expect(rounds).to.be.greaterThan(5);
  });
});
