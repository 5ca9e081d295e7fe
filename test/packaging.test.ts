// What the npm package ships: the licence, the installer examples, and a CLI bundle (built as
// `npm run build` builds it) in which the TEST-ONLY fault hooks do nothing and are not documented.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Metafile } from 'esbuild';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hooksFromEnv } from '../lib/installer/hooks.js';
import { bundleCli } from '../scripts/bundle-cli.mjs';
import { loadBundle, saveCodeCache, worthCaching } from '../scripts/cli-loader.cjs';
import { CLI, makeSetup, NEW, REPO, snapshot, expectedSnapshot } from './installer/support.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/tmp.js';

function runBundle(cli: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
}

describe('packaging', function () {
  this.timeout(120_000);

  it('npm pack ships LICENSE (the Apache License 2.0 text), the installer examples, and the CLI without a code cache', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).to.include.members(['LICENSE', 'README.md', 'installer/config.example.json', 'installer/countersign-installer.service']);
    // dist/ is what `npm ci` built (prepare): the bin, the script it runs and its loader.
    expect(files).to.include.members(['dist/countersign.cjs', 'dist/cli-loader.cjs', 'dist/countersign-bundle.cjs', 'dist/help-rendering.cjs']);
    // Compiled code made here is never shipped: V8 would run it instead of the script beside it (cli-loader.cjs).
    expect(files.filter((f) => f.endsWith('.cache'))).to.deep.equal([]);
    const license = readFileSync(join(REPO, 'LICENSE'), 'utf8');
    expect(license).to.contain('Apache License').and.to.contain('Version 2.0, January 2004').and.to.contain('END OF TERMS AND CONDITIONS');
    expect(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).license).to.equal('Apache-2.0');
  });

  it('importing countersign or countersign/core (e.g. for verifyBundle) loads none of pg, better-sqlite3, inquirer', () => {
    // A resolve hook reports every module the imports load, whether import()ed or imported statically.
    const hook = `let port; export function initialize(data) { port = data.port; }
      export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }`;
    const script = `import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const { port1, port2 } = new MessageChannel();
      const seen = [];
      port1.on('message', (url) => seen.push(url));
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { port: port2 }, transferList: [port2] });
      const lib = await import(${JSON.stringify(pathToFileURL(join(REPO, 'lib/index.ts')).href)});
      const core = await import(${JSON.stringify(pathToFileURL(join(REPO, 'lib/core/index.ts')).href)});
      if (typeof lib.verifyBundle !== 'function' || typeof core.verifyBundle !== 'function') throw new Error('no verifyBundle');
      await new Promise((r) => setTimeout(r, 50));
      port1.close();
      console.log(JSON.stringify(seen));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const loaded = JSON.parse(r.stdout) as string[];
    expect(
      loaded.some((url) => url.includes('/node_modules/@noble/ed25519/')),
      'the hook sees packages',
    ).to.equal(true);
    expect(loaded.filter((url) => /\/node_modules\/(pg|better-sqlite3|inquirer)\//.test(url))).to.deep.equal([]);
  });

  describe('the shipped CLI bundle and the TEST-ONLY fault hooks', () => {
    let cli: string;
    let verifyMetafile: Metafile;
    before(async () => {
      cli = join(tempDir('countersign-shipped-'), 'countersign.cjs');
      ({ verifyMetafile } = await bundleCli(CLI, cli)); // the options `npm run build` uses
    });

    it('ignores COUNTERSIGN_TEST_CRASH_AT_STEP and COUNTERSIGN_TEST_FAIL_AT_STEP: the update is applied', async () => {
      for (const env of [{ COUNTERSIGN_TEST_CRASH_AT_STEP: '1' }, { COUNTERSIGN_TEST_FAIL_AT_STEP: '1' }] as Array<Record<string, string>>) {
        const s = await makeSetup();
        const r = await runBundle(cli, ['apply', s.release.bundle, '--site', s.site, '--store', s.store, '--now', '2026-11-23T12:00:00Z', '--json'], env);
        expect(r.signal, JSON.stringify(env)).to.equal(null);
        expect(r.code, r.stdout).to.equal(0);
        expect(snapshot(s.site)).to.deep.equal(expectedSnapshot(NEW));
      }
    });

    it('gives apply and recover a thread pool of 16 (cli/thread-pool.ts), which their children never hear of; a size the user set stands', function () {
      if (process.platform !== 'linux') this.skip(); // threads are counted in /proc/self/task
      // Preloaded into the bin: at exit, the process's thread count and the variable as a child of the command would get it.
      const probe = join(tempDir('countersign-pool-'), 'probe.cjs');
      writeFileSync(
        probe,
        "process.on('exit', () => require('fs').writeSync(2, '\\n' + JSON.stringify({ threads: require('fs').readdirSync('/proc/self/task').length, inherited: process.env.UV_THREADPOOL_SIZE ?? null })));",
      );
      const { UV_THREADPOOL_SIZE: _, ...base } = process.env;
      const pool = (command: string, env: Record<string, string> = {}) => {
        const r = spawnSync(process.execPath, ['-r', probe, cli, command, join(REPO, 'missing.bundle'), '--site', REPO], {
          env: { ...base, ...env },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).to.equal(2); // the bundle is missing: the pool has started by then
        return JSON.parse(r.stderr.trim().split('\n').pop()!) as { threads: number; inherited: string | null };
      };
      // verify starts no pool at all (ef404ee); a pool of libuv's default would be 4 threads.
      const verify = pool('verify');
      for (const command of ['apply', 'recover']) expect(pool(command), command).to.deep.equal({ threads: verify.threads + 16, inherited: null });
      // Left to the user's size, apply starts its pool when it first needs it (here it fails before then).
      const own = pool('apply', { UV_THREADPOOL_SIZE: '2' });
      expect(own.inherited).to.equal('2');
      expect(own.threads).to.be.at.most(verify.threads + 2);
    });

    it('are honoured in-process by the tests only because the root hook enabled them', () => {
      expect(hooksFromEnv({ COUNTERSIGN_TEST_FAIL_AT_STEP: '1' })).to.not.equal(undefined);
    });

    /**
     * The sources the verify script (the one the bin runs for a verify line) evaluates once `from` is: what they
     * import statically, transitively. esbuild evaluates a module that is only import()ed when it is imported, and
     * V8 compiles none of its functions before then, so whatever is outside this set costs a command nothing but
     * the bytes of the script.
     */
    function evaluatedWith(from: string[]): string[] {
      const seen = new Set<string>();
      const visit = (path: string) => {
        if (seen.has(path)) return;
        seen.add(path);
        for (const i of verifyMetafile.inputs[path]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
      };
      for (const path of from) visit(path);
      return [...seen];
    }
    const VERIFY = ['cli/verify-entry.ts'];
    const COMMAND_MODULE = /^cli\/(keygen|policy|provider|build|sign|assemble|verify|trust|apply|recover|installer|hub|site|log|witness|revoke|inspect)\.ts$/;

    it('the verify script holds its own command module and no other, nor the parser, yargs (its command line is parsed from its declarations) or help rendering', () => {
      const held = Object.keys(verifyMetafile.inputs);
      expect(held, 'the sources are in the metafile').to.include.members(VERIFY.concat('cli/verify.ts', 'lib/core/verify.ts'));
      expect(held.filter((path) => COMMAND_MODULE.test(path))).to.deep.equal(['cli/verify.ts']);
      expect(held).to.not.include.members(['cli/parser.ts', 'cli/main.ts']);
      expect(held.filter((path) => path.includes('node_modules/yargs') || path.includes('cliui') || path.includes('string-width'))).to.deep.equal([]);
    });

    it('a verify line, whether the verify script takes it or hands it on (help, a mistake), prints what the in-process CLI prints', async () => {
      const vectors = join(REPO, 'spec/vectors/conformance');
      const policy = join(vectors, 'documents/policy-v1.json');
      const at = ['--now', '2026-06-01T00:00:00Z'];
      for (const argv of [
        ['verify', join(vectors, 'bundles/a-ok.bundle'), '--policy', policy, ...at],
        ['verify', join(vectors, 'bundles/a-malleated.bundle'), '--policy', policy, '--json', ...at],
        ['verify', '--help'],
        ['verify', join(vectors, 'bundles/a-ok.bundle'), '--polcy', policy, '--json'],
      ]) {
        const shipped = await runBundle(cli, argv, {});
        const inProcess = await runCli(argv);
        expect({ code: shipped.code, stdout: shipped.stdout }, argv.join(' ')).to.deep.equal({ code: inProcess.code, stdout: inProcess.stdout });
      }
    });

    it('verify --policy evaluates neither the trust store nor the transparency log: each is imported when asked for', () => {
      const evaluated = evaluatedWith(VERIFY);
      for (const lazy of ['lib/node/trust-store.ts', 'lib/core/trust-state.ts', 'lib/log/check-logged.ts', 'lib/log/tlog-policy.ts', 'lib/log/tile-reader.ts'])
        expect(evaluated, lazy).to.not.include(lazy);
    });

    it("verify --policy evaluates only the signed documents' validators: not those of key files, partial signatures or the store", () => {
      const evaluated = evaluatedWith(VERIFY);
      expect(evaluated).to.include('lib/core/generated/validators.ts');
      expect(evaluated).to.not.include.members(['lib/core/generated/file-validators.ts', 'lib/core/generated/service-validators.ts']);
    });

    describe('the code cache (scripts/cli-loader.cjs)', () => {
      const url = () => pathToFileURL(cli).href;
      const built = () => join(dirname(cli), 'countersign-verify.cjs');
      const verifyArgs = async () => {
        const s = await makeSetup();
        return ['verify', s.release.bundle, '--policy', s.release.policyFile, '--now', '2026-11-23T12:00:00Z', '--json'];
      };
      /** A copy of the built CLI in a directory of its own, with the cache `npm run build` made carried along. */
      const copy = () => {
        const dir = tempDir('countersign-cache-');
        for (const name of [
          'countersign.cjs',
          'cli-loader.cjs',
          'countersign-bundle.cjs',
          'countersign-bundle.cjs.cache',
          'countersign-verify.cjs',
          'countersign-verify.cjs.cache',
          'help-rendering.cjs',
        ])
          copyFileSync(join(dirname(cli), name), join(dir, name));
        // A verify line runs the verify script (scripts/countersign-bin.cjs): its cache is the one these tests watch.
        const script = join(dir, 'countersign-verify.cjs');
        return { dir, bin: join(dir, 'countersign.cjs'), script, cache: `${script}.cache` };
      };
      /** The copy with a cache of its own, made as the bin makes it. */
      const cachedCopy = () => {
        const c = copy();
        saveCodeCache(loadBundle(c.script, c.cache, url()), c.cache);
        return c;
      };

      it('is taken by V8 as built, for both scripts; a command writes it where it is missing, and prints the same with it', async () => {
        expect(loadBundle(built(), `${built()}.cache`, url()).cached, 'V8 takes the cache').to.equal(true);
        const whole = join(dirname(cli), 'countersign-bundle.cjs');
        expect(loadBundle(whole, `${whole}.cache`, url()).cached, 'and that of the whole CLI').to.equal(true);
        const c = copy();
        rmSync(c.cache);
        const args = await verifyArgs();
        const first = await runBundle(c.bin, args, {});
        expect(loadBundle(c.script, c.cache, url()).cached, 'written by the command, and taken').to.equal(true);
        expect(statSync(c.cache).mode & 0o777).to.equal(0o644);
        expect(await runBundle(c.bin, args, {})).to.deep.equal(first);
        expect(first.code).to.equal(0);
      });

      it('is not used when carried along with a copied tree (another file), and the new owner makes it again', async () => {
        const c = copy();
        expect(loadBundle(c.script, c.cache, url()).cached, 'carried along').to.equal(false);
        expect((await runBundle(c.bin, await verifyArgs(), {})).code).to.equal(0);
        expect(loadBundle(c.script, c.cache, url()).cached, 'made again').to.equal(true);
      });

      it('is not offered to V8 when made from other bytes (V8 checks only the length), or when its data is damaged', () => {
        const c = cachedCopy();
        const good = readFileSync(c.cache);
        writeFileSync(c.cache, Buffer.concat([Buffer.alloc(32), good.subarray(32)]));
        expect(loadBundle(c.script, c.cache, url()).script.cachedDataRejected, 'other bytes').to.equal(undefined);
        const damaged = Buffer.from(good);
        damaged[damaged.length >> 1]! ^= 1; // V8 itself checks no checksum: it could crash, or run what is there
        writeFileSync(c.cache, damaged);
        expect(loadBundle(c.script, c.cache, url()).script.cachedDataRejected, 'damaged').to.equal(undefined);
      });

      it('is not used when others can write it, or when the script has another owner', () => {
        const c = cachedCopy();
        chmodSync(c.cache, 0o666);
        expect(loadBundle(c.script, c.cache, url()).cached, 'writable by others').to.equal(false);
        chmodSync(c.cache, 0o644);
        expect(loadBundle(c.script, c.cache, url()).cached).to.equal(true);
        if (process.geteuid?.() !== 0) return; // changing an owner needs root
        chownSync(c.cache, 65534, 65534);
        expect(loadBundle(c.script, c.cache, url()).cached, 'another owner').to.equal(false);
      });

      it('is written by no command that fails nor by help alone, into no directory others can write, for no script the user does not own', async () => {
        const c = copy();
        rmSync(c.cache);
        const failed = await runBundle(c.bin, ['verify', join(c.dir, 'absent.bundle'), '--policy', join(c.dir, 'absent.json')], {});
        expect(failed.code).to.equal(2);
        expect(existsSync(c.cache), 'after a failure').to.equal(false);
        expect((await runBundle(c.bin, ['verify', '--help'], {})).code).to.equal(0);
        expect(existsSync(c.cache), 'after help alone').to.equal(false);
        chmodSync(c.dir, 0o777);
        saveCodeCache(loadBundle(c.script, c.cache, url()), c.cache);
        expect(existsSync(c.cache), 'directory writable by others').to.equal(false);
        chmodSync(c.dir, 0o755);
        if (process.geteuid?.() === 0) {
          chownSync(c.script, 65534, 65534);
          saveCodeCache(loadBundle(c.script, c.cache, url()), c.cache);
          expect(existsSync(c.cache), 'script of another owner').to.equal(false);
        }
      });

      it('is worth writing after any command but --version or help alone', () => {
        for (const argv of [['--version'], ['-V', '--json'], ['help'], ['help', 'verify'], ['verify', '--help'], ['hub', 'push', '-h']])
          expect(worthCaching(argv), argv.join(' ')).to.equal(false);
        for (const argv of [
          ['verify', 'b.bundle', '--policy', 'p.json'],
          ['inspect', 'k.pub', '--json'],
          ['build', '--version', '1.0.0'],
        ])
          expect(worthCaching(argv), argv.join(' ')).to.equal(true);
      });

      it('a script that cannot be loaded is an I/O error (exit 2) naming it, with --json too: the verify script for a verify line, the whole CLI for any other', async () => {
        const key = join(REPO, 'keys-example/alice.pub');
        for (const [name, argv] of [
          ['countersign-verify.cjs', [...(await verifyArgs())]],
          ['countersign-bundle.cjs', ['inspect', key, '--json']],
        ] as const) {
          const c = copy();
          rmSync(join(c.dir, name));
          const r = await runBundle(c.bin, [...argv], {});
          expect(r.code, name).to.equal(2);
          const out = JSON.parse(r.stdout) as { ok: boolean; code: string; message: string };
          expect(out, name).to.include({ ok: false, code: 'IO' });
          expect(out.message, name).to.contain(`cannot load ${join(c.dir, name)}: ENOENT`);
        }
      });
    });

    it('verify reads no directory and loads no node:assert (yargs would look for a package.json from the cwd up)', async () => {
      const s = await makeSetup();
      const setup = `import fs from 'node:fs';
          import { syncBuiltinESMExports } from 'node:module';
          const dirs = [];
          for (const name of ['readdirSync', 'readdir', 'opendirSync']) {
            const real = fs[name];
            fs[name] = function (...args) { dirs.push(String(args[0])); return real.apply(this, args); };
          }
          syncBuiltinESMExports();
          process.on('exit', () => process.stderr.write('SEEN ' + JSON.stringify({ dirs, builtins: process.moduleLoadList }) + '\\n'));`;
      const cwd = tempDir('countersign-cwd-'); // no package.json here or above
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          `data:text/javascript,${encodeURIComponent(setup)}`,
          cli,
          'verify',
          s.release.bundle,
          '--policy',
          s.release.policyFile,
          '--now',
          '2026-11-23T12:00:00Z',
        ],
        { cwd, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).to.equal(0);
      const seen = JSON.parse(/^SEEN (.*)$/m.exec(r.stderr)![1]!) as { dirs: string[]; builtins: string[] };
      expect(seen.dirs).to.deep.equal([]);
      expect(seen.builtins).to.not.include('NativeModule assert');
    });

    it('apply --help and recover --help do not mention them', async () => {
      for (const command of ['apply', 'recover']) {
        const r = await runBundle(cli, [command, '--help'], {});
        expect(r.code).to.equal(0);
        expect(r.stdout, command).not.to.match(/COUNTERSIGN_TEST_/);
      }
    });
  });
});
