// `log sync` over a generated provider log of more than 100,000 entries (releases, each in its own batch ended by the
// sequencer's state entry, as a quiet log sequences them) reaches exactly the state root of the last state entry, in
// two syncs (the second resumes from the first's kept state), and the kept state re-checks on reopening. Slow: about
// 10-60 s, depending on the machine's load (signature verification is most of it).
import { expect } from 'chai';
import { join } from 'node:path';
import { toHex } from '../../lib/core/bytes.js';
import { parseEntry, type StateEntry } from '../../lib/log/entry.js';
import { syncStore } from '../../lib/log/sync.js';
import { loadReplayedState } from '../../lib/node/replayed-state.js';
import { initStore, openStore } from '../../lib/node/trust-store.js';
import { envelopeBytes } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { GENERATED_PROVIDER, generatedProviderLog } from './sync-support.js';

const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 600) * 1000);

describe('log sync: a generated log of 100,000 entries', function () {
  this.timeout(300_000);
  this.slow(60_000);

  it('reaches exactly the state root of the last state entry, resuming from the kept state', async () => {
    let t = performance.now();
    const g = generatedProviderLog(100_000, 1, T);
    const generated = performance.now() - t;
    expect(g.served.size).to.be.at.least(100_000);
    const dir = join(tempDir(), 'store');
    await initStore(dir, envelopeBytes(g.root.policy), { logPolicy: g.served.policy(), now: NOW });

    const half = g.served.prefix(60_001);
    half.publish(T);
    t = performance.now();
    expect(await syncStore(dir, half, { now: NOW })).to.include({ from: 0, size: 60_001 });
    const r = await syncStore(dir, g.served, { now: NOW });
    expect(r).to.include({ from: 60_001, size: g.served.size, consistency: 'proved' });
    const synced = performance.now() - t;
    if (process.env.COUNTERSIGN_SYNC_TIMES) console.log(`generated in ${Math.round(generated)} ms, synced in ${Math.round(synced)} ms`);

    const last = parseEntry(g.served.entries.at(-1)!);
    expect(last.kind).to.equal('state');
    const kept = (await loadReplayedState(await openStore(dir)))!;
    expect(toHex(kept.replay.state.stateRoot())).to.equal((last.entry as StateEntry).map);
    expect(toHex(kept.replay.state.stateRoot())).to.equal(toHex(g.map.root()));
    expect(kept.replay.state.releases.size).to.equal(g.releases);
    expect(kept.replay.state.release(GENERATED_PROVIDER, 'drupal', 'core', '11.0.0')).to.deep.equal({ index: 3, revoked: null });
  });
});
