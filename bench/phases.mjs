// Where does one `countersign verify` spend its time? Replays the CLI's verify path phase by phase,
// in one fresh process, importing the compiled modules from dist/ in the order the CLI loads them.
//
//   node bench/phases.mjs BUNDLE POLICY [OUT.json]
//
// Phases are cumulative-exclusive (each starts where the previous ended), so they add up to the
// in-process total; "node bootstrap" is the time from process start to the first line of this file.
// After the replay, the archive pass is decomposed (read only, + each hash, + tar parse) on the
// now page-cached bundle, to show what the one streaming pass is made of.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const bootstrapMs = performance.now(); // ms since the process time origin
const [bundlePath, policyPath, outPath] = process.argv.slice(2);
if (!bundlePath || !policyPath) {
  console.error('usage: phases.mjs BUNDLE POLICY [OUT.json]');
  process.exit(2);
}

const phases = [{ phase: 'node bootstrap (process start -> first line of script)', ms: bootstrapMs }];
let last = performance.now();
const mark = (phase) => {
  const now = performance.now();
  phases.push({ phase, ms: now - last });
  last = now;
};

// --- Module loading, in the CLI's order of cost ---------------------------------------------
const schema = await import('../dist/lib/core/schema.js'); // ajv at run time, or the precompiled validators
mark('import lib/schema.js (JSON-schema validators)');
await import('@noble/ed25519');
mark('import @noble/ed25519');
const { loadTrustedPolicy } = await import('../dist/lib/core/policy.js');
const { verifyBundle } = await import('../dist/lib/core/verify.js');
const { openBundleFile } = await import('../dist/lib/node/bundle-file.js');
const { verifyArchiveStream } = await import('../dist/lib/core/archive-verify.js');
const { openEnvelope } = await import('../dist/lib/core/envelope.js');
const { manifestFromPayload, checkRelease } = await import('../dist/lib/core/manifest.js');
const { countQuorum } = await import('../dist/lib/core/quorum.js');
const { readFileChunks } = await import('../dist/lib/node/file-chunks.js');
const { TarReader } = await import('../dist/lib/core/tar.js');
mark('import the rest of dist/lib (verify path)');
const { GLOBAL_OPTIONS, loadCommand } = await import('../dist/cli/parser.js');
const { parseDirectly } = await import('../dist/cli/direct-argv.js');
await import('../dist/cli/files.js');
mark('import dist/cli/parser.js, direct-argv.js, files.js');

// --- The command line, parsed from the verify command's declarations (cli/direct-argv.ts; no yargs) ----
{
  const ctx = { out() {}, err() {}, env: {}, interactive: false, now: new Date(), exitCode: 0 };
  const verify = (await loadCommand('verify'))(ctx);
  if (!parseDirectly(verify, ['verify', bundlePath, '--policy', policyPath], GLOBAL_OPTIONS)) throw new Error('the verify line was not parsed directly');
}
mark('import cli/verify.js and parse its command line directly');

// --- First use of each validator (ajv compiles lazily when schemas are not precompiled) -----
for (const name of ['envelope', 'policy', 'manifest']) {
  try {
    schema.validate(name, {}, 'probe');
  } catch {
    // {} is invalid: we only want the first call (compile, if any)
  }
  mark(`first validate() against ${name}.schema.json (compile if lazy)`);
}

// --- The verify command's own work, now that everything is loaded and compiled --------------
const now = new Date();
const { readInput } = await import('../dist/cli/files.js');
const trusted = loadTrustedPolicy(readInput(policyPath, 'policy'), policyPath);
mark('policy load: read, parse, schema, key checks, 3 Ed25519 self-signatures');
const input = await openBundleFile(bundlePath);
mark('read bundle header + envelope');
const opened = openEnvelope(input.envelopeBytes);
const manifest = manifestFromPayload(opened.payloadBytes);
mark('envelope: parse, schema, base64, canonical manifest check');
const quorum = countQuorum(opened, opened.envelope.signatures, trusted);
const release = checkRelease(manifest, trusted.policy.version, {}, now);
mark(`quorum (${opened.envelope.signatures.length} Ed25519 verifies) + release checks`);
if (!quorum.met || release.length) throw new Error('the bench bundle does not verify');
// As verifyBundle runs it: a format-2 archive is rebuilt from the manifest and its own digest is not recomputed.
await verifyArchiveStream(input.archive.chunks(), manifest.archive, manifest.files, { checkDigest: false });
mark(`archive pass, first in this process (${(input.archive.size / 2 ** 20).toFixed(1)} MiB: read + rebuilt headers + entry SHA-256)`);
const inProcessMs = performance.now();

