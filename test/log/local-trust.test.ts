// Local trust: `verify BUNDLE --store DIR --provider P` after `log sync` verifies a provider's release from the store's
// own replayed log: logged with this very document, never revoked, signed by P's current release keys less any
// revoked at or before the release's index, or by the super provider; plus every check verifyWithStore makes today.
// Each test fails when its rule is removed.
import { expect } from 'chai';
import { join } from 'node:path';
import type { Envelope } from '../../lib/core/envelope.js';
import { VerificationError, type CountersignError } from '../../lib/core/errors.js';
import type { Manifest } from '../../lib/core/manifest.js';
import { verifyWithStore } from '../../lib/core/trust-state.js';
import { bySuperProvider, localTrust } from '../../lib/log/local-trust.js';
import { syncStore } from '../../lib/log/sync.js';
import { writeBundleFile } from '../../lib/node/bundle-file.js';
import { loadReplayedState } from '../../lib/node/replayed-state.js';
import { initStore, openStore } from '../../lib/node/trust-store.js';
import { runCli } from '../support/cli.js';
import { bundleInput, envelopeBytes, makeRelease, makeSigners, manifestEnvelope, signedBy } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { Driver, enrolment, keyRevocation, makeProvider, makeRoot, releaseOf, releaseRevocation, rotation } from './provider-support.js';
import { makeLog, sub } from './service-support.js';
import { ServedLog, witnessKeys } from './sync-support.js';

const P = 'wordpress.org/plugins/wordfence';
const T = Math.floor(new Date('2026-11-20T12:00:00Z').getTime() / 1000);
const NOW = new Date((T + 600) * 1000);
const INSTALLED = [{ product: 'drupal', component: 'core', version: '10.2.3' }];

/**
 * The root, P enrolled, releases 10.2.4 and 10.2.6 by release key 0 (later revoked "from now": they still count),
 * 10.2.5 by key 1 (later revoked "from all": it never counts), 10.2.7 revoked, 10.2.8 by the super provider; 10.2.9
 * never logged.
 */
function scenario() {
  const root = makeRoot({ delay: 0 });
  const p = makeProvider(P);
  const d = new Driver();
  d.add(root.policy);
  d.add(enrolment(p, root.signers.slice(0, 2)));
  d.state(T - 100);
  const rel = {
    byKey0: releaseOf(P, '10.2.4', [p.release[0]!]),
    byKey1: releaseOf(P, '10.2.5', [p.release[1]!]),
    beforeNow: releaseOf(P, '10.2.6', [p.release[0]!]),
    revoked: releaseOf(P, '10.2.7', [p.release[0]!]),
    bySuper: releaseOf(P, '10.2.8', root.signers.slice(0, 2)),
    unlogged: releaseOf(P, '10.2.9', [p.release[0]!]),
  };
  for (const r of [rel.byKey0, rel.byKey1, rel.beforeNow, rel.revoked, rel.bySuper]) d.add(r);
  d.add(releaseRevocation(P, '10.2.7', [p.release[0]!]));
  d.state(T - 90);
  // Key 1 revoked from the start: its releases never count again. Key 0 revoked from now: its earlier ones still do.
  d.add(keyRevocation(P, p.release[1]!.id, 'all', p.admin));
  d.add(keyRevocation(P, p.release[0]!.id, 'now', p.admin));
  d.state(T - 80);
  return { root, p, d, rel };
}

async function syncedStore(s: ReturnType<typeof scenario>): Promise<string> {
  const served = new ServedLog({ witnesses: witnessKeys(1) });
  for (const e of s.d.entries) served.append(e);
  for (const [k, v] of s.d.manifests) served.manifests.set(k, v);
  served.publish(T);
  const dir = join(tempDir(), 'store');
  await initStore(dir, envelopeBytes(s.root.policy), { logPolicy: served.policy(), installed: INSTALLED, now: NOW });
  await syncStore(dir, served, { now: NOW });
  return dir;
}

async function verdict(dir: string, env: Envelope, provider = P): Promise<string[]> {
  const store = await openStore(dir);
  const replayed = (await loadReplayedState(store))!;
  const archive = makeRelease().archive;
  try {
    const local = localTrust(replayed, envelopeBytes(env), provider);
    const v = await verifyWithStore(store, bundleInput(env, archive), { now: NOW, ...local });
    return ['OK', ...(bySuperProvider(v) ? ['super'] : [])];
  } catch (err) {
    if (err instanceof VerificationError) return err.reasons.map((r) => r.code);
    return [(err as CountersignError).code];
  }
}

