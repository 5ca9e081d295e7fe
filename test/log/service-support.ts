// Fixtures of the log service tests: a log in a temp directory (SQLite or a PostgreSQL URL), and signed documents
// to log: the policy chain, releases (real manifests, re-versioned and re-signed) and revocations.
import { join } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { generateSeed } from '../../lib/core/ed25519.js';
import { createEnvelope, type Envelope } from '../../lib/core/envelope.js';
import { createPolicy } from '../../lib/core/policy.js';
import { createRevocation } from '../../lib/core/revocation.js';
import type { Manifest } from '../../lib/core/manifest.js';
import { sha256Hex } from '../../lib/core/envelope.js';
import { formatCheckpoint } from '../../lib/log/checkpoint.js';
import { leafHash, TreeEdge } from '../../lib/log/merkle.js';
import { ed25519Signer, signNote, type NoteSigner } from '../../lib/log/note.js';
import { entryIdentity } from '../../lib/log/replay.js';
import { keepTileNode, TileDir } from '../../lib/log/publish.js';
import { initLog, Sequencer, submissionFor, type Submission } from '../../lib/log/sequencer.js';
import { openSequencerStore, type SequencerStore } from '../../lib/log/sequencer-store.js';
import { envelopeBytes, makeRelease, makeSigners, manifestEnvelope, NOW, signedBy, type TestSigner } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

export const ORIGIN = 'log.example.test/countersign';

export interface TestLog {
  dir: string;
  tiles: TileDir;
  store: SequencerStore;
  sequencer: Sequencer;
  signer: NoteSigner & { vkey: string };
  db: string;
  seed: Uint8Array;
}

/** A new log: tiles in a temp dir, the database `db` (default: SQLite beside the tiles). */
export async function makeLog(opts: { db?: string; witnessed?: boolean; seed?: Uint8Array } = {}): Promise<TestLog> {
  const dir = join(tempDir('countersign-log-'), 'tiles');
  const db = opts.db ?? `sqlite:${dir}.db`;
  const seed = opts.seed ?? generateSeed();
  const signer = ed25519Signer(ORIGIN, seed);
  const store = await initLog({ db, tiles: dir, signer, keyPath: '/dev/null', now: NOW });
  const tiles = new TileDir(dir);
  return { dir, tiles, store, sequencer: new Sequencer({ store, tiles, signer, witnessed: opts.witnessed }), signer, db, seed };
}

/** Another sequencer on the same log (another process would open the database the same way). */
export async function reopen(log: TestLog, opts: { witnessed?: boolean } = {}): Promise<Sequencer> {
  const store = await openSequencerStore(log.db);
  return new Sequencer({ store, tiles: new TileDir(log.dir), signer: log.signer, witnessed: opts.witnessed });
}

export interface Team {
  signers: TestSigner[];
  threshold: number;
  version: number;
  /** The signed policy envelope. */
  policy: Envelope;
}

export function makeTeam(n = 3, threshold = 2): Team {
  const signers = makeSigners(n);
  const policy = createPolicy({
    threshold,
    signers: signers.map((s) => ({ publicKey: s.publicKey, name: s.name })),
    expires: new Date('2030-01-01T00:00:00Z'),
  });
  return { signers, threshold, version: 1, policy: signedBy(createEnvelope('policy', canonicalBytes(policy)), signers.slice(0, threshold)) };
}

/** Version N+1 of the team's policy over `next` signers, signed by `by` (default: a quorum of both). */
export function rotate(team: Team, next: TestSigner[], opts: { by?: TestSigner[]; version?: number; threshold?: number } = {}): Team {
  const version = opts.version ?? team.version + 1;
  const threshold = opts.threshold ?? team.threshold;
  const policy = createPolicy({
    threshold,
    signers: next.map((s) => ({ publicKey: s.publicKey, name: s.name })),
    expires: new Date('2030-01-01T00:00:00Z'),
    version,
  });
  const by = opts.by ?? [...new Set([...team.signers.slice(0, team.threshold), ...next.slice(0, threshold)])];
  return { signers: next, threshold, version, policy: signedBy(createEnvelope('policy', canonicalBytes(policy)), by) };
}

let base: Manifest | undefined;

/** A signed release manifest for `version`, signed by `by` (default: the team's quorum). */
export function release(team: Team, version: string, opts: { by?: TestSigner[]; product?: string; sha?: string } = {}): Envelope {
  base ??= makeRelease().manifest;
  const manifest: Manifest = {
    ...base,
    product: opts.product ?? base.product,
    version,
    policyVersion: team.version,
    archive: opts.sha ? { ...base.archive, sha256: opts.sha } : base.archive,
  };
  return signedBy(manifestEnvelope(manifest), opts.by ?? team.signers.slice(0, team.threshold));
}

export function revocation(team: Team, version: string, opts: { by?: TestSigner[] } = {}): Envelope {
  const env = createRevocation({ product: 'drupal', component: 'core', version, reason: 'test', created: NOW, policyVersion: team.version });
  return signedBy(env, opts.by ?? team.signers.slice(0, team.threshold));
}

export function sub(envelope: Envelope): Submission {
  return submissionFor(envelopeBytes(envelope));
}

/**
 * A log that sequences whatever it is given, unchecked (a compromised sequencer): tiles, manifests and a checkpoint
 * signed with `seed` in a new directory. What monitors and mirrors must catch.
 */
export function rogueLog(seed: Uint8Array, docs: readonly Envelope[]): { dir: string; checkpoint: string } {
  const dir = join(tempDir('countersign-rogue-'), 'tiles');
  const tiles = new TileDir(dir);
  const signer = ed25519Signer(ORIGIN, seed);
  const edge = new TreeEdge();
  const levels = new Map<number, Uint8Array[]>();
  const entries = docs.map((d) => {
    const s = sub(d);
    if (s.manifest) tiles.writeManifest(sha256Hex(s.manifest), s.manifest);
    tiles.writeLookup(entryIdentity(s.entry), edge.size);
    for (const node of edge.append(leafHash(s.entry))) keepTileNode(levels, node);
    return s.entry;
  });
  tiles.stage(
    0,
    edge.size,
    (l) => levels.get(l) ?? [],
    entries,
    () => {},
  );
  const checkpoint = signNote(formatCheckpoint({ origin: ORIGIN, size: edge.size, root: edge.root(), extensions: [] }), [signer]);
  tiles.publishCheckpoint(checkpoint);
  return { dir, checkpoint };
}

/** A tlog-policy for the log key alone (no witnesses), or with witness vkeys and a quorum of all of them. */
export function logPolicy(logVkey: string, witnesses: Array<{ name: string; vkey: string }> = []): string {
  const lines = [`log ${logVkey}`, ...witnesses.map((w) => `witness ${w.name} ${w.vkey}`)];
  if (witnesses.length === 0) lines.push('quorum none');
  else lines.push(`group all-witnesses all ${witnesses.map((w) => w.name).join(' ')}`, 'quorum all-witnesses');
  return `${lines.join('\n')}\n`;
}
