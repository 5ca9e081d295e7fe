// Durable writes: temporary file beside the target, fsync, rename, fsync the directory.
// A failure leaves no partial output behind.
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';

/** A temporary path beside `target`, on the same filesystem so rename() is atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

export interface PendingFile {
  target: string;
  temp: string;
}

/** The one overwrite rule of every command's output: an existing file is replaced only with --force. */
export function refuseExisting(paths: string[], force = false): void {
  if (force) return;
  for (const path of paths) {
    if (existsSync(path)) throw new UsageError('OUTPUT_EXISTS', `${path} already exists; pass --force to replace it`, { file: path });
  }
}

/**
 * Writes every file to a temporary name first (fsynced), then renames them all into place.
 * If anything fails before the renames, every temporary file is removed and no target is touched.
 */
export function writeFilesAtomically(files: Array<{ path: string; data: Uint8Array | string; mode?: number }>, opts: { force?: boolean } = {}): void {
  refuseExisting(
    files.map((f) => f.path),
    opts.force,
  );
  const pending: PendingFile[] = [];
  try {
    for (const f of files) {
      const temp = tempPathFor(f.path);
      pending.push({ target: f.path, temp });
      writeDurably(temp, f.data, f.mode ?? 0o644);
    }
  } catch (err) {
    discard(pending);
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot write ${pending.at(-1)?.target ?? 'output'}: ${errnoOf(err)}`);
  }
  commitPending(pending, { replace: opts.force ?? false });
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

/**
 * Moves every temporary file onto its target. With `replace: false` a target that appeared meanwhile is
 * never clobbered (link() fails where rename() would replace): OUTPUT_EXISTS, and nothing is left behind.
 */
export function commitPending(pending: PendingFile[], opts: { replace?: boolean } = {}): void {
  const replace = opts.replace ?? true;
  const moved: string[] = [];
  try {
    for (const p of pending) {
      if (replace) renameSync(p.temp, p.target);
      else {
        linkSync(p.temp, p.target);
        unlinkSync(p.temp);
      }
      moved.push(p.target);
    }
  } catch (err) {
    discard(pending);
    // Output is all or nothing: the targets already moved are ours.
    for (const m of moved) rmSync(m, { force: true });
    const code = errnoOf(err);
    if (code === 'EEXIST') throw new UsageError('OUTPUT_EXISTS', `${pending[moved.length]!.target} already exists; pass --force to replace it`);
    throw new UsageError('IO', `cannot move output into place: ${code ?? (err as Error).message}`);
  }
  const dirs = new Set(pending.map((p) => dirname(p.target)));
  for (const d of dirs) fsyncDir(d);
}

export function discard(pending: PendingFile[]): void {
  for (const p of pending) rmSync(p.temp, { force: true });
}

/** Makes a file written elsewhere durable before it is renamed into place. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
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
