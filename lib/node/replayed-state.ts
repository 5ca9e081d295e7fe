// The replayed log state of a trust store (`log sync`; spec/trust-store.md "Replayed state"): DIR/replay.json beside
// state.json, written whole under the store's lock (temporary file, fsync, rename, fsync of DIR) after state.json
// has recorded its checkpoint as the largest seen, so a crash between the two leaves a replay behind the largest,
// never ahead of it.
//
// Re-checked on every open (STORE_CORRUPT otherwise), without the log: the checkpoint is signed by the store policy's
// log; the tree's right edge hashes to its root; it is not larger than the largest checkpoint seen (nor another root
// at that size); the replay's root policy chain is walked again (every rotation's signatures).
import { closeSync, constants, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CountersignError, UsageError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';
import { corrupt, type TrustStore } from '../core/trust-state.js';
import { bytesEqual, toBase64 } from '../core/bytes.js';
import { openCheckpoint, parseSignedCheckpoint } from '../log/checkpoint.js';
import { TreeEdge } from '../log/merkle.js';
import { Replay, type ReleaseRecord } from '../log/replay.js';
import type { ReplayedLog } from '../log/sync.js';
import { logForOrigin, parseTlogPolicy } from '../log/tlog-policy.js';
import { commitPending, tempPathFor, writeDurably } from './durable.js';

export const REPLAY_FILE = 'replay.json';
export const REPLAY_FORMAT = 1;
/** A replayed state larger than this is not one countersign wrote (10^6 releases take ~200 MiB). */
export const MAX_REPLAY_BYTES = 1024 * 1024 * 1024;
/** The first line: a checkpoint note (at most 64 KiB, escaped) and at most 53 hashes. */
const MAX_HEADER_BYTES = 160 * 1024;

/** The file's first line; the second is the replay (SavedReplay), both JSON (which never holds a raw newline). */
interface ReplayHeader {
  format: number;
  /** The signed checkpoint (with its cosignatures) the state was replayed to. */
  checkpoint: string;
  /** The right edge of its tree (base64 hashes, largest subtree first). */
  edge: string[];
}

export function replayPath(dir: string): string {
  return join(dir, REPLAY_FILE);
}

/** The store's replayed state, re-checked; undefined when `log sync` never ran. */
export async function loadReplayedState(store: TrustStore): Promise<ReplayedLog | undefined> {
  const path = replayPath(store.dir);
  let bytes: Buffer;
  try {
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const info = await file.stat();
      if (!info.isFile()) throw corrupt(path, 'is not a regular file');
      if (info.size > MAX_REPLAY_BYTES) throw corrupt(path, `is ${info.size} bytes; a replayed state is at most ${MAX_REPLAY_BYTES}`);
      bytes = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    const code = errnoOf(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw corrupt(path, 'is a symbolic link');
    throw new UsageError('IO', `cannot read the replayed state ${path}: ${code ?? (err as Error).message}`);
  }
  try {
    const text = bytes.toString('utf8');
    const cut = text.indexOf('\n');
    if (cut < 0 || !text.endsWith('\n')) throw new Error('it is not two lines');
    return checkReplayFile(store, JSON.parse(text.slice(0, cut)) as ReplayHeader, JSON.parse(text.slice(cut + 1)) as SavedReplay);
  } catch (err) {
    throw corrupt(path, `does not hold a replayed state of this store's log (${(err as Error).message})`, err);
  }
}

function checkReplayFile(store: TrustStore, f: ReplayHeader, saved: SavedReplay): ReplayedLog {
  const log = store.state.log;
  if (!log) throw new Error('the store has no log policy');
  if (typeof f !== 'object' || f === null || f.format !== REPLAY_FORMAT) throw new Error(`format ${String(f?.format)}, not ${REPLAY_FORMAT}`);
  const cp = parseSignedCheckpoint(f.checkpoint);
  const policyLog = logForOrigin(parseTlogPolicy(log.policy), cp.origin);
  if (!policyLog) throw new Error(`its checkpoint is of ${cp.origin}, not a log of the store's policy`);
  openCheckpoint(cp, policyLog.verifier);
  if (!Array.isArray(f.edge) || !f.edge.every((h) => typeof h === 'string')) throw new Error('edge is a list of base64 hashes');
  const edge = new TreeEdge(
    cp.size,
    f.edge.map((h) => new Uint8Array(Buffer.from(h, 'base64'))),
  );
  if (!bytesEqual(edge.root(), cp.root)) throw new Error(`its tree does not hash to its checkpoint's root`);
  const largest = log.largest === undefined ? undefined : parseSignedCheckpoint(log.largest);
  if (!largest || largest.size < cp.size) throw new Error(`its checkpoint (size ${cp.size}) is larger than the largest the store has seen`);
  if (largest.size === cp.size && !bytesEqual(largest.root, cp.root)) throw new Error(`its checkpoint has another root than the largest seen at size ${cp.size}`);
  const replay = restoreReplay(cp.size, saved);
  return { note: f.checkpoint, checkpoint: cp, edge, replay };
}

/** The file's text for a replayed state. */
export function replayFileText(state: ReplayedLog): string {
  const header: ReplayHeader = { format: REPLAY_FORMAT, checkpoint: state.note, edge: state.edge.hashes.map((h) => toBase64(h)) };
  return `${JSON.stringify(header)}\n${JSON.stringify(saveReplay(state.replay))}\n`;
}

/** The size of the replayed state on disk (its first line only), -1 when there is none or it does not read. */
function sizeOnDisk(dir: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(replayPath(dir), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const head = Buffer.alloc(MAX_HEADER_BYTES);
    const n = readSync(fd, head, 0, head.length, 0);
    const line = head.subarray(0, n).toString('utf8');
    const cut = line.indexOf('\n');
    return cut < 0 ? -1 : parseSignedCheckpoint((JSON.parse(line.slice(0, cut)) as ReplayHeader).checkpoint).size;
  } catch {
    return -1;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes the replayed state of tree size `size`, under the store's lock (the caller holds it: recordLog's `then`),
 * unless the one on disk (re-read under the lock: a concurrent sync's) is already as large: it never goes back.
 */
export function writeReplayedState(dir: string, text: string, size: number): boolean {
  if (sizeOnDisk(dir) >= size) return false;
  const target = replayPath(dir);
  for (const name of readdirSync(dir)) if (name.startsWith(`.${REPLAY_FILE}.`) && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  const temp = tempPathFor(target);
  try {
    writeDurably(temp, text, 0o644);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new UsageError('IO', `cannot write ${target}: ${errnoOf(err)}`);
  }
  commitPending([{ target, temp }]);
  return true;
}

/** The saved form of a replay: the root policy chain (walked again on load) and the first-wins release index. */
export interface SavedReplay {
  policies: string[];
  releases: Array<[string, number, string]>;
}

export function saveReplay(replay: Replay): SavedReplay {
  const releases: SavedReplay['releases'] = [];
  if (replay.releases instanceof Map) for (const [k, v] of replay.releases as Map<string, ReleaseRecord>) releases.push([k, v.index, v.identity]);
  return { policies: replay.policyEntries.map((e) => toBase64(e)), releases };
}

export function restoreReplay(size: number, saved: SavedReplay): Replay {
  const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
  return Replay.restore({
    size,
    policyEntries: saved.policies.map(bytes),
    releases: saved.releases.map(([key, index, identity]) => [key, { index, identity }] as [string, ReleaseRecord]),
  });
}
