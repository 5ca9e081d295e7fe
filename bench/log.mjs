// Bench section 7: the transparency log (dist/lib/log, so `npm run build` first).
//   1. appends per second, batched (256 per batch, as log serve), into SQLite and into PostgreSQL (skipped when
//      unreachable), beside the reference: the same rows inserted alone, one fsynced transaction per batch;
//   2. an offline proof (tlog-proof, two witness cosignatures): its bytes and its verification time, beside
//      counting the release's own quorum (what verify does without a log);
//   3. monitor replay over a generated log of BENCH_LOG_ENTRIES (1,000,000) entries, read over HTTP from a plain
//      static server (python3 -m http.server on the tiles), in entries/s, beside reading and hashing the same
//      entries without re-verifying them (the tile reader alone).
//
//   npm run build && node bench/log.mjs [WORK-DIR] [OUT.json]      (defaults bench/out/work/log, bench/out/log.json)
// Knobs: BENCH_LOG_ENTRIES (1000000), BENCH_LOG_APPENDS (20000), BENCH_SKIP_LOG_PG=1.
import { spawn } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign as cryptoSign } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = resolve(process.argv[2] ?? join(ROOT, 'bench/out/work/log'));
const OUT = resolve(process.argv[3] ?? join(ROOT, 'bench/out/log.json'));
const ENTRIES = Number(process.env.BENCH_LOG_ENTRIES ?? 1_000_000);
const APPENDS = Number(process.env.BENCH_LOG_APPENDS ?? 20_000);
const BATCH = 256;

const lib = (p) => import(join(ROOT, 'dist/lib', p));
const [{ canonicalBytes }, { createEnvelope, serializeEnvelope, pae }, { generateSeed, publicKeyFromSeed, keyId }, { createPolicy }, { createRevocation }] =
  await Promise.all([lib('core/canonical.js'), lib('core/envelope.js'), lib('core/ed25519.js'), lib('core/policy.js'), lib('core/revocation.js')]);
const [{ initLog, Sequencer, submissionFor }, { TileDir, keepTileNode }, { ed25519Signer, signNote, parseNote, formatNote }, { formatCheckpoint }] =
  await Promise.all([lib('log/sequencer.js'), lib('log/publish.js'), lib('log/note.js'), lib('log/checkpoint.js')]);
const [
  { leafHash, TreeEdge },
  { entryForEnvelope, encodeEntry, ENTRY_TYPES },
  { openSequencerStore },
  { cosigner },
  { proveDocument },
  { openLogSource, fetchEntries },
  { parseTlogPolicy },
  { verifyLogProof },
  { monitorOnce },
  { countQuorum },
  { policyFromPayload },
] = await Promise.all([
  lib('log/merkle.js'),
  lib('log/entry.js'),
  lib('log/sequencer-store.js'),
  lib('log/cosignature.js'),
  lib('log/prove.js'),
  lib('log/tile-reader.js'),
  lib('log/tlog-policy.js'),
  lib('log/verify-proof.js'),
  lib('log/monitor.js'),
  lib('core/quorum.js'),
  lib('core/policy.js'),
]);

const log = (s) => console.log(`   ${s}`);
const bytes = (s) => new TextEncoder().encode(s);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

// A 2-of-3 team; revocations of distinct versions are valid entries that need no manifest beside the tiles.
const signers = Array.from({ length: 3 }, (_, i) => {
  const seed = generateSeed();
  return { seed, publicKey: publicKeyFromSeed(seed), name: `s${i}` };
});
const policy = createPolicy({
  threshold: 2,
  signers: signers.map((s) => ({ publicKey: s.publicKey, name: s.name })),
  expires: new Date('2030-01-01T00:00:00Z'),
});
// Signing only makes inputs: one node:crypto key object per signer (signMessage makes one per call), keys sorted as entries hold them.
const keyObjects = new Map(
  signers.map((s) => [
    s,
    createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), s.seed]), format: 'der', type: 'pkcs8' }),
  ]),
);
const sign = (env, by) => ({
  ...env,
  signatures: by
    .map((s) => ({
      keyid: keyId(s.publicKey),
      sig: cryptoSign(null, pae(env.payloadType, Buffer.from(env.payload, 'base64')), keyObjects.get(s)).toString('base64'),
    }))
    .sort((a, b) => (a.keyid < b.keyid ? -1 : 1)),
});
/** The entry of a generated revocation, encoded directly (entryForEnvelope also re-checks the document). */
const revocationEntry = (env) => encodeEntry({ entry: ENTRY_TYPES.revocation, payloadType: env.payloadType, payload: env.payload, signatures: env.signatures });
const policyEnv = sign(createEnvelope('policy', canonicalBytes(policy)), signers.slice(0, 2));
const revocationEnv = (i) =>
  sign(
    createRevocation({
      product: 'bench',
      component: 'core',
      version: `1.${Math.floor(i / 1000)}.${i % 1000}`,
      reason: 'bench',
      created: new Date('2026-11-01T00:00:00Z'),
      policyVersion: 1,
    }),
    signers.slice(0, 2),
  );
