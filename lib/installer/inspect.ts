// Gathering the facts a plan is decided from (lib/installer/plan.ts): lstat of every path an update
// touches and of each directory on the way to it (never following a link), the SHA-256 of every file
// it modifies or deletes, and the listings needed for case-fold collisions and emptied directories.
// Every look goes through the site root pinned by descriptor (/proc/self/fd/N, lib/installer/pinned-dir.ts),
// which must be the directory sitePaths pinned (DEV:INO): a root renamed away and replaced by a decoy
// before the preflight is ROOT_REPLACED, never inspected in its place.
import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InstallError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { checkPath, sortByPathBytes } from '../core/paths.js';
import { hashFile, lstatBig, lstatOrMissing, readSmallFile } from './fsutil.js';
import { PinnedDir, requirePinning } from './pinned-dir.js';
import { ancestors, parentOf, type NodeFact, type RootParentFact, type SiteFacts } from './plan.js';
import { parseVersionText, versionFilesToRead } from '../core/version-file.js';
import { errnoOf } from '../core/errno.js';

function factOf(abs: string): NodeFact {
  const st = lstatBig(abs);
  if (!st) return { kind: 'missing' };
  if (st.isSymbolicLink()) return { kind: 'symlink' };
  // A directory's identity (DEV:INO) and owner: the commit acts only in the directory checked here.
  if (st.isDirectory()) return { kind: 'dir', dev: Number(st.dev), mode: Number(st.mode), uid: Number(st.uid), id: `${st.dev}:${st.ino}` };
  if (st.isFile()) return { kind: 'file', dev: Number(st.dev), mode: Number(st.mode), size: Number(st.size) };
  return { kind: 'other' };
}

/** The site root as sitePaths resolved and pinned it (SitePaths has both). */
export interface SiteRoot {
  root: string;
  /** DEV:INO of the root when it was pinned. */
  rootId: string;
}

/**
 * Runs `look` with the path of the pinned site root (/proc/self/fd/N), after checking that the
 * directory now at `site.root` is the one pinned; PREFLIGHT_FAILED (ROOT_REPLACED) when it is not.
 */
export function inPinnedRoot<T>(site: SiteRoot, look: (base: string) => T): T {
  requirePinning();
  let root: PinnedDir;
  try {
    root = PinnedDir.open(site.root);
  } catch (err) {
    throw rootReplaced(site, errnoOf(err));
  }
  try {
    if (root.id !== site.rootId) throw rootReplaced(site, `it is the directory ${root.id}, not ${site.rootId}`);
    return look(root.self);
  } finally {
    root.close();
  }
}

function rootReplaced(site: SiteRoot, why: string): InstallError {
  const message = `the site root ${site.root} is no longer the directory this run started with (${why}): it was moved or replaced; nothing was touched`;
  return new InstallError('PREFLIGHT_FAILED', message, { problems: [{ code: 'ROOT_REPLACED', path: site.root, message }] });
}

export function inspectSite(site: SiteRoot, manifest: Pick<Manifest, 'files'>): SiteFacts {
  try {
    return inPinnedRoot(site, (base) => inspect(base, site.root, manifest));
  } catch (err) {
    if (err instanceof InstallError) throw err;
    throw new InstallError('PREFLIGHT_FAILED', `cannot inspect the site ${site.root}: ${errnoOf(err)}`, { problems: [{ code: 'IO', message: errnoOf(err) }] });
  }
}

/** `root`: the pinned root's path (/proc/self/fd/N); `display`: its name in messages. */
function inspect(root: string, display: string, manifest: Pick<Manifest, 'files'>): SiteFacts {
  const rootFact = factOf(`${root}/.`); // through the magic link, to the directory itself
  if (rootFact.kind !== 'dir')
    throw new InstallError('PREFLIGHT_FAILED', `the site root ${display} is not a directory`, {
      problems: [{ code: 'NOT_A_DIRECTORY', path: display, message: 'the site root is not a directory' }],
    });
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
        const { sha256, size, mode, devNumber } = hashFile(join(root, op.path));
        nodes.set(op.path, { kind: 'file', dev: devNumber, mode, size, sha256 });
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

/** The installed version as the site's own version file states it (read through the pinned root), or null when none is found or readable. */
export function detectInstalledVersion(site: SiteRoot, manifest: Pick<Manifest, 'product' | 'component' | 'versionFile'>): DetectedVersion | null {
  return inPinnedRoot(site, (root) => readVersion(root, manifest));
}

function readVersion(root: string, manifest: Pick<Manifest, 'product' | 'component' | 'versionFile'>): DetectedVersion | null {
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

/**
 * Every directory from the site root's parent up to `/`, with the owner of its entry on the way to
 * the root (lstat, never following a link): who could rename the root away (plan.ts rootParentProblems).
 */
export function inspectRootParents(root: string): RootParentFact[] {
  const out: RootParentFact[] = [];
  let child = root;
  while (child !== '/') {
    const dir = dirname(child);
    try {
      const st = lstatSync(dir);
      const entry = lstatSync(child);
      out.push({ path: dir, isDir: st.isDirectory(), uid: st.uid, mode: st.mode, childUid: entry.uid });
    } catch (err) {
      out.push({ path: dir, isDir: false, uid: -1, mode: 0, childUid: -1, error: errnoOf(err) });
    }
    child = dir;
  }
  return out;
}
