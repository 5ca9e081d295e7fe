// A state auditor (`log audit`): a C2SP witness (witness.ts) whose add-checkpoint also requires that the whole log
// up to the checkpoint replays correctly (sync.ts advance: every entry proved against the checkpoint's root and
// replayed with the log's rules, every state entry's map root its own replay's) and that its last entry is a state
// entry. Its cosignature/v1 then also says "and I replayed the state" (tlog-cosignature's additional statement), so a
// site that lists auditors as cosigners in its tlog-policy quorum (`group both all witnesses auditors`) accepts only
// checkpoints whose state entries are correct. A lying state entry gets no cosignature: 422 "STATE_MISMATCH: …".
//
// STATE/witness.db holds the witness state (the latest checkpoint cosigned, fork evidence); STATE/replay.json the
// replayed state (lib/node/replayed-state.ts), written after each cosignature under STATE/lock, re-checked on load.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { bytesEqual } from '../core/bytes.js';
import { CountersignError } from '../core/errors.js';
import { readReplayFile, replayFileText, writeReplayFile, type ReplayedLog } from '../node/replayed-state.js';
import { withLock } from '../node/lock.js';
import { parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import type { Cosigner } from './cosignature.js';
import { LogError } from './errors.js';
import { TreeEdge } from './merkle.js';
import { ed25519Verifier, formatNote, parseNote, type NoteVerifier } from './note.js';
import { Replay } from './replay.js';
import { advance, requireStateEntryLast, type AdvanceOptions, type AdvanceResult } from './sync.js';
import { fetchConsistencyProof, type LogSource } from './tile-reader.js';
import { addCheckpointBody, Witness, type WitnessAnswer } from './witness.js';
import { openWitnessStore, type WitnessStore } from './witness-store.js';

export const AUDITOR_REPLAY_FILE = 'replay.json';

export interface AuditorOptions {
  cosigner: Cosigner;
  /** The log's vkey (its name is the origin). */
  log: string;
  /** Where the entries are read from: the log's tiles (or a mirror's). */
  source: LogSource;
  /** The auditor's state directory. */
  state: string;
  now?: () => Date;
  progress?: AdvanceOptions['onProgress'];
}

export class Auditor {
  readonly witness: Witness;
  readonly #store: WitnessStore;
  readonly #source: LogSource;
  readonly #verifier: NoteVerifier;
  readonly #dir: string;
  readonly #progress: AdvanceOptions['onProgress'];
  readonly #now: () => Date;
  #replayed: Pick<ReplayedLog, 'edge' | 'replay' | 'last' | 'checkpoint'> | undefined;
  /** What the last check replayed (for reports and measurements). */
  lastAdvance: AdvanceResult | undefined;
  #saving: Promise<void> = Promise.resolve();

  private constructor(opts: AuditorOptions, store: WitnessStore) {
    this.#store = store;
    this.#source = opts.source;
    this.#verifier = ed25519Verifier(opts.log);
    this.#dir = opts.state;
    this.#progress = opts.progress;
    this.#now = opts.now ?? (() => new Date());
    this.witness = new Witness({ cosigner: opts.cosigner, logs: [opts.log], store, now: opts.now, check: (cp) => this.#check(cp) });
  }

  static async open(opts: AuditorOptions): Promise<Auditor> {
    mkdirSync(opts.state, { recursive: true, mode: 0o700 });
    return new Auditor(opts, await openWitnessStore(`sqlite:${join(opts.state, 'witness.db')}`));
  }

  async close(): Promise<void> {
    await this.#saving;
    await this.#store.close();
  }

  /**
   * One-shot: asks its own witness to cosign the log's current checkpoint (from the witness's size, with the
   * consistency proof from the tiles). The cosignature line, or the witness's refusal.
   */
  async auditCurrent(): Promise<{ checkpoint: SignedCheckpoint; answer: WitnessAnswer }> {
    const note = await this.#source.checkpoint();
    if (note === undefined) throw new LogError('BAD_CHECKPOINT', `${this.#source.label} has no checkpoint`);
    const cp = parseSignedCheckpoint(note);
    const held = await this.#store.state(cp.origin);
    const old = held?.size ?? 0;
    const proof = old > 0 && old < cp.size ? await fetchConsistencyProof(this.#source, old, cp.size) : [];
    // The log's signature only: the witness verifies it, and the auditor adds its own cosignature.
    const bare = formatNote({ text: cp.note.text, signatures: parseNote(note).signatures });
    return { checkpoint: cp, answer: await this.witness.addCheckpoint(new TextEncoder().encode(addCheckpointBody(old, proof, bare))) };
  }

  async #load(): Promise<Pick<ReplayedLog, 'edge' | 'replay' | 'last' | 'checkpoint'> | undefined> {
    this.#replayed ??= await readReplayFile(join(this.#dir, AUDITOR_REPLAY_FILE), {
      verifierFor: (origin) => (origin === this.#verifier.name ? this.#verifier : undefined),
    });
    return this.#replayed;
  }

  /** The witness's check: the log up to `cp` replays correctly and ends with a correct state entry. */
  async #check(cp: SignedCheckpoint): Promise<() => void> {
    const held = await this.#load();
    if (held?.checkpoint && cp.size === held.checkpoint.size) {
      if (!bytesEqual(cp.root, held.checkpoint.root))
        throw new LogError('LOG_INCONSISTENT', `size ${cp.size} was replayed with another root`, { kind: 'fork' });
      return () => {};
    }
    if (held && held.edge.size > cp.size)
      throw new LogError('LOG_INCONSISTENT', `the auditor replayed size ${held.edge.size}, beyond ${cp.size}`, { kind: 'rollback' });
    const from = held ?? { edge: new TreeEdge(), replay: new Replay() };
    // advance() consumes the replay it is given: after any refusal the next check starts again from the saved state.
    this.#replayed = undefined;
    const { state, result } = await advance(this.#source, from, cp, formatNote(cp.note), { onProgress: this.#progress, now: this.#now() });
    requireStateEntryLast(state);
    this.lastAdvance = result;
    return () => {
      this.#replayed = state;
      this.#saving = this.#saving.then(() => this.#save(state));
    };
  }

  async #save(state: ReplayedLog): Promise<void> {
    try {
      const text = replayFileText(state);
      await withLock(join(this.#dir, 'lock'), {}, async () => {
        writeReplayFile(join(this.#dir, AUDITOR_REPLAY_FILE), text, state.edge.size);
      });
    } catch (err) {
      // The replayed state is a cache (the witness state is what is durable before a cosignature leaves): a next
      // check replays again from what is on disk.
      if (!(err instanceof CountersignError)) throw err;
    }
  }

  /** Waits until the replayed state of the last cosignature is written (the one-shot command, before it exits). */
  flush(): Promise<void> {
    return this.#saving;
  }
}
