// Bench section 7: where a small verify's start-up goes, phase by phase, in fresh processes (the median of
// RUNS), loading dist/ as the bin does for a verify line (scripts/countersign-bin.cjs, scripts/cli-loader.cjs):
//   node      Node's own start, until this script runs (performance.now() counts from the process's start)
//   loader    requiring the loader, which loads node:crypto, node:vm and node:fs
//   script    reading and hashing the script and its code cache, compiling (or deserialising) and running its top level
//   command   the verify itself: parsing its command line, importing its code, and every check
//
//   node bench/startup-phases.cjs BUNDLE POLICY [RUNS] [OUT.json]
'use strict';
const { spawnSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const DIST = join(__dirname, '..', 'dist');
const [bundle, policy, runs = '15', out] = process.argv.slice(2);

if (process.env.STARTUP_PHASES_CHILD === '1') {
  const t0 = performance.now();
  const { loadBundle, SCRIPTS } = require(join(DIST, 'cli-loader.cjs'));
  const t1 = performance.now();
  const script = join(DIST, SCRIPTS.verify);
  const loaded = loadBundle(script, `${script}.cache`, `file://${join(DIST, 'countersign.cjs')}`);
  const t2 = performance.now();
  const ctx = { out() {}, err() {}, env: {}, interactive: false, now: new Date(), exitCode: 0 };
  loaded.exports.runVerify(['verify', bundle, '--policy', policy], ctx).then((code) => {
    const t3 = performance.now();
    process.stdout.write(JSON.stringify({ code, cached: loaded.cached, node: t0, loader: t1 - t0, script: t2 - t1, command: t3 - t2 }));
  });
} else {
  if (!bundle || !policy || !(Number(runs) >= 1)) {
    console.error('usage: node bench/startup-phases.cjs BUNDLE POLICY [RUNS] [OUT.json]');
    process.exit(2);
  }
  const samples = [];
  for (let i = 0; i < Number(runs); i++) {
    const r = spawnSync(process.execPath, [__filename, bundle, policy], { env: { ...process.env, STARTUP_PHASES_CHILD: '1' }, encoding: 'utf8' });
    const sample = JSON.parse(r.stdout);
    if (sample.code !== 0) throw new Error(`verify exited ${sample.code}: ${r.stderr}`);
    samples.push(sample);
  }
  const median = (key) => {
    const xs = samples.map((s) => s[key]).sort((a, b) => a - b);
    return xs[xs.length >> 1];
  };
  const phases = Object.fromEntries(['node', 'loader', 'script', 'command'].map((k) => [k, Math.round(median(k) * 100) / 100]));
  const result = { runs: samples.length, cached: samples.every((s) => s.cached), medianMs: phases };
  for (const [k, v] of Object.entries(phases)) console.log(`   ${k.padEnd(8)} ${v.toFixed(2).padStart(7)} ms`);
  console.log(`   (median of ${samples.length} processes; code cache ${result.cached ? 'taken' : 'NOT taken'})`);
  if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}
