// Bundles the CLI into one CommonJS script (dist/countersign-bundle.cjs) and makes its V8 code cache by running it
// (dist/countersign-bundle.cjs.cache, never shipped: see scripts/cli-loader.cjs): the bin, dist/countersign.cjs,
// runs the script with that cache, so a verify neither parses ~1 MB of JavaScript nor compiles the functions
// it runs, which was most of the cost of verifying a typical release (bench/). Code a command needs only
// sometimes is still evaluated only when import()ed (esbuild wraps each such module), and costs nothing
// to load: V8 compiles a function only when it is first called. `npm run build` bundles the compiled
// dist/cli/main.js; tests bundle the sources the same way. The library stays unbundled in dist/lib.
import { build } from 'esbuild';
import { isAscii } from 'node:buffer';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codeCacheFile, loadBundle } from './cli-loader.cjs';

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
 * What the code cache is made from: command lines run in the build, in-process, whose functions V8 then
 * has compiled: a small bundle's verify against a pinned policy and against a site's trust store (made in
 * `store`), and inspect of a key. Each must succeed, or the cache would hold an error path instead.
 */
function trainingRuns(store) {
  const vector = (name) => join(REPO, 'spec/vectors/conformance', name);
  const at = ['--now', '2026-06-01T00:00:00Z'];
  return [
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
    ['trust', 'init', '--store', store, '--policy', vector('documents/policy-v1.json'), '--installed', 'drupal/core=10.2.3'],
    ['verify', vector('bundles/a-ok.bundle'), '--store', store, ...at],
    ['inspect', join(REPO, 'keys-example/alice.pub')],
  ];
}

/**
 * Bundles `entry` (the CLI's main module, compiled or TypeScript) into the script beside the executable `bin`
 * (scripts/countersign-bin.cjs), with its code cache and the loader; returns esbuild's metafile. Only the tests'
 * bundle passes `testHooks: true`: the shipped one ignores the TEST-ONLY fault variables (lib/installer/hooks.ts),
 * whatever the environment says.
 */
export async function bundleCli(entry, bin, { testHooks = false } = {}) {
  const outfile = resolve(bin);
  const outdir = dirname(outfile);
  const script = join(outdir, 'countersign-bundle.cjs');
  const helpModules = {};
  const { metafile } = await build({
    entryPoints: [entry],
    outfile: script,
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
  });
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
  if (!isAscii(readFileSync(script))) throw new Error(`${script} is not ASCII: escape the non-ASCII characters of the regular expressions in the sources`);
  copyFileSync(fileURLToPath(new URL('cli-loader.cjs', import.meta.url)), join(outdir, 'cli-loader.cjs'));
  copyFileSync(fileURLToPath(new URL('countersign-bin.cjs', import.meta.url)), outfile);
  chmodSync(outfile, 0o755);
  // 0644 whatever the umask: a cache others can write is never used (cli-loader.cjs).
  writeFileSync(`${script}.cache`, await trainedCodeCache(script, pathToFileURL(outfile).href), { mode: 0o644 });
  chmodSync(`${script}.cache`, 0o644);
  return { metafile };
}

/** The code cache of `script`, made after running each of trainingRuns' command lines in it. */
async function trainedCodeCache(script, url) {
  const bundle = loadBundle(script, '/dev/null', url);
  const temp = mkdtempSync(join(tmpdir(), 'countersign-training-'));
  try {
    for (const argv of trainingRuns(join(temp, 'store'))) {
      const said = [];
      const ctx = { out: (t) => said.push(t), err: (t) => said.push(t), env: {}, interactive: false, now: new Date(), exitCode: 0 };
      const code = await bundle.exports.run(argv, ctx);
      if (code !== 0) throw new Error(`the code cache's training run \`countersign ${argv.join(' ')}\` exited ${code}:\n${said.join('\n')}`);
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return codeCacheFile(bundle.source, bundle.stat, bundle.script);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli('dist/cli/main.js', 'dist/countersign.cjs');
