// Staging: the new files are written beside the site (STATE_DIR/staging/SLOT, never under a name from
// the archive), fsynced (all at once, on the thread pool, while they are read back), and read back from disk and
// compared with the manifest before the commit.
// Only the entries the plan stages are written; the archive is streamed again from the same open file
// it was verified from, and hashed again as it goes, so a file changed in between is caught.
// staging/ and backups/ are made in the pinned state directory and pinned themselves (paths.pins), so
// the commit finds them, and the files in them, through the same descriptors.
import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { CountersignError, InstallError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { TarReader, type TarHeader } from '../core/tar.js';
import type { ArchiveInput } from '../core/verify.js';
import { hashFile } from './fsutil.js';
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

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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

/** Writes every add/modify file of the plan into staging; returns each staged file's identity by slot. */
export async function stageFiles(archive: ArchiveInput, manifest: Manifest, plan: Plan, paths: SitePaths, points: Points): Promise<Map<number, StagedFile>> {
  const state = pinnedState(paths);
  const staging = (paths.pins!.staging = makePrivateDir(state, 'staging', paths.staging));
  paths.pins!.backups = makePrivateDir(state, 'backups', paths.backups);
  const wanted = new Map<string, StagedStep>();
  for (const s of plan.steps) if (s.op === 'add' || s.op === 'modify') wanted.set(s.path, s);
  const ids = new Map<number, { dev: string; ino: string }>();
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
    const reader = new TarReader({
      onEntryStart(header: TarHeader) {
        const step = wanted.get(header.path);
        if (!step) return;
        const fd = openSync(staging.at(String(step.slot)), CREATE_FLAGS, 0o600);
        current = { fd, step };
      },
      onEntryData(data: Uint8Array) {
        if (!current) return;
        for (let done = 0; done < data.length;) done += writeSync(current.fd, data, done, data.length - done);
      },
      onEntryEnd() {
        if (!current) return;
        const { fd, step } = current;
        current = null;
        try {
          fchmodSync(fd, Number.parseInt(step.mode, 8));
          const id = fstatSync(fd, { bigint: true });
          ids.set(step.slot, { dev: id.dev.toString(), ino: id.ino.toString() });
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
      reader.push(chunk);
      if (syncs.full) await syncs.flush();
    }
    reader.end();
    if (total !== manifest.archive.size || archive256.digest('hex') !== manifest.archive.sha256) {
      throw stagingFailed('the archive changed since it was verified (size or SHA-256 differ)');
    }
    // Every staged file and staging/ itself, flushed together while the files are read back below.
    const flushed = syncs.flush(staging);
    flushed.catch(() => undefined); // awaited below, or by the failure path
    const staged = new Map<number, StagedFile>();
    for (const step of wanted.values()) {
      const id = ids.get(step.slot);
      if (!id) throw stagingFailed(`the archive holds no entry for ${step.path}`, { path: step.path });
      // Read back from disk: what gets renamed into the site is exactly what the quorum signed, and is the file written.
      const back = hashFile(staging.at(String(step.slot)));
      if (back.dev !== id.dev || back.ino !== id.ino)
        throw stagingFailed(`staging/${step.slot} (${step.path}) is not the file just written`, { path: step.path });
      if (back.sha256 !== step.sha256 || back.size !== step.size) {
        throw stagingFailed(`${step.path} reads back from disk with other content than the manifest's (size ${back.size}, SHA-256 ${back.sha256})`, {
          path: step.path,
        });
      }
      if ((back.mode & 0o7777) !== Number.parseInt(step.mode, 8))
        throw stagingFailed(`${step.path} was staged with mode ${(back.mode & 0o7777).toString(8)}, not ${step.mode}`, { path: step.path });
      staged.set(step.slot, { slot: step.slot, path: step.path, dev: id.dev, ino: id.ino });
    }
    await flushed;
    points.hit('staged and read back');
    return staged;
  } catch (err) {
    closeCurrent();
    await syncs.abandon();
    if (err instanceof InstallError) throw err;
    if (err instanceof CountersignError) throw stagingFailed(`the archive no longer reads as verified: ${err.code}: ${err.message}`, { cause: err.code });
    throw stagingFailed(describeFault(err), { errno: errnoOf(err) });
  }
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
    const done = Promise.allSettled(all).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
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
