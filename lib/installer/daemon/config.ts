// The installer daemon's configuration (schemas/installer-config.schema.json): which sites it serves, and
// for each the tree, the owner the worker runs as, and the trust store the daemon verifies against.
//
// {
//   "socketGroup": "www-data",                 optional; see below
//   "spool": "/var/lib/countersign-installer/spool",
//   "sites": {
//     "example": { "root": "/srv/example/web", "user": "example", "group": "www-data", "store": "/var/lib/countersign/example" }
//   }
// }
//
// The socket's group: the daemon makes one socket, mode 0660. Its group is `socketGroup` when given, else
// the group every site shares; when sites have different groups and no socketGroup is given the daemon
// refuses to start. Every member of that group may submit for every configured site (the daemon still
// applies only bundles that verify against that site's store); to keep groups apart, run one daemon per
// group, each with its own config and socket.
//
// Users and groups are names (resolved once, at start, with getent, falling back to /etc/passwd and
// /etc/group) or numeric ids. A site owned by root (uid 0) or run with group 0 is refused: the point of the
// daemon is that workers never have more than the site owner's rights.
import type * as generated from '../../core/generated/types.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { parseStrictJson } from '../../core/json.js';
import { validateService } from '../../core/service-schema.js';
import { errnoOf } from '../../core/errno.js';

export const DEFAULT_SPOOL = '/var/lib/countersign-installer/spool';
export const DEFAULTS = {
  maxBundleBytes: 1024 ** 3,
  maxQueue: 4,
  maxConnections: 64,
  maxConnectionsPerSite: 4,
  headerTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  receiveTimeoutMs: 600_000,
  jobTimeoutMs: 3_600_000,
};
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The file as written (schemas/installer-config.schema.json). */
export type InstallerConfigFile = generated.InstallerConfig;

export interface SiteConfig {
  name: string;
  root: string;
  store: string;
  /** apply/recover --state-dir; default theirs (PARENT/.countersign-SITENAME). */
  stateDir?: string;
  /** apply --allow-shared-write: code directories others can write are accepted. */
  allowSharedWrite?: boolean;
  uid: number;
  gid: number;
  /** The user's name and home when the passwd database knows the uid (for the worker's USER and HOME). */
  userName?: string;
  home?: string;
}

/** Checked, with every user and group resolved to ids. */
export interface InstallerConfig {
  socketGid: number;
  spool: string;
  cli?: string;
  maxBundleBytes: number;
  maxQueue: number;
  maxConnections: number;
  maxConnectionsPerSite: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  receiveTimeoutMs: number;
  jobTimeoutMs: number;
  sites: ReadonlyMap<string, SiteConfig>;
}

export interface ResolveOptions {
  /** Looks up passwd/group entries; default getent, then the files. Injectable for tests. */
  lookup?: (db: 'passwd' | 'group', key: string) => string[] | undefined;
  /** The uid the daemon runs as; default process.getuid(). */
  uid?: number;
  gid?: number;
}

