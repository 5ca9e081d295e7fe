// The site simulator of bench section 6 (bench/push-sim.mjs forks it): N simulated site endpoints in
// ONE process, on one or a few loopback ports, routed by path prefix. Three families of routes:
//
//   /s/<i>/countersign/{index,package}  the library's siteRequestHandler: Hawk, message schemas, its own
//                                       32-byte key, NonceCache, AuthLimits and SiteAgent per site; the
//                                       backend verifies the bundle (verifyBundle with the trusted policy
//                                       and site state drupal core 10.2.3; bytes already verified in this
//                                       process are only hashed, see verifyFile) and reports 'verified';
//                                       the endpoint then removes the spooled file.
//   /p/<i>/{index,package}              plain HTTP: no Hawk, no verification; reads the body, answers the
//                                       same JSON bytes a countersign site would.
//   /v/<i>/{index,package}              plain HTTP + verification: the package is spooled to a file
//                                       (written, not fsynced, as the library's endpoint does), verified
//                                       as above, unlinked; same JSON answers.
//
// Keys and ids are derived from a seed (HMAC-SHA256), so the hub side can register the same sites
// without 10,000 keys crossing a pipe. Driven over the fork IPC channel:
//   {cmd:'stats'}                  → CPU time, event-loop utilization, RSS, counters
//   {cmd:'check', mode, below?}    → how many sites did NOT verify (receive, for plain) exactly once since
//                                   the last check of that mode (with `below`: only sites numbered below it)
//   {cmd:'verify-cost', file, times} → ms per full verifyBundle of `file`, run `times` times in a row
//   {cmd:'exit'}
//
//   node bench/push-sites.mjs (forked; configuration in argv[2] as JSON)
import { mkdirSync, readFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { siteBase, siteId, siteKey } from './push-keys.mjs';

const cfg = JSON.parse(process.argv[2]);
const { sites: N, ports: PORTS, seed, policy, spoolDir } = cfg;
const dist = new URL('../dist/lib/', import.meta.url);
const { listen } = await import(new URL('distribution/listen.js', dist));
const { siteRequestHandler } = await import(new URL('site/endpoint.js', dist));
const { SiteAgent } = await import(new URL('site/agent.js', dist));
const { loadTrustedPolicy } = await import(new URL('core/policy.js', dist));
const { verifyBundle } = await import(new URL('core/verify.js', dist));
const { openBundleFile } = await import(new URL('node/bundle-file.js', dist));
const { stringifyForOutput } = await import(new URL('core/json.js', dist));

const baselineRss = process.memoryUsage().rss;
const setupStart = performance.now();
mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
const trusted = loadTrustedPolicy(readFileSync(policy));
const SITE = { product: 'drupal', component: 'core', installed: '10.2.3' };
const INSTALLED = [{ product: 'drupal', component: 'core', version: '10.2.3' }];
const counts = { hawk: new Uint32Array(N), plain: new Uint32Array(N), 'plain-verify': new Uint32Array(N) };
const snapshots = {};
const totals = { verified: 0, rejected: 0, plainReceived: 0, errors: 0 };
let spoolSeq = 0;

/** verifyBundle as a site would, against the trusted policy and drupal core 10.2.3; throws on rejection. */
async function verifyReally(file) {
  const t0 = performance.now();
  const input = await openBundleFile(file);
  try {
    await verifyBundle(input, { trusted, now: new Date(), site: SITE });
  } finally {
    await input.close();
    verifyStats.real += 1;
    verifyStats.realMs += performance.now() - t0;
  }
}

// The simulator's own shortcut, not a site's: 10,000 sites share one process and one bundle, so bytes already
// verified here (same SHA-256) are not verified again; a real site verifies every bundle it receives, and pays
// verifyStats.realMs / verifyStats.real for it (reported). cfg.verifyCache === false verifies every time.
const verifiedDigests = new Set();
const verifyStats = { real: 0, realMs: 0, cached: 0 };
async function verifyFile(file) {
  if (cfg.verifyCache === false) return verifyReally(file);
  // Read synchronously: a spooled bench bundle is 6.5 KB, and the promise readFile is four thread-pool round trips.
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (verifiedDigests.has(digest)) {
    verifyStats.cached += 1;
    return;
  }
  await verifyReally(file);
  verifiedDigests.add(digest);
}

function hawkSite(i, ports) {
  const id = siteId(seed, i);
  const key = siteKey(seed, i);
  const backend = {
    async installed() {
      return INSTALLED;
    },
    async take(entry, file) {
      try {
        await verifyFile(file);
        counts.hawk[i] += 1;
        totals.verified += 1;
        return { name: entry.name, status: 'verified' };
      } catch (err) {
        totals.rejected += 1;
        return { name: entry.name, status: 'rejected', code: err.code ?? 'IO', message: String(err.message).slice(0, 1000) };
      }
    },
  };
  const agent = new SiteAgent(backend, { minRisk: null });
  return siteRequestHandler({
    endpoint: new URL(siteBase(ports, i, 's')),
    credentials: async () => ({ id, key }),
    agent,
    spoolDir,
    maxBundleBytes: 64 * 1024 * 1024,
    log: (e) => {
      if (e.event === 'error' || e.event === 'auth-failed') totals.errors += 1;
    },
  });
}

async function readBody(req, max) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > max) throw new Error('too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function spoolBody(req, max) {
  const file = join(spoolDir, `p${process.pid}-${spoolSeq++}.bundle`);
  const fh = await open(file, 'wx', 0o600);
  let size = 0;
  try {
    for await (const chunk of req) {
      size += chunk.length;
      if (size > max) throw new Error('too large');
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  return file;
}

function replyPlain(res, value) {
  const body = Buffer.from(stringifyForOutput(value));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

// The plain endpoints keep the one thing the protocol needs to answer: the offer asked for, per site.
const plainWanted = new Array(N);
async function plainSite(mode, i, route, req, res) {
  if (req.method !== 'POST') return void res.writeHead(404).end();
  if (route === 'index') {
    const index = JSON.parse((await readBody(req, 4 * 1024 * 1024)).toString('utf8'));
    const offer = index.offers[0];
    plainWanted[i] = offer.name;
    return replyPlain(res, { type: 'want', name: offer.name });
  }
  if (route.startsWith('package')) {
    const name = plainWanted[i];
    if (mode === 'p') {
      await readBody(req, 64 * 1024 * 1024);
      counts.plain[i] += 1;
      totals.plainReceived += 1;
      return replyPlain(res, { type: 'done', results: [{ name, status: 'verified' }] });
    }
    const file = await spoolBody(req, 64 * 1024 * 1024);
    try {
      await verifyFile(file);
      counts['plain-verify'][i] += 1;
      totals.verified += 1;
      return replyPlain(res, { type: 'done', results: [{ name, status: 'verified' }] });
    } catch (err) {
      totals.rejected += 1;
      return replyPlain(res, { type: 'done', results: [{ name, status: 'rejected', code: err.code ?? 'IO' }] });
    } finally {
      await unlink(file);
    }
  }
  res.writeHead(404).end();
}

// One server per port; site i lives on port i % PORTS.
const handlers = new Array(N);
const ROUTE = /^\/([spv])\/(\d+)\/(.*)$/;
const servers = [];
for (let p = 0; p < PORTS; p++) {
  const server = await listen(
    async (req, res) => {
      const m = ROUTE.exec(req.url ?? '');
      const i = m ? Number(m[2]) : -1;
      if (!m || i >= N) return void res.writeHead(404, { connection: 'close' }).end();
      if (m[1] === 's') return handlers[i](req, res);
      return plainSite(m[1], i, m[3], req, res);
    },
    { host: '127.0.0.1', port: 0 },
  );
  servers.push(server);
}
const ports = servers.map((s) => s.port);
for (let i = 0; i < N; i++) handlers[i] = hawkSite(i, ports);
const setupMs = performance.now() - setupStart;

let lastCpu = process.cpuUsage();
let lastElu = performance.eventLoopUtilization();
process.on('message', async (msg) => {
  if (msg.cmd === 'stats') {
    const cpu = process.cpuUsage(lastCpu);
    const elu = performance.eventLoopUtilization(lastElu);
    lastCpu = process.cpuUsage();
    lastElu = performance.eventLoopUtilization();
    process.send({
      type: 'stats',
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      elu: Math.round(elu.utilization * 1000) / 1000,
      rssKiB: Math.round(process.memoryUsage().rss / 1024),
      maxRssKiB: process.resourceUsage().maxRSS,
      heapUsedKiB: Math.round(process.memoryUsage().heapUsed / 1024),
      totals: { ...totals },
      verify: { ...verifyStats, realMs: Math.round(verifyStats.realMs) },
    });
  } else if (msg.cmd === 'check') {
    // Since the last check of this mode: every site (or, with `below`, exactly the sites numbered below it) once.
    const c = counts[msg.mode];
    const before = (snapshots[msg.mode] ??= new Uint32Array(N));
    let off = 0;
    for (let i = 0; i < N; i++) if (c[i] - before[i] !== (msg.below === undefined || i < msg.below ? 1 : 0)) off += 1;
    before.set(c);
    process.send({ type: 'check', off });
  } else if (msg.cmd === 'verify-cost') {
    // What one site pays: the bundle verified in full, one after another (a site verifies once per received bundle).
    const t0 = performance.now();
    for (let k = 0; k < msg.times; k++) await verifyReally(msg.file);
    process.send({ type: 'verify-cost', msPerVerify: (performance.now() - t0) / msg.times });
  } else if (msg.cmd === 'exit') {
    for (const s of servers) await s.close();
    process.exit(0);
  }
});
process.send({
  type: 'ready',
  ports,
  setupMs: Math.round(setupMs),
  baselineRssKiB: Math.round(baselineRss / 1024),
  rssKiB: Math.round(process.memoryUsage().rss / 1024),
});
