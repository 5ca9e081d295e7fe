// A witness's state (c2sp.org/tlog-witness): per origin, the latest checkpoint it cosigned; and the evidence of every
// refused fork (the log-signed request and what the witness held). SQLite by default, PostgreSQL via --db. The check
// of `old` against the stored size and the update are one transaction holding the row, so two requests can never
// roll the state back (the race the spec describes), and the state is durable before the witness answers.
import { randomBytes } from 'node:crypto';
import { bytesOf, numberOf, openSql, type Query, type SqlDb } from './sql-store.js';

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS witness_state (origin TEXT PRIMARY KEY, size BIGINT NOT NULL, root BYTEA NOT NULL, checkpoint TEXT NOT NULL, updated TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS witness_evidence (id TEXT PRIMARY KEY, origin TEXT NOT NULL, reason TEXT NOT NULL, request TEXT NOT NULL, held TEXT, received TEXT NOT NULL)',
  // One row the write lock of PostgreSQL's transactions takes (SQLite's BEGIN IMMEDIATE needs none).
  'CREATE TABLE IF NOT EXISTS witness_lock (id INTEGER PRIMARY KEY CHECK (id = 1))',
];

export interface WitnessRecord {
  origin: string;
  size: number;
  root: Uint8Array;
  /** The checkpoint note as the log signed it. */
  checkpoint: string;
  updated: string;
}

export interface Evidence {
  id: string;
  origin: string;
  reason: string;
  request: string;
  held: string | null;
  received: string;
}

export interface WitnessTx {
  get(origin: string): Promise<WitnessRecord | undefined>;
  put(record: WitnessRecord): Promise<void>;
  keepEvidence(e: Omit<Evidence, 'id'>): Promise<void>;
}

export interface WitnessStore {
  readonly label: string;
  locked<T>(fn: (tx: WitnessTx) => Promise<T>): Promise<T>;
  state(origin: string): Promise<WitnessRecord | undefined>;
  evidence(): Promise<Evidence[]>;
  close(): Promise<void>;
}

/** The default database of a witness whose key is W.key: W.witness.db beside it. */
export function defaultWitnessDb(keyPath: string): string {
  return `sqlite:${keyPath.replace(/\.key$/, '')}.witness.db`;
}

export async function openWitnessStore(url: string): Promise<WitnessStore> {
  const db = await openSql(url, 'witness database');
  try {
    await db.locked('SELECT 1', async (q) => {
      for (const s of SCHEMA) await q.run(db.kind === 'sqlite' ? s.replace(/BYTEA/g, 'BLOB').replace(/BIGINT/g, 'INTEGER') : s);
      await q.run('INSERT INTO witness_lock (id) VALUES (1) ON CONFLICT (id) DO NOTHING');
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  return new Store(db);
}

function recordFrom(row: Record<string, unknown> | undefined): WitnessRecord | undefined {
  return (
    row && {
      origin: String(row.origin),
      size: numberOf(row.size),
      root: bytesOf(row.root),
      checkpoint: String(row.checkpoint),
      updated: String(row.updated),
    }
  );
}

const get = async (q: Query, origin: string) => recordFrom((await q.all('SELECT * FROM witness_state WHERE origin = $1', [origin]))[0]);

class Store implements WitnessStore {
  constructor(private readonly db: SqlDb) {}

  get label(): string {
    return this.db.label;
  }

  locked<T>(fn: (tx: WitnessTx) => Promise<T>): Promise<T> {
    return this.db.locked('SELECT id FROM witness_lock WHERE id = 1 FOR UPDATE', (q) =>
      fn({
        get: (origin) => get(q, origin),
        put: async (r) => {
          await q.run(
            'INSERT INTO witness_state (origin, size, root, checkpoint, updated) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint, updated = excluded.updated',
            [r.origin, r.size, r.root, r.checkpoint, r.updated],
          );
        },
        keepEvidence: async (e) => {
          await q.run('INSERT INTO witness_evidence (id, origin, reason, request, held, received) VALUES ($1, $2, $3, $4, $5, $6)', [
            randomBytes(8).toString('hex'),
            e.origin,
            e.reason,
            e.request,
            e.held,
            e.received,
          ]);
        },
      }),
    );
  }

  state(origin: string): Promise<WitnessRecord | undefined> {
    return get(this.db, origin);
  }

  async evidence(): Promise<Evidence[]> {
    return (await this.db.all('SELECT * FROM witness_evidence ORDER BY received, id')).map((r) => ({
      id: String(r.id),
      origin: String(r.origin),
      reason: String(r.reason),
      request: String(r.request),
      held: r.held === null ? null : String(r.held),
      received: String(r.received),
    }));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