export function readInstallerConfig(path: string, opts: ResolveOptions = {}): InstallerConfig {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_CONFIG_BYTES) throw new UsageError('IO', `the installer config ${path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot read the installer config ${path}: ${errnoOf(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseStrictJson(text, `the installer config ${path}`);
  } catch (err) {
    throw new UsageError('USAGE', (err as Error).message);
  }
  return resolveInstallerConfig(raw, opts);
}

/** Validates a parsed config and resolves its users and groups. Every problem is a UsageError('USAGE'). */
export function resolveInstallerConfig(raw: unknown, opts: ResolveOptions = {}): InstallerConfig {
  let file: InstallerConfigFile;
  try {
    file = validateService<InstallerConfigFile>('installer-config', raw, 'the installer config');
  } catch (err) {
    throw new UsageError('USAGE', (err as Error).message);
  }
  const lookup = opts.lookup ?? getent;
  const selfUid = opts.uid ?? process.getuid!();
  const selfGid = opts.gid ?? process.getgid!();
  const sites = new Map<string, SiteConfig>();
  for (const [name, site] of Object.entries(file.sites)) {
    const where = `site ${name}`;
    const root = checkPath(site.root, `${where}: root`);
    if (root === '/') throw new UsageError('USAGE', `${where}: the root may not be /`);
    const user = resolveUser(site.user, lookup, where);
    const gid = resolveGroup(site.group, lookup, `${where}: group`);
    if (user.uid === 0) throw new UsageError('USAGE', `${where}: the site owner may not be root (uid 0); workers run as the owner`);
    if (gid === 0) throw new UsageError('USAGE', `${where}: the group may not be group 0`);
    if (selfUid !== 0 && (user.uid !== selfUid || gid !== selfGid)) {
      throw new UsageError(
        'USAGE',
        `${where}: the daemon runs as uid ${selfUid} (not root), so it can only run workers as itself (uid ${selfUid}, gid ${selfGid}), not as uid ${user.uid} gid ${gid}`,
      );
    }
    sites.set(name, {
      name,
      root,
      store: checkPath(site.store, `${where}: store`),
      ...(site.stateDir !== undefined && { stateDir: checkPath(site.stateDir, `${where}: stateDir`) }),
      ...(site.allowSharedWrite === true && { allowSharedWrite: true }),
      uid: user.uid,
      gid,
      userName: user.name,
      home: user.home,
    });
  }
  let socketGid: number;
  if (file.socketGroup !== undefined) {
    socketGid = resolveGroup(file.socketGroup, lookup, 'socketGroup');
  } else {
    const gids = [...new Set([...sites.values()].map((s) => s.gid))];
    if (gids.length !== 1) {
      throw new UsageError(
        'USAGE',
        `the sites have different groups (${gids.join(', ')}): name the socket's group with "socketGroup", or run one daemon per group`,
      );
    }
    socketGid = gids[0]!;
  }
  return {
    socketGid,
    spool: checkPath(file.spool ?? DEFAULT_SPOOL, 'spool'),
    cli: file.cli === undefined ? undefined : checkPath(file.cli, 'cli'),
    maxBundleBytes: file.maxBundleBytes ?? DEFAULTS.maxBundleBytes,
    maxQueue: file.maxQueue ?? DEFAULTS.maxQueue,
    maxConnections: file.maxConnections ?? DEFAULTS.maxConnections,
    maxConnectionsPerSite: file.maxConnectionsPerSite ?? DEFAULTS.maxConnectionsPerSite,
    headerTimeoutMs: file.headerTimeoutMs ?? DEFAULTS.headerTimeoutMs,
    idleTimeoutMs: file.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    receiveTimeoutMs: file.receiveTimeoutMs ?? DEFAULTS.receiveTimeoutMs,
    jobTimeoutMs: file.jobTimeoutMs ?? DEFAULTS.jobTimeoutMs,
    sites,
  };
}

function checkPath(path: string, what: string): string {
  if (!isAbsolute(path) || path.includes('\0')) throw new UsageError('USAGE', `${what}: ${JSON.stringify(path)} is not an absolute path`);
  const normal = normalize(path);
  const trimmed = normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
  if (path.split('/').includes('..')) throw new UsageError('USAGE', `${what}: ${JSON.stringify(path)} may not contain ..`);
  return trimmed;
}

function resolveUser(
  principal: generated.InstallerConfigPrincipal,
  lookup: NonNullable<ResolveOptions['lookup']>,
  where: string,
): { uid: number; name?: string; home?: string } {
  const entry = lookup('passwd', String(principal));
  if (typeof principal === 'number') {
    // A numeric uid needs no entry; when there is one, it gives the worker its USER and HOME.
    return entry && Number(entry[2]) === principal ? { uid: principal, name: entry[0], home: entry[5] } : { uid: principal };
  }
  if (!entry) throw new UsageError('USAGE', `${where}: there is no user ${JSON.stringify(principal)}`);
  const uid = Number(entry[2]);
  if (!Number.isSafeInteger(uid) || uid < 0) throw new UsageError('USAGE', `${where}: the passwd entry of ${principal} has no valid uid`);
  return { uid, name: entry[0], home: entry[5] };
}

function resolveGroup(principal: generated.InstallerConfigPrincipal, lookup: NonNullable<ResolveOptions['lookup']>, where: string): number {
  if (typeof principal === 'number') return principal;
  const entry = lookup('group', principal);
  if (!entry) throw new UsageError('USAGE', `${where}: there is no group ${JSON.stringify(principal)}`);
  const gid = Number(entry[2]);
  if (!Number.isSafeInteger(gid) || gid < 0) throw new UsageError('USAGE', `${where}: the group entry of ${principal} has no valid gid`);
  return gid;
}

/** One passwd or group entry, split on ':', by name or id: getent (NSS: LDAP, sssd...), else the local file. */
export function getent(db: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const out = execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    const line = out.split('\n')[0];
    if (line) return line.split(':');
    return undefined;
  } catch (err) {
    // Exit 2 is "not found"; anything else (no getent at all) falls back to the files.
    if ((err as { status?: number }).status === 2) return undefined;
  }
  try {
    const text = readFileSync(db === 'passwd' ? '/etc/passwd' : '/etc/group', 'utf8');
    const byId = /^\d+$/.test(key);
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      if (fields.length < 3) continue;
      if (byId ? fields[2] === key : fields[0] === key) return fields;
    }
  } catch {
    // no file: unknown
  }
  return undefined;
}
