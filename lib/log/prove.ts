// The offline proof of a document (C2SP tlog-proof), fetched from the log's tiles: the logged entry (as extra data),
// its index, the inclusion proof and the published checkpoint with its cosignatures. The index comes from the log's
// DIR/index/<identity> hint; everything else is checked here before the proof is handed out.
import { parseSignedCheckpoint } from './checkpoint.js';
import { checkEntryForEnvelope, entryForEnvelope, parseEntry } from './entry.js';
import { LogError } from './errors.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { formatProof } from './proof.js';
import { entryIdentity } from './replay.js';
import { fetchEntries, fetchInclusionProof, type LogSource } from './tile-reader.js';

export interface Proved {
  proof: string;
  index: number;
  size: number;
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
  return { proof: formatProof({ extra: logged!, index, proof, checkpoint: note }), index, size: cp.size };
}
