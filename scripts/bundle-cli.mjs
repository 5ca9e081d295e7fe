// Bundles the CLI into CommonJS scripts, each with its V8 code cache made by running it (SCRIPT.cache, never
// shipped: see scripts/cli-loader.cjs): dist/countersign-bundle.cjs holds every command, and
// dist/countersign-verify.cjs the verify command alone (cli/verify-entry.ts), which the bin, dist/countersign.cjs,
// runs for a verify line, so a site's verify neither parses ~1 MB of JavaScript nor compiles the functions it
// runs, nor deserialises and hashes the other commands' code. Code a command needs only sometimes is still
// evaluated only when import()ed (esbuild wraps each such module), and costs little to load: V8 compiles a
// function only when it is first called. `npm run build` bundles the compiled dist/cli/; tests bundle the
// sources the same way. The library stays unbundled in dist/lib.
import { build } from 'esbuild';
import { isAscii } from 'node:buffer';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codeCacheFile, loadBundle, SCRIPTS } from './cli-loader.cjs';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * yargs' Node shim imports cliui and string-width, which only render help pages but would cost more at
 * start-up than a whole verify (~190 KB to parse; string-width builds an Intl.Segmenter and Unicode-property
 * regular expressions), and node:assert, for two assertions that never fail. cliui and string-width go into
 * a file of their own, chunks/help-rendering.cjs, which each stub require()s on its first call; the
 * assertions throw a plain Error (code ERR_ASSERTION) instead of loading node:assert, whose message
 * rendering alone costs more than a verify's signatures. y18n would look for yargs' locale files beside
 * the bundle, where they never are (each miss an exception): it is given a file system without them, so it
 * answers exactly as before, in yargs' own English. escalade is yargs' search for a package.json above the
 * working directory (readdir of every directory up to /), only to guess a version and read a `yargs`
 * section for pkgConf(): the parser turns the version off and never calls pkgConf, so it finds nothing.
 */
