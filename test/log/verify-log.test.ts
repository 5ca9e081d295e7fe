import { expect } from 'chai';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleHeader, parseBundleHeader } from '../../lib/core/bundle.js';
import { concatBytes, utf8 } from '../../lib/core/bytes.js';
import { verifyWithStore } from '../../lib/core/trust-state.js';
import { entryForEnvelope } from '../../lib/log/entry.js';
import { formatProof, parseProof, MAX_PROOF_BYTES } from '../../lib/log/proof.js';
import { MAX_PROOF_SECTION_BYTES } from '../../lib/core/bundle.js';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import { initStore, openStore, recordLog } from '../../lib/node/trust-store.js';
import { entryIdentity } from '../../lib/log/replay.js';
import { encodeEntryBundle, tileContent, tilePath, tilesOfTree } from '../../lib/log/tiles.js';
import { publishBundle } from '../../lib/hub/publish.js';
import { openRegistry } from '../../lib/hub/open-registry.js';
import { runCli } from '../support/cli.js';
import { envelopeBytes, makePolicy, makeRelease, manifestEnvelope, signedBy, tempDir } from '../support/fixtures.js';
import { MemoryLog } from './support.js';

// `verify --log-policy`, `trust init --log-policy` and the bundle's proof section, end to end through the CLI.
const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 3600) * 1000);

