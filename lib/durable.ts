// Durable writes: temporary file beside the target, fsync, rename, fsync the directory.
// A failure leaves no partial output behind.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from './errors.js';

/** A temporary path beside `target`, on the same filesystem so rename() is atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

export interface PendingFile {
  target: string;
  temp: string;
}


/**
 * Writes every file to a temporary name first (fsynced), then renames them all into place.
 * If anything fails before the renames, every temporary file is removed and no target is touched.
 */
export function writeFilesAtomically(files: Array<{ path: string; data: Uint8Array | string; mode?: number; overwrite?: boolean }>): void {
  const pending: PendingFile[] = [];
  try {
    for (const f of files) {
      if (!f.overwrite && existsSync(f.path)) throw new UsageError('IO', `${f.path} already exists; refusing to overwrite it`);
      const temp = tempPathFor(f.path);
      pending.push({ target: f.path, temp });
      writeDurably(temp, f.data, f.mode ?? 0o644);
    }
  } catch (err) {
    discard(pending);
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot write ${pending.at(-1)?.target ?? 'output'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  commitPending(pending);
}

export function writeDurably(path: string, data: Uint8Array | string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function commitPending(pending: PendingFile[]): void {
  const moved: string[] = [];
  try {
    for (const p of pending) {
      renameSync(p.temp, p.target);
      moved.push(p.target);
    }
  } catch (err) {
    discard(pending);
    // Output is all or nothing: targets were checked not to exist, so the ones already moved are ours.
    for (const m of moved) rmSync(m, { force: true });
    throw new UsageError('IO', `cannot move output into place: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const dirs = new Set(pending.map((p) => dirname(p.target)));
  for (const d of dirs) fsyncDir(d);
}

export function discard(pending: PendingFile[]): void {
  for (const p of pending) rmSync(p.temp, { force: true });
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
