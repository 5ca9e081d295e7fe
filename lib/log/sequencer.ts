// The sequencer: validates submitted entries against the replayed log (replay.ts), gives them indexes and publishes
// them in the order Sunlight and Tessera use, so a crash at any point leaves a log consistent with every
// checkpoint it ever published and loses no entry it acknowledged:
//
//   1. under the database's write lock: catch up with entries other processes added, check each submission;
//   2. write the new manifests and stage the tiles (fsynced; beyond the published size nobody relies on them);
//   3. insert the entries and compare-and-swap the signed checkpoint (one transaction: all or nothing);
//   4. after the commit, under the lock again: publish DIR/checkpoint (only a witnessed one when witnesses are
//      required). An entry is acknowledged (its index returned) only after that.
//
// A log with providers (replay.ts keepsState) ends every batch that added entries with a state entry (its index, the
// sequencer's clock, never decreasing, and the state map's root over the entries before it), inside the same batch:
// every checkpoint it publishes then ends with one. Only the sequencer writes them; a submitted one is refused.
// A batch also opens with one when a key's activation time has come since the last: log time moves only with state
// entries, so in a quiet log a key added with a delay would otherwise never count.
//
// After a crash the next run (or another process) publishes what step 3 committed; tiles staged but never
// committed are overwritten by the next batch, whose entries take the same indexes.
import { mkdirSync } from 'node:fs';
import { CountersignError, StoreError } from '../core/errors.js';
import { openEnvelope, sha256Hex } from '../core/envelope.js';
import { toHex } from '../core/bytes.js';
import { encodeEntry, entryForEnvelope, ENTRY_TYPES, parseEntry } from './entry.js';
import { LogError } from './errors.js';
import { Points, type InstallHooks } from '../installer/hooks.js';
import { formatCheckpoint, parseSignedCheckpoint } from './checkpoint.js';
import { emptyRoot, leafHash, TreeEdge } from './merkle.js';
import { signNote, type NoteSigner } from './note.js';
import { keepTileNode, TileDir } from './publish.js';
import { entryIdentity, Replay } from './replay.js';
import { createSequencerStore, type LockedLog, type NewEntry, type SequencerStore } from './sequencer-store.js';

export interface Submission {
  /** The entry's canonical bytes (entry.ts). */
  entry: Uint8Array;
  /** For a release: the manifest payload its statement names, stored beside the tiles. */
  manifest?: Uint8Array;
}

/**
 * Creates a log: its database (STORE_EXISTS if it holds one) with the signed empty checkpoint, and DIR with that
 * checkpoint published (a log with witnesses replaces it once they have cosigned one).
 */
export async function initLog(opts: { db: string; tiles: string; signer: NoteSigner & { vkey: string }; keyPath: string; now: Date }): Promise<SequencerStore> {
  // DIR first: the default database is beside it.
  mkdirSync(opts.tiles, { recursive: true });
  const root = emptyRoot();
  const note = signNote(formatCheckpoint({ origin: opts.signer.name, size: 0, root, extensions: [] }), [opts.signer]);
  const store = await createSequencerStore(
    opts.db,
    { origin: opts.signer.name, vkey: opts.signer.vkey, keyPath: opts.keyPath, created: opts.now.toISOString() },
    { size: 0, root, edge: [], note, cosigned: null, cosignedAt: null },
  );
  const tiles = new TileDir(opts.tiles);
  if (tiles.readCheckpoint() === undefined) tiles.publishCheckpoint(note);
  return store;
}

/** The submission for a signed document's envelope (a bundle's, a signed manifest, policy or revocation). */
export function submissionFor(envelopeBytes: Uint8Array): Submission {
  const entry = entryForEnvelope(envelopeBytes);
  const opened = openEnvelope(envelopeBytes);
  return { entry, manifest: opened.kind === 'manifest' ? opened.payloadBytes : undefined };
}

export type AddOutcome = { ok: true; index: number; duplicate: boolean } | { ok: false; error: CountersignError };

