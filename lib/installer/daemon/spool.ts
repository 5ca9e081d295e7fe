// The daemon's spool: one file per bundle being received or waiting for its job, in a 0700 directory only the
// daemon writes, fsynced and made read-only before any worker reads it.
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { errnoOf } from '../../core/errno.js';

const SPOOL_MODE = 0o700;
/** The spooled bundle: only the daemon writes it; 0444 lets the worker re-open its stdin (/proc/self/fd/0). */
const SPOOL_FILE_MODE = 0o444;

export class Spooled {
  private fh: FileHandle | undefined;
  private discarded = false;
  private constructor(readonly path: string) {}

  static async create(dir: string, site: string, job: string): Promise<Spooled> {
    const spooled = new Spooled(join(dir, `${site}.${job}.bundle`));
    spooled.fh = await open(spooled.path, 'wx', 0o600);
    return spooled;
  }

  async write(bytes: Buffer): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += (await this.fh!.write(bytes, at, bytes.length - at)).bytesWritten;
  }

  /** fsync, then read-only for everyone (the worker re-opens its stdin); the directory stays 0700. */
  async seal(): Promise<void> {
    const fh = this.fh!;
    await fh.sync();
    await fh.chmod(SPOOL_FILE_MODE);
    await fh.close();
    this.fh = undefined;
  }

  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    const fh = this.fh;
    this.fh = undefined;
    void fh?.close().catch(() => undefined);
    rmSync(this.path, { force: true });
  }
}

export function prepareSpool(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: SPOOL_MODE });
  } catch (err) {
    throw new UsageError('IO', `cannot create the spool ${dir}: ${errnoOf(err)}`);
  }
  const info = lstatSync(dir);
  if (!info.isDirectory()) throw new UsageError('USAGE', `the spool ${dir} is not a directory`);
  if (info.uid !== process.getuid!())
    throw new UsageError('USAGE', `the spool ${dir} is owned by uid ${info.uid}, not by the daemon (uid ${process.getuid!()})`);
  if ((info.mode & 0o777) !== SPOOL_MODE) chmodSync(dir, SPOOL_MODE);
  // Bundles left by a daemon that stopped mid-job: their clients are gone.
  for (const name of readdirSync(dir)) if (name.endsWith('.bundle')) rmSync(join(dir, name), { force: true });
}
