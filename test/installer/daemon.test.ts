// The installer daemon, in-process, on a socket in a temp dir, with a stub worker standing in for
// `countersign apply` (test/installer/daemon-stub-worker.mjs) unless a test says otherwise.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createConnection, type Socket } from 'node:net';
import { resolveInstallerConfig } from '../../lib/installer/daemon/config.js';
import { submitBundle } from '../../lib/installer/daemon/client.js';
import { MAX_HEADER_BYTES, MAX_PROGRESS_LINE_BYTES, type ProgressLine } from '../../lib/installer/daemon/protocol.js';
import { startDaemon } from '../../lib/installer/daemon/serve.js';
import { WORKER_PATH } from '../../lib/installer/daemon/worker.js';
import { runCli } from '../support/cli.js';
import {
  bundleBytes,
  header,
  isRoot,
  labConfig,
  REPO,
  STUB_WORKER,
  makeLab,
  rawRequest,
  requireOwner,
  startHarness,
  stubControl,
  stubLog,
  treeListing,
  writeBundle,
  type Harness,
  type Lab,
} from './daemon-support.js';

const daemonEvents = (progress: ProgressLine[]) => progress.filter((p) => p.source === 'daemon').map((p) => p.progress.event);

describe('installer daemon', function () {
  this.timeout(30_000);
  let lab: Lab;
  let h: Harness | undefined;

  beforeEach(async function () {
    lab = await makeLab(requireOwner(this), ['alpha', 'beta']);
  });
  afterEach(async () => {
    await h?.daemon.close();
    h = undefined;
    rmSync(lab.base, { recursive: true, force: true });
  });

  describe('a good bundle', () => {
    it('is verified, spooled, handed to a worker as its stdin, and the client gets progress then the final ok', async () => {
      h = await startHarness(labConfig(lab), lab);
      const bytes = bundleBytes(lab);
      const progress: ProgressLine[] = [];
      process.env.COUNTERSIGN_PASSPHRASE = 'daemon secret';
      let final;
      try {
        final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bytes), onProgress: (p) => progress.push(p) });
      } finally {
        delete process.env.COUNTERSIGN_PASSPHRASE;
      }
      expect(final, JSON.stringify(final)).to.include({ ok: true, exit: 0, site: 'alpha' });
      expect((final.result as Record<string, unknown>).stub).to.equal(true);
      expect(daemonEvents(progress)).to.deep.equal(['accepted', 'received', 'started', 'verified', 'worker']);
      expect(progress.find((p) => p.progress.event === 'verified')!.progress).to.include({ product: 'drupal', component: 'core', version: '10.2.4' });
      // The worker's own progress lines are streamed, marked as the worker's; its human lines are not.
      expect(progress.filter((p) => p.source === 'worker').map((p) => p.progress.phase)).to.deep.equal(['check', 'files', 'post']);

      const [run, ...more] = stubLog(lab.sites.alpha!.root);
      expect(more).to.have.length(0);
      const { root, store } = lab.sites.alpha!;
      expect(run!.argv).to.deep.equal(['apply', '/dev/stdin', '--site', root, '--store', store, '--json', '--progress']);
      expect(run!.stdinSha256).to.equal(createHash('sha256').update(bytes).digest('hex'));
      expect(run!.cwd).to.equal(root);
      // A scrubbed environment: a fixed PATH, nothing of the daemon's (no COUNTERSIGN_* secret, no NODE_OPTIONS).
      expect(run!.env.PATH).to.equal(WORKER_PATH);
      expect(Object.keys(run!.env).filter((k) => !['PATH', 'LANG', 'HOME', 'USER', 'LOGNAME'].includes(k))).to.deep.equal([]);
      expect(run!.env).to.not.have.property('COUNTERSIGN_PASSPHRASE');
      // The spooled copy is gone once the job is done.
      expect(readdirSync(lab.spool)).to.deep.equal([]);
      expect(statSync(lab.spool).mode & 0o777).to.equal(0o700);
    });

    it("answers with the worker's own failure code and exit status, and WORKER_FAILED when it gives no result", async () => {
      h = await startHarness(labConfig(lab), lab);
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      stubControl(lab.sites.alpha!.root, { exit: 1, result: { ok: false, code: 'LOCAL_CHANGES', message: '2 files were changed locally' } });
      const failed = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: path });
      expect(failed).to.include({ ok: false, code: 'LOCAL_CHANGES', exit: 1 });

      stubControl(lab.sites.alpha!.root, { noResult: true, exit: 0 });
      const garbled = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: path });
      expect(garbled).to.include({ ok: false, code: 'WORKER_FAILED', exit: 1 });
      expect(garbled.stderr).to.include('a human line on stderr');
    });

    it('leaves out an overlong progress event from the worker, but passes a large result (every changed file) whole', async () => {
      h = await startHarness(labConfig(lab), lab);
      stubControl(lab.sites.alpha!.root, { bigProgress: MAX_PROGRESS_LINE_BYTES, bigResult: 2 * 1024 * 1024 });
      const progress: ProgressLine[] = [];
      const final = await submitBundle({
        socket: lab.socket,
        site: 'alpha',
        bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)),
        onProgress: (p) => progress.push(p),
      });
      expect(final).to.include({ ok: true });
      expect(((final.result as Record<string, string>).pad ?? '').length).to.equal(2 * 1024 * 1024);
      expect(progress.filter((p) => p.source === 'worker').map((p) => p.progress.event)).to.deep.equal(['phase', 'phase', 'phase']);
    });

    it("logs what each post-update step ran and printed, from the worker's result (ok or POST_UPDATE_FAILED)", async () => {
      h = await startHarness(labConfig(lab), lab);
      const step = {
        step: 0,
        argv: ['drush', 'updb', '-y'],
        exitCode: 0,
        signal: null,
        timedOut: false,
        spawnError: null,
        durationMs: 12,
        stdout: '3 updates\n',
        stderr: '',
        ok: true,
      };
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      stubControl(lab.sites.alpha!.root, { result: { ok: true, post: [step] } });
      expect(await submitBundle({ socket: lab.socket, site: 'alpha', bundle: path })).to.include({ ok: true });
      expect(h.logs.filter((l) => l.event === 'post')).to.deep.equal([
        {
          event: 'post',
          site: 'alpha',
          job: h.logs.find((l) => l.event === 'post')!.job,
          step: 0,
          argv: step.argv,
          exitCode: 0,
          signal: null,
          timedOut: false,
          spawnError: null,
          durationMs: 12,
          stdout: '3 updates\n',
          stderr: '',
        },
      ]);
      const failed = { ...step, exitCode: 3, ok: false, stderr: 'table locked\n' };
      stubControl(lab.sites.beta!.root, { exit: 1, result: { ok: false, code: 'POST_UPDATE_FAILED', message: 'step 1 failed', details: { post: [failed] } } });
      expect(await submitBundle({ socket: lab.socket, site: 'beta', bundle: path })).to.include({ ok: false, code: 'POST_UPDATE_FAILED' });
      expect(h.logs.filter((l) => l.event === 'post' && l.site === 'beta').map((l) => [l.exitCode, l.stderr])).to.deep.equal([[3, 'table locked\n']]);
    });

    it('kills a worker that runs past jobTimeoutMs (WORKER_TIMEOUT) and recovers the site right after', async () => {
      h = await startHarness(labConfig(lab, { jobTimeoutMs: 500 }), lab);
      stubControl(lab.sites.alpha!.root, { hang: true });
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ ok: false, code: 'WORKER_TIMEOUT', exit: 1 });
      expect(stubLog(lab.sites.alpha!.root).map((r) => r.command)).to.deep.equal(['recover']);
      expect(h.logs.find((l) => l.event === 'recover')).to.include({ site: 'alpha', exitCode: 0 });
    });
  });

  describe('verification by the daemon itself', () => {
    it('refuses a bundle without a quorum, with every reason, and never starts a worker', async () => {
      h = await startHarness(labConfig(lab), lab);
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'two-of-five.bundle', bundleBytes(lab, {}, 2)) });
      expect(final).to.include({ ok: false, code: 'QUORUM_NOT_MET', exit: 1, site: 'alpha' });
      expect((final.reasons as Array<{ code: string }>).map((r) => r.code)).to.include('QUORUM_NOT_MET');
      expect(h.spawns).to.have.length(0);
      expect(stubLog(lab.sites.alpha!.root)).to.deep.equal([]);
      expect(readdirSync(lab.spool)).to.deep.equal([]);
    });

    it('refuses a bundle whose archive was altered after signing (DIGEST_MISMATCH), never starting a worker', async () => {
      h = await startHarness(labConfig(lab), lab);
      const bytes = bundleBytes(lab);
      bytes[bytes.length - 600]! ^= 0x01;
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'altered.bundle', bytes) });
      expect(final).to.include({ ok: false, exit: 1 });
      expect((final.reasons as Array<{ code: string }>).map((r) => r.code)).to.satisfy((codes: string[]) =>
        codes.some((c) => ['DIGEST_MISMATCH', 'ARCHIVE_MALFORMED', 'ENTRY_MISMATCH'].includes(c)),
      );
      expect(h.applySpawns()).to.equal(0);
    });

    it("verifies against the named site's own store: a release another site does not run is WRONG_TARGET there", async () => {
      h = await startHarness(labConfig(lab), lab);
      const plugin = bundleBytes(lab, { component: 'pathauto' });
      const final = await submitBundle({ socket: lab.socket, site: 'beta', bundle: writeBundle(lab, 'plugin.bundle', plugin) });
      expect(final).to.include({ ok: false, code: 'WRONG_TARGET', exit: 1 });
      expect(h.applySpawns()).to.equal(0);
    });

    it('refuses a signed document that is not an update (a policy) with NOT_AN_UPDATE', async () => {
      h = await startHarness(labConfig(lab), lab);
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'policy.json', lab.generation.bytes) });
      expect(final).to.include({ ok: false, code: 'NOT_AN_UPDATE', exit: 1 });
      expect(h.applySpawns()).to.equal(0);
    });

    it('answers a store error with its code only (the details go to the log) and exit 2', async () => {
      h = await startHarness(labConfig(lab), lab);
      // As if the site owner had pointed the store at a file only root may read: the parse error quotes its start.
      writeFileSync(join(lab.sites.alpha!.store, 'state.json'), 'LEAK:$6$secret-hash:19000:0:99999:7:::\n');
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ ok: false, code: 'STORE_CORRUPT', exit: 2 });
      expect(JSON.stringify(final)).to.not.include('LEAK');
      expect(JSON.stringify(final)).to.not.include(lab.sites.alpha!.store);
      expect(JSON.stringify(h.logs)).to.include('LEAK');
      expect(h.applySpawns()).to.equal(0);
    });

    it('refuses a store whose state.json is a symlink (the daemon, as root, never follows one there)', async () => {
      h = await startHarness(labConfig(lab), lab);
      const state = join(lab.sites.alpha!.store, 'state.json');
      rmSync(state);
      symlinkSync(join(lab.sites.beta!.store, 'state.json'), state);
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ ok: false, code: 'STORE_CORRUPT', exit: 2 });
      expect(h.applySpawns()).to.equal(0);
    });
  });

  describe('what a client can ask', () => {
    it('refuses a site that is not configured (UNKNOWN_SITE), whatever its name looks like', async () => {
      h = await startHarness(labConfig(lab), lab);
      for (const site of ['gamma', '__proto__', 'constructor', '../alpha', lab.sites.alpha!.root]) {
        const answer = await rawRequest(lab.socket, [header({ site, size: 10 }), Buffer.alloc(10)]);
        expect(answer.final, site).to.include({ ok: false, code: 'UNKNOWN_SITE', exit: 2 });
      }
      expect(h.spawns).to.have.length(0);
    });

    it('refuses a declared size above maxBundleBytes at once, without reading the bundle', async () => {
      h = await startHarness(labConfig(lab, { maxBundleBytes: 1000, idleTimeoutMs: 20_000 }), lab);
      // Only the header is sent: an answer that waited for the bundle would come after the idle timeout.
      const answer = await rawRequest(lab.socket, [header({ site: 'alpha', size: 64 * 1024 * 1024 })], { end: false, timeoutMs: 5000 });
      expect(answer.final).to.include({ ok: false, code: 'BUNDLE_TOO_LARGE', exit: 2 });
      expect(answer.ms).to.be.below(5000);
      // The real client, with a real bundle over the limit, gets the same answer; nothing was spooled.
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ code: 'BUNDLE_TOO_LARGE' });
      expect(readdirSync(lab.spool)).to.deep.equal([]);
      expect(h.spawns).to.have.length(0);
    });

    it('stops reading a client that sends far more than the limit (the answer comes while it is still sending)', async () => {
      h = await startHarness(labConfig(lab, { maxBundleBytes: 1000 }), lab);
      const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
      const answer = await rawRequest(lab.socket, [header({ site: 'alpha', size: big.length }), big]);
      expect(answer.final).to.include({ code: 'BUNDLE_TOO_LARGE' });
      expect(readdirSync(lab.spool)).to.deep.equal([]);
    });

    it('refuses a malformed header with BAD_REQUEST', async () => {
      h = await startHarness(labConfig(lab), lab);
      const cases: Array<[string, string]> = [
        ['not JSON', 'drupal please\n'],
        ['an array', '["alpha", 10]\n'],
        ['no size', header({ site: 'alpha' })],
        ['a negative size', header({ site: 'alpha', size: -1 })],
        ['a fractional size', header({ site: 'alpha', size: 1.5 })],
        ['a size as text', header({ site: 'alpha', size: '10' })],
        ['no site', header({ size: 10 })],
        ['a key twice', '{"site":"beta","site":"alpha","size":10}\n'],
        ['an empty line', '\n'],
        ['a header that never ends', 'x'.repeat(MAX_HEADER_BYTES + 10)],
      ];
      for (const [what, text] of cases) {
        const answer = await rawRequest(lab.socket, [text], { end: false });
        expect(answer.final, what).to.include({ ok: false, code: 'BAD_REQUEST', exit: 2 });
      }
      expect(h.spawns).to.have.length(0);
    });

    it('refuses any header field besides site and size: a client cannot choose a path, user, store or command', async () => {
      h = await startHarness(labConfig(lab), lab);
      const before = { outside: treeListing(lab.outside), alpha: treeListing(lab.sites.alpha!.root) };
      const bytes = Buffer.from(bundleBytes(lab));
      const attempts = [
        { root: lab.outside },
        { user: 'root' },
        { uid: 0, gid: 0 },
        { store: lab.sites.beta!.store },
        { command: ['/bin/sh', '-c', `touch ${lab.outside}/pwned`] },
        { cli: '/bin/sh' },
        { env: { NODE_OPTIONS: '--require /tmp/evil.js' } },
      ];
      for (const extra of attempts) {
        const answer = await rawRequest(lab.socket, [header({ site: 'alpha', size: bytes.length, ...extra }), bytes]);
        expect(answer.final, JSON.stringify(extra)).to.include({ ok: false, code: 'BAD_REQUEST', exit: 2 });
      }
      expect(h.spawns).to.have.length(0);
      expect(treeListing(lab.outside)).to.deep.equal(before.outside);
      expect(treeListing(lab.sites.alpha!.root)).to.deep.equal(before.alpha);
    });

    it('answers TIMEOUT to a client that goes quiet before its bundle is in, and one that closes early gets its place back', async () => {
      h = await startHarness(labConfig(lab, { idleTimeoutMs: 300, maxQueue: 0 }), lab);
      const quiet = await rawRequest(lab.socket, [header({ site: 'alpha', size: 100 }), Buffer.alloc(10)], { end: false });
      expect(quiet.final).to.include({ ok: false, code: 'TIMEOUT', exit: 2 });
      const early = await rawRequest(lab.socket, [header({ site: 'alpha', size: 100 }), Buffer.alloc(10)]);
      expect(early.final).to.include({ ok: false, code: 'BAD_REQUEST' });
      expect(readdirSync(lab.spool)).to.deep.equal([]);
      // Neither kept the site's only place.
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ ok: true });
    });
  });

  describe('the socket', () => {
    it('is mode 0660 with the configured group', async () => {
      h = await startHarness(labConfig(lab), lab);
      const info = statSync(lab.socket);
      expect(info.isSocket()).to.equal(true);
      expect(info.mode & 0o777).to.equal(0o660);
      expect(info.gid).to.equal(lab.owner.gid);
      expect(info.uid).to.equal(process.getuid!());
    });

    it('refuses to start on a live socket, replaces a stale one, and refuses a path that is not a socket', async () => {
      const config = labConfig(lab);
      h = await startHarness(config, lab);
      await startDaemon(config, { socket: lab.socket, recover: false, log: () => undefined }).then(
        async (second) => {
          await second.close();
          expect.fail('a second daemon started on a live socket');
        },
        (err: Error) => expect(err.message).to.match(/another installer is listening/),
      );
      await h.daemon.close();
      h = undefined;
      // A stale socket: its listener killed (SIGKILL), so nothing unlinked it.
      const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(lab.socket)}, () => console.log('up'))`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      expect(statSync(lab.socket).isSocket()).to.equal(true);
      h = await startHarness(config, lab);
      expect(statSync(lab.socket).mode & 0o777).to.equal(0o660);
      await h.daemon.close();
      h = undefined;
      writeFileSync(lab.socket, 'a regular file');
      await startDaemon(config, { socket: lab.socket, recover: false, log: () => undefined }).then(
        async (second) => {
          await second.close();
          expect.fail('started over a regular file');
        },
        (err: Error) => expect(err.message).to.match(/not a socket/),
      );
      expect(readFileSync(lab.socket, 'utf8')).to.equal('a regular file');
    });
  });

  describe('jobs', () => {
    it('runs one job per site at a time: a second submission waits in the queue and starts after the first ends', async () => {
      h = await startHarness(labConfig(lab), lab);
      stubControl(lab.sites.alpha!.root, { sleepMs: 600 });
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      const first: ProgressLine[] = [];
      const second: ProgressLine[] = [];
      const a = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path, onProgress: (p) => first.push(p) });
      await waitFor(() => first.some((p) => p.progress.event === 'worker'));
      const b = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path, onProgress: (p) => second.push(p) });
      const [ra, rb] = await Promise.all([a, b]);
      expect(ra).to.include({ ok: true });
      expect(rb).to.include({ ok: true });
      const runs = stubLog(lab.sites.alpha!.root);
      expect(runs).to.have.length(2);
      expect(runs[1]!.start).to.be.at.least(runs[0]!.end);
      expect(second.find((p) => p.progress.event === 'received')!.progress.queued).to.equal(1);
    });

    it('runs jobs for different sites concurrently', async () => {
      h = await startHarness(labConfig(lab), lab);
      stubControl(lab.sites.alpha!.root, { sleepMs: 800 });
      stubControl(lab.sites.beta!.root, { sleepMs: 800 });
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      const [ra, rb] = await Promise.all([
        submitBundle({ socket: lab.socket, site: 'alpha', bundle: path }),
        submitBundle({ socket: lab.socket, site: 'beta', bundle: path }),
      ]);
      expect(ra.ok && rb.ok).to.equal(true);
      const [x] = stubLog(lab.sites.alpha!.root);
      const [y] = stubLog(lab.sites.beta!.root);
      expect(Math.max(x!.start, y!.start)).to.be.below(Math.min(x!.end, y!.end));
    });

    it('drops a queued job whose client went away (seen at its heartbeat) instead of running it', async () => {
      h = await startHarness(labConfig(lab), lab, { heartbeatMs: 100 });
      stubControl(lab.sites.alpha!.root, { sleepMs: 1000 });
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      const events: ProgressLine[] = [];
      const running = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path, onProgress: (p) => events.push(p) });
      await waitFor(() => events.some((p) => p.progress.event === 'worker'));
      const bytes = readFileSync(path);
      // A client that sends its bundle, sees it queued, and hangs up.
      const gone = await rawRequest(lab.socket, [header({ site: 'alpha', size: bytes.length }), bytes], {
        end: false,
        stopAt: (p) => p.progress.event === 'waiting',
      });
      expect(gone.progress.map((p) => p.progress.event)).to.include.members(['received', 'waiting']);
      expect(await running).to.include({ ok: true });
      await waitFor(() => h!.logs.some((l) => l.event === 'dropped'));
      expect(stubLog(lab.sites.alpha!.root).map((r) => r.command)).to.deep.equal(['apply']);
      expect(readdirSync(lab.spool)).to.deep.equal([]);
    });

    it('answers QUEUE_FULL beyond maxQueue waiting jobs', async () => {
      h = await startHarness(labConfig(lab, { maxQueue: 1 }), lab);
      stubControl(lab.sites.alpha!.root, { sleepMs: 800 });
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      const events: ProgressLine[] = [];
      const running = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path, onProgress: (p) => events.push(p) });
      await waitFor(() => events.some((p) => p.progress.event === 'worker'));
      const waiting = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path });
      await waitFor(() => h!.logs.some((l) => l.event === 'queued'));
      const refused = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: path });
      expect(refused).to.include({ ok: false, code: 'QUEUE_FULL', exit: 2 });
      // Another site is not affected.
      const other = await submitBundle({ socket: lab.socket, site: 'beta', bundle: path });
      expect(other).to.include({ ok: true });
      expect((await running).ok && (await waiting).ok).to.equal(true);
    });

    it('takes a queue place only once the whole bundle is in: slow uploads do not block a complete one', async () => {
      // One running job and one waiting: two slow uploads used to hold both places for as long as they trickled.
      h = await startHarness(labConfig(lab, { maxQueue: 1 }), lab);
      const bytes = bundleBytes(lab);
      const slow = [
        await stalled(lab.socket, 'alpha', bytes.length, bytes.subarray(0, 100)),
        await stalled(lab.socket, 'alpha', bytes.length, bytes.subarray(0, 100)),
      ];
      await waitFor(() => h!.logs.filter((l) => l.event === 'accepted').length === 2);
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bytes) });
      expect(final).to.include({ ok: true, exit: 0 });
      for (const s of slow) s.destroy();
    });

    it("bounds the connections per site: idle ones beyond it are refused, and another site's submission still goes through", async () => {
      h = await startHarness(labConfig(lab, { maxConnections: 8, maxConnectionsPerSite: 2 }), lab);
      const bytes = bundleBytes(lab);
      // Eight connections that name alpha and then say nothing more: only two are kept.
      const idle = await Promise.all(Array.from({ length: 8 }, () => stalled(lab.socket, 'alpha', bytes.length)));
      await waitFor(() => h!.logs.filter((l) => l.event === 'refused' && l.code === 'TOO_MANY_CONNECTIONS').length === 6);
      const third = await rawRequest(lab.socket, [header({ site: 'alpha', size: bytes.length })], { end: false });
      expect(third.final).to.include({ ok: false, code: 'TOO_MANY_CONNECTIONS', exit: 2 });
      const other = await submitBundle({ socket: lab.socket, site: 'beta', bundle: writeBundle(lab, 'good.bundle', bytes) });
      expect(other).to.include({ ok: true, exit: 0 });
      for (const s of idle) s.destroy();
      // Once they are gone, alpha takes submissions again.
      await new Promise((r) => setTimeout(r, 200));
      expect(await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bytes) })).to.include({ ok: true });
    });

    it('answers TIMEOUT to a client whose header line has not arrived within headerTimeoutMs, even one that trickles it', async () => {
      h = await startHarness(labConfig(lab, { headerTimeoutMs: 300, idleTimeoutMs: 5000 }), lab);
      const silent = await rawRequest(lab.socket, [], { end: false });
      expect(silent.final).to.include({ ok: false, code: 'TIMEOUT', exit: 2 });
      expect(silent.ms).to.be.below(2000);
      const socket = await stalled(lab.socket, null, 0, Buffer.from('{"si'));
      const trickle = setInterval(() => socket.write(' '), 50);
      const answer = await new Promise<string>((done) => {
        let text = '';
        socket.on('data', (d) => (text += d.toString('utf8')));
        socket.on('close', () => done(text));
      });
      clearInterval(trickle);
      expect(JSON.parse(answer.trim().split('\n').at(-1)!)).to.include({ ok: false, code: 'TIMEOUT' });
    });

    it('recovers every site at start, as its owner, before the first job', async () => {
      h = await startHarness(labConfig(lab), lab, { recover: true });
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ ok: true });
      await h.daemon.recovered;
      expect(stubLog(lab.sites.alpha!.root).map((r) => [r.command, r.argv.join(' ')])).to.deep.equal([
        ['recover', `recover --site ${lab.sites.alpha!.root} --store ${lab.sites.alpha!.store} --json`],
        ['apply', `apply /dev/stdin --site ${lab.sites.alpha!.root} --store ${lab.sites.alpha!.store} --json --progress`],
      ]);
      expect(stubLog(lab.sites.beta!.root).map((r) => r.command)).to.deep.equal(['recover']);
      expect(stubLog(lab.sites.beta!.root)[0]!.uid).to.equal(lab.owner.uid);
      expect(
        h.logs
          .filter((l) => l.event === 'recover')
          .map((l) => l.site)
          .sort(),
      ).to.deep.equal(['alpha', 'beta']);
    });

    it('refuses what still waits when it stops, lets the running job finish, and removes its socket', async () => {
      h = await startHarness(labConfig(lab), lab);
      stubControl(lab.sites.alpha!.root, { sleepMs: 600 });
      const path = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      const events: ProgressLine[] = [];
      const running = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path, onProgress: (p) => events.push(p) });
      await waitFor(() => events.some((p) => p.progress.event === 'worker'));
      const waiting = submitBundle({ socket: lab.socket, site: 'alpha', bundle: path });
      await waitFor(() => h!.logs.some((l) => l.event === 'queued'));
      await h.daemon.close();
      h = undefined;
      expect(await running).to.include({ ok: true });
      expect(await waiting).to.include({ ok: false, code: 'SHUTTING_DOWN', exit: 2 });
      expect(() => statSync(lab.socket)).to.throw();
    });
  });

  describe('privilege', () => {
    it("runs the worker as the site owner (uid, gid, no other group): what it writes is the owner's, and it cannot reach the spool or outside its rights", async function () {
      if (!isRoot) {
        console.log('      (skipped: not running as root, so the daemon cannot run workers as another user)');
        this.skip();
      }
      h = await startHarness(labConfig(lab), lab);
      const { root } = lab.sites.alpha!;
      stubControl(root, { probeRead: [lab.spool], probeWrite: [join(lab.outside, 'pwned'), join(lab.sites.alpha!.root, 'owned-by-owner.txt')] });
      const final = await submitBundle({ socket: lab.socket, site: 'alpha', bundle: writeBundle(lab, 'good.bundle', bundleBytes(lab)) });
      expect(final).to.include({ ok: true });
      const [run] = stubLog(root);
      expect(run).to.include({ uid: lab.owner.uid, euid: lab.owner.uid, gid: lab.owner.gid });
      expect(run!.uid).to.not.equal(0);
      // Every supplementary group of the daemon (root's) was dropped.
      expect((run!.groups ?? []).filter((g) => g !== lab.owner.gid)).to.deep.equal([]);
      for (const name of ['stub-wrote-apply.txt', 'owned-by-owner.txt']) {
        const info = statSync(join(root, name));
        expect([info.uid, info.gid], name).to.deep.equal([lab.owner.uid, lab.owner.gid]);
      }
      expect(run!.probes).to.deep.equal({
        [`read ${lab.spool}`]: 'EACCES',
        [`write ${join(lab.outside, 'pwned')}`]: 'EACCES',
        [`write ${join(root, 'owned-by-owner.txt')}`]: 'ok',
      });
      expect(readdirSync(lab.outside)).to.deep.equal(['keep.txt']);
      // The daemon's own side stays the daemon's: its spool.
      expect(statSync(lab.spool).uid).to.equal(0);
    });
  });

  describe('the command line', () => {
    it('installer submit prints the final answer (--json) and exits with its status', async () => {
      h = await startHarness(labConfig(lab), lab);
      const good = writeBundle(lab, 'good.bundle', bundleBytes(lab));
      const ok = await runCli(['installer', 'submit', '--socket', lab.socket, '--site', 'alpha', good, '--json']);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.json).to.include({ ok: true, exit: 0, site: 'alpha' });
      const human = await runCli(['installer', 'submit', '--socket', lab.socket, '--site', 'alpha', good]);
      expect(human.code).to.equal(0);
      expect(human.stdout).to.match(/^OK: site alpha: applied drupal core 10\.2\.4/);
      expect(human.stderr).to.include('installer: verified drupal core 10.2.4');

      const bad = writeBundle(lab, 'bad.bundle', bundleBytes(lab, {}, 2));
      const rejected = await runCli(['installer', 'submit', '--socket', lab.socket, '--site', 'alpha', bad]);
      expect(rejected.code).to.equal(1);
      expect(rejected.stderr).to.match(/REJECTED: site alpha: QUORUM_NOT_MET/);
      const unknown = await runCli(['installer', 'submit', '--socket', lab.socket, '--site', 'gamma', good, '--json']);
      expect(unknown.code).to.equal(2);
      expect(unknown.json).to.include({ ok: false, code: 'UNKNOWN_SITE' });
      const nobody = await runCli(['installer', 'submit', '--socket', join(lab.base, 'none.sock'), '--site', 'alpha', good, '--json']);
      expect(nobody.code).to.equal(2);
      expect(nobody.json).to.include({ ok: false, code: 'IO' });
    });

    it('installer serve reads its config, serves, and on SIGTERM stops and removes its socket', async () => {
      const config = join(lab.base, 'installer.json');
      const sites = Object.fromEntries(
        Object.entries(lab.sites).map(([name, x]) => [name, { root: x.root, store: x.store, user: lab.owner.uid, group: lab.owner.gid }]),
      );
      writeFileSync(config, JSON.stringify({ spool: lab.spool, cli: STUB_WORKER, sites }));
      const serve = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/main.ts'), 'installer', 'serve', '--socket', lab.socket, '--config', config], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      serve.stderr!.on('data', (d) => (log += d));
      const exited = new Promise<number | null>((r) => serve.once('exit', (code) => r(code)));
      try {
        await waitFor(() => log.includes('"event":"listening"'), 20_000);
        const good = writeBundle(lab, 'good.bundle', bundleBytes(lab));
        const ok = await runCli(['installer', 'submit', '--socket', lab.socket, '--site', 'beta', good, '--json']);
        expect(ok.json, log).to.include({ ok: true, site: 'beta' });
        // Start-up recovery ran for each site, as its owner, through the CLI the config names.
        await waitFor(() => (log.match(/"event":"recover"/g) ?? []).length === 2);
        expect(stubLog(lab.sites.beta!.root).map((r) => r.command)).to.deep.equal(['recover', 'apply']);
      } finally {
        serve.kill('SIGTERM');
      }
      expect(await exited).to.equal(0);
      expect(log).to.include('"event":"stopped"');
      expect(() => statSync(lab.socket)).to.throw();
    });
  });
});

describe('installer config', () => {
  const site = { root: '/srv/a', user: 'www-owner', group: 'www-data', store: '/var/lib/countersign/a' };
  const lookup = (db: 'passwd' | 'group', key: string): string[] | undefined => {
    const passwd: Record<string, string[]> = {
      'www-owner': ['www-owner', 'x', '1500', '1500', '', '/home/www-owner', '/bin/sh'],
      root: ['root', 'x', '0', '0', '', '/root', '/bin/sh'],
    };
    const group: Record<string, string[]> = { 'www-data': ['www-data', 'x', '33', ''], other: ['other', 'x', '34', ''], root: ['root', 'x', '0', ''] };
    return db === 'passwd' ? (passwd[key] ?? Object.values(passwd).find((e) => e[2] === key)) : group[key];
  };
  const resolve = (raw: unknown) => resolveInstallerConfig(raw, { lookup, uid: 0, gid: 0 });

  it("resolves user and group names, and takes the sites' common group for the socket", () => {
    const config = resolve({ sites: { a: site } });
    expect(config.sites.get('a')).to.include({ uid: 1500, gid: 33, root: '/srv/a', userName: 'www-owner', home: '/home/www-owner' });
    expect(config.socketGid).to.equal(33);
    expect(config.maxQueue).to.equal(4);
  });

  it('refuses sites with different groups unless socketGroup names one', () => {
    const raw = { sites: { a: site, b: { ...site, root: '/srv/b', group: 'other' } } };
    expect(() => resolve(raw)).to.throw(/socketGroup/);
    expect(resolve({ ...raw, socketGroup: 'www-data' }).socketGid).to.equal(33);
  });

  it('refuses a root-owned site, unknown users, relative or .. paths, unknown fields, and bad site names', () => {
    const bad: Array<[string, unknown]> = [
      ['root owner', { sites: { a: { ...site, user: 'root' } } }],
      ['uid 0', { sites: { a: { ...site, user: 0 } } }],
      ['group 0', { sites: { a: { ...site, group: 'root' } } }],
      ['unknown user', { sites: { a: { ...site, user: 'nobody-here' } } }],
      ['relative root', { sites: { a: { ...site, root: 'srv/a' } } }],
      ['.. in root', { sites: { a: { ...site, root: '/srv/../etc' } } }],
      ['root /', { sites: { a: { ...site, root: '/' } } }],
      ['unknown field', { sites: { a: { ...site, command: ['/bin/sh'] } } }],
      ['unknown top-level field', { sites: { a: site }, listen: '0.0.0.0' }],
      ['bad site name', { sites: { 'A/b': site } }],
      ['no sites', { sites: {} }],
    ];
    for (const [what, raw] of bad) expect(() => resolve(raw), what).to.throw();
  });

  it('accepts installer/config.example.json', () => {
    const example = JSON.parse(readFileSync(join(REPO, 'installer/config.example.json'), 'utf8'));
    const users = (db: 'passwd' | 'group', key: string) =>
      db === 'passwd'
        ? (
            {
              example: ['example', 'x', '1501', '1501', '', '/srv/www/example.org', '/bin/sh'],
              shop: ['shop', 'x', '1502', '1502', '', '/srv/www/shop.example.org', '/bin/sh'],
            } as Record<string, string[]>
          )[key]
        : lookup(db, key);
    const config = resolveInstallerConfig(example, { lookup: users, uid: 0, gid: 0 });
    expect([...config.sites.keys()]).to.deep.equal(['example-org', 'shop-example-org']);
    expect(config.sites.get('shop-example-org')).to.include({ uid: 1502, gid: 33, stateDir: '/srv/www/shop.example.org/.countersign' });
  });

  it('as a non-root daemon, only serves sites owned by its own uid and gid', () => {
    expect(() => resolveInstallerConfig({ sites: { a: site } }, { lookup, uid: 1000, gid: 1000 })).to.throw(/not root/);
    expect(resolveInstallerConfig({ sites: { a: { ...site, user: 1000, group: 1000 } } }, { lookup, uid: 1000, gid: 1000 }).sites.get('a')!.uid).to.equal(1000);
  });
});

/** A connection that sends a header for `site` (none when null) and `body`, then nothing more. */
function stalled(socket: string, site: string | null, size: number, body: Buffer | Uint8Array = Buffer.alloc(0)): Promise<Socket> {
  return new Promise((done, fail) => {
    const c = createConnection(socket);
    c.on('error', () => undefined);
    // Refused, it hangs up (as submit does): the daemon would otherwise linger a moment for it to read.
    let text = '';
    c.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('"ok":false')) c.destroy();
    });
    c.once('connect', () => {
      if (site !== null) c.write(header({ site, size }));
      if (body.length > 0) c.write(body);
      done(c);
    });
    c.once('error', fail);
  });
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
