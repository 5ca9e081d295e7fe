// A site's check that a document is logged (spec/log.md "Verifying a bundle's proof"), in this order, each with
// its own code:
//   1. the proof's entry is the one for this document            NOT_LOGGED (no proof) / LOG_ENTRY_MISMATCH
//   2. the inclusion proof verifies against the checkpoint root   BAD_PROOF
//   3. the checkpoint is signed by a log of the policy            BAD_CHECKPOINT (origin) / BAD_NOTE (key)
//      and cosigned by the policy's witness quorum                WITNESS_QUORUM_NOT_MET
//   4. that quorum is met by cosignatures younger than max-age    CHECKPOINT_STALE
//   5. the checkpoint is not smaller than the largest seen        LOG_INCONSISTENT
//   6. it is consistent with the largest seen                     LOG_INCONSISTENT (both checkpoints kept as evidence)
// Pure: the caller passes the store's checkpoint and, when it could fetch one, the consistency proof to it.
import { bytesEqual, toBase64 } from '../core/bytes.js';
import { openCheckpoint, parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { cosignatureTimestamp } from './cosignature.js';
import { checkEntryForEnvelope, entryForEnvelope, parseEntry } from './entry.js';
import { LogError } from './errors.js';
import { emptyRoot, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { formatNote, verifyNote } from './note.js';
import { parseProof, type TlogProof } from './proof.js';
import { logForOrigin, quorumMet, type TlogPolicy } from './tlog-policy.js';

/** Default max-age of the witness quorum's cosignatures: witnesses re-cosign at least hourly, sites may be offline for days. */
export const DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600;
/** A cosignature dated further in the future than this is not counted (a witness clock ahead, or a lie). */
export const MAX_CLOCK_SKEW_SECONDS = 10 * 60;

export interface ProofCheckInput {
  /** The document's envelope bytes (a bundle's envelope section, or a signed policy or revocation). */
  envelopeBytes: Uint8Array;
  /** The tlog-proof text, or undefined when the document carries none. */
  proof: Uint8Array | string | undefined;
  policy: TlogPolicy;
  now: Date;
  maxAgeSeconds?: number;
  /** The largest checkpoint this verifier has accepted before (its note text, signatures included). */
  largestSeen?: string;
  /** A consistency proof from `largestSeen`'s size to the proof's checkpoint size, when the caller fetched one. */
  consistency?: readonly Uint8Array[];
}

export interface ProofCheckResult {
  index: number;
  entry: Uint8Array;
  checkpoint: SignedCheckpoint;
  /** The checkpoint note, with the log's signature and the cosignatures, as it came. */
  checkpointNote: string;
  /** Policy names of the witnesses whose cosignatures verified and were counted. */
  witnesses: string[];
  /** Oldest and newest counted cosignature times (POSIX seconds); null when the quorum is none. */
  cosigned: { oldest: number; newest: number } | null;
  /** How this checkpoint relates to `largestSeen`. 'unchecked': larger, but no consistency proof was given (offline); never a newLargest. */
  consistency: 'first' | 'same' | 'proved' | 'unchecked';
  /** The checkpoint to keep as the largest seen: larger than the one given, and first or proved consistent with it. */
  newLargest?: string;
}

export function verifyLogProof(input: ProofCheckInput): ProofCheckResult {
  // 1. The entry: carried as the proof's extra data, or rebuilt from the document.
  if (input.proof === undefined) throw new LogError('NOT_LOGGED', 'the document carries no log proof, and the log policy requires one');
  const proof: TlogProof = parseProof(input.proof);
  let entry: Uint8Array;
  if (proof.extra !== undefined) {
    entry = proof.extra;
    checkEntryForEnvelope(parseEntry(entry).entry, input.envelopeBytes);
  } else {
    entry = entryForEnvelope(input.envelopeBytes);
  }

  // 2. Inclusion in the checkpoint's tree.
  const cp = proof.checkpoint;
  verifyInclusion(leafHash(entry), proof.index, cp.size, proof.proof, cp.root);

  // 3-4. The log's signature, the witness quorum, its freshness.
  const { witnesses, cosigned, checkpointNote } = checkCheckpointQuorum(cp, input);

  // 5-6. Against the largest checkpoint seen.
  const { consistency, newLargest } = compareWithLargest(input.largestSeen, cp, checkpointNote, input.consistency);
  return {
    index: proof.index,
    entry,
    checkpoint: cp,
    checkpointNote,
    witnesses,
    cosigned,
    consistency,
    ...(newLargest ? { newLargest } : {}),
  };
}

/**
 * Steps 3 and 4 for a checkpoint of its own (a proof's, or the one `log sync` reads): signed by the policy's log for
 * its origin, cosigned by the witness quorum, with cosignatures no older than max-age.
 */
export function checkCheckpointQuorum(
  cp: SignedCheckpoint,
  input: { policy: TlogPolicy; now: Date; maxAgeSeconds?: number },
): { witnesses: string[]; cosigned: ProofCheckResult['cosigned']; checkpointNote: string } {
  const now = Math.floor(input.now.getTime() / 1000);
  const maxAge = input.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (!Number.isFinite(now) || !Number.isSafeInteger(maxAge) || maxAge <= 0)
    throw new LogError('BAD_LOG_POLICY', 'the reference time and max-age must be valid');
  if (input.policy.logs.length === 0) throw new LogError('BAD_LOG_POLICY', 'the log policy names no log');
  const log = logForOrigin(input.policy, cp.origin);
  if (!log)
    throw new LogError('BAD_CHECKPOINT', `the checkpoint is from origin ${JSON.stringify(cp.origin)}, which is not a log of the policy`, { origin: cp.origin });
  openCheckpoint(cp, log.verifier);
  const witnesses = [...input.policy.witnesses.values()];
  const times = new Map<string, number>();
  if (witnesses.length > 0) {
    const known = witnesses.map((w) => w.verifier);
    // Only the witness lines: the note verifier needs one known key, and a checkpoint may carry no cosignature.
    const lines = cp.note.signatures.filter((s) => known.some((k) => k.name === s.name && k.keyId === s.keyId));
    if (lines.length > 0) {
      for (const { verifier, signature } of verifyNote({ text: cp.note.text, signatures: lines }, known).verified) {
        const w = witnesses.find((x) => x.verifier === verifier)!;
        times.set(w.name, cosignatureTimestamp(signature.signature)!);
      }
    }
  }
  const all = new Set([...times.keys()].filter((name) => times.get(name)! <= now + MAX_CLOCK_SKEW_SECONDS));
  if (!quorumMet(input.policy, all)) {
    throw new LogError(
      'WITNESS_QUORUM_NOT_MET',
      `the checkpoint's cosignatures (${[...all].join(', ') || 'none'}) do not meet the quorum ${input.policy.quorum}`,
      {
        cosigned: [...all],
        quorum: input.policy.quorum,
        future: [...times.keys()].filter((n) => !all.has(n)),
      },
    );
  }

  // Freshness: the quorum must hold with cosignatures younger than max-age.
  const fresh = new Set([...all].filter((name) => now - times.get(name)! <= maxAge));
  if (!quorumMet(input.policy, fresh)) {
    const newest = Math.max(...[...all].map((n) => times.get(n)!));
    throw new LogError('CHECKPOINT_STALE', `the witness quorum's cosignatures are older than ${maxAge} s (newest ${now - newest} s ago)`, {
      maxAgeSeconds: maxAge,
      newestAgeSeconds: now - newest,
    });
  }
  const counted = [...fresh].map((n) => times.get(n)!);
  const cosigned = counted.length === 0 ? null : { oldest: Math.min(...counted), newest: Math.max(...counted) };
  return { witnesses: [...fresh].sort(), cosigned, checkpointNote: formatNote(cp.note) };
}

/**
 * Steps 5 and 6: never smaller than the largest seen, never another root at one size, consistent when larger (with
 * the proof given; without one 'unchecked', and then never the new largest).
 */
export function compareWithLargest(
  largestSeen: string | undefined,
  cp: SignedCheckpoint,
  checkpointNote: string,
  consistencyProof: readonly Uint8Array[] | undefined,
): { consistency: ProofCheckResult['consistency']; newLargest?: string } {
  if (largestSeen === undefined) return { consistency: 'first', newLargest: checkpointNote };
  const seen = parseSignedCheckpoint(largestSeen);
  const evidence = { seen: largestSeen, presented: checkpointNote, kind: 'fork' };
  if (seen.origin !== cp.origin)
    throw new LogError('BAD_CHECKPOINT', `the largest checkpoint seen is for ${seen.origin}, this one for ${cp.origin}`, { origin: cp.origin });
  if (cp.size < seen.size) {
    throw new LogError(
      'LOG_INCONSISTENT',
      `the checkpoint has size ${cp.size}, smaller than the largest seen (${seen.size}): a rolled-back log, or an old proof`,
      { ...evidence, kind: 'rollback' },
    );
  }
  if (cp.size === seen.size) {
    if (!bytesEqual(cp.root, seen.root)) {
      throw new LogError('LOG_INCONSISTENT', `two checkpoints of size ${cp.size} with different roots: the log is forked`, {
        ...evidence,
        roots: [toBase64(seen.root), toBase64(cp.root)],
      });
    }
    return { consistency: 'same' };
  }
  if (seen.size === 0) {
    // Every tree extends the empty one, provided the stored checkpoint really is of the empty tree.
    if (!bytesEqual(seen.root, emptyRoot())) throw new LogError('LOG_INCONSISTENT', 'the largest checkpoint seen has size 0 but not the empty root', evidence);
    return { consistency: 'proved', newLargest: checkpointNote };
  }
  if (consistencyProof === undefined) {
    // Accepted for this document, never recorded: a forked larger tree (shown offline) must not replace the
    // proved largest, or the honest log would then be refused as a rollback with no evidence of the fork.
    return { consistency: 'unchecked' };
  }
  try {
    verifyConsistency(seen.size, cp.size, seen.root, cp.root, consistencyProof);
  } catch (err) {
    if (err instanceof LogError) throw new LogError('LOG_INCONSISTENT', `${err.message}: the log is forked`, evidence);
    throw err;
  }
  return { consistency: 'proved', newLargest: checkpointNote };
}
