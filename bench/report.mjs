// Collects the bench outputs in DIR (bench/out) into one table and DIR/results.json.
// Report only: targets are shown next to the ratios, nothing fails.
//
//   node bench/report.mjs DIR
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'bench/out';
const load = (name) => (existsSync(join(dir, name)) ? JSON.parse(readFileSync(join(dir, name), 'utf8')) : null);

const meta = load('meta.json');
const verifyRaw = load('verify.hyperfine.json');
const buildRaw = load('build.hyperfine.json');
const applyRaw = load('apply.hyperfine.json');
const memory = load('memory.json');
const phases = load('verify.phases.json');
const verifyProf = load('verify.cpuprof.json');
const buildProf = load('build.cpuprof.json');
const push = load('push.json'); // section 6 (bench/push-sim.mjs)
const startupRaw = load('startup.hyperfine.json'); // section 7
const startupPhases = load('startup.phases.json'); // section 7 (bench/startup-phases.cjs)
const logBench = load('log.json'); // section 8 (bench/log.mjs)
const mapBench = load('map.json'); // section 9 (bench/map.mjs)

const ms = (s) => Math.round(s * 1e5) / 100; // seconds -> ms, 2 decimals
function commands(raw) {
  return (raw?.results ?? []).map((r) => ({
    name: r.command,
    command: r.cmd ?? r.command,
    meanMs: ms(r.mean),
    stddevMs: ms(r.stddev ?? 0),
    medianMs: ms(r.median),
    minMs: ms(r.min),
    maxMs: ms(r.max),
    runs: r.times?.length ?? null,
  }));
}
const round = (x, d = 2) => (x === null || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
function ratio(list, num, den, target) {
  const a = list.find((c) => c.name === num);
  const b = list.find((c) => c.name === den);
  if (!a || !b) return null;
  const value = round(a.meanMs / b.meanMs, 3);
  return { value, of: `${num} / ${den} (mean times)`, ...(target !== undefined ? { target, meetsTarget: value <= target } : {}) };
}

const verify = commands(verifyRaw);
const build = commands(buildRaw);
const apply = commands(applyRaw);
const startup = commands(startupRaw);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : null;
};
const rss64 = memory ? median(memory.runs64.map((r) => r.maxRssKiB)) : null;
const rss1g = memory && memory.runs1g.length ? median(memory.runs1g.map((r) => r.maxRssKiB)) : null;
const secs1g = memory && memory.runs1g.length ? median(memory.runs1g.map((r) => r.seconds)) : null;
const rss64NoOpt = memory?.runs64NoOpt?.length ? median(memory.runs64NoOpt.map((r) => r.maxRssKiB)) : null;
const rss1gNoOpt = memory?.runs1gNoOpt?.length ? median(memory.runs1gNoOpt.map((r) => r.maxRssKiB)) : null;

