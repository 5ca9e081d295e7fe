// A site's registration with a hub: DIR/hub-credentials.json in the site's trust store directory, mode
// 0600, the only place the shared Hawk secret is kept on the site. Written whole, durably (temporary
// file, fsync, rename), before the hub is contacted, so the site endpoint can answer the hub's hello.
import type * as generated from '../core/generated/types.js';
import { randomBytes } from 'node:crypto';
import { constants, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64, fromUtf8, toBase64 } from '../core/bytes.js';
import { commitPending, tempPathFor, writeDurably } from '../node/durable.js';
import { CountersignError, DistributionError, StoreError, UsageError } from '../core/errors.js';
import type { HawkCredentials } from '../distribution/hawk.js';
import { parseStrictJson } from '../core/json.js';
import { validateService } from '../core/service-schema.js';
import { errnoOf } from '../core/errno.js';

export const CREDENTIALS_FILE = 'hub-credentials.json';
const MAX_CREDENTIALS_BYTES = 64 * 1024;

/** `site` (16 random bytes, hex) is the Hawk id; `key` (32 random bytes, base64) the Hawk key. */
export type SiteCredentials = generated.SiteCredentials;

export function credentialsPath(storeDir: string): string {
  return join(storeDir, CREDENTIALS_FILE);
}

/** A new id and secret for `hub`; nothing is written. */
export function newCredentials(hub: URL, endpoint: URL | null): SiteCredentials {
  return {
    format: 1,
    hub: hub.href,
    site: randomBytes(16).toString('hex'),
    key: toBase64(randomBytes(32)),
    endpoint: endpoint?.href ?? null,
    registered: null,
  };
}

export function hawkCredentials(c: SiteCredentials): HawkCredentials {
  return { id: c.site, key: fromBase64(c.key) };
}

/** Writes the credentials file (mode 0600) atomically; replaces an earlier one only when `replace`. */
export function writeCredentials(storeDir: string, creds: SiteCredentials, replace: boolean): void {
  const target = credentialsPath(storeDir);
  if (!replace && existsSync(target)) {
    throw new UsageError('USAGE', `${target} exists: this site is already registered (remove the file to register again)`);
  }
  const temp = tempPathFor(target);
  try {
    writeDurably(temp, `${JSON.stringify(validateService<SiteCredentials>('site-credentials', creds, 'site credentials'), null, 2)}\n`, 0o600);
  } catch (err) {
    throw new UsageError('IO', `cannot write ${target}: ${errnoOf(err)}`);
  }
  commitPending([{ target, temp }]);
}

/** Reads the credentials; refuses a file others can read (the secret would not be secret). */
export async function readCredentials(storeDir: string): Promise<SiteCredentials> {
  const path = credentialsPath(storeDir);
  let text: string;
  try {
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const info = await fh.stat();
      if (!info.isFile() || info.size > MAX_CREDENTIALS_BYTES) throw new StoreError('STORE_CORRUPT', `${path} is not a credentials file`);
      if ((info.mode & 0o077) !== 0)
        throw new StoreError('STORE_CORRUPT', `${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); it must be 0600`);
      text = fromUtf8(new Uint8Array(await fh.readFile()), path);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    if (errnoOf(err) === 'ENOENT') {
      throw new DistributionError('NOT_REGISTERED', `this site is not registered with a hub (no ${path}); run countersign site register`);
    }
    throw new UsageError('IO', `cannot read ${path}: ${errnoOf(err)}`);
  }
  try {
    return validateService<SiteCredentials>('site-credentials', parseStrictJson(text, path), path);
  } catch (err) {
    throw new StoreError('STORE_CORRUPT', (err as Error).message);
  }
}

/** True when DIR holds a credentials file (registered or pending). */
export function hasCredentials(storeDir: string): boolean {
  try {
    return statSync(credentialsPath(storeDir)).isFile();
  } catch {
    return false;
  }
}

/**
 * The credentials as the site endpoint looks them up on every request: re-read only when the file
 * changes (a registration in progress, a new registration), so a flood of forged requests costs a stat.
 */
export function credentialsLookup(storeDir: string): () => Promise<HawkCredentials | undefined> {
  let cached: { stamp: string; creds: HawkCredentials } | undefined;
  return async () => {
    let stamp: string;
    try {
      const info = statSync(credentialsPath(storeDir));
      stamp = `${info.ino}:${info.size}:${info.mtimeMs}:${info.mode}`;
    } catch {
      cached = undefined;
      return undefined;
    }
    if (cached?.stamp !== stamp) cached = { stamp, creds: hawkCredentials(await readCredentials(storeDir)) };
    return cached.creds;
  };
}
