// The log's static files in DIR, written crash-safely (c2sp.org/tlog-tiles): every file goes to a temporary name,
// is fsynced and renamed into place, and the directories are fsynced before the caller moves on. The sequencer
// stages tiles here, swaps the checkpoint in its database, then publishes the checkpoint file (sequencer.ts).
//
//   DIR/checkpoint                      the newest published (witnessed) checkpoint
//   DIR/tile/<L>/<N>[.p/<W>]            Merkle tiles
//   DIR/tile/entries/<N>[.p/<W>]        entry bundles
//   DIR/manifest/<sha256 of payload>    full release manifests (the payload bytes), content-addressed
//   DIR/index/<entry identity>          the index of each entry (a lookup hint for `log prove`)
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';
import { tempPathFor, fsyncDir } from '../node/durable.js';
import { decodeEntryBundle, encodeEntryBundle, tilePath, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';
import { HASH_BYTES, type TreeNode } from './merkle.js';

/** A tile level, or the entry bundles. */
export type TileLevel = number | 'entries';

/** A point in publishing where a test-only hook may stop the process (lib/installer/hooks.ts). */
export type Hit = (label: string) => void;

export const MANIFEST_DIR = 'manifest';
export const LOOKUP_DIR = 'index';

export class TileDir {
  readonly #dirs = new Set<string>();
  constructor(readonly dir: string) {}

  path(level: TileLevel, index: number, width = TILE_WIDTH): string {
    return join(this.dir, tilePath({ level, index, width }));
  }

  /** A tile's bytes, or undefined when absent. */
  read(level: TileLevel, index: number, width = TILE_WIDTH): Uint8Array | undefined {
    return readIfPresent(this.path(level, index, width));
  }

  /** The hashes of a Merkle tile, or the entries of a bundle, that are already published. */
  readHashes(level: number, index: number, width: number): Uint8Array[] {
    const bytes = this.read(level, index, width);
    if (!bytes || bytes.length !== width * HASH_BYTES)
      throw new UsageError('IO', `tile ${level}/${index} (width ${width}) is missing or damaged in ${this.dir}`);
    const out: Uint8Array[] = [];
    for (let i = 0; i < width; i++) out.push(bytes.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    return out;
  }

  readEntries(index: number, width: number): Uint8Array[] {
    const bytes = this.read('entries', index, width);
    if (!bytes) throw new UsageError('IO', `entry bundle ${index} (width ${width}) is missing in ${this.dir}`);
    return decodeEntryBundle(bytes, width);
  }

  /**
   * Stages the tiles that change when the tree grows from `oldSize` to `newSize`: `hashes(level)` gives the new
   * hashes at tile level L (tree level 8L) from index floor(oldSize / 256^L) on, `entries` the new entries.
   * The committed partial tiles supply the hashes before them. Nothing is fsynced until sync().
   */
  stage(oldSize: number, newSize: number, hashes: (level: number) => Uint8Array[], entries: readonly Uint8Array[], hit: Hit): void {
    this.#stageLevel(
      'entries',
      oldSize,
      newSize,
      entries,
      (n, w) => this.readEntries(n, w),
      (items) => encodeEntryBundle(items),
      hit,
    );
    for (let level = 0; ; level++) {
      const scale = TILE_WIDTH ** level;
      const before = Math.floor(oldSize / scale);
      const after = Math.floor(newSize / scale);
      if (after === before) break;
      this.#stageLevel(level, before, after, hashes(level), (n, w) => this.readHashes(level, n, w), concatHashes, hit);
    }
  }

  #stageLevel(
    level: TileLevel,
    before: number,
    after: number,
    added: readonly Uint8Array[],
    existing: (index: number, width: number) => Uint8Array[],
    encode: (items: Uint8Array[]) => Uint8Array,
    hit: Hit,
  ): void {
    if (added.length !== after - before) throw new Error(`tile level ${level}: ${added.length} new items for ${after - before} positions`);
    const first = Math.floor(before / TILE_WIDTH);
    let items = before % TILE_WIDTH > 0 ? existing(first, before % TILE_WIDTH) : [];
    let next = 0;
    for (let n = first; n * TILE_WIDTH < after; n++) {
      const width = Math.min(TILE_WIDTH, after - n * TILE_WIDTH);
      const take = width - items.length;
      items = [...items, ...added.slice(next, next + take)];
      next += take;
      this.writeFile(this.path(level, n, width), encode(items));
      hit(`tile ${level}/${n}${width < TILE_WIDTH ? `.p/${width}` : ''}`);
      items = [];
    }
  }

  /** Writes a content-addressed manifest payload (nothing if present: the name is its hash). */
  writeManifest(sha256: string, payload: Uint8Array): void {
    const path = join(this.dir, MANIFEST_DIR, sha256);
    if (!existsSync(path)) this.writeFile(path, payload);
  }

  /**
   * DIR/index/<identity> holds the index of the entry with that identity (replay.ts entryIdentity), so `log prove`
   * finds a document's entry from a directory or a static server. A hint only: the proof is checked against the entry.
   * Not fsynced (one per entry would be most of a batch's cost): one lost to a power cut is written again when the
   * document is submitted again (the sequencer's duplicate path).
   */
  writeLookup(identity: string, index: number): void {
    this.writeFile(join(this.dir, LOOKUP_DIR, identity), Buffer.from(`${index}\n`), { durable: false });
  }

  hasLookup(identity: string, index: number): boolean {
    return Buffer.from(readIfPresent(join(this.dir, LOOKUP_DIR, identity)) ?? []).toString('latin1') === `${index}\n`;
  }

  readManifest(sha256: string): Uint8Array | undefined {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    return readIfPresent(join(this.dir, MANIFEST_DIR, sha256));
  }

  /** Fsyncs every directory a file was renamed into since the last sync. */
  sync(): void {
    for (const d of this.#dirs) fsyncDir(d);
    this.#dirs.clear();
  }

  readCheckpoint(): string | undefined {
    const bytes = readIfPresent(join(this.dir, 'checkpoint'));
    return bytes && Buffer.from(bytes).toString('utf8');
  }

  /** Replaces DIR/checkpoint atomically and durably. */
  publishCheckpoint(note: string): void {
    this.writeFile(join(this.dir, 'checkpoint'), Buffer.from(note, 'utf8'));
    this.sync();
  }

  /** temp + fsync + rename: a reader sees the old file or the new one, never a part. */
  writeFile(path: string, data: Uint8Array, opts: { durable?: boolean } = {}): void {
    const dir = dirname(path);
    try {
      mkdirSync(dir, { recursive: true });
      const temp = tempPathFor(path);
      const fd = openSync(temp, 'wx', 0o644);
      try {
        writeSync(fd, data);
        if (opts.durable !== false) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        renameSync(temp, path);
      } catch (err) {
        rmSync(temp, { force: true });
        throw err;
      }
    } catch (err) {
      throw new UsageError('IO', `cannot write ${path}: ${errnoOf(err) ?? (err as Error).message}`);
    }
    this.#dirs.add(dir);
    // A new directory's own entry must reach its parent too.
    this.#dirs.add(dirname(dir));
  }
}

/** Keeps the hashes tiles hold from TreeEdge.append's nodes: tree levels 0, 8, 16, … are tile levels 0, 1, 2, …, in index order. */
export function keepTileNode(levels: Map<number, Uint8Array[]>, node: TreeNode): void {
  if (node.level % TILE_HEIGHT !== 0) return;
  const level = node.level / TILE_HEIGHT;
  let list = levels.get(level);
  if (!list) levels.set(level, (list = []));
  list.push(node.hash);
}

function readIfPresent(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw new UsageError('IO', `cannot read ${path}: ${errnoOf(err)}`);
  }
}

function concatHashes(items: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(items.length * HASH_BYTES);
  items.forEach((h, i) => out.set(h, i * HASH_BYTES));
  return out;
}
