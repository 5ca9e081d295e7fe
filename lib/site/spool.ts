// Where a site writes a received bundle until its backend is done with it: a 0700 directory, each file created
// O_EXCL. A random prefix per process and a counter name them, unique without a CSPRNG call per bundle.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const PREFIX = randomBytes(8).toString('hex');
let next = 0;

/** A fresh name for a bundle in `spoolDir` (`*.bundle`, which `site serve` and `site poll` clear at start). */
export function spoolFile(spoolDir: string): string {
  return join(spoolDir, `${PREFIX}-${(next++).toString(36)}.bundle`);
}
