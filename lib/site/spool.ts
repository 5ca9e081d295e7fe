// Where a site writes a received bundle until its backend is done with it: a 0700 directory in the trust store,
// each file created O_EXCL. A random prefix per process and a counter name them, unique without a CSPRNG call per
// bundle; since a local user could guess the names, nobody else may write in the directory.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';

const PREFIX = randomBytes(8).toString('hex');
let next = 0;

/** Twice the longest a request may take (hardenServer's requestTimeout, 5 minutes): older spooled files are no one's. */
const STALE_SPOOL_MS = 10 * 60_000;

/** A fresh name for a bundle in `spoolDir` (`*.bundle`, which openSpool clears once stale). */
export function spoolFile(spoolDir: string): string {
  return join(spoolDir, `${PREFIX}-${(next++).toString(36)}.bundle`);
}

/**
 * The spool of the trust store `storeDir`, made (0700) if missing: refused (IO) unless it is a directory this user
 * owns that no one else can write. Bundles left by a crash mid-transfer are removed, but only once untouched for
 * STALE_SPOOL_MS: a newer one may be another process's transfer in flight (a cron poll beside site serve).
 */
export function openSpool(storeDir: string): string {
  const spoolDir = join(storeDir, 'spool');
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const spool = lstatSync(spoolDir);
  if (!spool.isDirectory() || (spool.mode & 0o022) !== 0 || (process.geteuid !== undefined && spool.uid !== process.geteuid()))
    throw new UsageError(
      'IO',
      `${spoolDir} must be a directory owned by this user that no one else can write (it is mode ${(spool.mode & 0o7777).toString(8)}, uid ${spool.uid}); chmod 700 it`,
    );
  const stale = Date.now() - STALE_SPOOL_MS;
  for (const name of readdirSync(spoolDir)) {
    if (!name.endsWith('.bundle')) continue;
    const left = lstatSync(join(spoolDir, name), { throwIfNoEntry: false });
    if (left !== undefined && left.mtimeMs < stale) rmSync(join(spoolDir, name), { force: true });
  }
  return spoolDir;
}
