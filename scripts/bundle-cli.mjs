// Bundles the compiled CLI into one executable file (dist/countersign.mjs). One module instead of
// ~150 saves about a quarter of the start-up time of every command (bench/), which is most of the
// cost of verifying a typical release. The library stays unbundled in dist/lib for embedding.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const outfile = 'dist/countersign.mjs';
await build({
  entryPoints: ['dist/cli/main.js'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // inquirer is only loaded when a person must be prompted; keep it out of the hot path.
  external: ['inquirer'],
  // Bundled CommonJS dependencies (ajv's runtime, yargs' helpers) still call require().
  banner: { js: "import { createRequire as __countersignRequire } from 'node:module';\nconst require = __countersignRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
