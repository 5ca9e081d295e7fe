// Fixtures of the log sync and audit tests: a log served from memory (any entries, honest or not, as a compromised
// sequencer or a lying mirror would serve them), its checkpoint signed by the log key and cosigned by witnesses, and
// a provider log driven entry by entry (provider-support.ts Driver) with state entries.
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { toBase64, toHex } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { PAYLOAD_TYPES, pae, sha256Hex } from '../../lib/core/envelope.js';
import { formatCheckpoint } from '../../lib/log/checkpoint.js';
import { cosigner, type Cosigner } from '../../lib/log/cosignature.js';
import { encodeEntry, ENTRY_TYPES } from '../../lib/log/entry.js';
import { leafHash, TreeEdge, type HashAt } from '../../lib/log/merkle.js';
import { ed25519Signer, formatNote, parseNote, signNote, type NoteSigner } from '../../lib/log/note.js';
import type { LogSource } from '../../lib/log/tile-reader.js';
import { encodeEntryBundle, tileContent, tilePath, type TileRef } from '../../lib/log/tiles.js';
import { LogError } from '../../lib/log/errors.js';
import { makeRelease, makeSigners, signedBy, type TestSigner } from '../support/fixtures.js';
import { encodeReleaseRecord, recordKey, releasePath } from '../../lib/log/state-records.js';
import { Driver, enrolment, makeProvider, makeRoot } from './provider-support.js';

export const SYNC_ORIGIN = 'log.example.test/sync';

/** A log in memory: entries, every complete subtree, manifests; its tiles and checkpoint served as a LogSource. */
export class ServedLog implements LogSource {
  readonly label = 'memory log';
  readonly entries: Uint8Array[] = [];
  readonly manifests = new Map<string, Uint8Array>();
  readonly nodes = new Map<string, Uint8Array>();
  readonly edge = new TreeEdge();
  readonly signer: NoteSigner & { vkey: string };
  readonly witnesses: Cosigner[];
  /** What `checkpoint()` serves (publish() sets it). */
  note: string | undefined;
  /** Tiles served in place of the real ones (a lying mirror), by path. */
  readonly forged = new Map<string, Uint8Array>();

  constructor(opts: { seed?: Uint8Array; witnesses?: Cosigner[] } = {}) {
    this.signer = ed25519Signer(SYNC_ORIGIN, opts.seed ?? new Uint8Array(32).fill(7));
    this.witnesses = opts.witnesses ?? [];
  }

  get size(): number {
    return this.edge.size;
  }

  readonly hashAt: HashAt = (level, index) => {
    const h = this.nodes.get(`${level}/${index}`);
    if (!h) throw new LogError('BAD_PROOF', `no node ${level}/${index}`);
    return h;
  };

  append(entry: Uint8Array, manifest?: Uint8Array): number {
    this.entries.push(entry);
    if (manifest) this.manifests.set(sha256Hex(manifest), manifest);
    for (const n of this.edge.append(leafHash(entry))) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    return this.edge.size - 1;
  }

  /** Signs (and has the witnesses cosign at `time`) the current tree, and serves it. Returns the note. */
  publish(time: number, witnesses: readonly Cosigner[] = this.witnesses): string {
    const text = formatCheckpoint({ origin: this.signer.name, size: this.size, root: this.edge.root(), extensions: [] });
    const note = parseNote(signNote(text, [this.signer]));
    this.note = formatNote({ text, signatures: [...note.signatures, ...witnesses.map((w) => w.cosign(text, time))] });
    return this.note;
  }

  /** A tlog-policy: the log, each witness, a quorum of all of them (or none). */
  policy(): string {
    const ws = this.witnesses.map((w, i) => `witness W${i + 1} ${w.vkey}`);
    const quorum = ws.length === 0 ? ['quorum none'] : [`group all ${this.witnesses.length} ${this.witnesses.map((_, i) => `W${i + 1}`).join(' ')}`, 'quorum all'];
    return [`log ${this.signer.vkey}`, ...ws, ...quorum, ''].join('\n');
  }