// --- Whole verifyBundle again, warm (JIT and page cache hot), as a cross-check --------------
const warmStart = performance.now();
const again = await openBundleFile(bundlePath);
const verified = await verifyBundle(again, { trusted, now });
await again.close();
const warmVerifyBundleMs = performance.now() - warmStart;
if (verified.document.kind !== 'manifest') throw new Error('unexpected document');

// --- Decompose the archive pass over the same (page-cached) bytes ---------------------------
const reopened = await openBundleFile(bundlePath);
const archive = reopened.archive;
async function pass(label, consume) {
  const t = performance.now();
  for await (const chunk of archive.chunks()) consume(chunk);
  return { pass: label, ms: performance.now() - t, MBps: archive.size / 1e6 / ((performance.now() - t) / 1000) };
}
const decomposition = [];
decomposition.push(await pass('read only (readFileChunks, 1 MiB x2 buffers)', () => {}));
{
  const h = createHash('sha256');
  decomposition.push(await pass('read + SHA-256', (c) => h.update(c)));
  h.digest();
}
{
  const h = createHash('sha512');
  decomposition.push(await pass('read + SHA-512', (c) => h.update(c)));
  h.digest();
}
{
  const r = new TarReader({});
  decomposition.push(await pass('read + tar parse (no hashing)', (c) => r.push(c)));
}
{
  const a = createHash('sha256');
  const b = createHash('sha512');
  const e = createHash('sha256');
  decomposition.push(await pass('read + SHA-256 + SHA-512 + SHA-256 again (= format-1 manifests)', (c) => (a.update(c), b.update(c), e.update(c))));
}
{
  const t = performance.now();
  await verifyArchiveStream(archive.chunks(), manifest.archive, manifest.files, { checkDigest: false });
  decomposition.push({
    pass: 'verifyArchiveStream (warm, as verify runs it)',
    ms: performance.now() - t,
    MBps: archive.size / 1e6 / ((performance.now() - t) / 1000),
  });
}
{
  const t = performance.now();
  const h = createHash('sha256');
  const b = createHash('sha512');
  for await (const c of readFileChunks(bundlePath)) (h.update(c), b.update(c));
  decomposition.push({
    pass: 'whole bundle file: read + SHA-256 + SHA-512 only (floor for the two archive digests)',
    ms: performance.now() - t,
    MBps: archive.size / 1e6 / ((performance.now() - t) / 1000),
  });
}

const result = {
  bundle: bundlePath,
  archiveBytes: archive.size,
  manifestFiles: manifest.files.length,
  phases,
  inProcessTotalMs: inProcessMs,
  warmVerifyBundleMs,
  archiveDecomposition: decomposition,
};
if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 2));

const pad = (s, n) => String(s).padEnd(n);
console.log(`Verify phases (one fresh process, ${bundlePath}):`);
for (const p of phases) console.log(`  ${pad(p.phase, 100)} ${p.ms.toFixed(1).padStart(8)} ms`);
console.log(`  ${pad('in-process total (process start -> archive verified)', 100)} ${inProcessMs.toFixed(1).padStart(8)} ms`);
console.log(`  ${pad('verifyBundle() again, warm, in the same process', 100)} ${warmVerifyBundleMs.toFixed(1).padStart(8)} ms`);
console.log('Archive pass decomposition (page cache warm):');
for (const d of decomposition) console.log(`  ${pad(d.pass, 100)} ${d.ms.toFixed(1).padStart(8)} ms ${d.MBps.toFixed(0).padStart(6)} MB/s`);
