// An in-memory log for the log tests: entries, every complete subtree, a log key and witnesses, and tlog-proofs.
import { formatCheckpoint } from '../../lib/log/checkpoint.js';
import { cosigner, type Cosigner } from '../../lib/log/cosignature.js';
import { consistencyProof, inclusionProof, leafHash, TreeEdge, type HashAt } from '../../lib/log/merkle.js';
import { ed25519Signer, formatNote, parseNote, signNote, type NoteSigner } from '../../lib/log/note.js';
import { formatProof } from '../../lib/log/proof.js';

export const LOG_NAME = 'countersign.example/log';
export const LOG_SEED = new Uint8Array(32).fill(1);

export class MemoryLog {
  readonly entries: Uint8Array[] = [];
  readonly edge = new TreeEdge();
  readonly nodes = new Map<string, Uint8Array>();
  readonly signer: NoteSigner & { vkey: string };
  readonly witnesses: Cosigner[];

  constructor(opts: { name?: string; seed?: Uint8Array; witnesses?: number } = {}) {
    this.signer = ed25519Signer(opts.name ?? LOG_NAME, opts.seed ?? LOG_SEED);
    this.witnesses = Array.from({ length: opts.witnesses ?? 3 }, (_, i) => cosigner(`witness.example/w${i + 1}`, new Uint8Array(32).fill(0x10 + i)));
  }

  get size(): number {
    return this.edge.size;
  }

  readonly hashAt: HashAt = (level, index) => {
    const h = this.nodes.get(`${level}/${index}`);
    if (!h) throw new RangeError(`no node ${level}/${index}`);
    return h;
  };

  append(entry: Uint8Array): number {
    this.entries.push(entry);
    for (const n of this.edge.append(leafHash(entry))) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    return this.edge.size - 1;
  }

  /** The checkpoint of the current tree, signed by the log and cosigned at `time` by the first `cosigners` witnesses. */
  checkpoint(time: number, cosigners = this.witnesses.length, origin = this.signer.name): string {
    const text = formatCheckpoint({ origin, size: this.size, root: this.edge.root(), extensions: [] });
    const note = parseNote(signNote(text, [this.signer]));
    return formatNote({ text, signatures: [...note.signatures, ...this.witnesses.slice(0, cosigners).map((w) => w.cosign(text, time))] });
  }

  /** The tlog-proof of entry `index` against `checkpoint` (whose size must be the current size). */
  proof(index: number, checkpoint: string, extra = true): string {
    return formatProof({ ...(extra ? { extra: this.entries[index]! } : {}), index, proof: inclusionProof(index, this.size, this.hashAt), checkpoint });
  }

  consistency(m: number): Uint8Array[] {
    return consistencyProof(m, this.size, this.hashAt);
  }

  /** A policy: the log, every witness, and a group of `k` of them as the quorum. */
  policy(k = 2): string {
    const ws = this.witnesses.map((w, i) => `witness W${i + 1} ${w.vkey}`);
    return [`log ${this.signer.vkey}`, ...ws, `group W ${k} ${this.witnesses.map((_, i) => `W${i + 1}`).join(' ')}`, 'quorum W', ''].join('\n');
  }
}
