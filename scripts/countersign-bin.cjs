#!/usr/bin/env node
// The countersign command line: countersign-bundle.cjs beside it, run with its code cache (cli-loader.cjs).
// scripts/bundle-cli.mjs copies this file to dist/countersign.cjs, the package's bin.
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { loadBundle, saveCodeCache, worthCaching } = require('./cli-loader.cjs');

const script = join(__dirname, 'countersign-bundle.cjs');
let bundle;
try {
  bundle = loadBundle(script, `${script}.cache`, pathToFileURL(__filename).href);
} catch (err) {
  // Missing, unreadable or not a regular file: an I/O error (exit 2), not a verdict.
  const message = `cannot load ${script}: ${err.code ?? err.message}`;
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, code: 'IO', message })}\n`);
  else process.stderr.write(`error[IO]: ${message}\n`);
  process.exit(2);
}
void bundle.exports.main().then(() => {
  if (process.exitCode === 0 && worthCaching(process.argv.slice(2))) saveCodeCache(bundle, `${script}.cache`);
});
