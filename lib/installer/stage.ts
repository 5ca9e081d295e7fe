// Staging: the new files are written beside the site (STATE_DIR/staging/SLOT, never under a name from
// the archive), each read back through its own descriptor as soon as it is written and compared with the
// manifest, then fsynced all at once on the thread pool. The commit writes its journal and its backups while
// that flush runs, and waits for it before its first step puts a staged file into the site (commit.ts).
// Only the entries the plan stages are written; the archive is streamed again from the same open file
// it was verified from, walked by its verified layout, and hashed again as it goes, so a file changed in between is caught.
// staging/ and backups/ are made in the pinned state directory and pinned themselves (paths.pins), so
// the commit finds them, and the files in them, through the same descriptors.
import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { InstallError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { BLOCK_SIZE, paddingOf } from '../core/tar.js';
import { sortByPathBytes } from '../core/paths.js';
import type { ArchiveInput } from '../core/verify.js';
import { allDone, hashOpenFile } from './fsutil.js';
import { describeFault, type Points } from './hooks.js';
import type { PinnedDir } from './pinned-dir.js';
import type { Plan, StagedStep } from './plan.js';
import { pinnedState, type SitePaths } from './state.js';
import { errnoOf } from '../core/errno.js';

export interface StagedFile {
  slot: number;
  path: string;
  /** Identity of the staged file (decimal strings: inode numbers can exceed 2^53). */
  dev: string;
  ino: string;
}

/** What stageFiles leaves for the commit. */
export interface Staged {
  files: ReadonlyMap<number, StagedFile>;
  /** Every staged file and staging/ itself made durable: the flush runs on while the commit begins. */
  durable: Promise<void>;
  /** Settles with `durable`, whatever its outcome: until then the flush holds staging/'s descriptor and the files'. */
  settled: Promise<void>;
}

// Read and write: each file is read back through the descriptor it was written with (the very file, by construction).
const CREATE_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function stagingFailed(message: string, details: Record<string, unknown> = {}): InstallError {
  return new InstallError('STAGING_FAILED', `staging failed, nothing in the site was touched: ${message}`, details);
}

/** Creates a fresh private directory `name` in the pinned `parent` and pins it; one that already exists (or a link planted there) is refused. */
export function makePrivateDir(parent: PinnedDir, name: string, display: string): PinnedDir {
  try {
    mkdirSync(parent.at(name), 0o700);
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') throw stagingFailed(`${display} already exists (left behind, or planted); refusing to use it`, { path: display });
    throw stagingFailed(`cannot create ${display}: ${errnoOf(err)}`, { path: display, errno: errnoOf(err) });
  }
  try {
    return parent.child(name, display);
  } catch (err) {
    throw stagingFailed(`${display} is not the directory just created (${describeFault(err)})`, { path: display });
  }
}

/** Writes every add/modify file of the plan into staging and reads each back; returns each staged file's identity by slot, and their flush. */
export async function stageFiles(archive: ArchiveInput, manifest: Manifest, plan: Plan, paths: SitePaths, points: Points): Promise<Staged> {
  const state = pinnedState(paths);
  const staging = (paths.pins!.staging = makePrivateDir(state, 'staging', paths.staging));
  paths.pins!.backups = makePrivateDir(state, 'backups', paths.backups);
  const wanted = new Map<string, StagedStep>();
  for (const s of plan.steps) if (s.op === 'add' || s.op === 'modify') wanted.set(s.path, s);
  const files = new Map<number, StagedFile>();
  let current: { fd: number; step: StagedStep } | null = null;
  const syncs = new SyncBatch();
  const closeCurrent = () => {
    if (current) closeSync(current.fd);
    current = null;
  };
  try {
    points.hit('staging directories created');
    const archive256 = createHash('sha256');
    let total = 0;
    const walker = new EntryWalker(manifest, {
      start(path: string) {
        const step = wanted.get(path);
        if (!step) return;
        // Created with its final mode (staging/ is 0700, so no one else can open it meanwhile): fchmod only when the umask took bits away.
        const fd = openSync(staging.at(String(step.slot)), CREATE_FLAGS, Number.parseInt(step.mode, 8));
        current = { fd, step };
      },
      data(bytes: Uint8Array) {
        if (!current) return;
        for (let done = 0; done < bytes.length;) done += writeSync(current.fd, bytes, done, bytes.length - done);
      },
      end() {
        if (!current) return;
        const { fd, step } = current;
        current = null;
        try {
          files.set(step.slot, readBack(fd, step));
        } catch (err) {
          closeSync(fd);
          throw err;
        }
        syncs.add(fd);
      },
    });
    for await (const chunk of archive.chunks()) {
      total += chunk.length;
      if (total > manifest.archive.size) throw stagingFailed('the archive grew since it was verified');
      archive256.update(chunk);
      walker.push(chunk);
      if (syncs.full) await syncs.flush();
    }
    if (total !== manifest.archive.size || archive256.digest('hex') !== manifest.archive.sha256 || !walker.done) {
      throw stagingFailed('the archive changed since it was verified (size or SHA-256 differ)');
    }
    for (const step of wanted.values()) {
      if (!files.has(step.slot)) throw stagingFailed(`the archive holds no entry for ${step.path}`, { path: step.path });
    }
    // Every staged file and staging/ itself, flushed together while the commit writes its journal and backups.
    const durable = syncs.flush(staging).catch((err: unknown) => {
      throw stagingFailed(`cannot flush the staged files: ${describeFault(err)}`, { errno: errnoOf(err) });
    });
    const settled = durable.then(
      () => undefined,
      () => undefined, // the failure is reported where durable is awaited (commit.ts)
    );
    points.hit('staged and read back');
    return { files, durable, settled };
  } catch (err) {
    closeCurrent();
    await syncs.abandon();
    if (err instanceof InstallError) throw err;
    throw stagingFailed(describeFault(err), { errno: errnoOf(err) });
  }
}

/**
 * The verified archive's entries, walked by its layout, not parsed again: verification accepted exactly the
 * archive in which every add/modify op of the manifest, in path byte order, is a 512-byte header, the content
 * and zero padding to the next block, then the end marker (spec/bundle.md). stageFiles checks the archive's
 * size and SHA-256 against the manifest's once the walk is over, and reads each staged file back; an archive
 * changed since it was verified is caught by one or the other, and has only ever been written into staging/.
 */
class EntryWalker {
  private readonly entries: ReadonlyArray<{ path: string; size: number }>;
  private index = -1;
  private part: 'header' | 'content' | 'padding' | 'end' = 'header';
  private left = 0;

  constructor(
    manifest: Pick<Manifest, 'files'>,
    private readonly on: { start(path: string): void; data(bytes: Uint8Array): void; end(): void },
  ) {
    this.entries = sortByPathBytes(manifest.files.filter((op) => op.op === 'add' || op.op === 'modify'));
    this.nextEntry();
  }

  /** Every entry walked: what follows is the end marker. */
  get done(): boolean {
    return this.part === 'end';
  }

  push(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length && !this.done;) {
      const n = Math.min(this.left, chunk.length - at);
      if (this.part === 'content') this.on.data(chunk.subarray(at, at + n));
      this.left -= n;
      at += n;
      while (this.left === 0 && !this.done) this.nextPart();
    }
  }

  private nextPart(): void {
    const entry = this.entries[this.index]!;
    if (this.part === 'header') {
      this.part = 'content';
      this.left = entry.size;
      this.on.start(entry.path);
    } else if (this.part === 'content') {
      this.part = 'padding';
      this.left = paddingOf(entry.size);
      this.on.end();
    } else {
      this.nextEntry();
    }
  }

  private nextEntry(): void {
    this.index++;
    this.part = this.index < this.entries.length ? 'header' : 'end';
    this.left = BLOCK_SIZE;
  }
}