describe('log: bundles carry their proof; verify --log-policy and a store with a log policy require it', () => {
  const team = makePolicy(3, 2);
  const release = makeRelease();
  const signed = signedBy(release.envelope, team.signers.slice(0, 2));
  const env = envelopeBytes(signed);
  const dir = tempDir();
  const policyFile = join(dir, 'policy.signed.json');
  writeFileSync(policyFile, envelopeBytes(team.signed));

  const log = new MemoryLog();
  log.append(entryForEnvelope(envelopeBytes(team.signed)));
  const index = log.append(entryForEnvelope(env));
  const checkpoint = log.checkpoint(T);
  const proof = utf8(log.proof(index, checkpoint));
  const logPolicy = join(dir, 'log.policy');
  writeFileSync(logPolicy, log.policy(2));

  const bundleWith = (p?: Uint8Array): Uint8Array =>
    concatBytes(bundleHeader(env.length, release.archive.length, p?.length), env, ...(p ? [p] : []), release.archive);
  const write = (name: string, bytes: Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const logged = write('logged.bundle', bundleWith(proof));
  const plain = write('plain.bundle', bundleWith());
  const verify = (bundle: string, ...extra: string[]) => runCli(['verify', bundle, '--json', ...extra], { now: NOW });
  const withPolicy = ['--policy', policyFile, '--product', 'drupal', '--component', 'core', '--installed', '10.2.3'];

  it('the proof section is read back between envelope and archive, within its size cap', async () => {
    const opened = await openBundleFile(logged);
    expect(Buffer.from(opened.proof!).toString()).to.equal(Buffer.from(proof).toString());
    expect(opened.layout!.sections.map((s) => s.name)).to.deep.equal(['envelope', 'proof', 'archive']);
    await opened.close();
    expect(MAX_PROOF_SECTION_BYTES).to.equal(MAX_PROOF_BYTES);
    const big = bundleHeader(env.length, 0, MAX_PROOF_SECTION_BYTES + 1);
    expect(() => parseBundleHeader(big, 16 << 20, big.length + env.length + MAX_PROOF_SECTION_BYTES + 1))
      .to.throw()
      .with.property('code', 'SIZE_LIMIT');
  });

  it('verify --log-policy accepts the logged bundle and reports where it is logged', async () => {
    const r = await verify(logged, ...withPolicy, '--log-policy', logPolicy);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.json.log).to.deep.include({ index, origin: log.signer.name, size: 2, witnesses: ['W1', 'W2', 'W3'], consistency: 'first' });
    const human = await runCli(['verify', logged, ...withPolicy, '--log-policy', logPolicy], { now: NOW });
    expect(human.stdout).to.match(/Logged: entry 1 of countersign\.example\/log \(size 2\), cosigned by W1, W2, W3/);
  });

  it('without a log policy the proof is not needed: a bundle without one still verifies, and one with one too', async () => {
    expect((await verify(plain, ...withPolicy)).code).to.equal(0);
    const carried = await verify(logged, ...withPolicy);
    expect(carried.code).to.equal(0);
    // Never shown as checked when it was not.
    expect(carried.json.log).to.equal('carried, not checked (no log policy)');
  });

  it('a bundle without a proof is NOT_LOGGED under a log policy; a detached --log-proof is accepted', async () => {
    const r = await verify(plain, ...withPolicy, '--log-policy', logPolicy);
    expect(r.code).to.equal(1);
    expect((r.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('NOT_LOGGED');
    const detached = write('release.proof', proof);
    expect((await verify(plain, ...withPolicy, '--log-policy', logPolicy, '--log-proof', detached)).code).to.equal(0);
  });

  it('--log-policy with a store of no log policy of its own still requires the log (it was ignored: fail open)', async () => {
    const store = join(dir, 'store-without-log');
    expect((await runCli(['trust', 'init', '--policy', policyFile, '--store', store, '--installed', 'drupal/core=10.2.3'])).code).to.equal(0);
    const r = await verify(plain, '--store', store, '--log-policy', logPolicy);
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    expect((r.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('NOT_LOGGED');
    const ok = await verify(logged, '--store', store, '--log-policy', logPolicy);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.json.log).to.deep.include({ index, consistency: 'first' });
  });

  it('a stale checkpoint (--max-age), a short quorum and a proof for another release are refused with their codes', async () => {
    const code = async (bundle: string, ...extra: string[]): Promise<string> => {
      const r = await verify(bundle, ...withPolicy, '--log-policy', logPolicy, ...extra);
      expect(r.code, r.stdout).to.equal(1);
      return (r.json.reasons as Array<{ code: string }>)[0]!.code;
    };
    expect(await code(logged, '--max-age', '30m')).to.equal('CHECKPOINT_STALE');
    const short = write('short.bundle', bundleWith(utf8(log.proof(index, log.checkpoint(T, 1)))));
    expect(await code(short)).to.equal('WITNESS_QUORUM_NOT_MET');
    const other = envelopeBytes(signedBy(manifestEnvelope({ ...release.manifest, version: '10.2.5' }), team.signers.slice(0, 2)));
    const otherLog = new MemoryLog();
    otherLog.append(entryForEnvelope(other));
    const wrong = write('wrong.bundle', bundleWith(utf8(otherLog.proof(0, otherLog.checkpoint(T)))));
    expect(await code(wrong)).to.equal('LOG_ENTRY_MISMATCH');
    const bad = await runCli(['verify', logged, ...withPolicy, '--log-policy', logPolicy, '--max-age', 'soon'], { now: NOW });
    expect(bad.code).to.equal(2);
  });

  it('trust init --log-policy: the store requires a proof, records the largest checkpoint, and keeps a fork as evidence', async () => {
    const store = join(dir, 'store');
    expect(
      (await runCli(['trust', 'init', '--policy', policyFile, '--store', store, '--installed', 'drupal/core=10.2.3', '--log-policy', logPolicy])).code,
    ).to.equal(0);
    const state = (): { log: { largest?: string; forks: Array<{ seen: string; presented: string }> } } =>
      JSON.parse(readFileSync(join(store, 'state.json'), 'utf8'));
    expect(state().log.forks).to.deep.equal([]);

    const none = await verify(plain, '--store', store);
    expect((none.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('NOT_LOGGED');
    const ok = await verify(logged, '--store', store);
    expect(ok.code, ok.stdout).to.equal(0);
    expect(state().log.largest).to.equal(checkpoint);

    // The log grows (2 -> 3): offline, a larger checkpoint is accepted (consistency unchecked) but not recorded; once
    // proved consistent (--log DIR with its tiles) it becomes the largest.
    const grown = new MemoryLog();
    for (const e of log.entries) grown.append(e);
    grown.append(utf8('a later entry'));
    const cp4 = grown.checkpoint(T);
    const later = write('later.bundle', bundleWith(utf8(grown.proof(index, cp4))));
    const r4 = await verify(later, '--store', store);
    expect(r4.code).to.equal(0);
    expect((r4.json.log as { consistency: string }).consistency).to.equal('unchecked');
    expect(state().log.largest).to.equal(checkpoint);
    const tiles = join(dir, 'grown-tiles');
    for (const t of tilesOfTree(grown.size)) {
      const bytes = t.level === 'entries' ? encodeEntryBundle(grown.entries.slice(t.index * 256, t.index * 256 + t.width)) : tileContent(t, grown.hashAt);
      mkdirSync(dirname(join(tiles, tilePath(t))), { recursive: true });
      writeFileSync(join(tiles, tilePath(t)), bytes);
    }
    const p4 = await verify(later, '--store', store, '--log', tiles);
    expect(p4.code, p4.stdout).to.equal(0);
    expect((p4.json.log as { consistency: string }).consistency).to.equal('proved');
    expect(state().log.largest).to.equal(cp4);

    // Rolled back to the size-2 checkpoint: LOG_INCONSISTENT, not a fork (no evidence kept).
    const back = await verify(logged, '--store', store);
    expect((back.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('LOG_INCONSISTENT');
    expect(state().log.forks).to.deep.equal([]);

    // A fork: another tree of size 3 holding our entry at the same index.
    const fork = new MemoryLog();
    for (const e of log.entries) fork.append(e);
    fork.append(utf8('another fourth entry'));
    const forkCp = fork.checkpoint(T);
    const forked = write('forked.bundle', bundleWith(utf8(fork.proof(index, forkCp))));
    const f = await verify(forked, '--store', store);
    expect(f.code).to.equal(1);
    expect((f.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('LOG_INCONSISTENT');
    expect(state().log.forks).to.have.length(1);
    expect(state().log.forks[0]).to.deep.include({ seen: cp4, presented: forkCp });
    expect(state().log.largest, 'the largest is kept').to.equal(cp4);
    const shown = await runCli(['trust', 'show', '--store', store, '--json']);
    expect(shown.json.log).to.deep.equal({ largest: { origin: log.signer.name, size: 3 }, forks: 1 });
    expect((await runCli(['trust', 'show', '--store', store])).stdout).to.match(/Transparency log: required .* size 3; 1 FORK DETECTED/);

    // --log-policy beside such a store is a usage error; the store's own policy applies.
    expect((await verify(logged, '--store', store, '--log-policy', logPolicy)).code).to.equal(2);
  });

  it('fails closed: a caller of verifyWithStore that brings no log check is refused NOT_LOGGED for a store with a log policy', async () => {
    const store = join(dir, 'store2');
    await initStore(store, envelopeBytes(team.signed), { installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }], logPolicy: log.policy(2) });
    const opened = await openStore(store);
    const input = {
      envelopeBytes: env,
      archive: {
        size: release.archive.length,
        chunks: async function* () {
          yield release.archive;
        },
      },
      proof,
    };
    const err = await verifyWithStore(opened, input, { now: NOW }).then(
      () => undefined,
      (e: { code: string }) => e.code,
    );
    expect(err).to.equal('NOT_LOGGED');
  });

  it('a store whose log policy does not parse is STORE_CORRUPT; trust init refuses a bad log policy', async () => {
    const store = join(dir, 'store3');
    const bad = write('bad.policy', utf8('log nonsense\nquorum none\n'));
    const r = await runCli(['trust', 'init', '--policy', policyFile, '--store', store, '--log-policy', bad]);
    expect(r.code).to.equal(1);
    expect(r.stderr + r.stdout).to.match(/BAD_LOG_POLICY/);
    const good = join(dir, 'store4');
    await initStore(good, envelopeBytes(team.signed), { logPolicy: log.policy(2) });
    const state = JSON.parse(readFileSync(join(good, 'state.json'), 'utf8')) as { log: { policy: string } };
    state.log.policy = 'quorum nobody\n';
    writeFileSync(join(good, 'state.json'), JSON.stringify(state));
    const err = await openStore(good).then(
      () => undefined,
      (e: { code: string }) => e.code,
    );
    expect(err).to.equal('STORE_CORRUPT');
  });

  it('hub publish: a hub whose store has a log policy offers only logged bundles, and the offered file carries the proof', async () => {
    const hubStore = join(dir, 'hub-store');
    await initStore(hubStore, envelopeBytes(team.signed), { logPolicy: log.policy(2), now: NOW });
    const registry = await openRegistry(`sqlite:${join(dir, 'hub.db')}`);
    try {
      const bundlesDir = join(dir, 'hub-bundles');
      const refused = await publishBundle(registry, { bundlePath: plain, bundlesDir, storeDir: hubStore, now: NOW }).then(
        () => undefined,
        (e: { code: string }) => e.code,
      );
      expect(refused).to.equal('NOT_LOGGED');
      const r = await publishBundle(registry, { bundlePath: logged, bundlesDir, storeDir: hubStore, now: NOW });
      const offered = await openBundleFile(join(bundlesDir, r.offer.file));
      expect(Buffer.from(offered.proof!).toString()).to.equal(Buffer.from(proof).toString());
      await offered.close();
    } finally {
      await registry.close();
    }
    // A hub store without a log policy still offers a bundle without a proof.
    const openHub = join(dir, 'hub-store-open');
    await initStore(openHub, envelopeBytes(team.signed), { now: NOW });
    const other = await openRegistry(`sqlite:${join(dir, 'hub-open.db')}`);
    try {
      expect((await publishBundle(other, { bundlePath: plain, bundlesDir: join(dir, 'hub-open'), storeDir: openHub, now: NOW })).outcome).to.equal('added');
    } finally {
      await other.close();
    }
  });

  it('online (--log DIR): a missing proof is fetched from the tiles, and the consistency proof from the largest seen', async () => {
    // A log directory as the publisher lays it out: checkpoint, tiles, entry bundles, index/<identity>.
    const logDir = join(dir, 'log-dir');
    const grown = new MemoryLog();
    for (const e of log.entries) grown.append(e);
    grown.append(utf8('later'));
    const put = (path: string, bytes: Uint8Array | string): void => {
      mkdirSync(dirname(join(logDir, path)), { recursive: true });
      writeFileSync(join(logDir, path), bytes);
    };
    put('checkpoint', grown.checkpoint(T));
    for (const t of tilesOfTree(grown.size)) {
      const bytes = t.level === 'entries' ? encodeEntryBundle(grown.entries.slice(t.index * 256, t.index * 256 + t.width)) : tileContent(t, grown.hashAt);
      put(tilePath(t), bytes);
    }
    put(`index/${entryIdentity(entryForEnvelope(env))}`, `${index}\n`);
    const r = await verify(plain, ...withPolicy, '--log-policy', logPolicy, '--log', logDir);
    expect(r.code, r.stdout).to.equal(0);
    expect(r.json.log).to.deep.include({ index, size: 3, fetched: true });
    // A release the log does not hold: NOT_LOGGED, online too.
    const unlogged = envelopeBytes(signedBy(manifestEnvelope({ ...release.manifest, version: '10.2.6' }), team.signers.slice(0, 2)));
    const missing = await verify(write('unlogged.json', unlogged), '--policy', policyFile, '--log-policy', logPolicy, '--log', logDir);
    expect(missing.code).to.equal(1);
    expect((missing.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('NOT_LOGGED');

    // A store that holds the size-2 checkpoint gets the consistency proof 2 -> 3 from the tiles.
    const store = join(dir, 'store-online');
    await initStore(store, envelopeBytes(team.signed), { installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }], logPolicy: log.policy(2) });
    expect((await verify(logged, '--store', store)).code).to.equal(0);
    const online = await verify(plain, '--store', store, '--log', logDir);
    expect(online.code, online.stdout).to.equal(0);
    expect(online.json.log).to.deep.include({ size: 3, consistency: 'proved', fetched: true });

    // A store whose log policy names the log by URL refreshes a stale proof from it (a release installed weeks
    // after it was logged); without the URL, or when the log cannot be read, the stale verdict stands.
    const named = log.policy(2).replace(`log ${log.signer.vkey}`, `log ${log.signer.vkey} ${logDir}`);
    const later = new Date(NOW.getTime() + 10 * 86400_000);
    put('checkpoint', grown.checkpoint(Math.floor(later.getTime() / 1000) - 60));
    const refreshing = join(dir, 'store-refresh');
    await initStore(refreshing, envelopeBytes(team.signed), { installed: [{ product: 'drupal', component: 'core', version: '10.2.3' }], logPolicy: named });
    const fresh = await runCli(['verify', logged, '--store', refreshing, '--json'], { now: later });
    expect(fresh.code, fresh.stdout).to.equal(0);
    expect(fresh.json.log).to.deep.include({ size: 3, fetched: true });
    const stale = await runCli(['verify', logged, '--store', store, '--json'], { now: later });
    expect((stale.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('CHECKPOINT_STALE');
    rmSync(logDir, { recursive: true });
    const gone = await runCli(['verify', logged, '--store', refreshing, '--json'], { now: later });
    expect((gone.json.reasons as Array<{ code: string }>)[0]!.code).to.equal('CHECKPOINT_STALE');
  });

  it('recordLog never lowers the largest checkpoint (concurrent verifiers), and keeps each fork once', async () => {
    const store = join(dir, 'store-record');
    await initStore(store, envelopeBytes(team.signed), { logPolicy: log.policy(2) });
    const grown = new MemoryLog();
    for (const e of log.entries) grown.append(e);
    grown.append(utf8('later'));
    const big = grown.checkpoint(T);
    await recordLog(store, { largest: big });
    await recordLog(store, { largest: checkpoint });
    const state = (): { log: { largest: string; forks: unknown[] } } => JSON.parse(readFileSync(join(store, 'state.json'), 'utf8'));
    expect(state().log.largest).to.equal(big);
    await recordLog(store, { fork: { seen: big, presented: checkpoint } });
    await recordLog(store, { fork: { seen: big, presented: checkpoint } });
    expect(state().log.forks).to.have.length(1);
  });

  it('the proof round-trips through formatProof (what log prove writes)', () => {
    expect(formatProof(parseProof(proof))).to.equal(Buffer.from(proof).toString());
  });
});
