// Bundles the CLI into one executable file. One module instead of ~150 saves about a quarter of the
// start-up time of every command (bench/), which is most of the cost of verifying a typical release.
// `npm run build` bundles the compiled dist/cli/main.js into dist/countersign.mjs; tests bundle the
// sources the same way. The library stays unbundled in dist/lib for embedding.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Bundles `entry` (the CLI's main module, compiled or TypeScript) into the executable `outfile`. Only the
 * tests' bundle passes `testHooks: true`: the shipped one ignores the TEST-ONLY fault variables
 * (lib/installer/hooks.ts), whatever the environment says.
 */
export async function bundleCli(entry, outfile, { testHooks = false } = {}) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // inquirer is only loaded when a person must be prompted; keep it out of the hot path. The registry
    // drivers are native or load optional native modules: resolved from node_modules at run time.
    external: ['inquirer', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', 'better-sqlite3', 'pg'],
    define: { COUNTERSIGN_TEST_HOOKS: testHooks ? 'true' : 'false' },
    // Bundled CommonJS dependencies (ajv's runtime, yargs' helpers) still call require().
    banner: { js: "import { createRequire as __countersignRequire } from 'node:module';\nconst require = __countersignRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli('dist/cli/main.js', 'dist/countersign.mjs');