  async checkpoint(): Promise<string | undefined> {
    return this.note;
  }

  async tile(ref: TileRef): Promise<Uint8Array> {
    const forged = this.forged.get(tilePath(ref));
    if (forged) return forged;
    if (ref.level === 'entries') return encodeEntryBundle(this.entries.slice(ref.index * 256, ref.index * 256 + ref.width));
    return tileContent(ref, this.hashAt);
  }

  async manifest(sha256: string): Promise<Uint8Array | undefined> {
    return this.manifests.get(sha256);
  }

  async lookup(): Promise<number | undefined> {
    return undefined;
  }

  /** A copy of the first `size` entries: another view of the same log (a stale mirror, or a fork's common prefix). */
  prefix(size: number): ServedLog {
    const copy = new ServedLog({ seed: new Uint8Array(32).fill(7), witnesses: this.witnesses });
    for (const e of this.entries.slice(0, size)) copy.append(e);
    for (const [k, v] of this.manifests) copy.manifests.set(k, v);
    return copy;
  }
}

export function witnessKeys(n: number): Cosigner[] {
  return Array.from({ length: n }, (_, i) => cosigner(`witness.example/s${i + 1}`, new Uint8Array(32).fill(0x30 + i)));
}

/** A state entry as the sequencer writes it, with any map root (a lying sequencer's). */
export function stateEntryBytes(size: number, time: number, map: string): Uint8Array {
  return encodeEntry({ entry: ENTRY_TYPES.state, size, time, map });
}