const results = {
  meta,
  verify: {
    what: 'whole-process time to verify a 64 MiB archive: countersign bundle (3-of-5 policy, 3 signatures) vs one minisign signature vs a bare hash',
    commands: verify,
    ratios: {
      // Target 2 (issue 11): exactly one hashing pass over the archive, so within 15% of Node hashing the file once.
      countersignOverNodeSha256: ratio(verify, 'countersign verify', 'node SHA-256 pass (1 MiB buffer)', 1.15),
      countersignOverMinisign: ratio(verify, 'countersign verify', 'minisign -Vm', 1.0),
      countersignOverSha256sum: ratio(verify, 'countersign verify', 'sha256sum'),
      countersignOverOpensslSha256: ratio(verify, 'countersign verify', 'openssl dgst -sha256 (context)'),
    },
  },
  build: {
    what: 'build a release from a tree of 20,000 files / 60,000,000 bytes',
    commands: build,
    ratios: {
      countersignOverTarSha256sum: ratio(build, 'countersign build', 'tar cf + sha256sum', 1.5),
      countersignOverTarFsyncSha256sum: ratio(build, 'countersign build', 'tar cf + fsync + sha256sum (context)'),
    },
  },
  apply: {
    what: 'apply a 500-file update (400 modified, 50 added, 50 deleted) to a 20,000-file site: verify + preflight + staged, journaled commit, vs rsync of the changed files',
    commands: apply,
    ratios: {
      countersignOverRsync: ratio(apply, 'countersign apply', 'rsync changed files', 1.5),
      countersignOverRsyncFsync: ratio(apply, 'countersign apply', 'rsync --fsync changed files'),
    },
  },
  memory: memory && {
    what: 'max RSS of `countersign verify` (median of 3 runs, /usr/bin/time -f %M)',
    bundle64MiB: { maxRssKiB: rss64, runs: memory.runs64 },
    bundle1GiB: memory.skipped1g ? { skipped: memory.skipped1g } : { maxRssKiB: rss1g, medianSeconds: secs1g, runs: memory.runs1g },
    ratio1GiBOver64MiB: rss1g && rss64 ? { value: round(rss1g / rss64, 3), target: 1.1, meetsTarget: rss1g / rss64 <= 1.1 } : null,
    // Context: node --no-opt, without the optimizing compiler's one-time step that only the long run takes.
    noOpt: rss64NoOpt && rss1gNoOpt ? { bundle64MiBKiB: rss64NoOpt, bundle1GiBKiB: rss1gNoOpt, ratio1GiBOver64MiB: round(rss1gNoOpt / rss64NoOpt, 3) } : null,
  },
  push: push && (push.skipped ? { skipped: push.skipped } : push),
  startup: startup.length
    ? {
        what: 'whole-process start-up of the CLI vs a bare node (NODE_EXTRA_CA_CERTS unset): --version, verify of the demo release (3-of-5), inspect of a public key',
        commands: startup,
        ratios: {
          versionOverNode: ratio(startup, 'countersign --version', 'node -e 0'),
          verifyOverNode: ratio(startup, 'countersign verify (demo bundle)', 'node -e 0', 2.0),
          inspectOverNode: ratio(startup, 'countersign inspect alice.pub', 'node -e 0'),
          uncachedVerifyOverNode: ratio(startup, 'countersign verify, no code cache (context)', 'node -e 0'),
        },
        // CPU (user + system) per process: steadier than wall time on a machine other work is loading.
        cpuMsPerProcess: Object.fromEntries((startupRaw?.results ?? []).map((r) => [r.command, ms((r.user ?? 0) + (r.system ?? 0))])),
        phases: startupPhases,
      }
    : null,
  profile: {
    verifyPhases: phases,
    verifyCpuProfile: verifyProf && {
      wallMs: verifyProf.wallMs,
      byArea: verifyProf.byArea.slice(0, 12),
      topSelf: verifyProf.topSelf,
      inclusive: verifyProf.inclusive,
    },
    buildCpuProfile: buildProf && {
      wallMs: buildProf.wallMs,
      byArea: buildProf.byArea.slice(0, 12),
      topSelf: buildProf.topSelf,
      inclusive: buildProf.inclusive,
    },
  },
};
if (logBench) results.log = logBench;
if (mapBench) results.map = mapBench;
writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');

// ---- table ----------------------------------------------------------------------------------
const W = 44;
const fmt = (x) => (x === null || x === undefined ? '-' : x.toFixed(1));
const ratioText = (r) =>
  r ? `${r.value.toFixed(2)}x${r.target !== undefined ? `  (target <= ${r.target.toFixed(2)}: ${r.meetsTarget ? 'met' : 'NOT met'})` : ''}` : '-';
