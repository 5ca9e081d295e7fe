// A monitor follows a log through its tiles from where it last stopped (its state directory) and checks everything:
//   - each new checkpoint is signed by the policy's log and cosigned by its witness quorum, is not smaller than the
//     last one seen, has the same root at the same size, and is consistent with it (RFC 6962 proof from the tiles);
//   - every new entry is replayed with the log's rules (replay.ts: the quorum of the logged policy chain, the first
//     release for a version wins, revocations), and the tree of all entries must have the checkpoint's root;
//   - every entry touching a watched key (signed with it, or a policy adding or dropping it) or product is reported,
//     and every action of the super provider (the root quorum acting for a provider) whatever is watched.
// An anomaly stops the run with its evidence (both checkpoints of a fork, the entry refused) written to
// STATE/evidence/, and the state is not advanced past it, so every later run reports it again.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64 } from '../core/bytes.js';
import { CountersignError, StoreError } from '../core/errors.js';
import { errnoOf } from '../core/errno.js';
import { writeFilesAtomically } from '../node/durable.js';
import { openCheckpoint, parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { describeEntry, parseEntry } from './entry.js';
import { leafHash, TreeEdge, verifyConsistency } from './merkle.js';
import { formatNote, verifyNote } from './note.js';
import type { SavedProviderState } from './provider-state.js';
import { Replay, type ReplayedEntry } from './replay.js';
import { fetchConsistencyProof, fetchEntries, type LogSource } from './tile-reader.js';
import { quorumMet, type TlogPolicy } from './tlog-policy.js';
import { TILE_WIDTH } from './tiles.js';
import { LogError } from './errors.js';

/** Format 2 adds the provider state; a format 1 state (a log without providers) is still read. */
export const MONITOR_STATE_FORMAT = 2;

export interface Anomaly {
  code: string;
  message: string;
  index?: number;
  /** Files written under STATE/evidence/. */
  evidence: string[];
}

export interface Watched {
  index: number;
  kind: ReplayedEntry['kind'];
  what: string;
  /** Why it is reported: "key <id>" or "product <name>". */
  because: string[];
}

export interface MonitorReport {
  origin: string;
  from: number;
  size: number;
  entries: number;
  watched: Watched[];
  anomalies: Anomaly[];
}

export interface MonitorOptions {
  source: LogSource;
  policy: TlogPolicy;
  stateDir: string;
  /** Key ids (hex SHA-256 of the public key) whose every use is reported. */
  watchKeys?: readonly string[];
  watchProducts?: readonly string[];
  now: Date;
  /** Called for each watched entry as it is found (long-running monitors print at once). */
  onWatched?: (w: Watched) => void;
}

interface SavedState {
  format: number;
  origin: string;
  size: number;
  checkpoint: string;
  edge: string[];
  /** The policy entries (base64), in order: the chain is walked again on load. */
  policies: string[];
  /** releaseKey -> [index, identity] */
  releases: Record<string, [number, string]>;
  /** Providers, releases' status and log time (format 2). */
  providerState?: SavedProviderState;
}

const STATE_FILE = 'monitor-state.json';
const CHUNK = 16 * TILE_WIDTH;

export async function monitorOnce(opts: MonitorOptions): Promise<MonitorReport> {
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const saved = loadState(opts.stateDir);
  const note = await opts.source.checkpoint();
  if (note === undefined) throw new LogError('BAD_CHECKPOINT', `${opts.source.label} has no checkpoint`);
  const report: MonitorReport = { origin: '', from: saved?.size ?? 0, size: saved?.size ?? 0, entries: 0, watched: [], anomalies: [] };
  const evidence = (name: string, content: string): string => {
    const dir = join(opts.stateDir, 'evidence');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${opts.now.toISOString().replace(/[:.]/g, '-')}-${name}`);
    writeFilesAtomically([{ path, data: content }], { force: true });
    return path;
  };

  let cp: SignedCheckpoint;
  try {
    cp = checkCheckpoint(note, opts.policy);
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    report.anomalies.push({ code: err.code, message: `the log's checkpoint is not acceptable: ${err.message}`, evidence: [evidence('checkpoint.txt', note)] });
    return report;
  }
  report.origin = cp.origin;
  if (saved && saved.origin !== cp.origin) throw new StoreError('STORE_CORRUPT', `${opts.stateDir} follows ${saved.origin}, not ${cp.origin}`);

  const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
  const replay = saved
    ? Replay.restore({
        size: saved.size,
        policyEntries: saved.policies.map(bytes),
        releases: Object.entries(saved.releases).map(([key, [index, identity]]) => [key, { index, identity }]),
        providerState: saved.providerState,
      })
    : new Replay();
  const edge = saved ? new TreeEdge(saved.size, saved.edge.map(bytes)) : new TreeEdge();
  const old = saved ? parseSignedCheckpoint(saved.checkpoint) : undefined;
  const fork = (message: string) =>
    report.anomalies.push({
      code: 'LOG_INCONSISTENT',
      message,
      evidence: [evidence('fork-held-checkpoint.txt', saved!.checkpoint), evidence('fork-new-checkpoint.txt', formatNote(cp.note))],
    });
  if (old) {
    if (cp.size < old.size) fork(`the log rolled back from size ${old.size} to ${cp.size}`);
    else if (cp.size === old.size && Buffer.compare(cp.root, old.root) !== 0) fork(`size ${cp.size} is signed with two different roots (a split view)`);
    else if (cp.size > old.size && old.size > 0) {
      try {
        verifyConsistency(old.size, cp.size, old.root, cp.root, await fetchConsistencyProof(opts.source, old.size, cp.size));
      } catch (err) {
        if (!(err instanceof CountersignError)) throw err;
        fork(`size ${cp.size} is not consistent with the size ${old.size} held: ${err.message}`);
      }
    }
    if (report.anomalies.length > 0) return report;
  }

  const watchKeys = new Set(opts.watchKeys ?? []);
  const watchProducts = new Set(opts.watchProducts ?? []);
  for (let start = replay.size; start < cp.size; start += CHUNK) {
    const end = Math.min(cp.size, start + CHUNK);
    const entries = await fetchEntries(opts.source, start, end, cp.size);
    for (const [i, entry] of entries.entries()) {
      const index = start + i;
      let checked: ReplayedEntry;
      try {
        const parsed = parseEntry(entry);
        const manifest = parsed.kind === 'release' ? await opts.source.manifest(parsed.statement.payloadSha256) : undefined;
        checked = replay.check(entry, () => manifest);
      } catch (err) {
        if (!(err instanceof CountersignError)) throw err;
        report.anomalies.push({
          code: err.code,
          message: `entry ${index} breaks the log's rules: ${err.message}`,
          index,
          evidence: [evidence(`entry-${index}.txt`, `${formatNote(cp.note)}\nentry ${index} (base64):\n${toBase64(entry)}\n`)],
        });
        return report;
      }
      replay.apply(checked, entry);
      edge.append(leafHash(entry));
      report.entries++;
      const because = reasons(checked, watchKeys, watchProducts);
      if (because.length > 0) {
        const w: Watched = { index, kind: checked.kind, what: describeEntry(parseEntry(entry).entry), because };
        report.watched.push(w);
        opts.onWatched?.(w);
      }
    }
  }
  if (Buffer.compare(edge.root(), cp.root) !== 0) {
    report.anomalies.push({
      code: 'LOG_INCONSISTENT',
      message: `the ${cp.size} entries served do not hash to the checkpoint's root`,
      evidence: [evidence('root-mismatch-checkpoint.txt', formatNote(cp.note))],
    });
    return report;
  }
  report.size = cp.size;
  saveState(opts.stateDir, cp, edge, replay);
  return report;
}

/** The checkpoint is signed by the policy's log for its origin and cosigned by the witness quorum. */
export function checkCheckpoint(note: string, policy: TlogPolicy): SignedCheckpoint {
  const cp = parseSignedCheckpoint(note);
  const log = policy.logs.find((l) => l.key.name === cp.origin);
  if (!log) throw new LogError('BAD_CHECKPOINT', `origin ${JSON.stringify(cp.origin)} is not a log of the policy`);
  openCheckpoint(cp, log.verifier);
  const witnesses = [...policy.witnesses.values()];
  const lines = cp.note.signatures.filter((s) => witnesses.some((w) => w.verifier.name === s.name && w.verifier.keyId === s.keyId));
  const cosigned = new Set<string>();
  if (lines.length > 0) {
    for (const { verifier } of verifyNote(
      { text: cp.note.text, signatures: lines },
      witnesses.map((w) => w.verifier),
    ).verified) {
      cosigned.add(witnesses.find((w) => w.verifier === verifier)!.name);
    }
  }
  if (!quorumMet(policy, cosigned)) {
    throw new LogError(
      'WITNESS_QUORUM_NOT_MET',
      `checkpoint ${cp.size} is cosigned by ${[...cosigned].join(', ') || 'no witness'}, short of the quorum ${policy.quorum}`,
    );
  }
  return cp;
}

function reasons(e: ReplayedEntry, keys: ReadonlySet<string>, products: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  if ('superProvider' in e && e.superProvider) out.add('an action of the super provider (the root quorum)');
  for (const id of e.keyids) if (keys.has(id)) out.add(`signed with key ${id}`);
  if (e.kind === 'policy') for (const k of e.policy.keys) if (keys.has(k.signer.id)) out.add(`policy ${e.policy.policy.version} lists key ${k.signer.id}`);
  if (e.kind === 'enrolment' || e.kind === 'provider-policy')
    for (const k of e.policy.keys) if (keys.has(k.signer.id)) out.add(`policy ${e.policy.policy.version} of ${e.provider} lists key ${k.signer.id}`);
  if (e.kind === 'key-revocation' && keys.has(e.keyid)) out.add(`revokes key ${e.keyid} of ${e.provider} from entry ${e.effective}`);
  if (e.kind === 'release' && products.has(e.statement.product)) out.add(`product ${e.statement.product}`);
  if (e.kind === 'revocation' && products.has(e.revocation.product)) out.add(`product ${e.revocation.product}`);
  return [...out];
}

function loadState(dir: string): SavedState | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw new StoreError('STORE_CORRUPT', `cannot read ${join(dir, STATE_FILE)}: ${errnoOf(err)}`);
  }
  try {
    const s = JSON.parse(text) as SavedState;
    if (s.format !== MONITOR_STATE_FORMAT && s.format !== 1) throw new Error(`format ${s.format}`);
    return s;
  } catch (err) {
    throw new StoreError('STORE_CORRUPT', `${join(dir, STATE_FILE)} is not a monitor state: ${(err as Error).message}`);
  }
}

function saveState(dir: string, cp: SignedCheckpoint, edge: TreeEdge, replay: Replay): void {
  const releases: SavedState['releases'] = {};
  if (replay.releases instanceof Map) for (const [k, v] of replay.releases) releases[k] = [v.index, v.identity];
  const state: SavedState = {
    format: MONITOR_STATE_FORMAT,
    origin: cp.origin,
    size: cp.size,
    checkpoint: formatNote(cp.note),
    edge: edge.hashes.map((h) => toBase64(h)),
    policies: replay.policyEntries.map((e) => toBase64(e)),
    releases,
    providerState: replay.state.save(),
  };
  writeFilesAtomically([{ path: join(dir, STATE_FILE), data: JSON.stringify(state) }], { force: true });
}
