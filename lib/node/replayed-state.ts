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
import { basename, dirname, join } from 'node:path';
import { CountersignError, UsageError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';
import { corrupt, type TrustStore } from '../core/trust-state.js';
import { bytesEqual, fromBase64, toBase64, toHex } from '../core/bytes.js';
import { openEnvelope, sha256Hex } from '../core/envelope.js';
import { openCheckpoint, parseSignedCheckpoint, type SignedCheckpoint } from '../log/checkpoint.js';
import type { NoteVerifier } from '../log/note.js';
import { parseEntry } from '../log/entry.js';
import { leafHash, TreeEdge } from '../log/merkle.js';
import type { SavedProviderState } from '../log/provider-state.js';
import { Replay, type ReleaseRecord } from '../log/replay.js';
import { logForOrigin, parseTlogPolicy } from '../log/tlog-policy.js';
import { commitPending, tempPathFor, writeDurably } from './durable.js';

/** The state replayed over the tree of `checkpoint` (its size is the edge's and the replay's). */
export interface ReplayedLog {
  /** The signed checkpoint note (with its cosignatures) the state was replayed to. */
  note: string;
  checkpoint: SignedCheckpoint;
  edge: TreeEdge;
  replay: Replay;
  /** The tree's last entry and the right edge before it (the entry is the checkpoint's: edge + entry = its root). */
  last?: { entry: Uint8Array; before: TreeEdge };
}

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
  /** The tree's last entry (base64; absent for the empty tree) and the right edge before it (base64 hashes). */
  last: string | null;
  edge: string[];
}

export function replayPath(dir: string): string {
  return join(dir, REPLAY_FILE);
}

/** The store's replayed state, re-checked; undefined when `log sync` never ran. */
export async function loadReplayedState(store: TrustStore): Promise<ReplayedLog | undefined> {
  const log = store.state.log;
  if (!log) return undefined;
  const policy = parseTlogPolicy(log.policy);
  return readReplayFile(replayPath(store.dir), {
    verifierFor: (origin) => logForOrigin(policy, origin)?.verifier,
    largest: log.largest === undefined ? null : parseSignedCheckpoint(log.largest),
  });
}

export interface ReplayFileCheck {
  /** The log key that must have signed the checkpoint of `origin` (undefined: not a log it follows). */
  verifierFor: (origin: string) => NoteVerifier | undefined;
  /** The largest checkpoint the owner has seen, which the replay may not exceed (null: none yet); undefined: not checked. */
  largest?: SignedCheckpoint | null;
}

/** A replayed state file (a store's, or an auditor's), re-checked; undefined when there is none. */
export async function readReplayFile(path: string, check: ReplayFileCheck): Promise<ReplayedLog | undefined> {
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
    return checkReplayFile(check, JSON.parse(text.slice(0, cut)) as ReplayHeader, JSON.parse(text.slice(cut + 1)) as SavedReplay);
  } catch (err) {
    throw corrupt(path, `does not hold a replayed state of this log (${(err as Error).message})`, err);
  }
}

function checkReplayFile(check: ReplayFileCheck, f: ReplayHeader, saved: SavedReplay): ReplayedLog {
  if (typeof f !== 'object' || f === null || f.format !== REPLAY_FORMAT) throw new Error(`format ${String(f?.format)}, not ${REPLAY_FORMAT}`);
  const cp = parseSignedCheckpoint(f.checkpoint);
  const verifier = check.verifierFor(cp.origin);
  if (!verifier) throw new Error(`its checkpoint is of ${cp.origin}, not a log it follows`);
  openCheckpoint(cp, verifier);
  if (!Array.isArray(f.edge) || !f.edge.every((h) => typeof h === 'string')) throw new Error('edge is a list of base64 hashes');
  const hashes = f.edge.map((h) => fromBase64(h, 'an edge hash'));
  let edge: TreeEdge;
  let last: ReplayedLog['last'];
  if (cp.size === 0) {
    if (f.last !== null) throw new Error('the empty tree has no last entry');
    edge = new TreeEdge(0, hashes);
  } else {
    if (typeof f.last !== 'string') throw new Error('the last entry is missing');
    const before = new TreeEdge(cp.size - 1, hashes);
    const entry = fromBase64(f.last, 'the last entry');
    edge = new TreeEdge(before.size, before.hashes);
    edge.append(leafHash(entry));
    last = { entry, before };
  }
  if (!bytesEqual(edge.root(), cp.root)) throw new Error(`its tree does not hash to its checkpoint's root`);
  if (check.largest !== undefined) {
    const largest = check.largest;
    if (!largest || largest.size < cp.size) throw new Error(`its checkpoint (size ${cp.size}) is larger than the largest seen`);
    if (largest.size === cp.size && !bytesEqual(largest.root, cp.root)) throw new Error(`its checkpoint has another root than the largest seen at size ${cp.size}`);
  }
  const replay = restoreReplay(cp.size, saved);
  checkStateRoot(replay, last?.entry);
  return { note: f.checkpoint, checkpoint: cp, edge, replay, ...(last ? { last } : {}) };
}

