// Bench section 9: the state map (dist/lib/log/map.js, so `npm run build` first). Times are CPU time (user + system),
// and every cost is also given in units of the reference, one node:crypto SHA-256 of 64 bytes (one tree level at best):
//   1. build BENCH_MAP_RECORDS (1,000,000) records (mapKey + set) and the first root; memory after it;
//   2. batches of k updates of existing records then root(), k = 1 … 10000 (the median round): updates/s and hashes
//      per update (update = a new value for a record; the key is precomputed);
//   3. proofs at 10^3, 10^5 and 10^6 records: encoded bytes (mean, max) of presence and absence proofs, prove and
//      verify time per proof (the fastest of several passes); clone() at the end.
//
//   npm run build && node --expose-gc bench/map.mjs [OUT.json]      (default bench/out/map.json)
import { hash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = resolve(process.argv[2] ?? join(ROOT, 'bench/out/map.json'));
const RECORDS = Number(process.env.BENCH_MAP_RECORDS ?? 1_000_000);
const { SparseMap, mapKey, encodeMapProof, verifyMapProof } = await import(join(ROOT, 'dist/lib/log/map.js'));

const gc = globalThis.gc ?? (() => {});
const enc = new TextEncoder();
const path = (i) => ['release', `wordpress.org/plugins/p${i % 1000}`, `p${i % 1000}`, 'plugin', `1.${i}.0`];
const value = (i, round = 0) => enc.encode(JSON.stringify({ index: i, revoked: round ? i + round : null }));
const memory = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
/** A deterministic sequence (xorshift), so every run touches the same records. */
function rng(seed) {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** CPU time of this process in ms (user + system): on a shared machine, wall time counts the other processes too. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The fastest of `runs` timings of fn, in µs per op (the machine is shared: the minimum is the least disturbed). */
function fastest(runs, ops, fn) {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = cpuMs();
    fn();
    best = Math.min(best, ((cpuMs() - t0) * 1000) / ops);
  }
  return best;
}

// reference: one SHA-256 of 64 bytes, as the map hashes (one-shot node:crypto)
const block = Buffer.alloc(64);
const refMicros = fastest(7, 50_000, () => {
  for (let i = 0; i < 50_000; i++) {
    block[1] = i;
    hash('sha256', block, 'buffer');
  }
});
let t;
const units = (micros) => micros / refMicros;

const result = { meta: { records: RECORDS, load: loadavg(), cpus: cpus().length, node: process.version }, referenceMicros: refMicros, proofs: [] };
const before = memory();
const map = new SparseMap();
const checkpoints = [1_000, 100_000, 1_000_000].filter((n) => n <= RECORDS);
if (!checkpoints.includes(RECORDS)) checkpoints.push(RECORDS);
let setMs = 0;
let rootMs = 0;
let built = 0;
for (const n of checkpoints) {
  t = cpuMs();
  for (; built < n; built++) map.set(mapKey(path(built)), value(built));
  setMs += cpuMs() - t;
  t = cpuMs();
  map.root();
  const r = cpuMs() - t;
  rootMs += r;
  // proofs at this size
  const root = map.root();
  const pick = rng(n);
  const cases = [];
  for (let i = 0; i < 1000; i++) {
    const j = pick(n);
    cases.push({ key: mapKey(path(j)), value: value(j) });
    cases.push({ key: mapKey(['release', '', 'absent', 'x', String(i)]), value: undefined });
  }
  let proofs;
  const proveMicros = fastest(3, cases.length, () => (proofs = cases.map((c) => map.prove(c.key))));
  const bytes = proofs.map((p) => encodeMapProof(p).length);
  const verifyMicros = fastest(5, cases.length, () => {
    for (let i = 0; i < cases.length; i++) verifyMapProof(root, cases[i].key, cases[i].value, proofs[i]);
  });
  const present = bytes.filter((_, i) => i % 2 === 0);
  const absent = bytes.filter((_, i) => i % 2 === 1);
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  result.proofs.push({
    records: n,
    presentBytesMean: mean(present),
    presentBytesMax: Math.max(...present),
    absentBytesMean: mean(absent),
    absentBytesMax: Math.max(...absent),
    depthMean: mean(proofs.map((p) => p.siblings.length)),
    proveMicros,
    verifyMicros,
    verifyUnits: units(verifyMicros),
    rootAfterGrowthMs: r,
  });
}
result.build = { records: RECORDS, setMs, rootMs, setPerSecond: (RECORDS / setMs) * 1000, unitsPerRecord: units(((setMs + rootMs) * 1000) / RECORDS) };
result.memory = { bytes: memory() - before, bytesPerRecord: (memory() - before) / RECORDS };

result.batches = [];
const pick = rng(7);
for (const k of [1, 10, 100, 1000, 10000]) {
  // the median round: a round is k updates of random existing records (new values), then root()
  const rounds = Math.max(5, Math.min(51, Math.floor(20000 / k)));
  const times = [];
  for (let round = 1; round <= rounds; round++) {
    const keys = Array.from({ length: k }, () => pick(RECORDS));
    const paths = keys.map((j) => [mapKey(path(j)), value(j, round)]);
    t = cpuMs();
    for (const [key, v] of paths) map.set(key, v);
    const t1 = cpuMs();
    map.root();
    times.push({ set: t1 - t, root: cpuMs() - t1 });
  }
  times.sort((a, b) => a.set + a.root - (b.set + b.root));
  const median = times[rounds >> 1];
  const perUpdateMicros = ((median.set + median.root) * 1000) / k;
  result.batches.push({
    updates: k,
    rounds,
    setMicrosPerUpdate: (median.set * 1000) / k,
    rootMsPerBatch: median.root,
    updatesPerSecond: 1e6 / perUpdateMicros,
    hashUnitsPerUpdate: units(perUpdateMicros),
  });
}
t = cpuMs();
map.clone();
result.cloneMs = cpuMs() - t;

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
const f = (x, d = 1) => x.toFixed(d);
console.log(`   reference: one SHA-256 of 64 bytes = ${f(refMicros, 2)} µs (load ${result.meta.load.map((x) => f(x)).join(' ')} on ${result.meta.cpus} cores)`);
console.log(
  `   build ${RECORDS} records: ${f(setMs / 1000)} s set (${f(result.build.setPerSecond, 0)}/s) + ${f(rootMs / 1000)} s hashing; ${f(result.build.unitsPerRecord)} hashes/record; memory ${f(result.memory.bytes / 2 ** 20)} MiB (${f(result.memory.bytesPerRecord, 0)} B/record)`,
);
for (const b of result.batches)
  console.log(
    `   ${String(b.updates).padStart(5)} updates + root: ${f(b.updatesPerSecond, 0).padStart(7)} updates/s, ${f(b.hashUnitsPerUpdate).padStart(5)} hashes/update, root ${f(b.rootMsPerBatch, 2)} ms`,
  );
for (const p of result.proofs)
  console.log(
    `   proofs at ${String(p.records).padStart(7)} records: depth ${f(p.depthMean)}, presence ${f(p.presentBytesMean, 0)} B (max ${p.presentBytesMax}), absence ${f(p.absentBytesMean, 0)} B (max ${p.absentBytesMax}); prove ${f(p.proveMicros)} µs, verify ${f(p.verifyMicros)} µs = ${f(p.verifyUnits)} hashes`,
  );
console.log(`   clone() at ${RECORDS} records: ${f(result.cloneMs)} ms`);