/** Ed25519 signing through one KeyObject (the same signatures as lib/core's, much faster: for big generated logs). */
export class FastSigner {
  readonly #key: KeyObject;
  constructor(readonly signer: TestSigner) {
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(signer.seed)]);
    this.#key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  }

  /** Standard base64 of the signature over `message`. */
  sign(message: Uint8Array): string {
    return toBase64(nodeSign(null, message, this.#key));
  }

  /** The entry and manifest payload of a release statement of `manifest`, signed by this key. */
  release(manifest: Record<string, unknown> & { product: string; component: string; version: string; provider?: string }): { entry: Uint8Array; manifest: Uint8Array } {
    const payload = canonicalBytes(manifest);
    const sig = toBase64(nodeSign(null, pae(PAYLOAD_TYPES.manifest, payload), this.#key));
    const m = manifest as unknown as { archive: { sha256: string; size: number }; policyVersion: number };
    const entry = encodeEntry({
      entry: ENTRY_TYPES.release,
      ...(manifest.provider === undefined ? {} : { provider: manifest.provider }),
      product: manifest.product,
      component: manifest.component,
      version: manifest.version,
      payloadType: PAYLOAD_TYPES.manifest,
      payloadSha256: sha256Hex(payload),
      archive: { sha256: m.archive.sha256, size: m.archive.size },
      policyVersion: m.policyVersion,
      signatures: [{ keyid: this.signer.id, sig }],
    } as Parameters<typeof encodeEntry>[0]);
    return { entry, manifest: payload };
  }
}

/**
 * A provider log of about `n` entries, generated fast: the root policy, one provider enrolled, then releases of it in
 * batches of `batch`, each batch ended with the sequencer's state entry. The release entries are spliced into
 * canonical templates and their state map kept here with the state-records encoders, independently of the replay
 * that `log sync` runs (only the first three entries come from the replay driver). Returns the log and the map.
 */
export function generatedProviderLog(n: number, batch: number, time: number) {
  const root = makeRoot({ delay: 0 });
  const p = makeProvider(GENERATED_PROVIDER, { release: makeSigners(1) });
  const d = new Driver();
  d.add(root.policy);
  d.add(enrolment(p, root.signers.slice(0, 2)));
  d.state(time - 1000);
  const base = makeRelease().manifest;
  const template = new ReleaseTemplate(p.release[0]!, { ...base, format: 3, provider: GENERATED_PROVIDER, files: base.files.slice(0, 1) });
  return { root, p, ...generate(d, template, n, batch, time, true) };
}

/** The same without providers: a root policy of one key (today's log) and `n - 1` releases signed by it, no state entries. */
export function generatedRootLog(n: number, time: number) {
  const [key] = makeSigners(1);
  const d = new Driver();
  const policy = { version: 1, expires: '2030-01-01T00:00:00Z', threshold: 1, signers: [{ id: key!.id, publicKey: toBase64(key!.publicKey), name: 'release' }] };
  const envelope = signedBy({ payloadType: PAYLOAD_TYPES.policy, payload: toBase64(canonicalBytes(policy)), signatures: [] }, [key!]);
  d.add(envelope);
  const base = makeRelease().manifest;
  const template = new ReleaseTemplate(key!, { ...base, files: base.files.slice(0, 1) });
  return { root: { policy: envelope }, ...generate(d, template, n, n, time, false) };
}

function generate(d: Driver, template: ReleaseTemplate, n: number, batch: number, time: number, state: boolean) {
  const served = new ServedLog();
  for (const e of d.entries) served.append(e);
  for (const [k, v] of d.manifests) served.manifests.set(k, v);
  const map = d.replay.state.map.clone();
  const stateTime = time - 500;
  let i = 0;
  while (served.size < n) {
    for (let b = 0; b < batch && served.size < n - (state ? 1 : 0); b++, i++) {
      const version = `11.${Math.floor(i / 1000)}.${i % 1000}`;
      const r = template.release(version);
      map.set(recordKey(releasePath(template.provider, 'drupal', 'core', version)), encodeReleaseRecord({ index: served.size, revoked: null }));
      served.append(r.entry, r.manifest);
    }
    if (state) served.append(stateEntryBytes(served.size, stateTime, toHex(map.root())));
  }
  served.publish(time);
  return { served, map, releases: i };
}

export const GENERATED_PROVIDER = 'wordpress.org/plugins/generated';

/** Release entries of one manifest but its version, made by splicing into canonical bytes (JSON escapes none here). */
class ReleaseTemplate {
  readonly provider: string | undefined;
  readonly #signer: FastSigner;
  readonly #manifest: [string, string];
  readonly #entry: string[];

  constructor(signer: TestSigner, manifest: Record<string, unknown> & { provider?: string }) {
    this.provider = manifest.provider;
    this.#signer = new FastSigner(signer);
    const hole = 'VERSION-HOLE';
    const text = Buffer.from(canonicalBytes({ ...manifest, version: hole })).toString('utf8');
    this.#manifest = text.split(`"${hole}"`) as [string, string];
    const m = manifest as { product: string; component: string; archive: { sha256: string; size: number }; policyVersion: number };
    const statement = {
      entry: ENTRY_TYPES.release,
      ...(this.provider === undefined ? {} : { provider: this.provider }),
      product: m.product,
      component: m.component,
      version: hole,
      payloadType: PAYLOAD_TYPES.manifest,
      payloadSha256: 'SHA-HOLE',
      archive: { sha256: m.archive.sha256, size: m.archive.size },
      policyVersion: m.policyVersion,
      signatures: [{ keyid: signer.id, sig: 'SIG-HOLE' }],
    };
    this.#entry = Buffer.from(canonicalBytes(statement)).toString('utf8').split(/"(?:VERSION|SHA|SIG)-HOLE"/);
    if (this.#entry.length !== 4 || this.#manifest.length !== 2) throw new Error('a hole appears twice');
  }

  release(version: string): { entry: Uint8Array; manifest: Uint8Array } {
    const manifest = Buffer.from(`${this.#manifest[0]}"${version}"${this.#manifest[1]}`, 'utf8');
    const sig = this.#signer.sign(pae(PAYLOAD_TYPES.manifest, manifest));
    // Canonical member order: payloadSha256 < signatures < version.
    const [a, b, c, d] = this.#entry as [string, string, string, string];
    const entry = Buffer.from(`${a}"${sha256Hex(manifest)}"${b}"${sig}"${c}"${version}"${d}`, 'utf8');
    return { entry: new Uint8Array(entry), manifest: new Uint8Array(manifest) };
  }
}
