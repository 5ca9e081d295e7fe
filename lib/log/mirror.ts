// `log mirror`: an untrusted copy of a log in DIR, servable by any static server. It reads the source's checkpoint
// and entry bundles only, rebuilds the Merkle tiles itself from its own tree's right edge, and publishes the new
// checkpoint only when the tree it built has that checkpoint's root: the new tree then extends the one the mirror
// already exposes (consistency by construction), and every tile it serves is the log's. A source that forked,
// rolled back or serves entries that do not hash to its checkpoint is refused (LOG_INCONSISTENT) and nothing new
// is exposed. Manifests named by release entries are copied after their SHA-256 is checked.
import { sha256Hex } from '../core/envelope.js';
import { CountersignError } from '../core/errors.js';
import { parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { parseEntry } from './entry.js';
import { LogError } from './errors.js';
import { leafHash, TreeEdge } from './merkle.js';
import { formatNote } from './note.js';
import { checkCheckpoint } from './monitor.js';
import { keepTileNode, TileDir } from './publish.js';
import { entryIdentity } from './replay.js';
import { fetchEntries, type LogSource } from './tile-reader.js';
import { hashAtFromTiles, TILE_WIDTH } from './tiles.js';
import type { TlogPolicy } from './tlog-policy.js';
import { UsageError } from '../core/errors.js';

export interface MirrorResult {
  origin: string;
  from: number;
  size: number;
  /** False when the source's checkpoint was already mirrored. */
  advanced: boolean;
}

const CHUNK = 16 * TILE_WIDTH;

export async function mirrorOnce(source: LogSource, to: string, opts: { policy?: TlogPolicy } = {}): Promise<MirrorResult> {
  const tiles = new TileDir(to);
  const heldNote = tiles.readCheckpoint();
  const held = heldNote === undefined ? undefined : parseSignedCheckpoint(heldNote);
  const note = await source.checkpoint();
  if (note === undefined) throw new LogError('BAD_CHECKPOINT', `${source.label} has no checkpoint`);
  const cp: SignedCheckpoint = opts.policy ? checkCheckpoint(note, opts.policy) : parseSignedCheckpoint(note);
  if (held && held.origin !== cp.origin) throw new UsageError('USAGE', `${to} mirrors ${held.origin}, not ${cp.origin}`);
  const heldSize = held?.size ?? 0;
  const evidence = { held: heldNote ?? null, offered: note };
  if (cp.size < heldSize)
    throw new LogError('LOG_INCONSISTENT', `${source.label} rolled back from size ${heldSize} to ${cp.size}; the mirror keeps size ${heldSize}`, evidence);
  if (held && cp.size === heldSize) {
    if (Buffer.compare(cp.root, held.root) !== 0)
      throw new LogError('LOG_INCONSISTENT', `${source.label} signed size ${cp.size} with another root (a split view)`, evidence);
    // Newer cosignatures of the same tree.
    if (note !== heldNote) tiles.publishCheckpoint(formatNote(cp.note));
    return { origin: cp.origin, from: heldSize, size: cp.size, advanced: false };
  }

  const edge = edgeOf(tiles, heldSize);
  if (held && Buffer.compare(edge.root(), held.root) !== 0) throw new LogError('LOG_INCONSISTENT', `the mirror's own tiles do not hash to its checkpoint`);
  const lookups: Array<[string, number]> = [];
  const manifests: Array<[string, Uint8Array]> = [];
  for (let start = heldSize; start < cp.size; start += CHUNK) {
    const end = Math.min(cp.size, start + CHUNK);
    const entries = await fetchEntries(source, start, end, cp.size);
    const levels = new Map<number, Uint8Array[]>();
    for (const [i, entry] of entries.entries()) {
      for (const node of edge.append(leafHash(entry))) keepTileNode(levels, node);
      const m = await fetchManifest(source, tiles, entry);
      if (m) manifests.push(m);
      try {
        lookups.push([entryIdentity(entry), start + i]);
      } catch (err) {
        if (!(err instanceof CountersignError)) throw err;
      }
    }
    tiles.stage(
      start,
      end,
      (level) => levels.get(level) ?? [],
      entries,
      () => {},
    );
  }
  tiles.sync();
  if (Buffer.compare(edge.root(), cp.root) !== 0) {
    throw new LogError(
      'LOG_INCONSISTENT',
      `the entries ${source.label} serves do not hash to its checkpoint ${cp.size}${held ? `, or do not extend size ${heldSize}` : ''}; nothing new exposed`,
      evidence,
    );
  }
  // Manifests and lookup hints only for a tree that checked out (a forked source's would linger otherwise).
  for (const [sha, payload] of manifests) tiles.writeManifest(sha, payload);
  for (const [identity, index] of lookups) tiles.writeLookup(identity, index);
  tiles.sync();
  tiles.publishCheckpoint(formatNote(cp.note));
  return { origin: cp.origin, from: heldSize, size: cp.size, advanced: true };
}

/** The right edge of the tree of `size` from the mirror's own tiles. */
function edgeOf(tiles: TileDir, size: number): TreeEdge {
  const hashAt = hashAtFromTiles(size, (t) => {
    const bytes = tiles.read(t.level, t.index, t.width);
    if (!bytes) throw new LogError('LOG_INCONSISTENT', `the mirror lacks its own tile ${t.level}/${t.index}`);
    return bytes;
  });
  const hashes: Uint8Array[] = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (Math.floor((size - start) / width) >= 1) {
      hashes.push(hashAt(level, start / width));
      start += width;
    }
  }
  return new TreeEdge(size, hashes);
}

/** The manifest a release entry names, when the mirror lacks it and the source's hashes right. */
async function fetchManifest(source: LogSource, tiles: TileDir, entry: Uint8Array): Promise<[string, Uint8Array] | undefined> {
  let parsed;
  try {
    parsed = parseEntry(entry);
  } catch {
    return undefined; // not ours to judge: a monitor reports it
  }
  if (parsed.kind !== 'release') return undefined;
  const sha = parsed.statement.payloadSha256;
  if (tiles.readManifest(sha)) return undefined;
  const payload = await source.manifest(sha);
  return payload && sha256Hex(payload) === sha ? [sha, payload] : undefined;
}
