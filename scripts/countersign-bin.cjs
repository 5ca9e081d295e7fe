#!/usr/bin/env node
// The countersign command line: the scripts beside it, each run with its code cache (cli-loader.cjs). A verify line
// runs countersign-verify.cjs, the verify command alone, which hands any line it does not take to
// countersign-bundle.cjs, every command. scripts/bundle-cli.mjs copies this file to dist/countersign.cjs, the package's bin.
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { loadBundle, saveCodeCache, SCRIPTS, worthCaching } = require('./cli-loader.cjs');

/** The script `name` loaded, or the process ended with an I/O error (exit 2), not a verdict, when it cannot be. */
function load(name) {
  const script = join(__dirname, name);
  try {
    return { script, bundle: loadBundle(script, `${script}.cache`, pathToFileURL(__filename).href) };
  } catch (err) {
    // Missing, unreadable or not a regular file.
    const message = `cannot load ${script}: ${err.code ?? err.message}`;
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, code: 'IO', message })}\n`);
    else process.stderr.write(`error[IO]: ${message}\n`);
    process.exit(2);
  }
}

function cacheAfterSuccess({ script, bundle }) {
  if (process.exitCode === 0 && worthCaching(process.argv.slice(2))) saveCodeCache(bundle, `${script}.cache`);
}

async function main() {
  if (process.argv[2] === 'verify') {
    const verify = load(SCRIPTS.verify);
    if (await verify.bundle.exports.main()) return cacheAfterSuccess(verify);
  }
  const whole = load(SCRIPTS.whole);
  await whole.bundle.exports.main();
  cacheAfterSuccess(whole);
}

void main();