const docBytes = (env) => bytes(serializeEnvelope(env));

async function pgUrl() {
  if (process.env.BENCH_SKIP_LOG_PG === '1') return undefined;
  const url = process.env.COUNTERSIGN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const name = `countersign_bench_${randomBytes(4).toString('hex')}`;
    await client.query(`CREATE DATABASE ${name}`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    return { url: u.toString(), drop: () => admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin(url, sql) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(sql);
  await c.end();
}

// ---- 1. appends/s
const subs = [submissionFor(docBytes(policyEnv)), ...Array.from({ length: APPENDS }, (_, i) => submissionFor(docBytes(revocationEnv(i))))];
const logSeed = generateSeed();
const logSigner = ed25519Signer('bench.example/log', logSeed);

async function appendRun(label, db, dir) {
  const store = await initLog({ db, tiles: dir, signer: logSigner, keyPath: '/dev/null', now: new Date() });
  const seq = new Sequencer({ store, tiles: new TileDir(dir), signer: logSigner });
  await seq.add(subs.slice(0, 1));
  const t0 = performance.now();
  for (let i = 1; i < subs.length; i += BATCH) {
    const out = await seq.add(subs.slice(i, i + BATCH));
    if (!out.every((o) => o.ok && !o.duplicate)) throw new Error(`${label}: an append was refused`);
  }
  const s = (performance.now() - t0) / 1000;
  await store.close();
  return { entries: APPENDS, seconds: s, perSecond: APPENDS / s };
}

async function referenceRun(kind, url) {
  // The same rows, in the same batches, into a bare table: the database's own cost.
  const rows = subs.slice(1).map((s, i) => [i, createHash('sha256').update(s.entry).digest(), s.entry]);
  const t0 = performance.now();
  if (kind === 'sqlite') {
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(url);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (idx INTEGER PRIMARY KEY, hash BLOB UNIQUE, data BLOB)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
    const batch = db.transaction((b) => b.forEach((r) => ins.run(...r)));
    for (let i = 0; i < rows.length; i += BATCH) batch(rows.slice(i, i + BATCH));
    db.close();
  } else {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('CREATE TABLE t (idx BIGINT PRIMARY KEY, hash BYTEA UNIQUE, data BYTEA)');
    for (let i = 0; i < rows.length; i += BATCH) {
      await c.query('BEGIN');
      for (const r of rows.slice(i, i + BATCH)) await c.query('INSERT INTO t VALUES ($1, $2, $3)', r);
      await c.query('COMMIT');
    }
    await c.end();
  }
  const s = (performance.now() - t0) / 1000;
  return { entries: rows.length, seconds: s, perSecond: rows.length / s };
}

const results = { meta: { cpus: cpus().length, load: loadavg(), entriesReplay: ENTRIES, appends: APPENDS, batch: BATCH } };
console.log(
  `   appends: ${APPENDS} revocations (2-of-3 quorum each) in batches of ${BATCH}; machine load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${cpus().length} cores`,
);
results.sqlite = await appendRun('sqlite', `sqlite:${join(WORK, 'a.db')}`, join(WORK, 'a'));
results.sqliteReference = await referenceRun('sqlite', join(WORK, 'ref.db'));
log(
  `SQLite: ${results.sqlite.perSecond.toFixed(0)} appends/s (validated, tiles staged, CAS, checkpoint published) vs bare inserts ${results.sqliteReference.perSecond.toFixed(0)} rows/s`,
);
const pgdb = await pgUrl();
if (pgdb) {
  try {
    results.postgres = await appendRun('postgres', pgdb.url, join(WORK, 'p'));
    await admin(pgdb.url, 'SELECT 1');
    results.postgresReference = await referenceRun('postgres', pgdb.url);
    log(`PostgreSQL: ${results.postgres.perSecond.toFixed(0)} appends/s vs bare inserts ${results.postgresReference.perSecond.toFixed(0)} rows/s`);
  } finally {
    await pgdb.drop();
  }
} else {
  results.postgres = { skipped: 'PostgreSQL not reachable (or BENCH_SKIP_LOG_PG=1)' };
  log(results.postgres.skipped);
}

// ---- 2. offline proof: bytes and verify time, on the SQLite log of section 1 cosigned by two witnesses
{
  const dir = join(WORK, 'a');
  const w = [cosigner('w1.example', generateSeed()), cosigner('w2.example', generateSeed())];
  const source = openLogSource(dir);
  const note = await source.checkpoint();
  const parsed = parseNote(note);
  const now = Math.floor(Date.now() / 1000);
  const cosigned = formatNote({ text: parsed.text, signatures: [...parsed.signatures, ...w.map((c) => c.cosign(parsed.text, now))] });
  new TileDir(dir).publishCheckpoint(cosigned);
  const target = docBytes(revocationEnv(12345 % APPENDS));
  const proved = await proveDocument(source, target);
  const policyText = `log ${logSigner.vkey}\nwitness w1 ${w[0].vkey}\nwitness w2 ${w[1].vkey}\ngroup both all w1 w2\nquorum both\n`;
  const tlogPolicy = parseTlogPolicy(policyText);
  const N = 2000;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) verifyLogProof({ envelopeBytes: target, proof: proved.proof, policy: tlogPolicy, now: new Date() });
  const proofUs = ((performance.now() - t0) * 1000) / N;
  const ring = policyFromPayload(canonicalBytes(policy));
  const env = revocationEnv(12345 % APPENDS);
  const doc = { envelope: { payloadType: env.payloadType }, payloadBytes: Buffer.from(env.payload, 'base64') };
  t0 = performance.now();
  for (let i = 0; i < N; i++) countQuorum(doc, env.signatures, ring);
  const quorumUs = ((performance.now() - t0) * 1000) / N;
  results.proof = { bytes: Buffer.byteLength(proved.proof), logSize: proved.size, verifyMicros: proofUs, quorumMicros: quorumUs, envelopeBytes: target.length };
  log(
    `offline proof: ${results.proof.bytes} bytes added (log of ${proved.size}), verified in ${proofUs.toFixed(0)} µs vs ${quorumUs.toFixed(0)} µs to count the document's own 2-of-3 quorum`,
  );
}

// ---- 3. monitor replay over a generated log, served by python3 -m http.server
{
  const dir = join(WORK, 'big');
  const tiles = new TileDir(dir);
  const edge = new TreeEdge();
  const t0 = performance.now();
  const CHUNK = 65536;
  for (let start = 0; start < ENTRIES; start += CHUNK) {
    const end = Math.min(ENTRIES, start + CHUNK);
    const entries = [];
    const levels = new Map();
    for (let i = start; i < end; i++) {
      const e = i === 0 ? entryForEnvelope(docBytes(policyEnv)) : revocationEntry(revocationEnv(i));
      entries.push(e);
      for (const node of edge.append(leafHash(e))) keepTileNode(levels, node);
    }
    tiles.stage(
      start,
      end,
      (l) => levels.get(l) ?? [],
      entries,
      () => {},
    );
  }
  tiles.sync();
  tiles.publishCheckpoint(signNote(formatCheckpoint({ origin: 'bench.example/log', size: ENTRIES, root: edge.root(), extensions: [] }), [logSigner]));
  log(`generated a ${ENTRIES}-entry log in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
  try {
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; i < 50; i++) {
      if (
        await fetch(`${url}checkpoint`)
          .then((r) => r.ok)
          .catch(() => false)
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    let t = performance.now();
    const source = openLogSource(url);
    const readEdge = new TreeEdge();
    for (let start = 0; start < ENTRIES; start += 4096)
      for (const e of await fetchEntries(source, start, Math.min(ENTRIES, start + 4096), ENTRIES)) readEdge.append(leafHash(e));
    if (Buffer.compare(readEdge.root(), edge.root()) !== 0) throw new Error('the entries read do not hash to the root');
    const readS = (performance.now() - t) / 1000;
    t = performance.now();
    const report = await monitorOnce({
      source: openLogSource(url),
      policy: parseTlogPolicy(`log ${logSigner.vkey}\nquorum none\n`),
      stateDir: join(WORK, 'mon'),
      now: new Date(),
    });
    const monS = (performance.now() - t) / 1000;
    if (report.anomalies.length > 0 || report.entries !== ENTRIES) throw new Error(`monitor: ${JSON.stringify(report.anomalies[0])}`);
    results.replay = {
      entries: ENTRIES,
      monitorSeconds: monS,
      monitorPerSecond: ENTRIES / monS,
      readSeconds: readS,
      readPerSecond: ENTRIES / readS,
      server: 'python3 -m http.server',
    };
    log(
      `monitor replay over python3 -m http.server: ${(ENTRIES / monS).toFixed(0)} entries/s (${monS.toFixed(0)} s, every quorum re-verified) vs ${(ENTRIES / readS).toFixed(0)} entries/s reading and hashing them alone`,
    );
  } finally {
    server.kill();
  }
}

writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
if (process.env.BENCH_KEEP_WORK !== '1') rmSync(WORK, { recursive: true, force: true });

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