export interface SequencerOptions {
  store: SequencerStore;
  tiles: TileDir;
  /** The log key (its name is the origin). */
  signer: NoteSigner;
  /** When true, DIR/checkpoint is only ever a checkpoint the witness quorum cosigned (log serve with witnesses). */
  witnessed?: boolean;
  /** TEST-ONLY fault points (lib/installer/hooks.ts). */
  hooks?: InstallHooks;
  /** The clock of state entries' time (default: the system's). */
  now?: () => Date;
}

export class Sequencer {
  readonly store: SequencerStore;
  readonly tiles: TileDir;
  readonly witnessed: boolean;
  readonly #signer: NoteSigner;
  readonly #points: Points;
  readonly #now: () => Date;
  #replay: Replay | undefined;

  constructor(opts: SequencerOptions) {
    this.store = opts.store;
    this.tiles = opts.tiles;
    this.witnessed = opts.witnessed ?? false;
    this.#signer = opts.signer;
    this.#points = new Points(opts.hooks);
    this.#now = opts.now ?? (() => new Date());
  }

  get origin(): string {
    return this.#signer.name;
  }

  /**
   * Sequences the submissions in order as one batch and publishes the result. Each is a new entry, the index of
   * the same entry already logged, or its own refusal (the others still go ahead).
   */
  async add(submissions: readonly Submission[]): Promise<AddOutcome[]> {
    const outcomes = await this.#sequence(submissions);
    if (outcomes.some((o) => o.ok && !o.duplicate)) this.#hit('committed');
    await this.publish();
    return outcomes;
  }