describe('verify --store --provider (local trust)', () => {
  it("accepts a logged, unrevoked release of the provider's current release keys, and the super provider's (flagged)", async () => {
    const s = scenario();
    const dir = await syncedStore(s);
    expect(await verdict(dir, s.rel.beforeNow)).to.deep.equal(['OK']);
    expect(await verdict(dir, s.rel.byKey0)).to.deep.equal(['OK']);
    expect(await verdict(dir, s.rel.bySuper)).to.deep.equal(['OK', 'super']);
  });

  it('refuses a release signed only by a key revoked at or before its index (from all), a revoked release, an unlogged one', async () => {
    const s = scenario();
    const dir = await syncedStore(s);
    expect(await verdict(dir, s.rel.byKey1)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(await verdict(dir, s.rel.revoked)).to.deep.equal(['REVOKED']);
    expect(await verdict(dir, s.rel.unlogged)).to.deep.equal(['NOT_LOGGED']);
    expect(await verdict(dir, s.rel.byKey0, 'drupal.org/project/other')).to.deep.equal(['WRONG_TARGET']);
  });

  it('a release key still waiting out the activation delay does not count (KEY_NOT_ACTIVE): it cannot stand in for a revoked key', async () => {
    const root = makeRoot({ delay: 3600 });
    const p = makeProvider(P);
    const d = new Driver();
    d.add(root.policy);
    d.add(enrolment(p, root.signers.slice(0, 2)));
    d.state(T - 10000);
    d.state(T - 5000); // the enrolled keys are active from T - 6400
    const release = releaseOf(P, '10.2.4', [p.release[0]!]);
    d.add(release);
    // A stolen admin quorum adds its own release key; the provider then revokes the key that signed 10.2.4.
    const [late] = makeSigners(1, 'late release key');
    d.add(rotation(makeProvider(P, { version: 2, admin: p.admin, release: [p.release[0]!, late!] }), p.admin));
    d.state(T - 100); // the new key is active from T + 3500
    d.add(keyRevocation(P, p.release[0]!.id, 'all', p.admin));
    d.state(T - 90);
    const dir = await syncedStore({ root, p, d, rel: {} as ReturnType<typeof scenario>['rel'] });
    expect(await verdict(dir, signedBy({ ...release, signatures: [] }, [late!]))).to.deep.equal(['QUORUM_NOT_MET']);
  });

  it('log sync refuses a state entry dated more than 10 minutes ahead of its clock (STATE_MISMATCH): it would end every delay at once', async () => {
    const root = makeRoot({ delay: 86400 });
    const d = new Driver();
    d.add(root.policy);
    d.add(enrolment(makeProvider(P), root.signers.slice(0, 2)));
    d.state(Math.floor(NOW.getTime() / 1000) + 601);
    const code = await syncedStore({ root, p: makeProvider(P), d, rel: {} as ReturnType<typeof scenario>['rel'] }).then(
      () => 'synced',
      (err: CountersignError) => err.code,
    );
    expect(code).to.equal('STATE_MISMATCH');
  });

  it('refuses another document than the one logged for that version (LOG_ENTRY_MISMATCH), and counts only keys of the replayed state', async () => {
    const s = scenario();
    const dir = await syncedStore(s);
    const logged = JSON.parse(Buffer.from(s.rel.byKey0.payload, 'base64').toString()) as Manifest;
    const other = signedBy(manifestEnvelope({ ...logged, postUpdate: [] } as Manifest), [s.p.release[0]!]);
    expect(await verdict(dir, other)).to.deep.equal(['LOG_ENTRY_MISMATCH']);
    // The logged release with its signatures replaced by a key the bundle brings along: the bundle cannot name keys.
    const outsider = makeProvider(P).release[0]!;
    const resigned = signedBy({ ...s.rel.byKey0, signatures: [] }, [outsider]);
    expect(await verdict(dir, resigned)).to.deep.equal(['QUORUM_NOT_MET']);
  });

  it('through the CLI: log sync --store --log DIR, then verify --store --provider (exit 0), and exit 1 with the code', async function () {
    this.timeout(60_000);
    const s = scenario();
    const log = await makeLog();
    try {
      const clock = { t: T - 100 };
      const { Sequencer } = await import('../../lib/log/sequencer.js');
      const seq = new Sequencer({ store: log.store, tiles: log.tiles, signer: log.signer, now: () => new Date(clock.t * 1000) });
      await seq.add([sub(s.root.policy), sub(enrolment(s.p, s.root.signers.slice(0, 2)))]);
      await seq.add([sub(s.rel.byKey0), sub(s.rel.revoked), sub(releaseRevocation(P, '10.2.7', [s.p.release[0]!]))]);
      const dir = join(tempDir(), 'store');
      await initStore(dir, envelopeBytes(s.root.policy), { logPolicy: `log ${log.signer.vkey}\nquorum none\n`, installed: INSTALLED, now: NOW });
      const synced = await runCli(['log', 'sync', '--store', dir, '--log', log.dir, '--json'], { now: NOW });
      expect(synced.code, synced.stderr).to.equal(0);
      expect(JSON.parse(synced.stdout)).to.include({ ok: true, size: 7, advanced: true });
      const archive = makeRelease().archive;
      const bundle = async (env: Envelope, name: string) => {
        const path = join(tempDir(), name);
        await writeBundleFile(path, env, {
          size: archive.length,
          chunks: async function* () {
            yield archive;
          },
        });
        return path;
      };
      const ok = await runCli(['verify', await bundle(s.rel.byKey0, 'ok.bundle'), '--store', dir, '--provider', P, '--json'], { now: NOW });
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
      expect(JSON.parse(ok.stdout).log).to.include({ provider: P, index: 3, replayed: true });
      const revoked = await runCli(['verify', await bundle(s.rel.revoked, 'revoked.bundle'), '--store', dir, '--provider', P, '--json'], { now: NOW });
      expect(revoked.code).to.equal(1);
      expect(JSON.parse(revoked.stdout).reasons.map((r: { code: string }) => r.code)).to.deep.equal(['REVOKED']);
      const unsynced = join(tempDir(), 'unsynced');
      await initStore(unsynced, envelopeBytes(s.root.policy), { logPolicy: `log ${log.signer.vkey}\nquorum none\n`, installed: INSTALLED, now: NOW });
      expect((await runCli(['verify', await bundle(s.rel.byKey0, 'u.bundle'), '--store', unsynced, '--provider', P], { now: NOW })).code).to.equal(2);
    } finally {
      await log.store.close();
    }
  });
});
