// C2SP tlog-tiles (c2sp.org/tlog-tiles): the static read API's paths, entry bundles, and Merkle hashes read out
// of tiles. Pure: which tiles a proof needs is computed here; fetching them (a directory, HTTP, a cache) is the
// edge's job (lib/log/tile-reader.ts), which then hands the bytes back through `hashAtFromTiles`.
//
// A tile at level L, index N holds up to 256 consecutive hashes of Merkle level 8·L: hash i is the complete
// subtree at (8·L, 256·N + i). Levels in between are recomputed from the tile's hashes.
import { LogError } from './errors.js';
import { HASH_BYTES, nodeHash, type HashAt } from './merkle.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** Entries are length-prefixed with a big-endian u16 in entry bundles. */
export const MAX_ENTRY_BYTES = 0xffff;

/** A Merkle tile (level 0..63) or, with level 'entries', an entry bundle; width 1..256 (256 = full). */
export interface TileRef {
  level: number | 'entries';
  index: number;
  width: number;
}

const bad = (message: string): LogError => new LogError('BAD_PROOF', message);

/** N in 3-digit groups, each but the last prefixed with x: 1234067 -> x001/x234/067. */
export function formatTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw bad(`tile index ${n} is not a non-negative integer`);
  const digits = String(n);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, relative to the log's prefix. */
export function tilePath(tile: TileRef): string {
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) throw bad(`tile width ${tile.width} is not in 1..256`);
  if (tile.level !== 'entries' && (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > 63)) throw bad(`tile level ${tile.level} is not in 0..63`);
  return `tile/${tile.level}/${formatTileIndex(tile.index)}${tile.width === TILE_WIDTH ? '' : `.p/${tile.width}`}`;
}

const PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/** The tile a path names, or null when it is not a tlog-tiles path in its one canonical spelling. */
export function parseTilePath(path: string): TileRef | null {
  const m = PATH.exec(path);
  if (!m) return null;
  const level = m[1] === 'entries' ? 'entries' : Number(m[1]);
  if (level !== 'entries' && level > 63) return null;
  const groups = [
    ...m[2]!
      .split('/')
      .filter((g) => g.length > 0)
      .map((g) => g.slice(1)),
    m[3]!,
  ];
  // Leading zero groups would be a second spelling of the same index (x000/001 for 001).
  if (groups.length > 1 && groups[0] === '000') return null;
  const index = Number(groups.join(''));
  if (!Number.isSafeInteger(index)) return null;
  const width = m[4] === undefined ? TILE_WIDTH : Number(m[4]);
  // A partial tile is 1..255 wide; a full one has no .p suffix.
  if (m[4] !== undefined && width >= TILE_WIDTH) return null;
  return { level, index, width };
}

/** How many hashes the tile (level, index) holds in a tree of `size` leaves (0 when it does not exist). */
export function tileWidth(size: number, level: number, index: number): number {
  const count = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, count - index * TILE_WIDTH));
}

/** Every tile, Merkle and entries, a tree of `size` leaves serves (full ones and the partial right edge). */
export function tilesOfTree(size: number): TileRef[] {
  return tilesChanged(0, size);
}

/**
 * The tiles that are new or wider when a tree grows from `oldSize` to `newSize`: what a publisher writes.
 * Entry bundles follow the level-0 tiles.
 */
export function tilesChanged(oldSize: number, newSize: number): TileRef[] {
  const out: TileRef[] = [];
  for (let level = 0; Math.floor(newSize / TILE_WIDTH ** level) > 0; level++) {
    const first = Math.floor(Math.floor(oldSize / TILE_WIDTH ** level) / TILE_WIDTH);
    const last = Math.ceil(Math.floor(newSize / TILE_WIDTH ** level) / TILE_WIDTH) - 1;
    for (let index = first; index <= last; index++) {
      const width = tileWidth(newSize, level, index);
      if (width === 0 || width === tileWidth(oldSize, level, index)) continue;
      out.push({ level, index, width });
      if (level === 0) out.push({ level: 'entries', index, width });
    }
  }
  return out;
}

