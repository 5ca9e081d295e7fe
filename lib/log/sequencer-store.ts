// The sequencer's database (SQLite by default, PostgreSQL for several sequencer processes on one log): the log's
// identity, every entry in order, the checkpoint the log last signed with its right edge, and each witness's size.
// The checkpoint row is the lock of the publishing order (sequencer.ts): it is changed only by compare-and-swap,
// inside a transaction that holds the row (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE).
// The read path never touches it: readers get tiles and the checkpoint file.
import { concatBytes } from '../core/bytes.js';
import { StoreError } from '../core/errors.js';
import { bytesOf, isUniqueViolation, numberOf, openSql, type Query, type SqlDb } from './sql-store.js';

export const SEQUENCER_SCHEMA_VERSION = 1;

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS log_schema (version INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS log_meta (id INTEGER PRIMARY KEY CHECK (id = 1), origin TEXT NOT NULL, vkey TEXT NOT NULL, key_path TEXT NOT NULL, created TEXT NOT NULL)',
  // hash: SHA-256 of the entry, for "the same document twice is the same index"; release_key: product, component
  // and version of a release, UNIQUE so the first release for a version wins even past a bug in the replay.
  'CREATE TABLE IF NOT EXISTS log_entries (idx BIGINT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, data BYTEA NOT NULL, release_key TEXT UNIQUE)',
  'CREATE TABLE IF NOT EXISTS log_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, root BYTEA NOT NULL, edge BYTEA NOT NULL, note TEXT NOT NULL, cosigned TEXT, cosigned_at TEXT)',
  'CREATE TABLE IF NOT EXISTS log_witnesses (name TEXT PRIMARY KEY, size BIGINT NOT NULL)',
];

export interface LogMeta {
  origin: string;
  vkey: string;
  /** The log's secret key file, as given to `log init` (absolute). */
  keyPath: string;
  created: string;
}

/** What the log last signed: size, root, the right edge (TreeEdge hashes) and the note; `cosigned` once witnessed. */
export interface StoredCheckpoint {
  size: number;
  root: Uint8Array;
  edge: Uint8Array[];
  note: string;
  cosigned: string | null;
  cosignedAt: string | null;
}

export interface NewEntry {
  index: number;
  hash: Uint8Array;
  data: Uint8Array;
  releaseKey: string | null;
}

/** The statements a sequencer makes while it holds the log's write lock. */
export interface LockedLog {
  checkpoint(): Promise<StoredCheckpoint>;
  entries(start: number, end: number): Promise<Uint8Array[]>;
  indexOfHash(hash: Uint8Array): Promise<number | undefined>;
  append(rows: readonly NewEntry[]): Promise<void>;
  /** Replaces the checkpoint only if it still is `expected`; STORE_CORRUPT otherwise (someone broke the lock). */
  swapCheckpoint(expected: { size: number; root: Uint8Array }, next: StoredCheckpoint): Promise<void>;
  /** Records the witnessed form of the checkpoint of this size and root; false when the log has moved on. */
  setCosigned(size: number, root: Uint8Array, cosigned: string, at: string): Promise<boolean>;
  witnessSize(name: string): Promise<number>;
  setWitnessSize(name: string, size: number): Promise<void>;
}

