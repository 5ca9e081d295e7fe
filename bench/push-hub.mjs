// The hub side of bench section 6 (bench/push-sim.mjs spawns one of these per run, so each run's hub
// peak RSS is its own). Prints one JSON line on stdout.
//
// mode 'hawk': a fresh copy of the registry template (N sites, added with addSite), a trust store,
//   then, timed from here: publishBundle (verifies the quorum) and runPush to every site, with a
//   keep-alive http.Agent; "time to patch" is publish start -> campaign end.
// mode 'plain' / 'plain-verify': the same fan-out without countersign: a pool of `concurrency` workers,
//   same keep-alive agent, POSTs the same index bytes and then the same bundle bytes (streamed from
//   the file, as runPush does) to each site's plain endpoint; no Hawk, no registry.
//
//   node bench/push-hub.mjs CONFIG-JSON
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { siteBase } from './push-keys.mjs';

const cfg = JSON.parse(process.argv[2]);
const { mode, concurrency, sites: N, ports } = cfg;
const dist = new URL('../dist/lib/', import.meta.url);
const eluStart = performance.eventLoopUtilization();
const cpuStart = process.cpuUsage();
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const progress = { finished: 0 };
// The tail: from the first claim that comes back empty (nothing left to lease) to the campaign's end.
const tail = { start: null, finishedBefore: 0, polls: 0, pollMs: 0 };
const ticker = setInterval(() => process.stderr.write(`   [hub ${mode} c=${concurrency}] ${progress.finished}/${N} sites\n`), 15_000);

/** Every method a registry has (its class's prototype), so a method added to the interface is timed too. */
function registryMethods(registry) {
  const proto = Object.getPrototypeOf(registry);
  return Object.getOwnPropertyNames(proto).filter((name) => name !== 'constructor' && typeof proto[name] === 'function');
}

/** The registry with the synchronous time of each call counted (better-sqlite3 blocks the event loop for exactly that long). */
function timedRegistry(registry, acc) {
  const wrapped = { kind: registry.kind };
  for (const name of registryMethods(registry)) {
    wrapped[name] = (...args) => {
      const t = performance.now();
      let result;
      try {
        return (result = registry[name](...args));
      } finally {
        const ms = performance.now() - t;
        const a = (acc[name] ??= { calls: 0, ms: 0 });
        a.calls += 1;
        a.ms += ms;
        if (name === 'finishDelivery') progress.finished += 1;
        if (tail.start !== null && (name === 'claimDeliveries' || name === 'campaignProgress' || name === 'nextDue')) {
          tail.polls += name === 'claimDeliveries' ? 1 : 0;
          tail.pollMs += ms;
        }
        if (name === 'claimDeliveries') {
          void result?.then((claims) => {
            if (claims.length === 0 && tail.start === null) {
              tail.start = performance.now();
              tail.finishedBefore = progress.finished;
            }
          });
        }
      }
    };
  }
  return wrapped;
}