function section(title, list, base) {
  const lines = [
    title,
    `  ${'command'.padEnd(W)} ${'mean ms'.padStart(9)} ${'± sd'.padStart(7)} ${'median'.padStart(8)} ${'min'.padStart(8)}   ${base} / this`,
  ];
  const b = list.find((c) => c.name === base);
  for (const c of list) {
    const r = b && c !== b ? `${(b.meanMs / c.meanMs).toFixed(2)}x` : '';
    lines.push(
      `  ${c.name.padEnd(W)} ${fmt(c.meanMs).padStart(9)} ${fmt(c.stddevMs).padStart(7)} ${fmt(c.medianMs).padStart(8)} ${fmt(c.minMs).padStart(8)}   ${r}`,
    );
  }
  return lines;
}
const out = [];
out.push(
  `countersign bench  ${meta?.date ?? ''}  node ${meta?.node ?? '?'}  ${meta?.cores ?? '?'} cores  ${meta?.cpu ?? ''}${meta?.shaExtensions === undefined ? '' : meta.shaExtensions ? ' (SHA extensions)' : ' (no SHA extensions)'}  [${meta?.timer ?? ''}; ${meta?.runs} runs, ${meta?.warmup} warm-up]`,
);
out.push('');
out.push(...section('1. Verify, 64 MiB archive (whole process, page cache warm)', verify, 'countersign verify'));
out.push(`  ratio countersign / one Node SHA-256 pass = ${ratioText(results.verify.ratios.countersignOverNodeSha256)}`);
out.push(`  ratio countersign / minisign   = ${ratioText(results.verify.ratios.countersignOverMinisign)}`);
out.push(`  ratio countersign / sha256sum  = ${ratioText(results.verify.ratios.countersignOverSha256sum)}`);
out.push('');
out.push(...section('2. Build, 20,000 files / 60 MB (whole process; output removed before each run)', build, 'countersign build'));
out.push(`  ratio countersign / (tar + sha256sum) = ${ratioText(results.build.ratios.countersignOverTarSha256sum)}`);
out.push('');
out.push('3. Peak memory of verify (max RSS, median of 3 runs)');
out.push(`  64 MiB bundle: ${rss64 === null ? '-' : `${(rss64 / 1024).toFixed(1)} MiB`}`);
out.push(`  1 GiB bundle:  ${memory?.skipped1g ? memory.skipped1g : rss1g === null ? '-' : `${(rss1g / 1024).toFixed(1)} MiB  (verify took ${secs1g} s)`}`);
out.push(`  ratio 1 GiB / 64 MiB = ${ratioText(results.memory?.ratio1GiBOver64MiB)}`);
if (results.memory?.noOpt) {
  const n = results.memory.noOpt;
  out.push(
    `  context, node --no-opt: ${(n.bundle64MiBKiB / 1024).toFixed(1)} / ${(n.bundle1GiBKiB / 1024).toFixed(1)} MiB = ${n.ratio1GiBOver64MiB.toFixed(2)}x` +
      ' (what remains when V8 never compiles the read loop with TurboFan, a step of a few MiB that only a long verify takes)',
  );
}
if (apply.length) {
  out.push('');
  out.push(...section('5. Apply a 500-file update to a 20,000-file site (fresh copy before each run)', apply, 'countersign apply'));
  out.push(
    `  ratio countersign apply / rsync = ${ratioText(results.apply.ratios.countersignOverRsync)}; / rsync --fsync = ${ratioText(results.apply.ratios.countersignOverRsyncFsync)}`,
  );
}
if (phases) {
  out.push('');
  out.push('4. Verify phases, 64 MiB bundle (one fresh process replaying the CLI path; bench/phases.mjs)');
  for (const p of phases.phases) out.push(`  ${p.phase.slice(0, 96).padEnd(96)} ${p.ms.toFixed(1).padStart(7)} ms`);
  out.push(`  ${'in-process total'.padEnd(96)} ${phases.inProcessTotalMs.toFixed(1).padStart(7)} ms`);
}
if (push) out.push('', ...pushSection(push));
if (startup.length) {
  out.push('', ...section('7. Start-up (whole process, vs a bare node start)', startup, 'node -e 0'));
  out.push(`  ratio verify (demo bundle) / node -e 0 = ${ratioText(results.startup.ratios.verifyOverNode)}`);
  out.push(
    `  ratio --version / node -e 0 = ${ratioText(results.startup.ratios.versionOverNode)}; inspect / node -e 0 = ${ratioText(results.startup.ratios.inspectOverNode)}`,
  );
  const cpu = results.startup.cpuMsPerProcess;
  const base = cpu['node -e 0'];
  const cpuText = Object.entries(cpu).map(([k, v]) => `${k} ${fmt(v)} ms${base && k !== 'node -e 0' ? ` (${(v / base).toFixed(2)}x)` : ''}`);
  out.push(`  CPU (user + sys) per process: ${cpuText.join('; ')}`);
  if (startupPhases) {
    const p = startupPhases.medianMs;
    out.push(
      `  the small verify, phase by phase (median of ${startupPhases.runs}; bench/startup-phases.cjs): node ${fmt(p.node)} ms, loader ${fmt(p.loader)} ms, ` +
        `script (read, hash, compile or deserialise, top level) ${fmt(p.script)} ms, command ${fmt(p.command)} ms; code cache ${startupPhases.cached ? 'taken' : 'NOT taken'}`,
    );
  }
}
if (logBench) out.push('', ...logSection(logBench));
if (mapBench) out.push('', ...mapSection(mapBench));
console.log(out.join('\n'));
console.log(`\nwrote ${join(dir, 'results.json')}`);

