// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by area and by function, and the
// inclusive time of the functions that matter for countersign's verify and build commands.
//
//   node bench/cpuprof-summary.mjs PROFILE.cpuprofile [OUT.json] [TOP=15]
import { readFileSync, writeFileSync } from 'node:fs';

const [file, outPath, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprof-summary.mjs PROFILE.cpuprofile [OUT.json] [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 15);
// A shell glob matching several profiles would shift them into OUT.json and TOP ("Top NaN functions").
if (!Number.isInteger(top) || top < 1) {
  console.error(`cpuprof-summary.mjs: TOP must be a positive integer, not ${JSON.stringify(topArg)} (one profile per call)`);
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time attributed to each sample: V8 stores the delta *before* sample i; use the next delta as the
// duration of sample i (the usual convention in DevTools).
const self = new Map();
const deltas = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const us = deltas[i + 1] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + us);
}
const totalUs = [...self.values()].reduce((a, b) => a + b, 0);

function area(cf) {
  const url = cf.url ?? '';
  const name = cf.functionName;
  if (!url) {
    if (name === '(garbage collector)') return 'GC';
    if (name === '(program)') return '(program): V8/native outside JS (compile, bootstrap, native calls)';
    if (name === '(idle)') return '(idle): waiting for I/O';
    return `native: ${name || '(anonymous)'}`;
  }
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (nm) return `npm: ${nm[1]}`;
  if (url.includes('/dist/lib/')) return 'countersign dist/lib';
  if (url.includes('/dist/cli/')) return 'countersign dist/cli';
  if (url.startsWith('node:')) {
    if (url.includes('crypto')) return 'node: crypto (hash update/digest, verify)';
    if (url.includes('fs')) return 'node: fs';
    if (url.includes('modules') || url.includes('loader')) return 'node: module loader';
    return 'node: other internals';
  }
  return url;
}

const areas = new Map();
const funcs = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const a = area(cf);
  areas.set(a, (areas.get(a) ?? 0) + us);
  const short = (cf.url ?? '').replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '');
  const key = `${cf.functionName || '(anonymous)'}  ${short}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  funcs.set(key, (funcs.get(key) ?? 0) + us);
}

// Inclusive time of named functions (each sample counted once per function name).
const WATCH = [
  'run',
  'parseAsync',
  'createParser',
  'handler',
  'loadTrustedPolicy',
  'readBundleFile',
  'verifyBundle',
  'openEnvelope',
  'manifestFromPayload',
  'countQuorum',
  'verifyStrict',
  'verifyArchiveStream',
  'readFileChunks',
  'push',
  'validator',
  'compile',
  'compileSchema',
  'buildRelease',
  'scanTree',
  'walk',
  'add',
  'checkPathSet',
  'sortByPathBytes',
  'canonicalBytes',
  'validate',
  'checkManifest',
  'serializeEnvelope',
  'writeDurably',
  'readFileSync',
  'writeSync',
  'fsyncSync',
  'lstatSync',
  'readdirSync',
];
const inclusive = new Map();
for (const [id, us] of self) {
  const names = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const cf = byId.get(n).callFrame;
    if (WATCH.includes(cf.functionName) && (cf.url.includes('/dist/') || cf.url.includes('ajv') || cf.url.startsWith('node:fs') || cf.url.includes('yargs'))) {
      names.add(
        `${cf.functionName} (${cf.url
          .replace(/^.*\/(node_modules\/[^/]+|dist\/[^/]+\/[^/]+)$/, '$1')
          .replace(/^.*\/(node_modules\/[^/]+)\/.*$/, '$1')
          .replace(/^file:\/\//, '')})`,
      );
    }
  }
  for (const name of names) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
}

const ms = (us) => us / 1000;
const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
const result = {
  profile: file,
  wallMs: ms(prof.endTime - prof.startTime),
  sampledMs: ms(totalUs),
  byArea: sorted(areas).map(([area, us]) => ({ area, ms: ms(us), pct: (100 * us) / totalUs })),
  topSelf: sorted(funcs)
    .slice(0, top)
    .map(([fn, us]) => ({ fn, ms: ms(us), pct: (100 * us) / totalUs })),
  inclusive: sorted(inclusive).map(([fn, us]) => ({ fn, ms: ms(us), pct: (100 * us) / totalUs })),
};
if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 2));

const line = (label, v, pct) => `  ${label.slice(0, 96).padEnd(96)} ${v.toFixed(1).padStart(8)} ms ${pct.toFixed(1).padStart(5)}%`;
console.log(`CPU profile ${file}: ${result.wallMs.toFixed(0)} ms profiled (from V8 profiler start, i.e. after node bootstrap)`);
console.log(' Self time by area:');
for (const r of result.byArea.slice(0, top)) console.log(line(r.area, r.ms, r.pct));
console.log(` Top ${top} functions by self time:`);
for (const r of result.topSelf) console.log(line(r.fn, r.ms, r.pct));
console.log(' Inclusive time of key functions:');
const NOTE =
  ' (Caveat: the sampler mislabels time spent blocked in a synchronous syscall such as fsync(): it is dropped\n' +
  '  or charged to an earlier native frame. In the build profile the ~0.1 s under base64Slice is not base64\n' +
  '  (timed in-process at ~2.5 ms for the 3 MB payload) but the fsync() of the archive (~0.1 s, strace -T).)';
for (const r of result.inclusive) console.log(line(r.fn, r.ms, r.pct));
console.log(NOTE);
