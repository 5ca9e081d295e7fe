// The mirror copies a log byte for byte (tiles rebuilt by itself, manifests checked) and exposes a new checkpoint only
// when its own tree has that root: a forked or rolled-back source is LOG_INCONSISTENT and the mirror keeps its view.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generateSeed } from '../../lib/core/ed25519.js';
import { CountersignError } from '../../lib/core/errors.js';
import { mirrorOnce } from '../../lib/log/mirror.js';
import { openLogSource } from '../../lib/log/tile-reader.js';
import { tempDir } from '../support/tmp.js';
import { makeLog, makeTeam, release, rogueLog, sub } from './service-support.js';

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.startsWith('.')) out[relative(dir, p)] = readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CountersignError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('log mirror', () => {
  it('copies the log (the same files), follows it as it grows, and refuses a fork or a rollback without exposing it', async function () {
    this.timeout(120_000);
    const seed = generateSeed();
    const log = await makeLog({ seed });
    try {
      const team = makeTeam(1, 1);
      await log.sequencer.add([sub(team.policy), ...Array.from({ length: 300 }, (_, i) => sub(release(team, `1.0.${i}`)))]);
      const to = join(tempDir(), 'mirror');
      expect(await mirrorOnce(openLogSource(log.dir), to)).to.include({ from: 0, size: 301, advanced: true });
      expect(files(to)).to.deep.equal(files(log.dir));
      await log.sequencer.add(Array.from({ length: 5 }, (_, i) => sub(release(team, `2.0.${i}`))));
      expect(await mirrorOnce(openLogSource(log.dir), to)).to.include({ from: 301, size: 306, advanced: true });
      expect(files(to)).to.deep.equal(files(log.dir));
      expect(await mirrorOnce(openLogSource(log.dir), to)).to.include({ size: 306, advanced: false });
      const held = readFileSync(join(to, 'checkpoint'), 'utf8');

      const forkedDocs = [
        team.policy,
        ...Array.from({ length: 300 }, (_, i) => release(team, `1.0.${i}`)),
        ...Array.from({ length: 6 }, (_, i) => release(team, `6.6.${i}`)),
      ];
      expect(await refusal(mirrorOnce(openLogSource(rogueLog(seed, forkedDocs).dir), to))).to.equal('LOG_INCONSISTENT');
      expect(await refusal(mirrorOnce(openLogSource(rogueLog(seed, forkedDocs.slice(0, 306)).dir), to))).to.equal('LOG_INCONSISTENT');
      expect(await refusal(mirrorOnce(openLogSource(rogueLog(seed, forkedDocs.slice(0, 200)).dir), to))).to.equal('LOG_INCONSISTENT');
      expect(readFileSync(join(to, 'checkpoint'), 'utf8')).to.equal(held);
      // Still a faithful copy of the honest log.
      await log.sequencer.add([sub(release(team, '3.0.0'))]);
      expect(await mirrorOnce(openLogSource(log.dir), to)).to.include({ from: 306, size: 307 });
      expect(files(to)).to.deep.equal(files(log.dir));
    } finally {
      await log.store.close();
    }
  });
});
