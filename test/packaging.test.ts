// What the npm package ships: the licence, the installer examples, and a CLI bundle (built as
// `npm run build` builds it) in which the TEST-ONLY fault hooks do nothing and are not documented.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hooksFromEnv } from '../lib/installer/hooks.js';
import { bundleCli } from '../scripts/bundle-cli.mjs';
import { CLI, makeSetup, NEW, REPO, snapshot, expectedSnapshot } from './installer/support.js';
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

  it('npm pack ships LICENSE (the Apache License 2.0 text) and the installer examples', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).to.include.members(['LICENSE', 'README.md', 'installer/config.example.json', 'installer/countersign-installer.service']);
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
    before(async () => {
      cli = join(tempDir('countersign-shipped-'), 'countersign.mjs');
      await bundleCli(CLI, cli); // the options `npm run build` uses
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

    it('are honoured in-process by the tests only because the root hook enabled them', () => {
      expect(hooksFromEnv({ COUNTERSIGN_TEST_FAIL_AT_STEP: '1' })).to.not.equal(undefined);
    });

    /** The chunks under chunks/ that `countersign ARGS` loads (it must exit 0). */
    function loadedChunks(args: string[]): string[] {
      // A resolve hook reports every ES module the process loads; printed when it exits.
      const hook = `let port; export function initialize(data) { port = data.port; }
          export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }`;
      const setup = `import { register } from 'node:module';
          import { MessageChannel } from 'node:worker_threads';
          const { port1, port2 } = new MessageChannel();
          const seen = new Set();
          port1.on('message', (url) => seen.add(url));
          port1.unref();
          register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { port: port2 }, transferList: [port2] });
          process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify([...seen]) + '\\n'));`;
      const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(setup)}`, cli, ...args], {
        cwd: REPO,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).to.equal(0);
      const loaded = JSON.parse(/^LOADED (.*)$/m.exec(r.stderr)![1]!) as string[];
      return loaded.filter((url) => url.includes('/chunks/')).map((url) => url.replace(/.*\/chunks\//, ''));
    }

    it('verify loads its own command chunk and no other command (nor help rendering): the parser imports commands on demand', async () => {
      const s = await makeSetup();
      const chunks = loadedChunks(['verify', s.release.bundle, '--store', s.store]);
      // A command's chunk is NAME-HASH.mjs; lib modules loaded on demand have names of their own (trust-store-HASH.mjs).
      const commands = chunks.filter((name) =>
        /^(keygen|policy|build|sign|assemble|verify|trust|apply|recover|installer|hub|site|revoke|inspect)-[A-Z0-9]+\.mjs$/.test(name),
      );
      expect(commands.map((name) => name.replace(/-.*/, ''))).to.deep.equal(['verify']);
      expect(
        chunks.some((name) => name.startsWith('yargs-')),
        'yargs is loaded to parse',
      ).to.equal(true);
      expect(chunks.filter((name) => name.includes('help-rendering'))).to.deep.equal([]);
    });

    it('verify --policy loads neither the trust store nor the transparency log: each is loaded when asked for', async () => {
      const s = await makeSetup();
      // What the loaded chunks define (esbuild keeps names), whichever chunk holds it.
      const defined = (chunks: string[]) =>
        ['openStore', 'verifyWithStore', 'parseTlogPolicy', 'checkLogged', 'openLogSource'].filter((fn) =>
          chunks.some((name) => readFileSync(join(dirname(cli), 'chunks', name), 'utf8').includes(`function ${fn}(`)),
        );
      expect(defined(loadedChunks(['verify', s.release.bundle, '--policy', s.release.policyFile, '--now', '2026-11-23T12:00:00Z']))).to.deep.equal([]);
      expect(defined(loadedChunks(['verify', s.release.bundle, '--store', s.store]))).to.include.members(['openStore', 'verifyWithStore']);
    });

    it("verify --policy loads only the signed documents' validators: not those of key files, partial signatures or the store", async () => {
      const s = await makeSetup();
      // A schema path each of those validators reports (secret key, partial signature, public key, store).
      const markers = [
        '"#/oneOf/0/properties/kdf/type"',
        '"#/$defs/v1/properties/payloadSha256/pattern"',
        '"#/properties/publicKey/pattern"',
        '"#/properties/highestPolicyVersion/type"',
      ];
      const holding = (chunks: string[]) =>
        markers.filter((marker) => chunks.some((name) => readFileSync(join(dirname(cli), 'chunks', name), 'utf8').includes(marker)));
      const chunks = loadedChunks(['verify', s.release.bundle, '--policy', s.release.policyFile, '--now', '2026-11-23T12:00:00Z']);
      // The envelope's validator (schemas/codegen.ts's code, not ajv's) reports this path and message.
      expect(
        chunks.some((name) => readFileSync(join(dirname(cli), 'chunks', name), 'utf8').includes('"/signatures","must NOT have more than 1024 items"')),
        "the envelope's validator is loaded",
      ).to.equal(true);
      expect(holding(chunks)).to.deep.equal([]);
      expect(holding(loadedChunks(['verify', s.release.bundle, '--store', s.store]))).to.include('"#/properties/highestPolicyVersion/type"');
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