export interface SequencerStore {
  readonly label: string;
  meta(): Promise<LogMeta>;
  checkpoint(): Promise<StoredCheckpoint>;
  entries(start: number, end: number): Promise<Uint8Array[]>;
  locked<T>(fn: (log: LockedLog) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The default database of a log whose tiles are in DIR: DIR.db beside it (never inside the served directory). */
export function defaultLogDb(tilesDir: string): string {
  return `sqlite:${tilesDir.replace(/\/+$/, '')}.db`;
}

/** Creates a log's database: STORE_EXISTS if it already holds a log. */
export async function createSequencerStore(url: string, meta: LogMeta, empty: StoredCheckpoint): Promise<SequencerStore> {
  const db = await openSql(url, 'log database');
  try {
    await db.locked('SELECT 1', async (q) => {
      for (const s of SCHEMA) await q.run(sqlFor(db, s));
      if ((await q.all('SELECT origin FROM log_meta')).length > 0) throw new StoreError('STORE_EXISTS', `${db.label} already holds a log`);
      await q.run('INSERT INTO log_schema (version) VALUES ($1)', [SEQUENCER_SCHEMA_VERSION]);
      await q.run('INSERT INTO log_meta (id, origin, vkey, key_path, created) VALUES (1, $1, $2, $3, $4)', [
        meta.origin,
        meta.vkey,
        meta.keyPath,
        meta.created,
      ]);
      await q.run('INSERT INTO log_checkpoint (id, size, root, edge, note, cosigned, cosigned_at) VALUES (1, $1, $2, $3, $4, NULL, NULL)', [
        0,
        empty.root,
        new Uint8Array(0),
        empty.note,
      ]);
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  return new Store(db);
}

/** Opens a log's database created by `log init`: STORE_MISSING if it holds no log. */
export async function openSequencerStore(url: string): Promise<SequencerStore> {
  const db = await openSql(url, 'log database', { mustExist: true });
  try {
    const found = await db.all('SELECT version FROM log_schema').catch(() => []);
    if (found.length === 0) throw new StoreError('STORE_MISSING', `${db.label} holds no log (create it with countersign log init)`);
    const version = numberOf(found[0]!.version);
    if (version !== SEQUENCER_SCHEMA_VERSION)
      throw new StoreError('STORE_CORRUPT', `${db.label} has log schema ${version}; this release reads ${SEQUENCER_SCHEMA_VERSION}`);
  } catch (err) {
    await db.close();
    throw err;
  }
  return new Store(db);
}

/** BYTEA is PostgreSQL's name; SQLite takes any type name (BLOB affinity needs "BLOB" only for empty-typed columns). */
function sqlFor(db: SqlDb, sql: string): string {
  return db.kind === 'sqlite' ? sql.replace(/BYTEA/g, 'BLOB').replace(/BIGINT/g, 'INTEGER') : sql;
}

const HASH = 32;

function checkpointFrom(row: Record<string, unknown> | undefined, label: string): StoredCheckpoint {
  if (!row) throw new StoreError('STORE_CORRUPT', `${label} has no checkpoint row`);
  const edgeBytes = bytesOf(row.edge);
  const edge: Uint8Array[] = [];
  for (let i = 0; i < edgeBytes.length; i += HASH) edge.push(edgeBytes.slice(i, i + HASH));
  return {
    size: numberOf(row.size),
    root: bytesOf(row.root),
    edge,
    note: String(row.note),
    cosigned: row.cosigned === null ? null : String(row.cosigned),
    cosignedAt: row.cosigned_at === null ? null : String(row.cosigned_at),
  };
}

async function readEntries(q: Query, start: number, end: number): Promise<Uint8Array[]> {
  if (end <= start) return [];
  const rows = await q.all('SELECT idx, data FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx', [start, end]);
  if (rows.length !== end - start || rows.some((r, i) => numberOf(r.idx) !== start + i)) {
    throw new StoreError('STORE_CORRUPT', `the log database lacks entries in [${start}, ${end})`);
  }
  return rows.map((r) => bytesOf(r.data));
}

class Store implements SequencerStore {
  constructor(private readonly db: SqlDb) {}

  get label(): string {
    return this.db.label;
  }

  async meta(): Promise<LogMeta> {
    const row = (await this.db.all('SELECT origin, vkey, key_path, created FROM log_meta WHERE id = 1'))[0];
    if (!row) throw new StoreError('STORE_MISSING', `${this.db.label} holds no log (create it with countersign log init)`);
    return { origin: String(row.origin), vkey: String(row.vkey), keyPath: String(row.key_path), created: String(row.created) };
  }

  async checkpoint(): Promise<StoredCheckpoint> {
    return checkpointFrom((await this.db.all('SELECT * FROM log_checkpoint WHERE id = 1'))[0], this.db.label);
  }

  entries(start: number, end: number): Promise<Uint8Array[]> {
    return readEntries(this.db, start, end);
  }

  locked<T>(fn: (log: LockedLog) => Promise<T>): Promise<T> {
    const label = this.db.label;
    return this.db.locked('SELECT size FROM log_checkpoint WHERE id = 1 FOR UPDATE', (q) =>
      fn({
        checkpoint: async () => checkpointFrom((await q.all('SELECT * FROM log_checkpoint WHERE id = 1'))[0], label),
        entries: (start, end) => readEntries(q, start, end),
        indexOfHash: async (hash) => {
          const row = (await q.all('SELECT idx FROM log_entries WHERE hash = $1', [hash]))[0];
          return row ? numberOf(row.idx) : undefined;
        },
        append: async (rows) => {
          for (const r of rows) {
            try {
              await q.run('INSERT INTO log_entries (idx, hash, data, release_key) VALUES ($1, $2, $3, $4)', [r.index, r.hash, r.data, r.releaseKey]);
            } catch (err) {
              if (isUniqueViolation(err))
                throw new StoreError('STORE_CORRUPT', `entry ${r.index} collides with a logged one (index, document or release)`, { index: r.index });
              throw err;
            }
          }
        },
        swapCheckpoint: async (expected, next) => {
          const changed = await q.run(
            'UPDATE log_checkpoint SET size = $1, root = $2, edge = $3, note = $4, cosigned = $5, cosigned_at = $6 WHERE id = 1 AND size = $7 AND root = $8',
            [next.size, next.root, concatBytes(...next.edge), next.note, next.cosigned, next.cosignedAt, expected.size, expected.root],
          );
          if (changed !== 1) throw new StoreError('STORE_CORRUPT', `the log's checkpoint changed under the write lock (expected size ${expected.size})`);
        },
        setCosigned: async (size, root, cosigned, at) =>
          (await q.run('UPDATE log_checkpoint SET cosigned = $1, cosigned_at = $2 WHERE id = 1 AND size = $3 AND root = $4', [cosigned, at, size, root])) === 1,
        witnessSize: async (name) => {
          const row = (await q.all('SELECT size FROM log_witnesses WHERE name = $1', [name]))[0];
          return row ? numberOf(row.size) : 0;
        },
        setWitnessSize: async (name, size) => {
          await q.run('INSERT INTO log_witnesses (name, size) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET size = excluded.size', [name, size]);
        },
      }),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
