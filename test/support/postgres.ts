// Throwaway PostgreSQL databases for tests. The server is COUNTERSIGN_TEST_POSTGRES (a URL whose user
// may create databases), by default the local one with trust auth; tests skip when it is unreachable.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env.COUNTERSIGN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let available: Promise<boolean> | undefined;

/** Whether the test server answers within 2 s; asked once per run. */
export function postgresAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return available;
}

/** The test server's URL without its password, for skip messages. */
export function testPostgresLabel(): string {
  const url = new URL(TEST_POSTGRES_URL);
  if (url.password !== '') url.password = '***';
  return url.toString();
}

/** Skips the calling suite or test, saying why, when the test server is unreachable. */
export async function skipWithoutPostgres(ctx: Mocha.Context): Promise<void> {
  if (await postgresAvailable()) return;
  console.log(`      PostgreSQL not reachable at ${testPostgresLabel()}: skipping; set COUNTERSIGN_TEST_POSTGRES`);
  ctx.skip();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new empty database on the test server; drop() removes it, closing any connection left open. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `countersign_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}) };
}

/** Runs `fn` with the URL of a throwaway database, dropped afterwards whatever happens. */
export async function withTestDatabase(fn: (url: string) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  try {
    await fn(db.url);
  } finally {
    await db.drop();
  }
}

/** Runs one statement directly, bypassing the registry (to set up states the registry refuses to make). */
export async function execute(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