const HELP_RENDERING = 'help-rendering.cjs';
const lazyHelp = (name) => `export default function lazy(...args) {\n  return require("./${HELP_RENDERING}").${name}(...args);\n}\n`;
const SHIM_STUBS = {
  cliui: () => lazyHelp('cliui'),
  'string-width': () => lazyHelp('stringWidth'),
  assert: () =>
    "const failed = (m) => Object.assign(new Error(typeof m === 'string' ? m : 'yargs: assertion failed'), { code: 'ERR_ASSERTION' });\n" +
    'export function strictEqual(a, b, m) {\n  if (!Object.is(a, b)) throw failed(m);\n}\n' +
    'export function notStrictEqual(a, b, m) {\n  if (Object.is(a, b)) throw failed(m);\n}\n',
  'escalade/sync': () => 'export default function findUp() {\n  return undefined;\n}\n',
  y18n: (path) => {
    const lib = join(dirname(path), 'build', 'lib');
    return (
      `import { y18n } from ${JSON.stringify(join(lib, 'index.js'))};\nimport shim from ${JSON.stringify(join(lib, 'platform-shims', 'node.js'))};\n` +
      "const missing = () => { throw Object.assign(new Error('no locale files'), { code: 'ENOENT' }); };\n" +
      'export default (opts) => y18n(opts, { ...shim, fs: { ...shim.fs, readFileSync: missing }, exists: () => false });\n'
    );
  },
};
/** The plugin; `helpModules` collects the real paths of cliui and string-width, for HELP_RENDERING. */
function lazyYargsShim(helpModules) {
  return {
    name: 'lazy-yargs-shim',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^\\./${HELP_RENDERING.replace('.', '\\.')}$`) }, (args) => ({ path: args.path, external: true }));
      b.onResolve({ filter: /^(cliui|string-width|assert|y18n|escalade\/sync)$/ }, async (args) => {
        if (!/yargs[\\/]lib[\\/]platform-shims[\\/]/.test(args.importer)) return undefined;
        if (args.path === 'assert' || args.path === 'escalade/sync') return { path: args.path, namespace: 'yargs-shim-stub' };
        const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir });
        if (real.errors.length > 0) return { errors: real.errors };
        if (args.path !== 'y18n') helpModules[args.path] = real.path;
        return { path: real.path, namespace: 'yargs-shim-stub', pluginData: args.path };
      });
      b.onLoad({ filter: /.*/, namespace: 'yargs-shim-stub' }, (args) => ({
        contents: SHIM_STUBS[args.pluginData ?? args.path](args.path),
        resolveDir: args.pluginData === undefined ? undefined : dirname(args.path),
      }));
    },
  };
}

/**
 * What the code caches are made from: command lines run in the build, in-process, whose functions V8 then
 * has compiled: for the whole CLI, a small bundle's verify against a pinned policy and against a site's trust
 * store (made in `store`), and inspect of a key; for the verify bundle, the two verifies. Each must succeed,
 * or the cache would hold an error path instead.
 */
function trainingRuns(store) {
  const vector = (name) => join(REPO, 'spec/vectors/conformance', name);
  const at = ['--now', '2026-06-01T00:00:00Z'];
  const verifies = [
    [
      'verify',
      vector('bundles/a-ok.bundle'),
      '--policy',
      vector('documents/policy-v1.json'),
      '--product',
      'drupal',
      '--component',
      'core',
      '--installed',
      '10.2.3',
      ...at,
    ],
    ['verify', vector('bundles/a-ok.bundle'), '--store', store, ...at],
  ];
  const whole = [
    verifies[0],
    ['trust', 'init', '--store', store, '--policy', vector('documents/policy-v1.json'), '--installed', 'drupal/core=10.2.3'],
    verifies[1],
    ['inspect', join(REPO, 'keys-example/alice.pub')],
  ];
  return { whole, verifies };
}

/** The esbuild options of both scripts. */
function scriptOptions(entry, outfile, testHooks, helpModules) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    // Less to scan on every start; names are kept, so --debug stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // import() of a package outside the bundle becomes require() (Node >= 20.19 requires ES modules): from a
    // script compiled with a code cache made in another process, V8 has no callback for import().
    supported: { 'dynamic-import': false },
    // inquirer is only loaded when a person must be prompted; keep it out of the hot path. The registry
    // drivers are native or load optional native modules: resolved from node_modules at run time.
    external: ['inquirer', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', 'better-sqlite3', 'pg'],
    define: { COUNTERSIGN_TEST_HOOKS: testHooks ? 'true' : 'false', COUNTERSIGN_BUNDLED: 'true', 'import.meta.url': '__countersign_url' },
    plugins: [lazyYargsShim(helpModules)],
    metafile: true,
    logLevel: 'warning',
  };
}

/** The verify bundle's entry beside `entry` (cli/main.ts or dist/cli/main.js): cli/verify-entry, of the same kind. */
function verifyEntryOf(entry) {
  const verify = entry.replace(/main(\.[cm]?[jt]s)$/, 'verify-entry$1');
  if (verify === entry) throw new Error(`${entry} is not a cli/main module`);
  return verify;
}

/**
 * Bundles `entry` (the CLI's main module, compiled or TypeScript) into the script beside the executable `bin`
 * (scripts/countersign-bin.cjs), and cli/verify-entry beside it into the script the bin runs for a verify line,
 * each with its code cache, and the loader; returns esbuild's metafiles. Only the tests' bundles pass
 * `testHooks: true`: the shipped ones ignore the TEST-ONLY fault variables (lib/installer/hooks.ts), whatever the
 * environment says.
 */
export async function bundleCli(entry, bin, { testHooks = false } = {}) {
  const outfile = resolve(bin);
  const outdir = dirname(outfile);
  const script = join(outdir, SCRIPTS.whole);
  const verifyScript = join(outdir, SCRIPTS.verify);
  const helpModules = {};
  const { metafile } = await build(scriptOptions(entry, script, testHooks, helpModules));
  const { metafile: verifyMetafile } = await build(scriptOptions(verifyEntryOf(entry), verifyScript, testHooks, {}));
  await build({
    stdin: {
      contents: `export { default as cliui } from ${JSON.stringify(helpModules.cliui)};\nexport { default as stringWidth } from ${JSON.stringify(helpModules['string-width'])};\n`,
      resolveDir: outdir,
    },
    outfile: join(outdir, HELP_RENDERING),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  for (const file of [script, verifyScript])
    if (!isAscii(readFileSync(file))) throw new Error(`${file} is not ASCII: escape the non-ASCII characters of the regular expressions in the sources`);
  copyFileSync(fileURLToPath(new URL('cli-loader.cjs', import.meta.url)), join(outdir, 'cli-loader.cjs'));
  copyFileSync(fileURLToPath(new URL('countersign-bin.cjs', import.meta.url)), outfile);
  chmodSync(outfile, 0o755);
  const url = pathToFileURL(outfile).href;
  const temp = mkdtempSync(join(tmpdir(), 'countersign-training-'));
  try {
    const runs = trainingRuns(join(temp, 'store'));
    // 0644 whatever the umask: a cache others can write is never used (cli-loader.cjs).
    for (const [file, argvs, exported] of [
      [script, runs.whole, 'run'],
      [verifyScript, runs.verifies, 'runVerify'],
    ]) {
      writeFileSync(`${file}.cache`, await trainedCodeCache(file, url, argvs, exported), { mode: 0o644 });
      chmodSync(`${file}.cache`, 0o644);
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return { metafile, verifyMetafile };
}

/** The code cache of `script`, made after running each of `argvs` in it through its export `exported` (run or runVerify). */
async function trainedCodeCache(script, url, argvs, exported) {
  const bundle = loadBundle(script, '/dev/null', url);
  for (const argv of argvs) {
    const said = [];
    const ctx = { out: (t) => said.push(t), err: (t) => said.push(t), env: {}, interactive: false, now: new Date(), exitCode: 0 };
    const code = await bundle.exports[exported](argv, ctx);
    if (code !== 0) throw new Error(`the code cache's training run \`countersign ${argv.join(' ')}\` in ${script} exited ${code}:\n${said.join('\n')}`);
  }
  return codeCacheFile(bundle.source, bundle.stat, bundle.script);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli('dist/cli/main.js', 'dist/countersign.cjs');
