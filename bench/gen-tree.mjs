// Deterministic release-tree generator for the benchmarks.
//
//   node bench/gen-tree.mjs many DIR [FILES=20000] [TOTAL_BYTES=60000000] [SEED=1]
//       FILES files, TOTAL_BYTES in all, varied sizes (log-uniform: 97% 64 B-8 KiB, 3% 8-128 KiB,
//       then scaled to hit the total exactly), nested 1-4 directories deep under a few
//       CMS-like top-level folders. Content is an AES-256-CTR keystream: pseudo-random,
//       incompressible, and the same bytes for the same seed on every machine.
//   node bench/gen-tree.mjs one FILE BYTES [SEED=1]
//       One file of BYTES deterministic pseudo-random bytes (written in 8 MiB pieces).
//
// Prints a one-line JSON summary (files, bytes, dirs) on stdout.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [mode, target, ...rest] = process.argv.slice(2);
if ((mode !== 'many' && mode !== 'one') || !target) {
  console.error('usage: gen-tree.mjs many DIR [FILES] [TOTAL_BYTES] [SEED] | one FILE BYTES [SEED]');
  process.exit(2);
}

/** mulberry32: tiny seeded PRNG for sizes and names (content comes from AES-CTR). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A keystream of pseudo-random bytes, deterministic in `seed`. */
function keystream(seed) {
  const key = createHash('sha256').update(`countersign-bench-${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(8 << 20);
  return (n) => {
    const parts = [];
    let left = n;
    while (left > 0) {
      const take = Math.min(left, zeros.length);
      parts.push(cipher.update(zeros.subarray(0, take)));
      left -= take;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  };
}

if (mode === 'one') {
  const bytes = Number(rest[0]);
  const seed = Number(rest[1] ?? 1);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error('BYTES must be a whole number');
  mkdirSync(dirname(target), { recursive: true });
  const next = keystream(seed);
  const fd = openSync(target, 'w');
  for (let left = bytes; left > 0;) {
    const piece = next(Math.min(left, 8 << 20));
    writeSync(fd, piece);
    left -= piece.length;
  }
  closeSync(fd);
  console.log(JSON.stringify({ files: 1, bytes, dirs: 0 }));
} else {
  const files = Number(rest[0] ?? 20000);
  const total = Number(rest[1] ?? 60_000_000);
  const seed = Number(rest[2] ?? 1);
  const rand = rng(seed);
  const logUniform = (lo, hi) => Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
  const raw = Array.from({ length: files }, () => (rand() < 0.97 ? logUniform(64, 8192) : logUniform(8192, 131072)));
  const scale = total / raw.reduce((s, x) => s + x, 0);
  const sizes = raw.map((x) => Math.max(1, Math.round(x * scale)));
  sizes[sizes.length - 1] += total - sizes.reduce((s, x) => s + x, 0); // exact total
  if (sizes[sizes.length - 1] < 1) throw new Error('TOTAL_BYTES too small for FILES');

  const tops = ['core', 'modules', 'themes', 'vendor', 'sites', 'profiles', 'libraries', 'includes'];
  const exts = ['php', 'php', 'php', 'inc', 'js', 'css', 'yml', 'twig', 'json', 'svg', 'png', 'md'];
  rmSync(target, { recursive: true, force: true });
  const dirs = new Set();
  const next = keystream(seed);
  for (let i = 0; i < files; i++) {
    const depth = 1 + Math.floor(rand() * 4);
    const segs = [tops[Math.floor(rand() * tops.length)]];
    for (let d = 1; d < depth; d++) segs.push(`d${Math.floor(rand() * 6)}${d}`);
    const dir = join(target, ...segs);
    if (!dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      dirs.add(dir);
    }
    const ext = exts[Math.floor(rand() * exts.length)];
    writeFileSync(join(dir, `f${String(i).padStart(5, '0')}.${ext}`), next(sizes[i]));
  }
  console.log(JSON.stringify({ files, bytes: total, dirs: dirs.size }));
}
