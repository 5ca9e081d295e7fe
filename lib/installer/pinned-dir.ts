// Directories pinned by identity: how the installer acts on a directory that cannot change under it.
//
// Node has no openat()/renameat()/linkat(). On Linux, /proc/self/fd/N/NAME stands in for them: the
// kernel resolves the magic link /proc/self/fd/N to the directory that descriptor N holds open (the
// object itself, wherever it now is), never by walking its old path again. So
// rename('/proc/self/fd/A/slot', '/proc/self/fd/B/name') is renameat(A, "slot", B, "name"), and
// likewise link, mkdir, rmdir, unlink, open and lstat. (Measured here: a directory opened, then
// renamed away and replaced by a symbolic link to another site, still receives the rename; the other
// site gets nothing.)
//
// A directory is pinned by opening it with O_RDONLY|O_DIRECTORY|O_NOFOLLOW, through its pinned parent
// one component at a time from the pinned site root (an openat walk), so no symbolic link is ever
// followed; its dev/ino (fstat) are compared with what the preflight saw. Every later action in it goes
// through the descriptor, so swapping a directory after it was checked cannot redirect the action.
// Where /proc/self/fd does not work so (no /proc, another kernel), the installer refuses to run
// (PREFLIGHT_FAILED, problem UNSUPPORTED_PLATFORM).
import { closeSync, constants, fstatSync, fsync, fsyncSync, lstatSync, openSync, statSync, type BigIntStats } from 'node:fs';
import { InstallError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FD_DIR = '/proc/self/fd';

/** A file's identity: "DEV:INO" in decimal (inode numbers can exceed 2^53). */
export function identityOf(st: { dev: bigint; ino: bigint }): string {
  return `${st.dev}:${st.ino}`;
}

/** An errno-style error (code, message) for what a check found. */
export function fault(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function lstatQuiet(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

export class PinnedDir {
  private fdOrNull: number | null;
  /** DEV:INO (identityOf). */
  readonly id: string;
  readonly uid: number;
  readonly mode: number;
  /** The identity as fstat gave it, compared by isAt without formatting a string each time. */
  private readonly devId: bigint;
  private readonly inoId: bigint;

  private constructor(
    fd: number,
    /** What messages call it. */
    readonly display: string,
  ) {
    this.fdOrNull = fd;
    const st = fstatSync(fd, { bigint: true });
    this.id = identityOf(st);
    this.devId = st.dev;
    this.inoId = st.ino;
    this.uid = Number(st.uid);
    this.mode = Number(st.mode);
  }

  /** Opens a directory by an absolute path (its last component never a link); links earlier on the way are followed. */
  static open(path: string, display = path): PinnedDir {
    return new PinnedDir(openDir(path, display), display);
  }

  /** Opens `name` in this directory, never following a link (ELOOP when it is one, ENOTDIR when not a directory). */
  child(name: string, display: string): PinnedDir {
    return new PinnedDir(openDir(this.at(name), display), display);
  }

  /** As child(), but undefined when nothing of that name exists. */
  childOrMissing(name: string, display: string): PinnedDir | undefined {
    try {
      return this.child(name, display);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  get fd(): number {
    if (this.fdOrNull === null) throw new Error(`internal: ${this.display} is closed`);
    return this.fdOrNull;
  }

  /** The path of this very directory, /proc/self/fd/N (e.g. a child's working directory: it chdirs before exec, while N is still open). */
  get self(): string {
    return `${FD_DIR}/${this.fd}`;
  }

  /** The path of `name` inside this very directory (resolved through the descriptor, not the directory's old path). */
  at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`internal: ${JSON.stringify(name)} is not one path component`);
    return `${FD_DIR}/${this.fd}/${name}`;
  }

  get closed(): boolean {
    return this.fdOrNull === null;
  }

  /** Whether `name` in `parent` is still this directory (not moved away, not replaced by a link or another directory). */
  isAt(parent: PinnedDir, name: string): boolean {
    const st = lstatQuiet(parent.at(name));
    return st !== undefined && st.isDirectory() && st.dev === this.devId && st.ino === this.inoId;
  }

  /** fsync, so the names created, renamed or removed in it are durable (EINVAL: a file system that cannot). */
  fsync(): void {
    try {
      fsyncSync(this.fd);
    } catch (err) {
      if (errnoOf(err) !== 'EINVAL') throw err;
    }
  }

  /** fsync() on the thread pool, so that the directories of a commit are flushed together, not one after another. */
  fsyncAsync(): Promise<void> {
    const fd = this.fd;
    return new Promise((resolve, reject) => fsync(fd, (err) => (err && errnoOf(err) !== 'EINVAL' ? reject(err) : resolve())));
  }

  close(): void {
    if (this.fdOrNull !== null) closeSync(this.fdOrNull);
    this.fdOrNull = null;
  }
}

function openDir(path: string, display: string): number {
  try {
    return openSync(path, DIR_FLAGS);
  } catch (err) {
    const code = errnoOf(err);
    // O_NOFOLLOW|O_DIRECTORY on a link answers ENOTDIR (or ELOOP): say which it is.
    if ((code === 'ENOTDIR' || code === 'ELOOP') && lstatQuiet(path)?.isSymbolicLink())
      throw fault('ELOOP', `${display} is a symbolic link (refusing to follow it)`);
    if (code === 'ENOTDIR') throw fault('ENOTDIR', `${display} is not a directory`);
    if (code === 'ENOENT') throw fault('ENOENT', `${display} is missing`);
    throw err;
  }
}

let checked: string | null | undefined;

/**
 * Why directories cannot be pinned here (see the top of this file), or null when `fdDir`
 * (/proc/self/fd) resolves a descriptor to the directory it holds open. Probed once per process.
 */
export function pinningUnavailable(fdDir = FD_DIR): string | null {
  if (fdDir === FD_DIR && checked !== undefined) return checked;
  let fd: number | undefined;
  let why: string | null;
  try {
    fd = openSync('/', DIR_FLAGS);
    const want = fstatSync(fd, { bigint: true });
    const got = statSync(`${fdDir}/${fd}/.`, { bigint: true });
    why = got.dev === want.dev && got.ino === want.ino ? null : `${fdDir}/N does not resolve to the open directory`;
  } catch (err) {
    why = `${fdDir} is not available (${errnoOf(err)})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (fdDir === FD_DIR) checked = why;
  return why;
}

/** Throws PREFLIGHT_FAILED (UNSUPPORTED_PLATFORM) unless directories can be pinned. */
export function requirePinning(): void {
  const why = pinningUnavailable();
  if (why === null) return;
  const message = `the installer acts only through directories pinned by descriptor (Linux /proc/self/fd), and ${why}; refusing to run`;
  throw new InstallError('PREFLIGHT_FAILED', message, { problems: [{ code: 'UNSUPPORTED_PLATFORM', message }] });
}

/**
 * The directories of a site tree, pinned on first use by a walk from the pinned root (no link is
 * followed), each checked against the identity the preflight saw when one is known, and cached by
 * relative path ('' is the root) until close().
 */
export class PinnedTree {
  private readonly dirs = new Map<string, PinnedDir>();

  constructor(
    root: PinnedDir,
    /** The dev/ino a directory had when it was checked (undefined: not known, e.g. in a recovery). */
    private readonly expected: (rel: string) => string | undefined = () => undefined,
  ) {
    this.dirs.set('', root);
  }

  get root(): PinnedDir {
    return this.dirs.get('')!;
  }

  /** The pinned directory `rel` (opened now if it is not yet). Throws ELOOP/ENOTDIR/ENOENT, or ESTALE when it is not the directory that was checked. */
  dir(rel: string): PinnedDir {
    const cached = this.dirs.get(rel);
    if (cached) return cached;
    const slash = rel.lastIndexOf('/');
    const parent = this.dir(slash === -1 ? '' : rel.slice(0, slash));
    const pinned = parent.child(rel.slice(slash + 1), rel);
    const want = this.expected(rel);
    if (want !== undefined && pinned.id !== want) {
      pinned.close();
      throw fault('ESTALE', `${rel} is not the directory the preflight checked (it was replaced since)`);
    }
    this.dirs.set(rel, pinned);
    return pinned;
  }

  /**
   * dir(rel) with assertInPlace(rel), for acting in `rel` now: from the root down, each directory pinned before
   * is checked to be still at its name in its pinned parent (isAt), and each one not pinned yet is opened by its
   * name in its pinned parent (never through a link) and fstat'ed, which is the look isAt would take of it.
   */
  dirInPlace(rel: string): PinnedDir {
    let parent = this.root;
    if (rel === '') return parent;
    let at = '';
    for (const name of rel.split('/')) {
      at = at === '' ? name : `${at}/${name}`;
      const cached = this.dirs.get(at);
      if (cached === undefined) parent = this.dir(at);
      else if (cached.isAt(parent, name)) parent = cached;
      else throw fault('ESTALE', `${at} was moved or replaced while the update was running`);
    }
    return parent;
  }

  /** As dir(), but undefined when it (or a directory on the way) does not exist. */
  dirOrMissing(rel: string): PinnedDir | undefined {
    try {
      return this.dir(rel);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The directory `rel` if it is pinned already. */
  cached(rel: string): PinnedDir | undefined {
    return this.dirs.get(rel);
  }

  /** Pins a directory this process has just made (in a pinned parent); refuses one that is not ours (swapped in between). */
  made(rel: string): PinnedDir {
    this.forget(rel);
    const slash = rel.lastIndexOf('/');
    const pinned = this.dir(slash === -1 ? '' : rel.slice(0, slash)).child(rel.slice(slash + 1), rel);
    const euid = process.geteuid?.();
    if (euid !== undefined && pinned.uid !== euid) {
      pinned.close();
      throw fault('ESTALE', `${rel} was replaced by a directory of uid ${pinned.uid} right after it was created`);
    }
    this.dirs.set(rel, pinned);
    return pinned;
  }

  /** Drops `rel` and everything below it (after it was removed). */
  forget(rel: string): void {
    for (const [key, dir] of this.dirs) {
      if (key !== '' && (key === rel || key.startsWith(`${rel}/`))) {
        dir.close();
        this.dirs.delete(key);
      }
    }
  }

  /** Throws ESTALE unless every pinned directory from the root to `rel` is still at its name. */
  assertInPlace(rel: string): void {
    if (rel === '') return;
    let parent = this.root;
    let at = '';
    for (const name of rel.split('/')) {
      at = at === '' ? name : `${at}/${name}`;
      const dir = this.dir(at);
      if (!dir.isAt(parent, name)) throw fault('ESTALE', `${at} was moved or replaced while the update was running`);
      parent = dir;
    }
  }

  /** assertInPlace for every directory pinned so far: each is checked once in its pinned parent (every chain is made of these links). */
  assertAllInPlace(): void {
    for (const [rel, dir] of this.dirs) {
      if (rel === '') continue;
      const slash = rel.lastIndexOf('/');
      if (!dir.isAt(this.dir(slash === -1 ? '' : rel.slice(0, slash)), rel.slice(slash + 1)))
        throw fault('ESTALE', `${rel} was moved or replaced while the update was running`);
    }
  }

  /** Every directory pinned (the root first). */
  all(): PinnedDir[] {
    return [...this.dirs.values()];
  }

  close(): void {
    for (const dir of this.dirs.values()) dir.close();
    this.dirs.clear();
  }
}
