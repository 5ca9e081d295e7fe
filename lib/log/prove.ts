// The offline proof of a document (C2SP tlog-proof), fetched from the log's tiles: the logged entry (as extra data),
// its index, the inclusion proof and the published checkpoint with its cosignatures. The index comes from the log's
// DIR/index/<identity> hint; everything else is checked here before the proof is handed out. For a provider's
// release, also its state section (state-proof.ts) against the same checkpoint, from the log replayed off its tiles.
import { toHex } from '../core/bytes.js';
import { parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { checkEntryForEnvelope, entryForEnvelope, parseEntry } from './entry.js';
import { LogError } from './errors.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { formatProof } from './proof.js';
import { entryIdentity, Replay } from './replay.js';
import { makeStateProof, verifyStateProof } from './state-proof.js';
import { TILE_WIDTH } from './tiles.js';
import { fetchEntries, fetchInclusionProof, type LogSource } from './tile-reader.js';

export interface Proved {
  proof: string;
  index: number;
  size: number;
  /** The logged entry and the checkpoint the proof is against. */
  entry: Uint8Array;
  checkpoint: SignedCheckpoint;
}

export async function proveDocument(source: LogSource, envelopeBytes: Uint8Array): Promise<Proved> {
  const identity = entryIdentity(entryForEnvelope(envelopeBytes));
  const index = await source.lookup(identity);
  if (index === undefined) throw new LogError('NOT_LOGGED', `${source.label} has not logged this document (submit it with log add or POST /add)`);
  const note = await source.checkpoint();
  if (note === undefined) throw new LogError('NOT_LOGGED', `${source.label} has published no checkpoint`);
  const cp = parseSignedCheckpoint(note);
  if (index >= cp.size)
    throw new LogError('NOT_LOGGED', `the document is entry ${index}, but the published checkpoint has ${cp.size} entries: not yet witnessed and published`);
  const [logged] = await fetchEntries(source, index, index + 1, cp.size);
  try {
    checkEntryForEnvelope(parseEntry(logged!).entry, envelopeBytes);
  } catch (err) {
    throw new LogError('NOT_LOGGED', `entry ${index} of ${source.label} is another document: this one is not logged`, { cause: (err as LogError).code });
  }
  const proof = await fetchInclusionProof(source, index, cp.size);
  verifyInclusion(leafHash(logged!), index, cp.size, proof, cp.root);
  return { proof: formatProof({ extra: logged!, index, proof, checkpoint: note }), index, size: cp.size, entry: logged!, checkpoint: cp };
}

/** Whether a logged entry is a provider's release, which gets a state section. */
export function needsStateProof(entry: Uint8Array): boolean {
  const parsed = parseEntry(entry);
  return parsed.kind === 'release' && parsed.statement.provider !== undefined;
}

/**
 * The state section of the provider release `proved` (a proveDocument result): the checkpoint's last entry (a state
 * entry) with its inclusion proof, and the map proofs of the root, provider and release records from the state
 * replayed over every entry before it; refused unless that replay reaches the state entry's map root (STATE_MISMATCH)
 * and the section verifies (a revoked release is REVOKED).
 */
export async function proveState(source: LogSource, proved: Proved): Promise<Uint8Array> {
  const cp = proved.checkpoint;
  const last = cp.size - 1;
  const [lastEntry] = await fetchEntries(source, last, cp.size, cp.size);
  const parsed = parseEntry(lastEntry!);
  if (parsed.kind !== 'state')
    throw new LogError('BAD_STATE_PROOF', `the checkpoint of size ${cp.size} does not end with a state entry: ${source.label} keeps no provider state`);
  const replay = new Replay();
  for (let start = 0; start < last; start += TILE_WIDTH) {
    for (const entry of await fetchEntries(source, start, Math.min(last, start + TILE_WIDTH), cp.size)) replay.adopt(entry);
  }
  if (!replay.policy) throw new LogError('NO_POLICY', `${source.label} has logged no root policy`);
  const replayed = toHex(replay.state.stateRootAt(parsed.state.time));
  if (replayed !== parsed.state.map)
    throw new LogError('STATE_MISMATCH', `the state entry at ${last} commits to map ${parsed.state.map}; the entries before it replay to ${replayed}`, {
      index: last,
      map: parsed.state.map,
      replayed,
    });
  // The state the entry's root proves: with the activations it starts.
  replay.adopt(lastEntry!);
  const statement = parseEntry(proved.entry);
  if (statement.kind !== 'release' || statement.statement.provider === undefined)
    throw new LogError('BAD_STATE_PROOF', 'only a provider release has a state section');
  const st = statement.statement;
  const provider = st.provider!;
  const inclusion = await fetchInclusionProof(source, last, cp.size);
  verifyInclusion(leafHash(lastEntry!), last, cp.size, inclusion, cp.root);
  const state = makeStateProof(replay.state, lastEntry!, inclusion, { ...st, provider });
  verifyStateProof({ checkpoint: cp, releaseIndex: proved.index, releaseEntry: proved.entry, stateProof: state, provider, pinnedRoot: replay.policy! });
  return state;
}