/** The content of Merkle tile (level, index, width): its hashes concatenated, from any `hashAt`. */
export function tileContent(tile: TileRef, hashAt: HashAt): Uint8Array {
  if (tile.level === 'entries') throw bad('an entry bundle is not a Merkle tile');
  const out = new Uint8Array(tile.width * HASH_BYTES);
  for (let i = 0; i < tile.width; i++) out.set(hashAt(TILE_HEIGHT * tile.level, tile.index * TILE_WIDTH + i), i * HASH_BYTES);
  return out;
}

/** The tile holding the hash at (level, index), with its width in a tree of `size`. */
function tileOf(size: number, level: number, index: number): { tile: TileRef; offset: number; count: number } {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const count = 2 ** (level - TILE_HEIGHT * tileLevel);
  const first = index * count;
  const tileIndex = Math.floor(first / TILE_WIDTH);
  const width = tileWidth(size, tileLevel, tileIndex);
  const offset = first - tileIndex * TILE_WIDTH;
  if (offset + count > width) throw bad(`the hash at level ${level} index ${index} is not a complete subtree of the tree of size ${size}`);
  return { tile: { level: tileLevel, index: tileIndex, width }, offset, count };
}

/** The tiles the given complete-subtree hashes (e.g. from merkle.nodesRead) are read from, without repeats. */
export function tilesFor(size: number, nodes: ReadonlyArray<{ level: number; index: number }>): TileRef[] {
  const tiles = new Map<string, TileRef>();
  for (const { level, index } of nodes) {
    const { tile } = tileOf(size, level, index);
    tiles.set(tilePath(tile), tile);
  }
  return [...tiles.values()];
}

/**
 * A HashAt for the tree of `size` leaves that reads Merkle tiles through `readTile` (synchronously: the edge
 * fetches `tilesFor(...)` first). A tile of the wrong length is BAD_PROOF.
 */
export function hashAtFromTiles(size: number, readTile: (tile: TileRef) => Uint8Array): HashAt {
  return (level, index) => {
    const { tile, offset, count } = tileOf(size, level, index);
    const bytes = readTile(tile);
    if (bytes.length !== tile.width * HASH_BYTES) throw bad(`${tilePath(tile)} is ${bytes.length} bytes, not ${tile.width * HASH_BYTES}`);
    let row: Uint8Array[] = [];
    for (let i = 0; i < count; i++) row.push(bytes.subarray((offset + i) * HASH_BYTES, (offset + i + 1) * HASH_BYTES));
    while (row.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i < row.length; i += 2) up.push(nodeHash(row[i]!, row[i + 1]!));
      row = up;
    }
    return new Uint8Array(row[0]!);
  };
}

/** An entry bundle: each entry prefixed by its length as a big-endian u16. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > TILE_WIDTH) throw new LogError('ENTRY_INVALID', `an entry bundle holds at most ${TILE_WIDTH} entries`);
  const out = new Uint8Array(entries.reduce((n, e) => n + 2 + e.length, 0));
  let at = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new LogError('ENTRY_INVALID', `an entry is at most ${MAX_ENTRY_BYTES} bytes, this one ${e.length}`);
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** The entries of a bundle; a truncated bundle, or one without exactly `width` entries when given, is refused. */
export function decodeEntryBundle(bytes: Uint8Array, width?: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new LogError('ENTRY_INVALID', 'the entry bundle ends inside a length prefix');
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    if (at + 2 + length > bytes.length) throw new LogError('ENTRY_INVALID', 'the entry bundle ends inside an entry');
    entries.push(bytes.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  if (entries.length > TILE_WIDTH) throw new LogError('ENTRY_INVALID', `an entry bundle holds at most ${TILE_WIDTH} entries`);
  if (width !== undefined && entries.length !== width) throw new LogError('ENTRY_INVALID', `the entry bundle holds ${entries.length} entries, not ${width}`);
  return entries;
}
