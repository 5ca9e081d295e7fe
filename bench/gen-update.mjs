// Derives a release tree from a site tree for the apply benchmark: copies SITE to NEW, then changes
// CHANGED files (about 80% modified in place, 10% added in a new directory, 10% deleted), deterministically.
//   node bench/gen-update.mjs SITE NEW CHANGED LIST
// Writes the changed relative paths (modified + added) to LIST, one per line, for `rsync --files-from`,
// the deleted ones to LIST.deleted, and prints a one-line JSON summary.
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';

const [site, next, changedText, list] = process.argv.slice(2);
const changed = Number(changedText);
if (!site || !next || !Number.isInteger(changed) || !list) {
  console.error('usage: gen-update.mjs SITE NEW CHANGED LIST');
  process.exit(2);
}
rmSync(next, { recursive: true, force: true });
cpSync(site, next, { recursive: true, preserveTimestamps: true });

function files(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}
const all = files(next);
const step = Math.floor(all.length / changed);
const picked = all.filter((_, i) => i % step === 0).slice(0, changed);
const modify = picked.slice(0, Math.floor(changed * 0.8));
const remove = picked.slice(modify.length, modify.length + Math.floor(changed * 0.1));
const addCount = changed - modify.length - remove.length;
const out = [];
for (const f of modify) {
  writeFileSync(
    f,
    createHash('sha512')
      .update(`modified ${relative(next, f)}`)
      .digest('hex')
      .repeat(8),
  );
  out.push(relative(next, f));
}
for (const f of remove) rmSync(f);
for (let i = 0; i < addCount; i++) {
  const f = join(next, 'core', 'added-by-update', `file-${String(i).padStart(4, '0')}.php`);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, `<?php // added ${i}\n`);
  out.push(relative(next, f));
}
writeFileSync(list, out.join('\n') + '\n');
writeFileSync(`${list}.deleted`, remove.map((f) => relative(next, f)).join('\n') + '\n');
console.log(JSON.stringify({ files: all.length, modified: modify.length, deleted: remove.length, added: addCount }));