// ---- section 6: push distribution ------------------------------------------------------------
function pushSection(p) {
  if (p.skipped) return ['6. Push distribution', `  ${p.skipped}`];
  const s = p.summary;
  const mibText = (kib) => (kib === null || kib === undefined ? '-' : `${(kib / 1024).toFixed(1)} MiB`);
  const num = (x, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
  const label = { hawk: 'countersign (Hawk + verify)', plain: 'plain HTTP', 'plain-verify': 'plain HTTP + verify' };
  const lines = [
    `6. Push one Highly Critical release to ${p.sites.toLocaleString('en-US')} simulated sites on loopback (bundle ${p.bundle.bytes} bytes; node ${p.node}; ${p.cores} cores; ${p.ports} port(s); load avg ${p.loadAverage?.before?.[0] ?? '?'} -> ${p.loadAverage?.after?.[0] ?? '?'})`,
    `  ${'run'.padEnd(36)} ${'conc'.padStart(4)} ${'sites/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'hub RSS'.padStart(10)} ${'hub CPU s'.padStart(9)} ${'sim CPU s'.padStart(9)}  done/failed`,
  ];
  for (const r of p.runs) {
    const name =
      r.probe && r.mode === 'hawk'
        ? `countersign, unloaded (${r.sites} sites)`
        : `${label[r.mode] ?? r.mode}${r.sites !== p.sites ? ` (${r.sites} sites)` : ''}`;
    lines.push(
      `  ${name.padEnd(36)} ${String(r.concurrency).padStart(4)} ${num(r.sitesPerSecond).padStart(8)} ${num(r.conversationMs?.p50).padStart(8)} ${num(r.conversationMs?.p99).padStart(8)} ${mibText(r.hub.maxRssKiB).padStart(10)} ${num(r.hub.cpuMs / 1000).padStart(9)} ${num(r.simulator.cpuMs / 1000).padStart(9)}  ${r.done}/${r.failed}${r.complete ? '' : '  INCOMPLETE'}`,
    );
  }
  const ratio = (x, what) => `${x === null ? '-' : `${x.toFixed(2)}x`}  (${what})`;
  lines.push(
    `  chosen concurrency: ${s.concurrency} (${p.chosen.why})${s.complete ? '' : '  -- NOT every site verified'}`,
    `  countersign: ${num(s.sitesPerSecond)} sites/s; conversation p50 ${num(s.conversationMs?.p50, 0)} ms, p99 ${num(s.conversationMs?.p99, 0)} ms (unloaded, one at a time: p50 ${num(s.unloadedConversationMs?.p50, 0)} ms, p99 ${num(s.unloadedConversationMs?.p99, 0)} ms)`,
    `  time to patch (publish start -> all ${p.sites.toLocaleString('en-US')} sites verified): ${num(s.timeToPatchSeconds)} s  (publish ${num(s.publishMs)} ms)`,
    `  peak RSS: hub ${mibText(s.hubMaxRssKiB)} (plain hub ${mibText(s.plainHubMaxRssKiB)}); simulator ${mibText(s.simulatorMaxRssKiB)} (${mibText(p.setup.simulatorRssKiB.beforeSites)} before sites, ${mibText(p.setup.simulatorRssKiB.afterSites)} with ${p.sites} idle sites)`,
    `  registry (SQLite, synchronous) held the hub's event loop ${num(s.registryMsPerSite, 2)} ms per site`,
    ...p.runs
      .filter((r) => r.mode === 'hawk' && !r.probe && r.tail)
      .map(
        (r) =>
          `  c=${r.concurrency} tail (nothing left to lease -> campaign end): last ${r.tail.sites} sites took ${num(r.tail.ms / 1000)} s; idle workers polled the registry ${r.tail.claimPolls} times (${num(r.tail.registryPollMs / 1000)} s of its event loop)`,
      ),
    ...p.runs
      .filter((r) => r.failures && Object.keys(r.failures.codes).length)
      .map(
        (r) =>
          `  c=${r.concurrency} failed attempts: ${Object.entries(r.failures.codes)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}; ${r.failures.retries} retries`,
      ),
    `  ratio countersign / plain HTTP            = ${ratio(s.ratioCountersignOverPlain, 'time for the same fan-out: Hawk + protocol + registry + site verification')}`,
    `  ratio countersign / plain HTTP + verify   = ${ratio(s.ratioCountersignOverPlainVerify, 'Hawk + protocol + registry alone')}`,
    `  ratio plain + verify / plain HTTP         = ${ratio(s.ratioPlainVerifyOverPlain, 'site verification + its spool file alone')}`,
  );
  if (p.siteVerify) {
    lines.push(
      p.siteVerify.cache
        ? `  simulator verified each distinct bundle in full once (${p.siteVerify.fullVerifications}x, ${num(p.siteVerify.msPerFullVerification)} ms each, concurrently) and only hashed the other ${p.siteVerify.cachedVerifications}; a real site pays the full verification: ${num(p.siteVerify.msPerSequentialVerification)} ms here, one at a time (BENCH_PUSH_VERIFY_CACHE=0 to simulate that)`
        : `  every simulated site verified in full: ${p.siteVerify.fullVerifications}x, ${num(p.siteVerify.msPerFullVerification)} ms each`,
    );
  }
  return lines;
}

function logSection(l) {
  if (l.skipped) return ['8. Transparency log', `  ${l.skipped}`];
  const rate = (r, ref) =>
    r?.perSecond
      ? `${r.perSecond.toFixed(0)}/s` +
        (ref?.perSecond ? `  (bare inserts ${ref.perSecond.toFixed(0)}/s; ratio ${(ref.perSecond / r.perSecond).toFixed(1)}x)` : '')
      : (r?.skipped ?? '-');
  return [
    `8. Transparency log (machine load ${l.meta.load.map((x) => x.toFixed(1)).join(' ')} on ${l.meta.cpus} cores)`,
    `  appends, batches of ${l.meta.batch}, SQLite:     ${rate(l.sqlite, l.sqliteReference)}`,
    `  appends, batches of ${l.meta.batch}, PostgreSQL: ${rate(l.postgres, l.postgresReference)}`,
    `  offline proof: ${l.proof.bytes} bytes added; verify ${l.proof.verifyMicros.toFixed(0)} µs (the document's own quorum: ${l.proof.quorumMicros.toFixed(0)} µs)`,
    `  monitor replay, ${l.replay.entries} entries over ${l.replay.server}: ${l.replay.monitorPerSecond.toFixed(0)} entries/s (reading and hashing alone: ${l.replay.readPerSecond.toFixed(0)}/s)`,
  ];
}

function mapSection(m) {
  if (m.skipped) return ['9. State map', `  ${m.skipped}`];
  const f = (x, d = 1) => x.toFixed(d);
  return [
    `9. State map (one SHA-256 of 64 bytes = ${f(m.referenceMicros, 2)} µs; load ${m.meta.load.map((x) => f(x)).join(' ')} on ${m.meta.cpus} cores)`,
    `  build ${m.build.records} records: ${f(m.build.setPerSecond, 0)} records/s, ${f(m.build.unitsPerRecord)} hashes/record; memory ${f(m.memory.bytesPerRecord, 0)} B/record`,
    ...m.batches.map(
      (b) => `  ${String(b.updates).padStart(5)} updates + root: ${f(b.updatesPerSecond, 0)} updates/s, ${f(b.hashUnitsPerUpdate)} hashes/update`,
    ),
    ...m.proofs.map(
      (p) =>
        `  proof at ${p.records} records: ${f(p.presentBytesMean, 0)} B presence, ${f(p.absentBytesMean, 0)} B absence; verify ${f(p.verifyUnits)} hashes (${f(p.verifyMicros)} µs)`,
    ),
  ];
}