async function hawkRun() {
  const { openRegistry } = await import(new URL('hub/open-registry.js', dist));
  const { publishBundle } = await import(new URL('hub/publish.js', dist));
  const { runPush } = await import(new URL('hub/push.js', dist));
  const { indexEntry } = await import(new URL('hub/server.js', dist));
  const { initStore } = await import(new URL('node/trust-store.js', dist));
  await mkdir(cfg.dir, { recursive: true });
  const db = join(cfg.dir, 'hub.db');
  await copyFile(cfg.template, db);
  const storeDir = join(cfg.dir, 'trust');
  await initStore(storeDir, await readFile(cfg.policy), { now: new Date() });
  const registryMs = {};
  const registry = timedRegistry(await openRegistry(`sqlite:${db}`), registryMs);
  const bundlesDir = join(cfg.dir, 'bundles');
  const failedAttempts = {};

  const t0 = performance.now();
  const published = await publishBundle(registry, { bundlePath: cfg.bundle, bundlesDir, storeDir, now: new Date() });
  const publishMs = performance.now() - t0;
  const summary = await runPush({
    registry,
    bundlesDir,
    concurrency,
    minRisk: 'Highly Critical',
    allowPrivate: true,
    maxAttempts: 3,
    retryBaseMs: 500,
    agent,
    log: (e) => {
      if (e.event === 'delivery-failed')
        failedAttempts[`${e.code}${e.final ? ' (final)' : ''}`] = (failedAttempts[`${e.code}${e.final ? ' (final)' : ''}`] ?? 0) + 1;
    },
  });
  const patchMs = performance.now() - t0;
  const tailMs = tail.start === null ? null : performance.now() - tail.start;
  const index = { type: 'index', campaign: summary.campaign, offers: [indexEntry(published.offer)] };
  // After the clock stopped: what the failed attempts were (a sample of final messages) and how many retries.
  const deliveries = await registry.deliveryResults(summary.campaign);
  const failures = {
    codes: failedAttempts,
    retries: deliveries.reduce((a, d) => a + d.attempts - 1, 0),
    sample: deliveries
      .filter((d) => d.state === 'failed')
      .slice(0, 3)
      .map((d) => d.result),
  };
  await registry.close();
  return {
    offer: { name: published.offer.name, size: published.offer.size, risk: published.offer.risk?.level ?? null, outcome: published.outcome },
    publishMs: round(publishMs),
    campaignMs: summary.elapsedMs,
    patchMs: round(patchMs),
    total: summary.total,
    done: summary.done,
    failed: summary.failed,
    pending: summary.pending,
    sitesPerSecond: round(summary.rate),
    conversationMs: summary.conversationMs,
    packages: summary.packages,
    registryMs: Object.fromEntries(Object.entries(registryMs).map(([k, v]) => [k, { calls: v.calls, ms: round(v.ms) }])),
    registryTotalMs: round(Object.values(registryMs).reduce((a, v) => a + v.ms, 0)),
    failures,
    tail:
      tailMs === null
        ? null
        : { ms: round(tailMs), sites: summary.done + summary.failed - tail.finishedBefore, claimPolls: tail.polls, registryPollMs: round(tail.pollMs) },
    indexJson: JSON.stringify(index),
    campaign: summary.campaign,
  };
}

/** One plain POST; resolves with the parsed JSON answer. */
function post(url, contentType, body) {
  return new Promise((resolve, reject) => {
    const size = typeof body === 'string' ? cfg.bundleSize : body.length;
    const req = http.request(url, { method: 'POST', agent, timeout: 30_000, headers: { 'content-type': contentType, 'content-length': size } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
    if (typeof body === 'string') {
      const stream = createReadStream(body);
      stream.once('error', (err) => req.destroy(err));
      stream.pipe(req);
    } else req.end(body);
  });
}

async function plainRun() {
  const family = mode === 'plain' ? 'p' : 'v';
  const indexBytes = Buffer.from(cfg.indexJson, 'utf8');
  const index = JSON.parse(cfg.indexJson);
  const query = new URLSearchParams({ campaign: index.campaign, name: index.offers[0].name });
  cfg.bundleSize = (await stat(cfg.bundle)).size;
  const durations = [];
  let next = 0;
  let done = 0;
  let failed = 0;
  const statuses = {};
  const t0 = performance.now();
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const base = siteBase(ports, i, family);
      const s = performance.now();
      try {
        const want = await post(`${base}index`, 'application/json', indexBytes);
        if (want.type !== 'want') throw new Error(`site ${i} answered ${want.type}`);
        const reply = await post(`${base}package?${query}`, 'application/vnd.countersign.bundle', cfg.bundle);
        if (reply.type !== 'done') throw new Error(`site ${i} answered ${reply.type}`);
        for (const r of reply.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        durations.push(performance.now() - s);
        done += 1;
      } catch (err) {
        failed += 1;
        if (failed <= 3) process.stderr.write(`   [hub ${mode}] site ${i}: ${err.message}\n`);
      }
      progress.finished += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  durations.sort((a, b) => a - b);
  const at = (q) => round(durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]);
  return {
    campaignMs: round(elapsedMs),
    total: N,
    done,
    failed,
    sitesPerSecond: round(done / (elapsedMs / 1000)),
    conversationMs: durations.length ? { p50: at(0.5), p99: at(0.99), max: round(durations.at(-1)) } : null,
    packages: statuses,
  };
}

function round(x, d = 1) {
  return Math.round(x * 10 ** d) / 10 ** d;
}

const result = mode === 'hawk' ? await hawkRun() : await plainRun();
clearInterval(ticker);
agent.destroy();
const cpu = process.cpuUsage(cpuStart);
const elu = performance.eventLoopUtilization(eluStart);
process.stdout.write(
  JSON.stringify({
    mode,
    concurrency,
    ...result,
    hub: {
      maxRssKiB: process.resourceUsage().maxRSS,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      elu: Math.round(elu.utilization * 1000) / 1000,
    },
  }) + '\n',
);
