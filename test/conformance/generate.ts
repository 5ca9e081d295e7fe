// Writes the conformance vectors (spec/vectors/conformance/) from test/conformance/cases.ts.
//
//   npm run vectors      # (re)writes spec/vectors/conformance/
//
// Deterministic: the cases are built from the attack fixtures, the library's own writers and fixed
// seeds, so a second run writes the same bytes; test/conformance/stale.test.ts fails when the
// committed files differ from a fresh run.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { vectorSet } from './cases.js';
import { SHARED_DIR, sharedVectorFiles } from './shared.js';

export const VECTORS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../spec/vectors/conformance');

/** Every file of the vector set, by path relative to the vectors directory. */
export function vectorFiles(): Map<string, Uint8Array> {
  const { families, files } = vectorSet();
  const out = new Map<string, Uint8Array>();
  for (const family of families) out.set(`${family.family}.json`, new TextEncoder().encode(JSON.stringify({ format: 1, ...family }, null, 2) + '\n'));
  for (const [name, bytes] of files) out.set(name, bytes);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Writes the vector set into `dir`; returns the paths written, sorted. */
export function generateVectors(dir: string): string[] {
  const files = vectorFiles();
  for (const [name, bytes] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return [...files.keys()];
}

/** The files under `dir`, as paths relative to it, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const written = generateVectors(VECTORS_DIR);
  // Files the generator no longer makes would otherwise linger as stale vectors.
  for (const name of listFiles(VECTORS_DIR)) if (!written.includes(name)) rmSync(join(VECTORS_DIR, name));
  console.log(`wrote ${written.length} files to ${VECTORS_DIR}`);
  // The shared suite (test/vectors/shared/README.md): the families beyond the conformance set that both verifiers run.
  const shared = sharedVectorFiles();
  const present = existsSync(SHARED_DIR) ? listFiles(SHARED_DIR) : [];
  for (const [name, bytes] of shared) {
    mkdirSync(dirname(join(SHARED_DIR, name)), { recursive: true });
    writeFileSync(join(SHARED_DIR, name), bytes);
  }
  // log/ is written by test/log-vectors/generate.ts.
  for (const name of present) if (!shared.has(name) && name !== 'README.md' && !name.startsWith('log/')) rmSync(join(SHARED_DIR, name));
  console.log(`wrote ${shared.size} files to ${SHARED_DIR}`);
}
