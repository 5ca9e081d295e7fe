// State-entry computation per batch (issue 13): on a provider log of BENCH_STATE_ENTRIES (100,000) release records,
// a batch of 1, 100 and 1000 releases updates the state map (one release record each) and the sequencer computes its
// state entry (the map root, the canonical entry). Signature checks, the same as without state entries, are left out.
//   npx tsx bench/log-state.ts            (BENCH_STATE_ENTRIES, BENCH_STATE_REPEATS (20))
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { toHex } from '../lib/core/bytes.js';
import { encodeEntry, ENTRY_TYPES } from '../lib/log/entry.js';
import { ProviderState } from '../lib/log/provider-state.js';

const N = Number(process.env.BENCH_STATE_ENTRIES ?? 100_000);
const REPEATS = Number(process.env.BENCH_STATE_REPEATS ?? 20);
const P = 'wordpress.org/plugins/wordfence';

const state = new ProviderState();
let index = 0;
const t0 = performance.now();
for (; index < N; index++) state.addRelease(P, `plugin-${index % 1000}`, 'plugin', `1.0.${index}`, index);
state.stateRoot();
const setupMs = performance.now() - t0;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = [];
for (const batch of [1, 100, 1000]) {
  const update: number[] = [];
  const entry: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const a = performance.now();
    for (let i = 0; i < batch; i++, index++) state.addRelease(P, `plugin-${index % 1000}`, 'plugin', `1.0.${index}`, index);
    const b = performance.now();
    encodeEntry({ entry: ENTRY_TYPES.state, size: index, time: 1, map: toHex(state.stateRoot()) });
    const c = performance.now();
    update.push(b - a);
    entry.push(c - b);
  }
  rows.push({
    batch,
    recordsMs: median(update),
    stateEntryMs: median(entry),
    totalMs: median(update) + median(entry),
    perEntryUs: ((median(update) + median(entry)) * 1000) / batch,
  });
}
console.log(JSON.stringify({ records: N, setupMs: Math.round(setupMs), repeats: REPEATS, loadavg: loadavg().map((x) => x.toFixed(2)), rows }, null, 1));
