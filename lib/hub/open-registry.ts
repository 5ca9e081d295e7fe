// Opens the hub's registry: picks the backend (SQLite or PostgreSQL) from the URL's scheme (registry.ts).
import { UsageError } from '../core/errors.js';
import { redactUrl, type OpenOptions, type Registry } from './registry.js';
import { openPostgresRegistry } from './registry-postgres.js';
import { openSqliteRegistry } from './registry-sqlite.js';

/**
 * Opens `sqlite:PATH` or `postgres://…` / `postgresql://…`, creating the tables if absent. With
 * mustExist, a registry never created (no SQLite file, no schema in the database) is REGISTRY
 * {missing} and nothing is created.
 */
export async function openRegistry(url: string, opts: OpenOptions = {}): Promise<Registry> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new UsageError('USAGE', 'registry URL sqlite: needs a path, e.g. sqlite:/var/lib/countersign/hub.db');
    return openSqliteRegistry(path, opts);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    if (!URL.canParse(url)) throw new UsageError('USAGE', `registry URL ${redactUrl(url)} is not a valid PostgreSQL URL`);
    return openPostgresRegistry(url, opts);
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
  throw new UsageError('USAGE', `registry URL must be sqlite:PATH or postgres://…${scheme ? `, not ${scheme}…` : ''}`);
}
