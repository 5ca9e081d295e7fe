// Gathering the facts a plan is decided from (lib/installer/plan.ts): lstat of every path an update
// touches and of each directory on the way to it (never following a link), the SHA-256 of every file
// it modifies or deletes, and the listings needed for case-fold collisions and emptied directories.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../errors.js';
import type { Manifest } from '../manifest.js';
import { checkPath, sortByPathBytes } from '../paths.js';
import { errnoOf, hashFile, lstatBig, lstatOrMissing, readSmallFile } from './fsutil.js';
import { ancestors, parentOf, type NodeFact, type SiteFacts } from './plan.js';
import { parseVersionText, versionFilesToRead } from './version-file.js';

function factOf(abs: string): NodeFact {
  const st = lstatBig(abs);
  if (!st) return { kind: 'missing' };
  if (st.isSymbolicLink()) return { kind: 'symlink' };
  // A directory's identity (DEV:INO) and owner: the commit acts only in the directory checked here.
  if (st.isDirectory()) return { kind: 'dir', dev: Number(st.dev), mode: Number(st.mode), uid: Number(st.uid), id: `${st.dev}:${st.ino}` };
  if (st.isFile()) return { kind: 'file', dev: Number(st.dev), mode: Number(st.mode), size: Number(st.size) };
  return { kind: 'other' };
}

export function inspectSite(root: string, manifest: Pick<Manifest, 'files'>): SiteFacts {
  try {
    return inspect(root, manifest);
  } catch (err) {
    if (err instanceof InstallError) throw err;
    throw new InstallError('PREFLIGHT_FAILED', `cannot inspect the site ${root}: ${errnoOf(err)}`, { problems: [{ code: 'IO', message: errnoOf(err) }] });
  }
}

function inspect(root: string, manifest: Pick<Manifest, 'files'>): SiteFacts {
  const rootFact = factOf(root);
  if (rootFact.kind !== 'dir') throw new InstallError('PREFLIGHT_FAILED', `the site root ${root} is not a directory`, { problems: [{ code: 'NOT_A_DIRECTORY', path: root, message: 'the site root is not a directory' }] });
  const nodes = new Map<string, NodeFact>();
  const listings = new Map<string, string[]>();
  const node = (rel: string): NodeFact => {
    let fact = nodes.get(rel);
    if (!fact) {
      fact = factOf(join(root, rel));
      nodes.set(rel, fact);
    }
    return fact;
  };
  const list = (rel: string) => {
    if (!listings.has(rel)) listings.set(rel, readdirSync(rel === '' ? root : join(root, rel)));
  };
  for (const op of sortByPathBytes(manifest.files)) {
    checkPath(op.path);
    const dirs = ancestors(op.path);
    let deepest = ''; // the deepest existing directory on the way
    let reached = true;
    for (const dir of dirs) {
      const fact = node(dir);
      if (fact.kind !== 'dir') {
        reached = false;
        break;
      }
      deepest = dir;
    }
    if (op.op === 'add') list(deepest);
    if (!reached) continue;
    const target = node(op.path);
    if (op.op === 'delete') {
      list(parentOf(op.path));
      for (const dir of dirs) list(dir);
    }
    if (op.op !== 'add' && target.kind === 'file') {
      try {
        const { sha256, size, stat } = hashFile(join(root, op.path));
        nodes.set(op.path, { kind: 'file', dev: stat.dev, mode: stat.mode, size, sha256 });
      } catch (err) {
        // Replaced by a link (ELOOP) or something else between lstat and open.
        if (errnoOf(err) === 'ELOOP') nodes.set(op.path, { kind: 'symlink' });
        else if (errnoOf(err) === 'ENOENT') nodes.set(op.path, { kind: 'missing' });
        else throw err;
      }
    }
  }
  return { dev: rootFact.dev, root: rootFact, nodes, listings };
}

/** True when every directory on the way to `rel` (not `rel` itself) is a real directory, not a link. */
export function pathHasNoLinks(root: string, rel: string): boolean {
  for (const dir of ancestors(rel)) {
    const st = lstatOrMissing(join(root, dir));
    if (!st || !st.isDirectory()) return false;
  }
  return true;
}

export interface DetectedVersion {
  path: string;
  version: string;
}

/** The installed version as the site's own version file states it, or null when none is found or readable. */
export function detectInstalledVersion(root: string, manifest: Pick<Manifest, 'product' | 'component' | 'versionFile'>): DetectedVersion | null {
  for (const path of versionFilesToRead(manifest)) {
    try {
      checkPath(path);
      if (!pathHasNoLinks(root, path)) continue;
      const text = readSmallFile(join(root, path));
      if (text === undefined) continue;
      const version = parseVersionText(text);
      if (version !== null) return { path, version };
    } catch {
      // unreadable (a link, a directory, no permission): not a version file we can trust
    }
  }
  return null;
}
