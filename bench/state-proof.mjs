// Bench section 10: a provider bundle's proof + state sections (dist/lib, so `npm run build` first; BENCH_LIB=lib with
// `node --import tsx` reads the sources). For logs of BENCH_STATE_SIZES entries (1000,100000,1000000):
//   - the log: a root policy (format 3), provider P enrolled, then releases of P (statements as `log add` writes them,
//     signatures not re-checked: Replay.adopt, as a prover replays the tiles), the measured release (signed by P's two
//     release keys) and the sequencer's state entry last; the map holds one record per release;
//   - the prover's replay (Replay.adopt of every entry, as `log prove` does from the tiles; CPU time of adopt alone,
//     tile I/O not counted);
//   - the bundle's proof section (C2SP tlog-proof: the entry, its inclusion proof, the checkpoint with the log's
//     signature and three witness cosignatures) and state section (lib/log/state-proof.ts), in bytes;
//   - verification per bundle in-process (the fastest of BENCH_STATE_RUNS): verifyLogProof + verifyStateProof (what
//     a provider bundle adds), and verifyProviderBundle (everything, a two-file archive) vs verifyBundle alone (today's
//     checks of the same bundle against P's policy).
// With a WORK dir, the largest size's bundle, root policy and log policy are written there for the whole-process
// timing that bench/run.sh does (verify --root … --provider vs verify --policy vs node -e 0).
//
//   npm run build && node bench/state-proof.mjs [OUT.json] [WORK]
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIB = resolve(ROOT, process.env.BENCH_LIB ?? 'dist/lib');
const OUT = resolve(process.argv[2] ?? join(ROOT, 'bench/out/state-proof.json'));
const WORK = process.argv[3] && resolve(process.argv[3]);
const SIZES = (process.env.BENCH_STATE_SIZES ?? '1000,100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_STATE_RUNS ?? 20);
const lib = (p) => import(join(LIB, p));

const { toBase64, utf8 } = await lib('core/bytes.js');
const { canonicalBytes } = await lib('core/canonical.js');
const { createEnvelope, pae, serializeEnvelope, sha256Hex } = await lib('core/envelope.js');
const { keyId, publicKeyFromSeed, signMessage } = await lib('core/ed25519.js');
const { createPolicy, loadTrustedPolicy } = await lib('core/policy.js');
const { createEnrolment } = await lib('core/enrolment.js');
const { verifyBundle } = await lib('core/verify.js');
const { buildRelease } = await lib('node/build.js');
const { writeBundleFile } = await lib('node/bundle-file.js');
const { ENTRY_TYPES, encodeEntry, entryForEnvelope } = await lib('log/entry.js');
const { formatCheckpoint } = await lib('log/checkpoint.js');
const { cosigner } = await lib('log/cosignature.js');
const { inclusionProof, leafHash, memoryHashAt, rootOf } = await lib('log/merkle.js');
const { ed25519Signer, formatNote, parseNote, signNote } = await lib('log/note.js');
const { formatProof } = await lib('log/proof.js');
const { Replay } = await lib('log/replay.js');
const { makeStateProof, verifyStateProof } = await lib('log/state-proof.js');
const { parseTlogPolicy } = await lib('log/tlog-policy.js');
const { verifyLogProof } = await lib('log/verify-proof.js');
const { verifyProviderBundle } = await lib('log/verify-provider.js');

const P = 'wordpress.org/plugins/wordfence';
const NOW = new Date('2026-11-23T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const EXPIRES = new Date('2030-01-01T00:00:00Z');
const seed = (label) => new Uint8Array(createHash('sha256').update(label).digest());
const key = (label) => {
  const s = seed(label);
  const publicKey = publicKeyFromSeed(s);
  return { seed: s, publicKey, id: keyId(publicKey), name: label };
};
const signed = (env, keys) => ({
  ...env,
  signatures: keys.map((k) => ({ keyid: k.id, sig: toBase64(signMessage(pae(env.payloadType, Buffer.from(env.payload, 'base64')), k.seed)) })),
});
const bytesOf = (env) => utf8(serializeEnvelope(env));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const fastest = async (fn) => {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
};

// The documents: root (3 keys, 2 to sign), P (2 admin keys, 2 release keys, 1 to release), one release of P.
const roots = [0, 1, 2].map((i) => key(`root-${i}`));
const admins = [0, 1].map((i) => key(`admin-${i}`));
const releasers = [0, 1].map((i) => key(`release-${i}`));
const rootPolicy = createPolicy({ threshold: 2, signers: roots, expires: EXPIRES, providers: { activationDelay: 0 } });
const rootEnv = signed(createEnvelope('policy', canonicalBytes(rootPolicy)), roots.slice(0, 2));
const providerPolicy = createPolicy({
  threshold: 2,
  signers: [...admins, ...releasers],
  expires: EXPIRES,
  provider: P,
  roles: { admin: { threshold: 2, signers: admins.map((k) => k.id) }, release: { threshold: 1, signers: releasers.map((k) => k.id) } },
});
const enrolEnv = signed(createEnrolment({ policyBytes: canonicalBytes(providerPolicy), created: NOW }), roots.slice(0, 2));
const tree = join(process.env.TMPDIR ?? tmpdir(), `countersign-state-bench-${process.pid}`);
mkdirSync(join(tree, 'src'), { recursive: true });
writeFileSync(join(tree, 'src/wordfence.php'), '<?php // Version: 8.1.0\n');
writeFileSync(join(tree, 'src/readme.txt'), 'Stable tag: 8.1.0\n');
const chunks = [];
const built = buildRelease(
  {
    source: join(tree, 'src'),
    product: 'wordpress',
    component: 'wordfence',
    version: '8.1.0',
    postUpdate: [],
    created: NOW,
    expires: new Date('2026-12-20T00:00:00Z'),
    policyVersion: 1,
    mtime: 0,
    provider: P,
  },
  (chunk) => chunks.push(new Uint8Array(chunk)),
);
const archive = new Uint8Array(Buffer.concat(chunks));
// Both release keys sign, so that the same bundle also meets P's policy's top-level 2-of-4 for verify --policy (today's model).
const releaseEnv = signed(built.envelope, releasers);
const releaseEntry = entryForEnvelope(bytesOf(releaseEnv));
const filler = (i) =>
  encodeEntry({
    entry: ENTRY_TYPES.release,
    provider: P,
    product: 'wordpress',
    component: 'wordfence',
    version: `1.${i}.0`,
    payloadType: 'application/vnd.countersign.manifest+json',
    payloadSha256: sha256Hex(utf8(String(i))),
    archive: { sha256: sha256Hex(utf8(`a${i}`)), size: 1000 + i },
    policyVersion: 1,
    signatures: [{ keyid: releasers[0].id, sig: toBase64(new Uint8Array(64).fill(i & 0xff)) }],
  });

const logSigner = ed25519Signer('log.example.org/countersign', seed('log'));
const witnesses = [0, 1, 2].map((i) => cosigner(`witness.example/w${i}`, seed(`witness-${i}`)));
const logPolicyText = [
  `log ${logSigner.vkey}`,
  ...witnesses.map((w, i) => `witness W${i} ${w.vkey}`),
  'group W 2 W0 W1 W2',
  'quorum W',
  '',
].join('\n');
const logPolicy = parseTlogPolicy(logPolicyText);
const trustedRoot = loadTrustedPolicy(bytesOf(rootEnv));

const rows = [];
for (const size of SIZES) {
  // entries: root, enrolment, state, fillers…, the release, the state entry (size in all).
  const replay = new Replay();
  const leaves = [];
  let adoptMs = 0;
  const addAll = (entries) => {
    const t = cpu();
    for (const e of entries) replay.adopt(e);
    adoptMs += cpu() - t;
    for (const e of entries) leaves.push(leafHash(e));
  };
  const add = (entry) => addAll([entry]);
  add(entryForEnvelope(bytesOf(rootEnv)));
  add(entryForEnvelope(bytesOf(enrolEnv)));
  add(encodeEntry({ entry: ENTRY_TYPES.state, size: 2, time: NOW_S - 86400, map: Buffer.from(replay.state.stateRoot()).toString('hex') }));
  for (let i = 3; i < size - 2; i += 4096) addAll(Array.from({ length: Math.min(4096, size - 2 - i) }, (_, k) => filler(i + k)));
  const index = leaves.length;
  add(releaseEntry);
  const replayMs = adoptMs;
  const stateEntry = encodeEntry({ entry: ENTRY_TYPES.state, size: size - 1, time: NOW_S - 3600, map: Buffer.from(replay.state.stateRoot()).toString('hex') });
  add(stateEntry);
  const t0 = cpu();
  const root = rootOf(leaves);
  const text = formatCheckpoint({ origin: logSigner.name, size, root, extensions: [] });
  const note = parseNote(signNote(text, [logSigner]));
  const checkpoint = formatNote({ text, signatures: [...note.signatures, ...witnesses.map((w) => w.cosign(text, NOW_S - 600))] });
  const hashAt = memoryHashAt(leaves);
  const proof = utf8(formatProof({ extra: releaseEntry, index, proof: inclusionProof(index, size, hashAt), checkpoint }));
  const state = makeStateProof(replay.state, stateEntry, inclusionProof(size - 1, size, hashAt), {
    provider: P,
    product: 'wordpress',
    component: 'wordfence',
    version: '8.1.0',
  });
  const proveMs = cpu() - t0;
  const input = { envelopeBytes: bytesOf(releaseEnv), archive: { size: archive.length, chunks: async function* () { yield archive; } }, proof, state };
  const opts = { root: trustedRoot, logPolicy, provider: P, now: NOW };
  const v = await verifyProviderBundle(input, opts);
  if (v.superProvider || v.log.index !== index) throw new Error('the bench bundle did not verify as a release of P');
  const logAndState = await fastest(() => {
    const log = verifyLogProof({ envelopeBytes: input.envelopeBytes, proof, policy: logPolicy, now: NOW });
    verifyStateProof({ checkpoint: log.checkpoint, releaseIndex: log.index, releaseEntry: log.entry, stateProof: state, provider: P, pinnedRoot: trustedRoot });
  });
  const stateOnly = await fastest(() =>
    verifyStateProof({ checkpoint: v.log.checkpoint, releaseIndex: index, releaseEntry, stateProof: state, provider: P, pinnedRoot: trustedRoot }),
  );
  const whole = await fastest(() => verifyProviderBundle(input, opts));
  const today = await fastest(() =>
    verifyBundle({ envelopeBytes: input.envelopeBytes, archive: input.archive }, { trusted: v.state.providerPolicy, now: NOW }),
  );
  const row = {
    entries: size,
    mapRecords: replay.state.map.size,
    proofBytes: proof.length,
    stateBytes: state.length,
    totalBytes: proof.length + state.length,
    policyBytes: canonicalBytes(providerPolicy).length,
    replayCpuMs: Math.round(replayMs),
    replayEntriesPerSecond: Math.round((size / replayMs) * 1000),
    proveCpuMs: Math.round(proveMs),
    verifyLogAndStateMs: +logAndState.toFixed(3),
    verifyStateMs: +stateOnly.toFixed(3),
    verifyProviderBundleMs: +whole.toFixed(3),
    verifyBundleTodayMs: +today.toFixed(3),
  };
  rows.push(row);
  console.log(
    `   ${String(size).padStart(8)} entries: proof ${row.proofBytes} + state ${row.stateBytes} = ${row.totalBytes} bytes` +
      ` (map ${row.mapRecords} records); verify log+state ${row.verifyLogAndStateMs} ms (state ${row.verifyStateMs} ms), whole bundle ${row.verifyProviderBundleMs} ms` +
      ` vs verifyBundle alone ${row.verifyBundleTodayMs} ms; prover replay ${row.replayEntriesPerSecond} entries/s (CPU)`,
  );
  if (WORK && size === Math.max(...SIZES)) {
    mkdirSync(WORK, { recursive: true });
    await writeBundleFile(join(WORK, 'provider.bundle'), releaseEnv, input.archive, { force: true, proof, state });
    await writeBundleFile(join(WORK, 'plain.bundle'), releaseEnv, input.archive, { force: true });
    writeFileSync(join(WORK, 'root.signed.json'), serializeEnvelope(rootEnv));
    writeFileSync(join(WORK, 'log.policy'), logPolicyText);
    // verify --policy of today's single-policy model, with P's policy pinned as the site's policy.
    writeFileSync(join(WORK, 'provider.signed.json'), serializeEnvelope(signed(createEnvelope('policy', canonicalBytes(providerPolicy)), [...admins, ...releasers])));
  }
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ now: NOW.toISOString(), cpus: cpus().length, load: loadavg(), runs: RUNS, rows }, null, 2)}\n`);
