// Reading a log through its static files (c2sp.org/tlog-tiles), from a directory or over HTTP(S): the checkpoint
// (never cached), Merkle tiles and entry bundles (a full tile never changes, so it is cached for good), and the
// manifests stored beside them. A partial tile that is gone is read from its full tile, as the spec allows logs to
// delete them. Nothing here trusts what it reads: callers verify every hash against a checkpoint they verified.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DistributionError, UsageError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';
import { LogError } from './errors.js';
import { consistencyProof, HASH_BYTES, inclusionProof, nodesRead, type HashAt } from './merkle.js';
import { MAX_NOTE_BYTES } from './note.js';
import { decodeEntryBundle, hashAtFromTiles, tilePath, tilesFor, TILE_WIDTH, type TileRef } from './tiles.js';
import { LOOKUP_DIR, MANIFEST_DIR } from './publish.js';

const FETCH_TIMEOUT_MS = 30_000;
/** 256 entries of at most 64 KiB with their prefixes. */
const MAX_BUNDLE_BYTES = TILE_WIDTH * (0xffff + 2);
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const CACHE_TILES = 4096;

export interface LogSource {
  /** The directory or URL, for messages. */
  readonly label: string;
  /** The checkpoint file's text, or undefined when the log has published none. */
  checkpoint(): Promise<string | undefined>;
  /** A tile's bytes (Merkle tile or entry bundle). */
  tile(ref: TileRef): Promise<Uint8Array>;
  manifest(sha256: string): Promise<Uint8Array | undefined>;
  /** The index DIR/index/<identity> names (a hint), or undefined. */
  lookup(identity: string): Promise<number | undefined>;
}

/** `https://…`/`http://…` is read over HTTP, anything else as a directory. */
export function openLogSource(location: string): LogSource {
  return /^https?:\/\//.test(location) ? new HttpSource(location) : new DirSource(location);
}

abstract class CachingSource implements LogSource {
  readonly #full = new Map<string, Uint8Array>();
  abstract readonly label: string;
  protected abstract get(path: string, max: number): Promise<Uint8Array | undefined>;

  async checkpoint(): Promise<string | undefined> {
    const bytes = await this.get('checkpoint', MAX_NOTE_BYTES);
    return bytes && Buffer.from(bytes).toString('utf8');
  }

  async tile(ref: TileRef): Promise<Uint8Array> {
    const path = tilePath(ref);
    const cached = this.#full.get(path);
    if (cached) return cached;
    const max = ref.level === 'entries' ? MAX_BUNDLE_BYTES : TILE_WIDTH * HASH_BYTES;
    let bytes = await this.get(path, max);
    if (!bytes && ref.width < TILE_WIDTH) {
      const full = await this.tile({ ...ref, width: TILE_WIDTH }).catch(() => undefined);
      if (full) bytes = ref.level === 'entries' ? prefixOfBundle(full, ref.width) : full.slice(0, ref.width * HASH_BYTES);
    }
    if (!bytes) throw new LogError('BAD_PROOF', `${this.label}: ${path} is missing`, { tile: path });
    if (ref.width === TILE_WIDTH) {
      this.#full.set(path, bytes);
      if (this.#full.size > CACHE_TILES) this.#full.delete(this.#full.keys().next().value as string);
    }
    return bytes;
  }

  async manifest(sha256: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    return this.get(`${MANIFEST_DIR}/${sha256}`, MAX_MANIFEST_BYTES);
  }

  async lookup(identity: string): Promise<number | undefined> {
    if (!/^[0-9a-f]{64}$/.test(identity)) return undefined;
    const bytes = await this.get(`${LOOKUP_DIR}/${identity}`, 32);
    const m = bytes && /^(0|[1-9][0-9]*)\n$/.exec(Buffer.from(bytes).toString('latin1'));
    return m ? Number(m[1]) : undefined;
  }
}

function prefixOfBundle(full: Uint8Array, width: number): Uint8Array {
  let at = 0;
  for (let i = 0; i < width; i++) at += 2 + ((full[at]! << 8) | full[at + 1]!);
  return full.slice(0, at);
}

class DirSource extends CachingSource {
  constructor(readonly dir: string) {
    super();
  }
  get label(): string {
    return this.dir;
  }
  protected async get(path: string, max: number): Promise<Uint8Array | undefined> {
    try {
      const bytes = readFileSync(join(this.dir, path));
      if (bytes.length > max) throw new LogError('BAD_PROOF', `${this.dir}/${path} is larger than ${max} bytes`);
      return new Uint8Array(bytes);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      if (err instanceof LogError) throw err;
      throw new UsageError('IO', `cannot read ${this.dir}/${path}: ${errnoOf(err)}`);
    }
  }
}

class HttpSource extends CachingSource {
  readonly base: string;
  constructor(url: string) {
    super();
    this.base = url.endsWith('/') ? url : `${url}/`;
  }
  get label(): string {
    return this.base;
  }
  protected async get(path: string, max: number): Promise<Uint8Array | undefined> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        redirect: 'error',
        headers: { 'User-Agent': 'countersign-log' },
      });
    } catch (err) {
      throw new DistributionError('UNREACHABLE', `cannot fetch ${this.base}${path}: ${(err as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new DistributionError('PROTOCOL', `${this.base}${path} answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      await res.body?.cancel();
      throw new DistributionError('TOO_LARGE', `${this.base}${path} is ${declared} bytes; at most ${max} are read`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > max) throw new DistributionError('TOO_LARGE', `${this.base}${path} is larger than ${max} bytes`);
      chunks.push(chunk);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }
}

/** A HashAt over the tree of `size` for everything `build` reads, with the tiles fetched first. */
export async function hashAtFor(source: LogSource, size: number, build: (hashAt: HashAt) => unknown): Promise<HashAt> {
  const refs = tilesFor(size, nodesRead(build));
  const got = new Map<string, Uint8Array>();
  await Promise.all(refs.map(async (r) => got.set(tilePath(r), await source.tile(r))));
  return hashAtFromTiles(size, (ref) => {
    const bytes = got.get(tilePath(ref));
    if (!bytes) throw new LogError('BAD_PROOF', `${tilePath(ref)} was not fetched`);
    return bytes;
  });
}

export async function fetchInclusionProof(source: LogSource, index: number, size: number): Promise<Uint8Array[]> {
  const build = (h: HashAt) => inclusionProof(index, size, h);
  return build(await hashAtFor(source, size, build));
}

export async function fetchConsistencyProof(source: LogSource, m: number, n: number): Promise<Uint8Array[]> {
  if (m === 0 || m === n) return [];
  const build = (h: HashAt) => consistencyProof(m, n, h);
  return build(await hashAtFor(source, n, build));
}

/** Entries [start, end) of the tree of `size` leaves, from its entry bundles. */
export async function fetchEntries(source: LogSource, start: number, end: number, size: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const entries = decodeEntryBundle(await source.tile({ level: 'entries', index: n, width }), width);
    for (let i = 0; i < width; i++) {
      const index = n * TILE_WIDTH + i;
      if (index >= start && index < end) out.push(entries[i]!);
    }
  }
  return out;
}
