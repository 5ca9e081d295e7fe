// Replaying a log from its tiles, with proofs (`log sync` into a trust store, `log audit`): the state replayed up to
// a checkpoint (the replay, the tree's right edge, that checkpoint) is advanced to a newer verified checkpoint.
//
//   - the entries are read in chunks; a chunk is replayed only once the tree of everything up to its end is proved
//     a prefix of the new checkpoint's tree (a consistency proof from the chunk's end, the last chunk's root equal to
//     the checkpoint's), so no entry a tile serves is trusted without the signed root;
//   - every entry is replayed with the log's rules (replay.ts); the first invalid one stops the run with its own
//     code and its index (InvalidEntry), never skipped; nothing of that run is kept.
// What the caller does with the checkpoint first (its signatures, the largest seen) is theirs: lib/node/replayed-state.ts.
import { toBase64, utf8 } from '../core/bytes.js';
import { openEnvelope, sha256Hex } from '../core/envelope.js';
import { CountersignError, UsageError } from '../core/errors.js';
import type { TrustStore } from '../core/trust-state.js';
import { loadReplayedState, replayFileText, writeReplayedState, type ReplayedLog } from '../node/replayed-state.js';
import { openStore, recordLog } from '../node/trust-store.js';
import { parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { parseEntry } from './entry.js';
import { LogError } from './errors.js';
import { leafHash, TreeEdge, verifyConsistency } from './merkle.js';
import { Replay, type ReplayedEntry } from './replay.js';
import { fetchConsistencyProof, fetchEntries, type LogSource } from './tile-reader.js';
import { TILE_WIDTH } from './tiles.js';
import { parseTlogPolicy } from './tlog-policy.js';
import { checkCheckpointQuorum, compareWithLargest } from './verify-proof.js';

const PAYLOAD_SHA = /"payloadSha256":"([0-9a-f]{64})"/g;

/** Entries read and proved at a time: 16 entry bundles. */
const SYNC_CHUNK = 16 * TILE_WIDTH;

/** An entry that breaks the log's rules: its own code (QUORUM_NOT_MET, STATE_MISMATCH, …), its index in details. */
export class InvalidEntry extends CountersignError {
  constructor(index: number, cause: CountersignError, entry: Uint8Array) {
    super(cause.code, `entry ${index} is invalid: ${cause.message}`, { ...cause.details, index, code: cause.code, entry: toBase64(entry) });
  }
}

export interface Progress {
  done: number;
  total: number;
  entriesPerSecond: number;
}

export interface AdvanceResult {
  from: number;
  size: number;
  entries: number;
  seconds: number;
  entriesPerSecond: number;
}

export interface AdvanceOptions {
  /** The reader's clock: a state entry dated more than 10 minutes ahead of it is refused (STATE_MISMATCH). */
  now?: Date;
  onProgress?: (p: Progress) => void;
  /** Milliseconds between progress calls (default 2000). */
  progressMs?: number;
}

/**
 * Replays the entries of `cp` (already verified by the caller) after `held`, proving them against its root, and
 * returns the new state. `held.replay` is advanced in place: after a refusal it is mid-way and the caller drops it
 * (a refusal keeps nothing). LOG_INCONSISTENT when the entries served do not hash to the checkpoint, InvalidEntry at
 * the first entry that breaks a rule.
 */
export async function advance(
  source: LogSource,
  held: Pick<ReplayedLog, 'edge' | 'replay' | 'last'>,
  cp: SignedCheckpoint,
  note: string,
  opts: AdvanceOptions = {},
): Promise<{ state: ReplayedLog; result: AdvanceResult }> {
  const from = held.edge.size;
  if (held.replay.size !== from) throw new LogError('ENTRY_INVALID', `the replay (size ${held.replay.size}) and the tree (size ${from}) disagree`);
  if (cp.size < from)
    throw new LogError('LOG_INCONSISTENT', `the checkpoint (size ${cp.size}) is older than the state replayed (size ${from})`, { kind: 'rollback' });
  const edge = new TreeEdge(from, held.edge.hashes);
  const replay = held.replay;
  const started = performance.now();
  const every = opts.progressMs ?? 2000;
  let told = started;
  let lastEntry = held.last;
  for (let start = from; start < cp.size; start += SYNC_CHUNK) {
    const end = Math.min(cp.size, start + SYNC_CHUNK);
    const entries = await fetchEntries(source, start, end, cp.size);
    const leaves = entries.map((e) => leafHash(e));
    const chunk = new TreeEdge(edge.size, edge.hashes);
    for (const l of leaves) chunk.append(l);
    await proveChunk(source, chunk, cp);
    const manifests = await manifestsOf(source, entries);
    for (const [i, entry] of entries.entries()) {
      let checked: ReplayedEntry;
      try {
        checked = replay.check(entry, (sha) => manifests.get(sha), opts.now);
      } catch (err) {
        if (err instanceof CountersignError) throw new InvalidEntry(start + i, err, entry);
        throw err;
      }
      replay.apply(checked, entry);
    }
    for (const [i, e] of entries.entries()) {
      if (start + i === cp.size - 1) lastEntry = { entry: e, before: new TreeEdge(edge.size, edge.hashes) };
      edge.append(leaves[i]!);
    }
    const now = performance.now();
    if (opts.onProgress && now - told >= every) {
      told = now;
      opts.onProgress({ done: end - from, total: cp.size - from, entriesPerSecond: rate(end - from, now - started) });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const entries = cp.size - from;
  return {
    state: { note, checkpoint: cp, edge, replay, ...(lastEntry ? { last: lastEntry } : {}) },
    result: { from, size: cp.size, entries, seconds, entriesPerSecond: rate(entries, seconds * 1000) },
  };
}

function rate(entries: number, ms: number): number {
  return ms > 0 ? Math.round((entries * 1000) / ms) : 0;
}

/** The tree up to the chunk's end is a prefix of the checkpoint's tree (the same tree at its size). */
async function proveChunk(source: LogSource, chunk: TreeEdge, cp: SignedCheckpoint): Promise<void> {
  const root = chunk.root();
  const size = chunk.size;
  const refuse = (why: string) =>
    new LogError('LOG_INCONSISTENT', `the entries ${source.label} serves up to ${size} do not hash to checkpoint ${cp.size}: ${why}`, {
      kind: 'unproved',
      seenSize: size,
      presentedSize: cp.size,
    });
  if (size === cp.size) {
    if (Buffer.compare(root, cp.root) !== 0) throw refuse("another root than the checkpoint's");
    return;
  }
  let proof: Uint8Array[];
  try {
    proof = await fetchConsistencyProof(source, size, cp.size);
  } catch (err) {
    if (err instanceof LogError) throw refuse(err.message);
    throw err;
  }
  try {
    verifyConsistency(size, cp.size, root, cp.root, proof);
  } catch (err) {
    if (err instanceof LogError) throw refuse(err.message);
    throw err;
  }
}

/**
 * The manifests the chunk's release entries name, from beside the tiles. Canonical JSON writes a statement's member
 * as `"payloadSha256":"<hex>"` and escapes every quote inside a string, so this finds every one named (and perhaps
 * more, which are never used: the replay takes a manifest only by the hash its statement names). An absent one is
 * the replay's to refuse.
 */
async function manifestsOf(source: LogSource, entries: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
  const shas = new Set<string>();
  for (const e of entries) for (const m of Buffer.from(e.buffer, e.byteOffset, e.length).toString('latin1').matchAll(PAYLOAD_SHA)) shas.add(m[1]!);
  const out = new Map<string, Uint8Array>();
  const list = [...shas];
  for (let i = 0; i < list.length; i += 64) {
    await Promise.all(
      list.slice(i, i + 64).map(async (sha) => {
        const m = await source.manifest(sha);
        if (m) out.set(sha, m);
      }),
    );
  }
  return out;
}

export interface SyncOptions extends AdvanceOptions {
  now: Date;
  maxAgeSeconds?: number;
  lockTimeoutMs?: number;
}

export interface SyncReport {
  origin: string;
  from: number;
  size: number;
  entries: number;
  seconds: number;
  entriesPerSecond: number;
  /** False when the store had replayed this checkpoint already. */
  advanced: boolean;
  /** How the checkpoint relates to the store's largest seen: first, same, proved. */
  consistency: string;
  /** Whether the replayed state was written (false: a concurrent sync wrote one as large). */
  written: boolean;
}

/**
 * `log sync`: verifies the log's checkpoint with the store's log policy (log signature, witness quorum, max-age) and
 * against the store's largest checkpoint (never smaller, consistent: LOG_INCONSISTENT, a fork's two checkpoints kept),
 * replays the entries after the store's replayed state with proofs (advance), and records the checkpoint as the
 * largest and the replayed state beside state.json, under the store's lock.
 */
export async function syncStore(dir: string, source: LogSource, opts: SyncOptions): Promise<SyncReport> {
  const store = await openStore(dir);
  const log = store.state.log;
  if (!log) throw new UsageError('USAGE', `the trust store ${dir} has no log policy (trust init --log-policy FILE)`);
  const policy = parseTlogPolicy(log.policy);
  const note = await source.checkpoint();
  if (note === undefined) throw new LogError('BAD_CHECKPOINT', `${source.label} has no checkpoint`);
  const cp = parseSignedCheckpoint(note);
  const { checkpointNote } = checkCheckpointQuorum(cp, { policy, now: opts.now, ...(opts.maxAgeSeconds ? { maxAgeSeconds: opts.maxAgeSeconds } : {}) });
  const record = { now: opts.now, ...(opts.lockTimeoutMs ? { lockTimeoutMs: opts.lockTimeoutMs } : {}) };

  let compared: ReturnType<typeof compareWithLargest>;
  try {
    compared = compareWithLargest(log.largest, cp, checkpointNote, await consistencyFromLargest(source, log.largest, cp));
  } catch (err) {
    const d = err instanceof LogError && err.code === 'LOG_INCONSISTENT' ? err.details : {};
    if (d.kind === 'fork' && typeof d.seen === 'string' && typeof d.presented === 'string') {
      await recordLog(dir, { fork: { seen: d.seen, presented: d.presented } }, record);
      throw new LogError('LOG_INCONSISTENT', (err as Error).message, { ...d, recorded: true });
    }
    throw err;
  }

  const held = (await loadReplayedState(store)) ?? { edge: new TreeEdge(), replay: new Replay() };
  const { state, result } = await advance(source, held, cp, checkpointNote, opts);
  requireStateEntryLast(state);
  checkPinnedRoot(store, state.replay);
  let written = false;
  if (compared.newLargest !== undefined || result.entries > 0) {
    const text = replayFileText(state);
    await recordLog(dir, compared.newLargest ? { largest: compared.newLargest } : {}, record, () => {
      written = writeReplayedState(dir, text, cp.size);
    });
  }
  return {
    origin: cp.origin,
    from: result.from,
    size: cp.size,
    entries: result.entries,
    seconds: result.seconds,
    entriesPerSecond: result.entriesPerSecond,
    advanced: result.entries > 0,
    consistency: compared.consistency,
    written,
  };
}

/**
 * A log with providers ends every checkpoint with a state entry (the sequencer's, last of each batch): a checkpoint of
 * one that does not commits to no state (STATE_MISMATCH, naming its last entry).
 */
export function requireStateEntryLast(state: Pick<ReplayedLog, 'replay' | 'last'>): void {
  const r = state.replay;
  if (r.size === 0 || !(r.keepsState || r.state.lastState !== undefined)) return;
  if (r.state.lastState !== r.size - 1)
    throw new LogError('STATE_MISMATCH', `entry ${r.size - 1}, the last of the checkpoint, is not a state entry: the checkpoint commits to no state`, {
      index: r.size - 1,
      lastState: r.state.lastState ?? null,
    });
}

/** The consistency proof from the largest checkpoint seen to `cp`, when one is needed; a log that cannot give it is unproved. */
async function consistencyFromLargest(source: LogSource, largest: string | undefined, cp: SignedCheckpoint): Promise<Uint8Array[] | undefined> {
  if (largest === undefined) return undefined;
  const seen = parseSignedCheckpoint(largest).size;
  if (cp.size <= seen || seen === 0) return undefined;
  try {
    return await fetchConsistencyProof(source, seen, cp.size);
  } catch (err) {
    if (!(err instanceof LogError)) throw err;
    throw new LogError(
      'LOG_INCONSISTENT',
      `${source.label} cannot prove size ${cp.size} consistent with the largest checkpoint seen (size ${seen}): ${err.message}`,
      {
        kind: 'unproved',
        seenSize: seen,
        presentedSize: cp.size,
      },
    );
  }
}

/**
 * The log's root policy chain passes through the policy the store pinned: the log is the site's, and the root quorum
 * the replay counts (the super provider) chains to the site's own pin. ROOT_NOT_LOGGED otherwise.
 */
function checkPinnedRoot(store: TrustStore, replay: Replay): void {
  if (replay.size === 0) return;
  const pinned = sha256Hex(openEnvelope(utf8(store.state.pinned)).payloadBytes);
  const logged = replay.policyEntries.some((e) => {
    const parsed = parseEntry(e);
    return parsed.kind === 'policy' && sha256Hex(openEnvelope(parsed.envelopeBytes).payloadBytes) === pinned;
  });
  if (!logged)
    throw new LogError(
      'ROOT_NOT_LOGGED',
      `the log's root policy chain (now version ${replay.policy?.policy.version ?? 'none'}) does not hold the policy this store pinned`,
      {
        pinnedVersion: store.policies[0]!.policy.version,
      },
    );
}