/**
 * Gives a just-written staged file its mode (the umask may have taken bits away) and reads it back from its start:
 * what gets renamed into the site is exactly what the quorum signed, and is the file written. Returns its identity.
 */
function readBack(fd: number, step: StagedStep): StagedFile {
  const mode = Number.parseInt(step.mode, 8);
  let st = fstatSync(fd, { bigint: true });
  if ((Number(st.mode) & 0o7777) !== mode) {
    fchmodSync(fd, mode);
    st = fstatSync(fd, { bigint: true });
  }
  if ((Number(st.mode) & 0o7777) !== mode)
    throw stagingFailed(`${step.path} was staged with mode ${(Number(st.mode) & 0o7777).toString(8)}, not ${step.mode}`, { path: step.path });
  const back = hashOpenFile(fd);
  if (back.sha256 !== step.sha256 || back.size !== step.size) {
    throw stagingFailed(`${step.path} reads back with other content than the manifest's (size ${back.size}, SHA-256 ${back.sha256})`, { path: step.path });
  }
  return { slot: step.slot, path: step.path, dev: st.dev.toString(), ino: st.ino.toString() };
}

/**
 * fsyncs staged files on the thread pool, a whole batch at once (the file system and the block layer then
 * merge their flushes: 450 files cost a few device flushes, where one after another they cost 450), and closes
 * each when its fsync is done. A batch of BATCH is flushed between archive chunks; past MAX_OPEN descriptors
 * (one chunk of very small files) a file is fsynced at once.
 */
class SyncBatch {
  private static readonly BATCH = 512;
  private static readonly MAX_OPEN = 1024;
  private fds: number[] = [];
  private inFlight: Promise<void> | null = null;

  add(fd: number): void {
    if (this.fds.length < SyncBatch.MAX_OPEN) {
      this.fds.push(fd);
      return;
    }
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  get full(): boolean {
    return this.fds.length >= SyncBatch.BATCH;
  }

  /** fsyncs every descriptor added (and `dir`, when given) together and closes them; rethrows the first failure once all are done. */
  flush(dir?: PinnedDir): Promise<void> {
    const fds = this.fds.splice(0);
    const all = fds.map(
      (fd) =>
        new Promise<void>((resolve, reject) =>
          fsync(fd, (err) => {
            closeSync(fd);
            if (err) reject(err);
            else resolve();
          }),
        ),
    );
    if (dir) all.push(dir.fsyncAsync());
    const done = allDone(all);
    this.inFlight = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /** On failure: closes what was never flushed and waits for any flush in flight, so no descriptor is left open. */
  async abandon(): Promise<void> {
    for (const fd of this.fds.splice(0)) closeSync(fd);
    await this.inFlight;
  }
}
