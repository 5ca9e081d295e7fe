// `log prove` writes a provider release's state section (from the log replayed off its tiles), and
// `verify BUNDLE --root --log-policy --provider` checks it offline; `verify --policy` of today is unchanged by it.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeEnvelope } from '../../lib/core/envelope.js';
import { openBundleFile, writeBundleFile } from '../../lib/node/bundle-file.js';
import { decodeStateProof } from '../../lib/log/state-proof.js';
import { runCli, runCliOk } from '../support/cli.js';
import { chunked, makeRelease, NOW, signedBy, tempDir } from '../support/fixtures.js';
import { enrolment, makeProvider, makeRoot, releaseOf, releaseRevocation } from './provider-support.js';
import { logPolicy, makeLog, sub } from './service-support.js';

const P = 'wordpress.org/plugins/wordfence';

describe('CLI: log prove writes the state section; verify --root --provider checks it offline', function () {
  this.timeout(120_000);
  const { archive } = makeRelease();
  const archiveInput = { size: archive.length, chunks: () => chunked(archive) };

  async function setUp() {
    const log = await makeLog();
    const dir = tempDir();
    const root = makeRoot({ delay: 0 });
    const p = makeProvider(P);
    await log.sequencer.add([sub(root.policy), sub(enrolment(p, root.signers.slice(0, 2)))]);
    // Both release keys sign: the release role needs one, the provider policy's top-level quorum (verify --policy) two.
    const env = releaseOf(P, '1.0.0', p.release);
    const [added] = await log.sequencer.add([sub(env)]);
    expect(added!.ok).to.equal(true);
    const files = { bundle: join(dir, 'r.bundle'), root: join(dir, 'root.json'), lp: join(dir, 'log.policy'), out: join(dir, 'logged.bundle') };
    await writeBundleFile(files.bundle, env, archiveInput);
    writeFileSync(files.root, serializeEnvelope(root.policy));
    writeFileSync(files.lp, logPolicy(log.signer.vkey));
    return { log, dir, root, p, env, files };
  }

  it('prove, then verify: OK from the provider release keys; --json names the quorum and the state; PROVIDER_MISMATCH for another provider', async () => {
    const { log, files } = await setUp();
    try {
      const proved = await runCliOk(['log', 'prove', files.bundle, '--log', log.dir, '--out', files.out, '--json']);
      const state = proved.json.state as { bytes: number; proofBytes: number };
      const opened = await openBundleFile(files.out);
      await opened.close();
      expect(opened.layout!.sections.map((s) => s.name)).to.deep.equal(['envelope', 'proof', 'state', 'archive']);
      expect(opened.state!.length).to.equal(state.bytes);
      expect(decodeStateProof(opened.state!).release.value).to.not.equal(undefined);

      const args = ['verify', files.out, '--root', files.root, '--log-policy', files.lp, '--provider', P];
      const ok = await runCliOk([...args, '--json'], { now: NOW });
      expect([ok.json.superProvider, ok.json.quorum]).to.deep.equal([false, `release keys of ${P}`]);
      expect((ok.json.state as { release: unknown }).release).to.deep.equal({ index: 3, revoked: null });
      const human = await runCliOk(args, { now: NOW });
      expect(human.stdout).to.match(/^OK: drupal core 1\.0\.0/);
      expect(human.stdout).to.match(/State: entry 4 .*the release is entry 3, not revoked/);

      const other = await runCli(['verify', files.out, '--root', files.root, '--log-policy', files.lp, '--provider', 'drupal.org/project/webform', '--json'], {
        now: NOW,
      });
      expect([other.code, other.json.code]).to.deep.equal([1, 'PROVIDER_MISMATCH']);
      // The bundle without its state section (as before log prove ran): BAD_STATE_PROOF, exit 1.
      const bare = await runCli(['verify', files.bundle, '--root', files.root, '--log-policy', files.lp, '--provider', P, '--json'], { now: NOW });
      expect([bare.code, bare.json.code]).to.deep.equal([1, 'NOT_LOGGED']);
    } finally {
      await log.store.close();
    }
  });

  it('a release revoked after it was proved: a fresh proof says REVOKED (prove refuses it, exit 1); the old bundle still shows the old state', async () => {
    const { log, files, p } = await setUp();
    try {
      await runCliOk(['log', 'prove', files.bundle, '--log', log.dir, '--out', files.out]);
      await log.sequencer.add([sub(releaseRevocation(P, '1.0.0', [p.release[1]!]))]);
      const again = await runCli(['log', 'prove', files.bundle, '--log', log.dir, '--out', join(files.out, '..', 'again.bundle'), '--json']);
      expect([again.code, again.json.code]).to.deep.equal([1, 'REVOKED']);
      // The old bundle's proofs are self-consistent: a site that requires fresh cosignatures (max-age) refuses it once
      // the witnesses have moved on; this log has none, so it verifies as of its checkpoint.
      const old = await runCliOk(['verify', files.out, '--root', files.root, '--log-policy', files.lp, '--provider', P, '--json'], { now: NOW });
      expect((old.json.state as { release: unknown }).release).to.deep.equal({ index: 3, revoked: null });
    } finally {
      await log.store.close();
    }
  });

  it('the single-policy model is unchanged: verify --policy reads the same bundle as before, state section or not', async () => {
    const { log, files, p, dir } = await setUp();
    try {
      await runCliOk(['log', 'prove', files.bundle, '--log', log.dir, '--out', files.out]);
      const policyFile = join(dir, 'provider.json');
      writeFileSync(
        policyFile,
        serializeEnvelope(
          signedBy({ payloadType: 'application/vnd.countersign.policy+json', payload: Buffer.from(p.payload).toString('base64'), signatures: [] }, p.admin),
        ),
      );
      const plain = await runCliOk(['verify', files.bundle, '--policy', policyFile, '--json'], { now: NOW });
      const carried = await runCliOk(['verify', files.out, '--policy', policyFile, '--json'], { now: NOW });
      const { log: carriedLog, ...rest } = carried.json;
      expect(rest).to.deep.equal(plain.json);
      expect(carriedLog).to.equal('carried, not checked (no log policy)');
      expect(Object.keys(plain.json)).to.not.include.members(['provider', 'state', 'quorum', 'superProvider']);
      const logged = await runCliOk(['verify', files.out, '--policy', policyFile, '--log-policy', files.lp, '--json'], { now: NOW });
      expect((logged.json.log as { index: number }).index).to.equal(3);
      // --provider belongs to --root (or, later, --store): alone, or beside --policy, it is a usage error.
      expect((await runCli(['verify', files.out, '--policy', policyFile, '--provider', P])).code).to.equal(2);
      expect((await runCli(['verify', files.out, '--root', files.root, '--policy', policyFile, '--log-policy', files.lp, '--provider', P])).code).to.equal(2);
      expect((await runCli(['verify', files.out, '--root', files.root, '--provider', P])).code).to.equal(2);
      expect(readFileSync(files.out).length).to.be.greaterThan(readFileSync(files.bundle).length);
    } finally {
      await log.store.close();
    }
  });
});