/**
 * The provider state read back is the one the log committed to: when the tree's last entry is a state entry, the
 * state map rebuilt from the saved records has its root, and its time; the root record is the walked chain's head.
 */
function checkStateRoot(replay: Replay, last: Uint8Array | undefined): void {
  const s = replay.state;
  const parsed = last && parseEntry(last);
  if (parsed?.kind === 'state') {
    if (toHex(s.stateRoot()) !== parsed.state.map) throw new Error(`its records do not hash to the map root of state entry ${parsed.state.size}`);
    if (s.time !== parsed.state.time || s.lastState !== parsed.state.size) throw new Error('its log time is not the last state entry\'s');
  } else if (s.lastState !== undefined || s.providers.size > 0) {
    throw new Error('it holds provider state, but the tree does not end with a state entry');
  }
  const head = replay.policyEntries.at(-1);
  const headSha = head && sha256Hex(openEnvelope(parseEntryEnvelope(head)).payloadBytes);
  if ((s.root?.policy ?? undefined) !== headSha || (s.root?.version ?? undefined) !== replay.policy?.policy.version)
    throw new Error("its root record is not the head of its root policy chain");
}

function parseEntryEnvelope(entry: Uint8Array): Uint8Array {
  const parsed = parseEntry(entry);
  if (parsed.kind !== 'policy') throw new Error('a saved root policy entry is not a policy');
  return parsed.envelopeBytes;
}

/** The file's text for a replayed state. */
export function replayFileText(state: ReplayedLog): string {
  const header: ReplayHeader = {
    format: REPLAY_FORMAT,
    checkpoint: state.note,
    last: state.last ? toBase64(state.last.entry) : null,
    edge: (state.last?.before ?? state.edge).hashes.map((h) => toBase64(h)),
  };
  return `${JSON.stringify(header)}\n${JSON.stringify(saveReplay(state.replay))}\n`;
}

/** The size of the replayed state on disk (its first line only), -1 when there is none or it does not read. */
function sizeOnDisk(path: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
  return writeReplayFile(replayPath(dir), text, size);
}

/** writeReplayedState for any replay file (an auditor's): the caller holds the lock of its directory. */
export function writeReplayFile(target: string, text: string, size: number): boolean {
  if (sizeOnDisk(target) >= size) return false;
  const dir = dirname(target);
  for (const name of readdirSync(dir)) if (name.startsWith(`.${basename(target)}.`) && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
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

/**
 * The saved form of a replay: the root policy chain (walked again on load), the first-wins release index
 * (releaseKey, index, entry identity) and the provider state (provider-state.ts save/load).
 */
export interface SavedReplay {
  policies: string[];
  releases: Array<[string, number, string]>;
  providerState: SavedProviderState;
}

export function saveReplay(replay: Replay): SavedReplay {
  const releases: SavedReplay['releases'] = [];
  if (replay.releases instanceof Map) for (const [k, v] of replay.releases as Map<string, ReleaseRecord>) releases.push([k, v.index, v.identity]);
  return { policies: replay.policyEntries.map((e) => toBase64(e)), releases, providerState: replay.state.save() };
}

export function restoreReplay(size: number, saved: SavedReplay): Replay {
  if (!Array.isArray(saved?.policies) || !Array.isArray(saved.releases) || typeof saved.providerState !== 'object')
    throw new Error('the replay is {policies, releases, providerState}');
  return Replay.restore({
    size,
    policyEntries: saved.policies.map((b) => fromBase64(b, 'a saved policy entry')),
    releases: saved.releases.map(([key, index, identity]) => [key, { index, identity }] as [string, ReleaseRecord]),
    providerState: saved.providerState,
  });
}
