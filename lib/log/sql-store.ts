// One small SQL layer under the log's stores (sequencer-store.ts, witness-store.ts): SQLite (one file, WAL) or
// PostgreSQL, picked by the URL. Statements are written once with $1 placeholders; SQLite gets them as ?NNN.
// better-sqlite3 and pg are optional dependencies, loaded only when a store of that kind is opened.
import { closeSync, existsSync, openSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { StoreError, UsageError } from '../core/errors.js';

export type Row = Record<string, unknown>;

export interface Query {
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
}

export interface SqlDb extends Query {
  readonly kind: 'sqlite' | 'postgres';
  /** The URL with any password hidden, for messages. */
  readonly label: string;
  /**
   * Runs fn in one transaction holding the database's write lock: SQLite's BEGIN IMMEDIATE (one writer at a
   * time across processes), PostgreSQL's row lock taken by `lockSql` (SELECT … FOR UPDATE) before fn runs.
   */
  locked<T>(lockSql: string, fn: (q: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const BUSY_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;

export function redactUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) return url;
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

/** Opens `sqlite:PATH` or `postgres://…`; with mustExist, a SQLite file that is absent is STORE_MISSING. */
export async function openSql(url: string, what: string, opts: { mustExist?: boolean } = {}): Promise<SqlDb> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new UsageError('USAGE', `${what} URL sqlite: needs a path`);
    if (opts.mustExist && !existsSync(path)) throw new StoreError('STORE_MISSING', `${what} ${path} does not exist (create it with init)`);
    return openSqlite(path, what);
  }
  if (/^postgres(ql)?:\/\//.test(url) && URL.canParse(url)) return openPostgres(url, what);
  throw new UsageError('USAGE', `${what} URL must be sqlite:PATH or postgres://…, not ${JSON.stringify(redactUrl(url))}`);
}

function storeError(err: unknown, what: string, doing: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (!(err instanceof Error) || typeof code !== 'string' || !(code.startsWith('SQLITE_') || /^[0-9A-Z]{5}$/.test(code))) return err;
  // SQLITE_BUSY after the timeout: another process holds the lock too long.
  if (code.startsWith('SQLITE_BUSY')) return new StoreError('STORE_LOCKED', `${what} is busy (${doing}): ${err.message}`, { sqlCode: code });
  return new StoreError('STORE_CORRUPT', `${what} failed while ${doing}: ${code}: ${err.message}`, { sqlCode: code });
}

/** A UNIQUE constraint refused a row (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { details?: { sqlCode?: unknown } })?.details?.sqlCode;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

async function openSqlite(path: string, what: string): Promise<SqlDb> {
  const { default: Sqlite } = await import('better-sqlite3');
  let db: Database;
  try {
    // Created 0600 by us; SQLite gives -wal and -shm the same mode.
    closeSync(openSync(path, 'a', 0o600));
    db = new Sqlite(path, { timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  } catch (err) {
    throw new StoreError('STORE_CORRUPT', `cannot open ${what} sqlite:${path}: ${(err as Error).message}`);
  }
  // $N placeholders become ? in order of appearance, and the parameters are reordered to match.
  const sqliteSql = (sql: string) => sql.replace(/\$\d+/g, '?');
  const order = new Map<string, number[]>();
  const orderOf = (sql: string) => {
    let o = order.get(sql);
    if (!o) order.set(sql, (o = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]) - 1)));
    return o;
  };
  type Stmt = { all(...params: unknown[]): unknown[]; run(...params: unknown[]): { changes: number } };
  const prepared = new Map<string, Stmt>();
  const stmt = (sql: string): Stmt => {
    let s = prepared.get(sql);
    if (!s) prepared.set(sql, (s = db.prepare(sqliteSql(sql)) as unknown as Stmt));
    return s;
  };
  const bind = (params: unknown[]) =>
    params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : typeof p === 'boolean' ? Number(p) : p));
  const q: Query = {
    all: async (sql, params = []) => {
      try {
        return stmt(sql).all(...bind(orderOf(sql).map((i) => params[i]))) as Row[];
      } catch (err) {
        throw storeError(err, what, sql.split(' ', 2).join(' '));
      }
    },
    run: async (sql, params = []) => {
      try {
        return stmt(sql).run(...bind(orderOf(sql).map((i) => params[i]))).changes;
      } catch (err) {
        throw storeError(err, what, sql.split(' ', 2).join(' '));
      }
    },
  };
  // One connection: transactions of this process take turns.
  let turn: Promise<unknown> = Promise.resolve();
  return {
    kind: 'sqlite',
    label: `sqlite:${path}`,
    ...q,
    locked<T>(_lockSql: string, fn: (q: Query) => Promise<T>): Promise<T> {
      const mine = turn.then(async () => {
        try {
          db.exec('BEGIN IMMEDIATE');
        } catch (err) {
          throw storeError(err, what, 'taking the write lock');
        }
        try {
          const result = await fn(q);
          db.exec('COMMIT');
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      });
      turn = mine.catch(() => {});
      return mine;
    },
    close: async () => {
      await turn;
      db.close();
    },
  };
}

async function openPostgres(url: string, what: string): Promise<SqlDb> {
  const { default: pg } = await import('pg');
  // BIGINT columns come back as strings; sizes and indexes stay below 2^53.
  const pool: Pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'countersign-log', max: 4 });
  pool.on('error', () => {});
  const label = redactUrl(url);
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StoreError('STORE_LOCKED', `cannot reach ${what} at ${label}: ${(err as Error).message}`);
  }
  const on = (client: Pool | PoolClient): Query => ({
    all: async (sql, params = []) => {
      try {
        return (await client.query(sql, params.map(pgParam))).rows as Row[];
      } catch (err) {
        throw storeError(err, what, sql.split(' ', 2).join(' '));
      }
    },
    run: async (sql, params = []) => {
      try {
        return (await client.query(sql, params.map(pgParam))).rowCount ?? 0;
      } catch (err) {
        throw storeError(err, what, sql.split(' ', 2).join(' '));
      }
    },
  });
  return {
    kind: 'postgres',
    label,
    ...on(pool),
    async locked<T>(lockSql: string, fn: (q: Query) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        try {
          const q = on(client);
          await q.all(lockSql);
          const result = await fn(q);
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => (broken = true));
          throw err;
        }
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

function pgParam(p: unknown): unknown {
  return p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p;
}

/** A BLOB / bytea column as bytes. */
export function bytesOf(v: unknown): Uint8Array {
  return new Uint8Array(v as Buffer);
}

/** An INTEGER / BIGINT column as a number. */
export function numberOf(v: unknown): number {
  return Number(v);
}
