// Bundles the CLI into one executable entry plus a chunk per command (dist/chunks/): a command loads only
// its own code (cli/parser.ts imports each command module on demand), and a few modules instead of ~150
// save most of the start-up time of every command (bench/), which is most of the cost of verifying a
// typical release. `npm run build` bundles the compiled dist/cli/main.js into dist/countersign.mjs; tests
// bundle the sources the same way. The library stays unbundled in dist/lib for embedding.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
 * Bundles `entry` (the CLI's main module, compiled or TypeScript) into the executable `outfile`, with its
 * chunks in `chunks/` beside it. Only the tests' bundle passes `testHooks: true`: the shipped one ignores
 * the TEST-ONLY fault variables (lib/installer/hooks.ts), whatever the environment says.
 */
export async function bundleCli(entry, outfile, { testHooks = false } = {}) {
  const outdir = dirname(outfile);
  rmSync(join(outdir, 'chunks'), { recursive: true, force: true }); // a previous build's chunks
  const helpModules = {};
  const { metafile } = await build({
    entryPoints: [{ in: entry, out: basename(outfile).replace(/\.mjs$/, '') }],
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    // Less to scan on every start; names are kept, so --debug stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // inquirer is only loaded when a person must be prompted; keep it out of the hot path. The registry
    // drivers are native or load optional native modules: resolved from node_modules at run time.
    external: ['inquirer', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', 'better-sqlite3', 'pg'],
    define: { COUNTERSIGN_TEST_HOOKS: testHooks ? 'true' : 'false' },
    plugins: [lazyYargsShim(helpModules)],
    metafile: true,
    // Bundled CommonJS dependencies (ajv's runtime, yargs' helpers) still call require().
    banner: { js: "import { createRequire as __countersignRequire } from 'node:module';\nconst require = __countersignRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  // The stubs' require("./help-rendering.cjs") is relative to the chunk holding them: yargs' own, in chunks/.
  const stubs = Object.entries(metafile.outputs).filter(([, o]) => Object.keys(o.inputs).some((i) => i.startsWith('yargs-shim-stub:')));
  if (stubs.length !== 1 || basename(dirname(stubs[0][0])) !== 'chunks') throw new Error(`yargs' shim stubs are not in one chunk under chunks/`);
  await build({
    stdin: {
      contents: `export { default as cliui } from ${JSON.stringify(helpModules.cliui)};\nexport { default as stringWidth } from ${JSON.stringify(helpModules['string-width'])};\n`,
      resolveDir: outdir,
    },
    outfile: join(outdir, 'chunks', HELP_RENDERING),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli('dist/cli/main.js', 'dist/countersign.mjs');