  async #sequence(submissions: readonly Submission[]): Promise<AddOutcome[]> {
    try {
      return await this.store.locked(async (log) => {
        const cp = await log.checkpoint();
        const replay = await this.#caughtUp(log, cp.size);
        const outcomes: AddOutcome[] = [];
        const fresh: Array<NewEntry & { manifest?: { sha: string; bytes: Uint8Array }; state?: true }> = [];
        const inBatch = new Map<string, number>();
        const now = this.#now();
        if (replay.keepsState && submissions.length > 0 && replay.state.activationDue(Math.floor(now.getTime() / 1000))) fresh.push(nextState(replay, now));
        for (const sub of submissions) {
          let hex: string;
          try {
            if (parseEntry(sub.entry).kind === 'state')
              throw new LogError('STATE_MISMATCH', 'state entries are written by the sequencer only, never submitted');
            hex = entryIdentity(sub.entry);
          } catch (err) {
            if (!(err instanceof CountersignError)) throw err;
            outcomes.push({ ok: false, error: err });
            continue;
          }
          const hash = new Uint8Array(Buffer.from(hex, 'hex'));
          const known = inBatch.get(hex) ?? (await log.indexOfHash(hash));
          if (known !== undefined) {
            if (!this.tiles.hasLookup(hex, known)) this.tiles.writeLookup(hex, known);
            outcomes.push({ ok: true, index: known, duplicate: true });
            continue;
          }
          try {
            const checked = replay.check(sub.entry, (sha) => (sub.manifest && sha256Hex(sub.manifest) === sha ? sub.manifest : this.tiles.readManifest(sha)));
            replay.apply(checked, sub.entry);
            const index = checked.index;
            inBatch.set(hex, index);
            fresh.push({
              index,
              hash,
              data: sub.entry,
              releaseKey: checked.kind === 'release' ? checked.key : null,
              manifest: checked.kind === 'release' && sub.manifest ? { sha: checked.statement.payloadSha256, bytes: sub.manifest } : undefined,
            });
            outcomes.push({ ok: true, index, duplicate: false });
          } catch (err) {
            if (!(err instanceof CountersignError)) throw err;
            outcomes.push({ ok: false, error: err });
          }
        }
        if (fresh.length === 0) return outcomes;
        if (replay.keepsState && fresh[fresh.length - 1]!.state !== true) fresh.push(nextState(replay, now));

        for (const f of fresh) {
          if (f.manifest) this.tiles.writeManifest(f.manifest.sha, f.manifest.bytes);
          this.tiles.writeLookup(Buffer.from(f.hash).toString('hex'), f.index);
        }
        this.tiles.sync();
        this.#hit('manifests');

        const edge = new TreeEdge(cp.size, cp.edge);
        const levels = new Map<number, Uint8Array[]>();
        for (const f of fresh) for (const node of edge.append(leafHash(f.data))) keepTileNode(levels, node);
        const size = edge.size;
        this.tiles.stage(
          cp.size,
          size,
          (level) => levels.get(level) ?? [],
          fresh.map((f) => f.data),
          (label) => this.#hit(label),
        );
        this.tiles.sync();
        this.#hit('tiles staged');

        const root = edge.root();
        const note = signNote(formatCheckpoint({ origin: this.origin, size, root, extensions: [] }), [this.#signer]);
        await log.append(fresh);
        this.#hit('entries inserted');
        await log.swapCheckpoint({ size: cp.size, root: cp.root }, { size, root, edge: [...edge.hashes], note, cosigned: null, cosignedAt: null });
        this.#hit('checkpoint swapped');
        return outcomes;
      });
    } catch (err) {
      // The replay may have taken entries that were never committed: rebuild it from the database next time.
      this.#replay = undefined;
      throw err;
    }
  }

  /**
   * Publishes the database's checkpoint as DIR/checkpoint when it is newer than the file: the log-signed note, or
   * with `witnessed`, only its cosigned form (fail closed: nothing new is published until the quorum has cosigned).
   * Returns the checkpoint now published (undefined: none yet).
   */
  async publish(): Promise<{ size: number; note: string } | undefined> {
    return this.store.locked(async (log) => {
      const cp = await log.checkpoint();
      const onDisk = this.tiles.readCheckpoint();
      const diskSize = onDisk === undefined ? -1 : parseSignedCheckpoint(onDisk).size;
      if (diskSize > cp.size)
        throw new StoreError('STORE_CORRUPT', `${this.tiles.dir}/checkpoint (size ${diskSize}) is ahead of the log database (size ${cp.size})`);
      const note = this.witnessed ? cp.cosigned : (cp.cosigned ?? cp.note);
      if (note === null) return onDisk === undefined ? undefined : { size: diskSize, note: onDisk };
      if (note !== onDisk) {
        this.#hit('before checkpoint file');
        this.tiles.publishCheckpoint(note);
        this.#hit('checkpoint published');
      }
      return { size: cp.size, note };
    });
  }

  /** The replay state at `size`: entries other processes (or a previous run) committed are taken from the database. */
  async #caughtUp(log: LockedLog, size: number): Promise<Replay> {
    const replay = (this.#replay ??= new Replay());
    if (replay.size > size) throw new StoreError('STORE_CORRUPT', `the log database shrank from ${replay.size} to ${size} entries`);
    const CHUNK = 4096;
    while (replay.size < size) {
      const entries = await log.entries(replay.size, Math.min(size, replay.size + CHUNK));
      for (const entry of entries) replay.adopt(entry);
    }
    return replay;
  }

  #hit(label: string): void {
    this.#points.hit(`log: ${label}`);
  }
}

/** Appends the next state entry to `replay` and returns it as a new entry of the batch. */
function nextState(replay: Replay, now: Date): NewEntry & { state: true } {
  const data = stateEntry(replay, now);
  replay.next(data, () => undefined);
  return { index: replay.size - 1, hash: new Uint8Array(Buffer.from(entryIdentity(data), 'hex')), data, releaseKey: null, state: true };
}

/** The state entry to append next: its own index, the clock's time in seconds (never below the last) and the state root. */
export function stateEntry(replay: Replay, now: Date): Uint8Array {
  const time = Math.max(Math.floor(now.getTime() / 1000), replay.state.time);
  return encodeEntry({ entry: ENTRY_TYPES.state, size: replay.size, time, map: toHex(replay.state.stateRootAt(time)) });
}
