// The log commands end to end: log init/add in-process; log serve with two witnesses as real processes (fail closed
// when one is down, cache headers, size cap); log prove against the served URL; monitor and mirror from the CLI.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeEnvelope } from '../../lib/core/envelope.js';
import { parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { parseProof } from '../../lib/log/proof.js';
import { submitToLog } from '../../lib/log/submit.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { verifyLogProof } from '../../lib/log/verify-proof.js';
import { runCli, runCliOk } from '../support/cli.js';
import { bundleFileBytes, makeRelease } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { bundledCli } from '../installer/support.js';
import { makeTeam, release } from './service-support.js';
import { signedBy } from '../support/fixtures.js';
import { openBundleFile } from '../../lib/node/bundle-file.js';

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [await bundledCli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${args.slice(0, 2).join(' ')} exited ${code}: ${out}${err}`)));
  });
  return { child, url, stderr: () => err };
}

function stop(s: Served): Promise<void> {
  return new Promise((resolve) => (s.child.exitCode !== null ? resolve() : s.child.once('exit', () => resolve()).kill('SIGTERM')));
}

describe('log CLI', function () {
  this.timeout(180_000);

  it('log add refuses with the rule code (exit 1) and prints indexes; the same file again is the same index', async () => {
    const dir = tempDir();
    await runCliOk(['keygen', '--out', join(dir, 'log'), '--unencrypted']);
    const init = await runCliOk(['log', 'init', '--origin', 'log.example.test/cli', '--key', join(dir, 'log.key'), '--tiles', join(dir, 'tiles'), '--json']);
    expect(String(init.json.vkey)).to.match(/^log\.example\.test\/cli\+[0-9a-f]{8}\+/);
    const team = makeTeam(3, 2);
    const files = { policy: join(dir, 'p.json'), rel: join(dir, 'r.json'), weak: join(dir, 'w.json') };
    writeFileSync(files.policy, serializeEnvelope(team.policy));
    writeFileSync(files.rel, serializeEnvelope(release(team, '10.2.4')));
    writeFileSync(files.weak, serializeEnvelope(release(team, '10.2.5', { by: team.signers.slice(0, 1) })));
    const tiles = ['--tiles', join(dir, 'tiles')];
    const early = await runCli(['log', 'add', files.rel, ...tiles, '--json']);
    expect([early.code, early.json.code]).to.deep.equal([1, 'NO_POLICY']);
    const ok = await runCliOk(['log', 'add', files.policy, files.rel, ...tiles, '--json']);
    expect((ok.json.entries as Array<{ index: number }>).map((e) => e.index)).to.deep.equal([0, 1]);
    const weak = await runCli(['log', 'add', files.rel, files.weak, ...tiles]);
    expect(weak.code).to.equal(1);
    expect(weak.stderr).to.include('already logged at index 1');
    expect(weak.stderr).to.include('error[QUORUM_NOT_MET]');
    const again = await runCli(['log', 'init', '--origin', 'log.example.test/cli', '--key', join(dir, 'log.key'), ...tiles, '--json']);
    expect([again.code, again.json.code]).to.deep.equal([2, 'STORE_EXISTS']);
  });

  it('serves a witnessed log: published only once both witnesses cosign (fail closed), cache headers, prove, monitor, mirror', async () => {
    const dir = tempDir();
    for (const k of ['log', 'w1', 'w2']) await runCliOk(['keygen', '--out', join(dir, k), '--unencrypted']);
    const tiles = join(dir, 'tiles');
    const vkey = String(
      (await runCliOk(['log', 'init', '--origin', 'log.example.test/served', '--key', join(dir, 'log.key'), '--tiles', tiles, '--json'])).json.vkey,
    );
    const wv = await Promise.all(
      ['w1', 'w2'].map(async (w) =>
        String((await runCliOk(['witness', 'vkey', '--key', join(dir, `${w}.key`), '--name', `${w}.example.test`, '--json'])).json.vkey),
      ),
    );
    const children: Served[] = [];
    try {
      const witnesses = await Promise.all(
        ['w1', 'w2'].map((w) =>
          serve(['witness', 'serve', '--key', join(dir, `${w}.key`), '--name', `${w}.example.test`, '--listen', '127.0.0.1:0', '--log', vkey]),
        ),
      );
      children.push(...witnesses);
      const log = await serve([
        'log',
        'serve',
        '--tiles',
        tiles,
        '--listen',
        '127.0.0.1:0',
        '--batch-ms',
        '100',
        ...witnesses.flatMap((w, i) => ['--witness', `w${i + 1}.example.test=${w.url}=${wv[i]}`]),
        '--witness-quorum',
        '2',
      ]);
      children.push(log);
      const team = makeTeam(3, 2);
      const built = makeRelease();
      const manifestEnv = signedBy(built.envelope, team.signers.slice(0, 2));
      const bundle = join(dir, 'drupal.bundle');
      writeFileSync(bundle, bundleFileBytes(manifestEnv, built.archive));

      expect((await submitToLog(log.url, Buffer.from(serializeEnvelope(team.policy)))).index).to.equal(0);
      const opened = await openBundleFile(bundle);
      await opened.close();
      const added = await submitToLog(log.url, opened.envelopeBytes);
      expect([added.index, added.size]).to.deep.equal([1, 2]);
      const cp = await fetch(`${log.url}/checkpoint`);
      expect(cp.headers.get('cache-control')).to.equal('no-cache');
      const note = await cp.text();
      expect(note.match(/^— w[12]\.example\.test /gm)).to.have.length(2);
      const tile = await fetch(`${log.url}/tile/0/000.p/2`);
      expect([tile.status, tile.headers.get('cache-control')]).to.deep.equal([200, 'public, max-age=31536000, immutable']);
      const big = await fetch(`${log.url}/add`, { method: 'POST', body: 'x'.repeat(5 * 1024 * 1024) }).catch(() => ({ status: 413 }));
      expect(big.status).to.equal(413);

      // The offline proof, checked as a site would against the log policy (log + both witnesses).
      const policyText = `log ${vkey}\nwitness w1 ${wv[0]}\nwitness w2 ${wv[1]}\ngroup both all w1 w2\nquorum both\n`;
      writeFileSync(join(dir, 'log.policy'), policyText);
      await runCliOk(['log', 'prove', bundle, '--log', log.url, '--out', join(dir, 'logged.bundle')]);
      const logged = await openBundleFile(join(dir, 'logged.bundle'));
      await logged.close();
      const checked = verifyLogProof({ envelopeBytes: logged.envelopeBytes, proof: logged.proof, policy: parseTlogPolicy(policyText), now: new Date() });
      expect([checked.index, checked.witnesses.sort()]).to.deep.equal([1, ['w1', 'w2']]);
      expect(parseProof(logged.proof!).index).to.equal(1);

      // A monitor as a signer, and a mirror.
      const mon = await runCli(['log', 'monitor', '--log', log.url, '--log-policy', join(dir, 'log.policy'), '--state', join(dir, 'mon'), '--once', '--json']);
      expect(mon.code, mon.stdout).to.equal(0);
      expect((mon.json.report as { size: number }).size).to.equal(2);
      const mirror = await runCliOk(['log', 'mirror', '--from', log.url, '--to', join(dir, 'mirror'), '--log-policy', join(dir, 'log.policy'), '--json']);
      expect(mirror.json.size).to.equal(2);
      expect(readFileSync(join(dir, 'mirror', 'checkpoint'), 'utf8')).to.equal(note);

      // One witness down: the next entry is sequenced but not published (503), and the output says why.
      await stop(witnesses[1]!);
      const r = await fetch(`${log.url}/add`, { method: 'POST', body: serializeEnvelope(release(team, '10.2.9')) });
      const body = (await r.json()) as { code: string; index: number };
      expect([r.status, body.code, body.index]).to.deep.equal([503, 'WITNESS_QUORUM_NOT_MET', 2]);
      expect(parseSignedCheckpoint(await (await fetch(`${log.url}/checkpoint`)).text()).size).to.equal(2);
      expect(log.stderr()).to.match(/checkpoint 3 NOT published: witness quorum not met \(1 of 2 required cosigned\)/);
    } finally {
      await Promise.all(children.map(stop));
    }
  });
});
