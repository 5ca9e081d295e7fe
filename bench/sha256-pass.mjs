// The verify section's reference: one SHA-256 pass over a file in Node, as a verifier at best does it
// (a reused 1 MiB buffer, node:crypto createHash). Prints the hex digest, like sha256sum.
//   node bench/sha256-pass.mjs FILE
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

const fd = openSync(process.argv[2], 'r');
const buffer = Buffer.allocUnsafe(1 << 20);
const hash = createHash('sha256');
for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, n));
closeSync(fd);
console.log(hash.digest('hex'));
