// Bench section 6: push distribution to N simulated sites on loopback (default 10,000), countersign
// (Hawk + protocol + registry + per-site verification) vs the same fan-out over plain HTTP.
//
//   npm run build && node bench/push-sim.mjs [WORK-DIR] [OUT.json]     (defaults bench/out/work/push, bench/out/push.json)
//   then `node bench/report.mjs bench/out` prints it (section 6) with whatever else is in bench/out.
//
// Three processes: this one (setup and bookkeeping only), the site simulator (bench/push-sites.mjs,
// forked once, all N endpoints) and one hub process per run (bench/push-hub.mjs), so each run's hub
// peak RSS is its own. Runs, in order:
//   1. countersign at each concurrency in BENCH_PUSH_CONCURRENCY (default 64,256): publish the Highly
//      Critical release into a fresh copy of the registry (N sites added with addSite), then runPush.
//      Every simulated site verifies the bundle; the run counts only if every delivery is done and
//      every site's backend verified exactly once more than before.
//   2. plain HTTP at each concurrency: the same index bytes, then the same bundle bytes, to each site.
//   3. plain HTTP + verification at the best countersign concurrency, to the first
//      BENCH_PUSH_PLAIN_VERIFY_SITES (3000) sites: its rate is steady (skip: BENCH_PUSH_PLAIN_VERIFY=0).
//   4. an unloaded probe: countersign to the first 200 sites at concurrency 1 (conversation time without queueing).
// Knobs: BENCH_PUSH_SITES (10000), BENCH_PUSH_CONCURRENCY (64,256), BENCH_PUSH_PORTS (1),
// BENCH_PUSH_PLAIN_VERIFY (1), BENCH_PUSH_PLAIN_VERIFY_SITES (3000), BENCH_PUSH_VERIFY_CACHE (1: the simulator verifies
// each distinct bundle once and only hashes repeats, for both countersign and plain+verify; 0: every site verifies in full).
import { execFileSync, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { siteBase, siteId, siteKey } from './push-keys.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = resolve(process.argv[2] ?? join(ROOT, 'bench/out/work/push'));
const OUT = resolve(process.argv[3] ?? join(ROOT, 'bench/out/push.json'));
const N = Number(process.env.BENCH_PUSH_SITES ?? 10_000);
const CONCURRENCIES = (process.env.BENCH_PUSH_CONCURRENCY ?? '64,256').split(',').map(Number);
const PORTS = Number(process.env.BENCH_PUSH_PORTS ?? 1);
const PLAIN_VERIFY = process.env.BENCH_PUSH_PLAIN_VERIFY !== '0';
// Verification makes the simulator the bottleneck at a steady rate, so a subset of sites gives the same sites/s in a quarter of the time.
const PLAIN_VERIFY_SITES = Math.min(N, Number(process.env.BENCH_PUSH_PLAIN_VERIFY_SITES ?? 3000));
const POLICY = join(ROOT, 'keys-example/policy.signed.json');
const CLI = join(ROOT, 'dist/countersign.cjs');
const RISK = 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default'; // 24/25: Highly Critical
if (!Number.isInteger(N) || N < 1 || CONCURRENCIES.some((c) => !Number.isInteger(c) || c < 1) || !(PORTS >= 1)) {
  console.error('BENCH_PUSH_SITES, BENCH_PUSH_CONCURRENCY (comma-separated) and BENCH_PUSH_PORTS must be positive integers');
  process.exit(2);
}
const note = (text) => console.log(`   ${text}`);
const started = performance.now();
const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
mkdirSync(dirname(OUT), { recursive: true });

// --- The release: the demo's drupal 10.2.3 -> 10.2.4, rated Highly Critical, signed 3 of 5 ------
let t = performance.now();
const env = { ...process.env, COUNTERSIGN_PASSPHRASE: readFileSync(join(ROOT, 'keys-example/PASSPHRASE-TEST-ONLY'), 'utf8').trim() };
const cli = (...args) => execFileSync(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
const rel = join(WORK, 'release');
const BUNDLE = join(WORK, 'drupal-10.2.4.bundle');
cli(
  'build',
  '--source',
  join(ROOT, 'demo/sample/drupal-10.2.4'),
  '--base',
  join(ROOT, 'demo/sample/drupal-10.2.3'),
  '--product',
  'drupal',
  '--version',
  '10.2.4',
  '--applies-to',
  '10.2.3',
  '--risk',
  RISK,
  '--advisory',
  'SA-CORE-2026-001',
  '--policy',
  POLICY,
  '--out',
  rel,
);
const sigs = [];
for (const who of ['alice', 'bob', 'carol']) {
  const sig = join(WORK, `${who}.sig`);
  cli(
    'sign',
    join(rel, 'drupal-10.2.4.manifest.json'),
    '--archive',
    join(rel, 'drupal-10.2.4.tar'),
    '--key',
    join(ROOT, `keys-example/${who}.key`),
    '--yes',
    '--out',
    sig,
  );
  sigs.push(sig);
}
cli('assemble', join(rel, 'drupal-10.2.4.manifest.json'), '--policy', POLICY, '--out', BUNDLE, ...sigs);
const bundleBytes = statSync(BUNDLE).size;
const releaseMs = performance.now() - t;
note(`release: drupal core 10.2.4 (Highly Critical, 3 of 5 signatures), bundle ${bundleBytes} bytes, built in ${(releaseMs / 1000).toFixed(1)} s`);

// --- The site simulator ----------------------------------------------------------------------
const seed = randomBytes(16).toString('hex');
let finished = false;
// BENCH_PUSH_VERIFY_CACHE=0: the simulator verifies every bundle in full, as 10,000 real sites would each once (on 10,000 machines).
const VERIFY_CACHE = process.env.BENCH_PUSH_VERIFY_CACHE !== '0';
const sim = fork(
  join(ROOT, 'bench/push-sites.mjs'),
  [JSON.stringify({ sites: N, ports: PORTS, seed, policy: POLICY, spoolDir: join(WORK, 'spool'), verifyCache: VERIFY_CACHE })],
  {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: profileArgs('sites'),
    // Each simulated site spools its bundle to a file; 10,000 real sites have a disk and a libuv pool each, the
    // simulator's one process would queue every file operation of up to `concurrency` sites on 4 threads (the default).
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(Math.min(128, Math.max(4, ...CONCURRENCIES))) },
  },
);
const simExited = new Promise((resolve) => sim.once('exit', resolve));
sim.once('exit', (code, signal) => {
  if (!finished) {
    console.error(`the site simulator exited early (${code ?? signal})`);
    process.exit(1);
  }
});

const fromSim = (type) =>
  new Promise((resolve) => {
    const on = (msg) => {
      if (msg.type !== type) return;
      sim.off('message', on);
      resolve(msg);
    };
    sim.on('message', on);
  });
const ask = (msg, type) => {
  const answer = fromSim(type);
  sim.send(msg);
  return answer;
};
const ready = await fromSim('ready');
const simSetup = await ask({ cmd: 'stats' }, 'stats');
note(
  `simulator: ${N} site endpoints on port(s) ${ready.ports.join(', ')}, set up in ${(ready.setupMs / 1000).toFixed(1)} s; RSS ${mib(ready.baselineRssKiB)} -> ${mib(ready.rssKiB)} MiB`,
);

// --- The registry template: N sites, added one by one with addSite -----------------------------
t = performance.now();
const TEMPLATE = join(WORK, 'template.db');
{
  const { openRegistry } = await import(new URL('../dist/lib/hub/open-registry.js', import.meta.url));
  const registry = await openRegistry(`sqlite:${TEMPLATE}`);
  const registered = new Date().toISOString();
  for (let i = 0; i < N; i++) {
    await registry.addSite({
      id: siteId(seed, i),
      endpoint: siteBase(ready.ports, i, 's'),
      key: siteKey(seed, i),
      registered,
      address: '127.0.0.1',
      privateEndpoint: true,
    });
  }
  await registry.close();
}
const registryFillMs = performance.now() - t;
note(`registry: ${N} sites added with addSite (one transaction each) in ${(registryFillMs / 1000).toFixed(1)} s`);
// A second, small registry (the first PROBE sites) for the unloaded probe: one conversation at a time.
const PROBE = Math.min(200, N);
const PROBE_TEMPLATE = join(WORK, 'probe.db');
{
  const { openRegistry } = await import(new URL('../dist/lib/hub/open-registry.js', import.meta.url));
  const registry = await openRegistry(`sqlite:${PROBE_TEMPLATE}`);
  const registered = new Date().toISOString();
  for (let i = 0; i < PROBE; i++) {
    await registry.addSite({
      id: siteId(seed, i),
      endpoint: siteBase(ready.ports, i, 's'),
      key: siteKey(seed, i),
      registered,
      address: '127.0.0.1',
      privateEndpoint: true,
    });
  }
  await registry.close();
}

// --- Runs ------------------------------------------------------------------------------------
function hub(mode, concurrency, extra = {}) {
  const dir = join(WORK, `hub-${mode}-${concurrency}`);
  const cfg = { mode, concurrency, sites: N, ports: ready.ports, dir, template: TEMPLATE, bundle: BUNDLE, policy: POLICY, ...extra };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...profileArgs(`hub-${mode}-c${concurrency}`), join(ROOT, 'bench/push-hub.mjs'), JSON.stringify(cfg)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`hub ${mode} c=${concurrency} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

const runs = [];
// probe: only sites 0 .. probe-1 take part (a smaller registry for countersign, a shorter list for plain).
async function run(mode, concurrency, extra = {}, probe = 0) {
  const sites = probe || N;
  await ask({ cmd: 'stats' }, 'stats'); // resets the simulator's CPU and event-loop counters
  const wall = performance.now();
  const result = await hub(mode, concurrency, { ...extra, ...(probe ? { sites: probe, template: mode === 'hawk' ? PROBE_TEMPLATE : undefined } : {}) });
  const wallMs = performance.now() - wall;
  const simStats = await ask({ cmd: 'stats' }, 'stats');
  const { off } = await ask({ cmd: 'check', mode, ...(probe ? { below: probe } : {}) }, 'check');
  const complete = result.done === sites && result.failed === 0 && off === 0;
  const entry = {
    ...result,
    indexJson: undefined,
    probe: probe > 0,
    sites,
    wallMs: Math.round(wallMs),
    sitesNotVerifiedExactlyOnce: off,
    complete,
    simulator: { cpuMs: simStats.cpuMs, elu: simStats.elu, rssKiB: simStats.rssKiB, maxRssKiB: simStats.maxRssKiB, heapUsedKiB: simStats.heapUsedKiB },
  };
  runs.push(entry);
  const conv = result.conversationMs;
  note(
    `${(probe && mode === 'hawk' ? `${mode} probe` : mode).padEnd(12)} c=${String(concurrency).padEnd(4)} ${String(result.sitesPerSecond).padStart(7)} sites/s  ${result.done}/${sites} done, ${result.failed} failed` +
      `${off ? `, ${off} sites NOT verified` : ''}  conversation p50 ${conv?.p50 ?? '-'} ms p99 ${conv?.p99 ?? '-'} ms` +
      `  hub RSS ${mib(result.hub.maxRssKiB)} MiB, CPU ${(result.hub.cpuMs / 1000).toFixed(1)} s (ELU ${result.hub.elu}); sim CPU ${(simStats.cpuMs / 1000).toFixed(1)} s (ELU ${simStats.elu})` +
      (mode === 'hawk'
        ? `  publish ${result.publishMs} ms, time to patch ${(result.patchMs / 1000).toFixed(1)} s, registry ${(result.registryTotalMs / 1000).toFixed(1)} s`
        : '') +
      (result.failures && Object.keys(result.failures.codes).length
        ? `; failed attempts ${JSON.stringify(result.failures.codes)}, retries ${result.failures.retries}`
        : '') +
      (result.tail
        ? `; tail: last ${result.tail.sites} sites took ${(result.tail.ms / 1000).toFixed(1)} s, ${result.tail.claimPolls} empty-claim polls (${(result.tail.registryPollMs / 1000).toFixed(1)} s of registry)`
        : ''),
  );
  return { result, entry };
}

const hawkRuns = [];
for (const c of CONCURRENCIES) hawkRuns.push(await run('hawk', c));
const complete = hawkRuns.filter((r) => r.entry.complete);
const best = (complete.length ? complete : hawkRuns).reduce((a, b) => (b.result.sitesPerSecond > a.result.sitesPerSecond ? b : a));
const indexJson = best.result.indexJson;
const simAfterHawk = await ask({ cmd: 'stats' }, 'stats');
const plainRuns = [];
for (const c of CONCURRENCIES) plainRuns.push(await run('plain', c, { indexJson }));
let plainVerify = null;
if (PLAIN_VERIFY) plainVerify = await run('plain-verify', best.result.concurrency, { indexJson }, PLAIN_VERIFY_SITES < N ? PLAIN_VERIFY_SITES : 0);
// Unloaded: the first PROBE sites, one conversation at a time (what a site waits when the hub is idle).
const probeRun = await run('hawk', 1, {}, PROBE);
const simEnd = await ask({ cmd: 'stats' }, 'stats');
const verifyCost = await ask({ cmd: 'verify-cost', file: BUNDLE, times: 20 }, 'verify-cost');
finished = true;
sim.send({ cmd: 'exit' });
await simExited;
rmSync(join(WORK, 'spool'), { recursive: true, force: true });

// --- Results ---------------------------------------------------------------------------------
const plainAtBest = plainRuns.find((r) => r.result.concurrency === best.result.concurrency);
const r3 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);
const b = best.result;
const results = {
  what: `push of one Highly Critical release to ${N} simulated sites on loopback (one simulator process, ${PORTS} port(s), routed by path), countersign vs plain HTTP`,
  node: process.version,
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? null,
  sites: N,
  ports: PORTS,
  concurrencies: CONCURRENCIES,
  bundle: { bytes: bundleBytes, release: 'drupal core 10.2.3 -> 10.2.4 (demo/sample), risk 24/25 Highly Critical, 3 of 5 signatures' },
  setup: {
    releaseMs: Math.round(releaseMs),
    simulatorSetupMs: ready.setupMs,
    simulatorRssKiB: {
      beforeSites: ready.baselineRssKiB,
      afterSites: ready.rssKiB,
      perSiteBytes: Math.round(((ready.rssKiB - ready.baselineRssKiB) * 1024) / N),
    },
    registryFillMs: Math.round(registryFillMs),
  },
  runs,
  chosen: {
    concurrency: b.concurrency,
    why: `highest countersign sites/s among concurrencies ${CONCURRENCIES.join(', ')}${complete.length ? '' : ' (NO run was complete)'}`,
  },
  summary: {
    complete: best.entry.complete,
    concurrency: b.concurrency,
    sitesPerSecond: b.sitesPerSecond,
    conversationMs: b.conversationMs,
    hubMaxRssKiB: b.hub.maxRssKiB,
    hubCpuMs: b.hub.cpuMs,
    simulatorMaxRssKiB: simAfterHawk.maxRssKiB,
    simulatorMaxRssKiBEnd: simEnd.maxRssKiB,
    simulatorCpuMs: best.entry.simulator.cpuMs,
    publishMs: b.publishMs,
    timeToPatchSeconds: r3(b.patchMs / 1000),
    registryMsPerSite: r3(b.registryTotalMs / N),
    tail: b.tail,
    unloadedConversationMs: probeRun.result.conversationMs,
    unloadedProbeSites: PROBE,
    plainSitesPerSecond: plainAtBest?.result.sitesPerSecond ?? null,
    plainConversationMs: plainAtBest?.result.conversationMs ?? null,
    plainHubMaxRssKiB: plainAtBest?.result.hub.maxRssKiB ?? null,
    plainVerifySitesPerSecond: plainVerify?.result.sitesPerSecond ?? null,
    plainVerifyConversationMs: plainVerify?.result.conversationMs ?? null,
    // Time ratios (countersign / plain): how many times longer the same fan-out takes.
    ratioCountersignOverPlain: plainAtBest ? r3(plainAtBest.result.sitesPerSecond / b.sitesPerSecond) : null,
    ratioCountersignOverPlainVerify: plainVerify ? r3(plainVerify.result.sitesPerSecond / b.sitesPerSecond) : null,
    ratioPlainVerifyOverPlain: plainVerify && plainAtBest ? r3(plainAtBest.result.sitesPerSecond / plainVerify.result.sitesPerSecond) : null,
  },
  // What one site pays to verify the bundle (the simulator verifies each distinct bundle once and only hashes repeats unless BENCH_PUSH_VERIFY_CACHE=0).
  siteVerify: {
    cache: VERIFY_CACHE,
    fullVerifications: simEnd.verify?.real ?? null,
    msPerFullVerification: simEnd.verify?.real ? r3(simEnd.verify.realMs / simEnd.verify.real) : null,
    cachedVerifications: simEnd.verify?.cached ?? null,
    msPerSequentialVerification: r3(verifyCost.msPerVerify),
  },
  // Other work on the machine skews every number here; the 1-minute load average says how much there was.
  loadAverage: { before: loadBefore, after: loadavg().map((x) => Math.round(x * 100) / 100) },
  elapsedMs: Math.round(performance.now() - started),
};
writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
note(`section 6 took ${(results.elapsedMs / 1000).toFixed(1)} s; wrote ${OUT}`);
if (!best.entry.complete) {
  console.error('WARNING: the chosen countersign run did not reach every site (see runs[] in the JSON)');
}

/** BENCH_PUSH_PROFILE=DIR: CPU profiles of the hub (one per run) and of the simulator in DIR (summarise with bench/cpuprof-summary.mjs). */
function profileArgs(name) {
  const dir = process.env.BENCH_PUSH_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

function mib(kib) {
  return (kib / 1024).toFixed(1);
}
