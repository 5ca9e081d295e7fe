// Bench section 11: local trust and state auditors (issue 13). `log sync` into a trust store, replaying a generated
// log of BENCH_SYNC_ENTRIES (100,000) entries served from memory (the tiles' cost is section 8's), in entries/s:
//   1. plain releases: today's log (one root policy, releases of it, no state entries);
//   2. provider releases, each in its own batch (a state entry after every release: half the entries);
//   3. provider releases in batches of 256 (a state entry per batch);
//   4. the auditor (log audit) over the log of 3: replay, state check and cosignature;
//   5. reopening the kept state (re-checked: the state map rebuilt, its root against the last state entry).
// Wall time and CPU time (user + system) of this process; the machine may be shared (its load average is printed).
//   npx tsx bench/sync.ts [OUT.json]         (BENCH_SYNC_ENTRIES)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Auditor } from '../lib/log/auditor.js';
import { cosigner } from '../lib/log/cosignature.js';
import { syncStore } from '../lib/log/sync.js';
import { loadReplayedState } from '../lib/node/replayed-state.js';
import { initStore, openStore } from '../lib/node/trust-store.js';
import { envelopeBytes } from '../test/support/fixtures.js';
import { tempDir } from '../test/support/tmp.js';
import { generatedProviderLog, generatedRootLog } from '../test/log/sync-support.js';

const N = Number(process.env.BENCH_SYNC_ENTRIES ?? 100_000);
const OUT = process.argv[2] ?? 'bench/out/sync.json';
const T = Math.floor(Date.now() / 1000);
const NOW = new Date((T + 60) * 1000);

async function timed<R>(fn: () => Promise<R>): Promise<{ result: R; wallMs: number; cpuMs: number }> {
  const c = process.cpuUsage();
  const w = performance.now();
  const result = await fn();
  const u = process.cpuUsage(c);
  return { result, wallMs: performance.now() - w, cpuMs: (u.user + u.system) / 1000 };
}

const rows: Array<Record<string, unknown>> = [];
const rate = (entries: number, ms: number) => Math.round((entries * 1000) / ms);
function row(name: string, entries: number, t: { wallMs: number; cpuMs: number }) {
  const r = { name, entries, wallMs: Math.round(t.wallMs), cpuMs: Math.round(t.cpuMs), entriesPerSecondWall: rate(entries, t.wallMs), entriesPerSecondCpu: rate(entries, t.cpuMs) };
  rows.push(r);
  console.log(`${name.padEnd(44)} ${String(entries).padStart(7)} entries  ${String(r.entriesPerSecondCpu).padStart(6)} entries/s CPU  (${r.entriesPerSecondWall} wall)`);
}

async function sync(name: string, g: { root: { policy: Parameters<typeof envelopeBytes>[0] }; served: Parameters<typeof syncStore>[1] & { size: number; policy(): string } }) {
  const dir = join(tempDir(), 'store');
  await initStore(dir, envelopeBytes(g.root.policy), { logPolicy: g.served.policy(), now: NOW });
  const t = await timed(() => syncStore(dir, g.served, { now: NOW }));
  row(name, g.served.size, t);
  return dir;
}

console.log(`bench section 11: log sync and audit, ${N} entries; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
await sync('log sync: plain releases (no providers)', generatedRootLog(N, T));
await sync('log sync: provider releases, a batch each', generatedProviderLog(N, 1, T));
const batched = generatedProviderLog(N, 256, T);
const dir = await sync('log sync: provider releases, batches of 256', batched);
const reopened = await timed(async () => loadReplayedState(await openStore(dir)));
row('reopen the kept state (re-checked)', batched.served.size, reopened);

const auditor = await Auditor.open({
  cosigner: cosigner('auditor.example/bench', new Uint8Array(32).fill(3)),
  log: batched.served.signer.vkey,
  source: batched.served,
  state: join(tempDir(), 'auditor'),
  now: () => NOW,
});
const audited = await timed(async () => {
  const { answer } = await auditor.auditCurrent();
  if (answer.status !== 200) throw new Error(`the auditor refused: ${answer.body}`);
  await auditor.flush();
});
await auditor.close();
row('log audit: batches of 256 (replay + cosign)', batched.served.size, audited);

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ section: 11, entries: N, cpus: cpus().length, loadavg: loadavg(), rows }, null, 2)}\n`);
console.log(`wrote ${OUT}`);
