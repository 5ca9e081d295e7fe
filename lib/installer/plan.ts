// What an update will do to a site, decided from facts gathered beforehand (lib/installer/inspect.ts).
// Pure: no I/O, so tests can drive every rule with hand-made facts.
//
// The order of the steps is the commit order:
//   1. mkdir: every directory an added file needs that the site lacks, parents first (mode 0755);
//   2. the files (add, modify, delete) in path byte order, except the version file, which comes last,
//      so the site never reports the new version while old files remain;
//   3. rmdir: directories the deletes leave empty, deepest first (the new release has no such directory).
import type { FileOp, Manifest } from '../core/manifest.js';
import { caseFoldKey, checkPathSet, sortByPathBytes, type FileMode } from '../core/paths.js';
import { versionFileOf } from '../core/version-file.js';

/** What lstat said about one path of the site (never followed: a symbolic link is reported as one). */
export type NodeFact =
  | { kind: 'missing' }
  | { kind: 'dir'; dev: number; mode: number; uid?: number; id?: string }
  | { kind: 'file'; dev: number; mode: number; size: number; sha256?: string }
  | { kind: 'symlink' }
  | { kind: 'other' };

export interface SiteFacts {
  /** The device of the site root: every directory written to must be on it (rename() cannot cross devices). */
  dev: number;
  /** The site root itself, as a directory fact ('' in `nodes` is not used): its owner is the site owner. */
  root?: Extract<NodeFact, { kind: 'dir' }>;
  /** By path relative to the root: every op's target and every ancestor directory looked at. */
  nodes: ReadonlyMap<string, NodeFact>;
  /** Names in a directory ('' is the root): for case-fold collisions and for directories left empty. */
  listings: ReadonlyMap<string, readonly string[]>;
}

export type Step =
  | { op: 'mkdir'; path: string }
  | { op: 'add'; path: string; slot: number; sha256: string; size: number; mode: FileMode }
  | { op: 'modify'; path: string; slot: number; sha256: string; size: number; mode: FileMode; previousSha256: string }
  | { op: 'delete'; path: string; slot: number; previousSha256: string }
  | { op: 'rmdir'; path: string; mode: number };

export type FileStep = Extract<Step, { op: 'add' | 'modify' | 'delete' }>;
export type StagedStep = Extract<Step, { op: 'add' | 'modify' }>;

/** A file whose content is not what the release expects to replace or delete. */
export interface LocalChange {
  path: string;
  op: 'modify' | 'delete';
  /** The SHA-256 the manifest expects (previousSha256). */
  expected: string;
  /** What the site has: its SHA-256, or null when the file is missing. */
  found: string | null;
}

export type ProblemCode =
  | 'SYMLINK'
  | 'NOT_A_DIRECTORY'
  | 'NOT_A_FILE'
  | 'TARGET_EXISTS'
  | 'CASE_COLLISION'
  | 'OTHER_FILESYSTEM'
  | 'NO_SPACE'
  | 'STATE_DIR'
  | 'NO_HARD_LINKS'
  | 'VERSION_UNKNOWN'
  | 'VERSION_MISMATCH'
  | 'UNFINISHED_JOURNAL'
  | 'TARGET_UNKNOWN'
  | 'POST_COMMAND_MISSING'
  | 'TARGET_AMBIGUOUS'
  | 'SHARED_WRITE'
  | 'ROOT_PARENT'
  | 'ROOT_REPLACED'
  | 'UNSUPPORTED_PLATFORM';

/** One reason the update cannot go ahead (PREFLIGHT_FAILED lists them all). */
export interface Problem {
  code: ProblemCode;
  message: string;
  path?: string;
}

export interface Plan {
  /** In commit order. */
  steps: Step[];
  /** Locally modified or missing files the update would have to overwrite or delete (→ LOCAL_CHANGES). */
  localChanges: LocalChange[];
  /** With keepLocal: the local changes left alone, their ops skipped. */
  kept: LocalChange[];
  problems: Problem[];
  /** The file written last (null: none of the steps writes one). */
  versionFile: string | null;
  /** Files to stage (the add and modify steps) and their bytes. */
  stagedFiles: number;
  stagedBytes: number;
  /** DEV:INO of every existing directory the facts name ('' the root): the commit acts only in these (lib/installer/pinned-dir.ts). */
  checkedDirs: ReadonlyMap<string, string>;
}

export interface PlanOptions {
  /** Keep locally modified files: skip their ops and report them, instead of refusing the update. The version file cannot be kept. */
  keepLocal?: boolean;
}

/** Every proper ancestor directory of a relative path, shallowest first: 'a', 'a/b' for 'a/b/c'. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

const MISSING: NodeFact = { kind: 'missing' };

/**
 * Decides the steps of an update from the manifest and the facts about the site. Refuses (throws
 * ArchiveError UNSAFE_PATH) a manifest whose paths break the path rules, even though verification
 * already did: no path reaches the file system without passing them here too.
 */
export function planUpdate(manifest: Pick<Manifest, 'files' | 'product' | 'component' | 'versionFile'>, facts: SiteFacts, opts: PlanOptions = {}): Plan {
  checkPathSet(manifest.files.map((f) => f.path));
  const versionFile = versionFileOf(manifest as Manifest);
  const problems: Problem[] = [];
  const problemKeys = new Set<string>();
  const problem = (code: ProblemCode, path: string, message: string) => {
    const key = `${code}\0${path}`;
    if (problemKeys.has(key)) return;
    problemKeys.add(key);
    problems.push({ code, path, message });
  };
  const localChanges: LocalChange[] = [];
  const kept: LocalChange[] = [];
  const mkdirs = new Set<string>();
  const fileSteps: FileStep[] = [];
  // Names created in each directory, by case-fold key, seeded from its listing when it exists.
  const created = new Map<string, Map<string, string>>();
  const createName = (parent: string, name: string, path: string) => {
    let names = created.get(parent);
    if (!names) {
      names = new Map((facts.listings.get(parent) ?? []).map((n) => [caseFoldKey(n), n]));
      created.set(parent, names);
    }
    const key = caseFoldKey(name);
    const other = names.get(key);
    if (other !== undefined && other !== name) {
      problem(
        'CASE_COLLISION',
        path,
        `${path} would sit beside ${JSON.stringify(parent === '' ? other : `${parent}/${other}`)}, the same name after case folding`,
      );
    }
    names.set(key, name);
  };

  const ops = sortByPathBytes(manifest.files);
  ops.forEach((op, slot) => {
    const dirs = ancestors(op.path);
    let missingFrom = -1;
    let blocked = false;
    for (let i = 0; i < dirs.length; i++) {
      const dir = dirs[i]!;
      const node = facts.nodes.get(dir) ?? MISSING;
      if (node.kind === 'missing') {
        missingFrom = i;
        break;
      }
      if (node.kind === 'symlink') {
        problem('SYMLINK', dir, `${dir} is a symbolic link; the installer never writes through one (${op.path})`);
        blocked = true;
        break;
      }
      if (node.kind !== 'dir') {
        problem('NOT_A_DIRECTORY', dir, `${dir} is not a directory, but ${op.path} needs it to be one`);
        blocked = true;
        break;
      }
      if (node.dev !== facts.dev)
        problem('OTHER_FILESYSTEM', dir, `${dir} is on another file system than the site root (a mount point); files cannot be renamed into it atomically`);
    }
    if (blocked) return;
    const target = missingFrom >= 0 ? MISSING : (facts.nodes.get(op.path) ?? MISSING);

    if (op.op === 'add') {
      if (target.kind === 'symlink') return problem('SYMLINK', op.path, `${op.path} is a symbolic link where the release adds a file`);
      if (target.kind !== 'missing') return problem('TARGET_EXISTS', op.path, `${op.path} already exists, but the release adds it as a new file`);
      if (missingFrom >= 0) {
        for (let i = missingFrom; i < dirs.length; i++) {
          mkdirs.add(dirs[i]!);
          createName(i === 0 ? '' : dirs[i - 1]!, nameOf(dirs[i]!), dirs[i]!);
        }
      }
      createName(parentOf(op.path), nameOf(op.path), op.path);
      fileSteps.push({ op: 'add', path: op.path, slot, sha256: op.sha256, size: op.size, mode: op.mode });
      return;
    }

    if (target.kind === 'symlink')
      return problem('SYMLINK', op.path, `${op.path} is a symbolic link; the release ${op.op === 'modify' ? 'modifies' : 'deletes'} a regular file there`);
    if (target.kind === 'dir' || target.kind === 'other') return problem('NOT_A_FILE', op.path, `${op.path} is not a regular file`);
    const found = target.kind === 'file' ? (target.sha256 ?? null) : null;
    if (target.kind === 'file' && target.sha256 === undefined) throw new Error(`internal: ${op.path} was not hashed`);
    if (found !== op.previousSha256) {
      const change: LocalChange = { path: op.path, op: op.op, expected: op.previousSha256, found };
      if (opts.keepLocal && op.path !== versionFile) kept.push(change);
      else localChanges.push(change);
      return;
    }
    fileSteps.push(
      op.op === 'modify'
        ? { op: 'modify', path: op.path, slot, sha256: op.sha256, size: op.size, mode: op.mode, previousSha256: op.previousSha256 }
        : { op: 'delete', path: op.path, slot, previousSha256: op.previousSha256 },
    );
  });

  const rmdirs = emptiedDirectories(fileSteps, ops, kept, facts);
  const last = fileSteps.findIndex((s) => s.path === versionFile);
  if (last !== -1) fileSteps.push(...fileSteps.splice(last, 1));
  const staged = fileSteps.filter((s): s is StagedStep => s.op !== 'delete');
  return {
    steps: [...sortByPathBytes([...mkdirs].map((path) => ({ op: 'mkdir' as const, path }))), ...fileSteps, ...rmdirs],
    localChanges,
    kept,
    problems,
    versionFile: last !== -1 ? versionFile : null,
    stagedFiles: staged.length,
    stagedBytes: staged.reduce((sum, s) => sum + s.size, 0),
    checkedDirs: checkedDirsOf(facts),
  };
}

function checkedDirsOf(facts: SiteFacts): Map<string, string> {
  const out = new Map<string, string>();
  if (facts.root?.id !== undefined) out.set('', facts.root.id);
  for (const [rel, node] of facts.nodes) if (node.kind === 'dir' && node.id !== undefined) out.set(rel, node.id);
  return out;
}

/**
 * SHARED_WRITE for each existing directory the plan writes into (creates, renames or removes a name
 * in), or passes on the way there from the root, that a user other than the site owner (the root's
 * owner) could write: group- or other-writable (sticky or not), or owned by another uid than the site
 * owner or root. Such a user could swap what was checked for something else while the update runs.
 */
export function sharedWriteProblems(plan: Pick<Plan, 'steps'>, facts: SiteFacts): Problem[] {
  const owner = facts.root?.uid;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const dirs = plan.steps.flatMap((step) => ['', ...ancestors(step.path)]);
  for (const dir of dirs) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    const node = dir === '' ? facts.root : facts.nodes.get(dir);
    if (node?.kind !== 'dir') continue; // made by this update
    const where = dir === '' ? 'the site root' : dir;
    const others = node.mode & 0o022;
    if (others !== 0) {
      problems.push({
        code: 'SHARED_WRITE',
        path: dir,
        message: `${where} is writable by ${(others & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(node.mode & 0o7777).toString(8)}), so another user could swap what the update writes to; make it writable by the site owner only, or pass --allow-shared-write when the web server is meant to own the code`,
      });
    } else if (owner !== undefined && node.uid !== undefined && node.uid !== owner && node.uid !== 0) {
      problems.push({
        code: 'SHARED_WRITE',
        path: dir,
        message: `${where} is owned by uid ${node.uid}, not by the site owner (uid ${owner}), so that user could swap what the update writes to; chown it to the site owner, or pass --allow-shared-write`,
      });
    }
  }
  return problems;
}

/** A directory above the site root (inspect.ts inspectRootParents). */
export interface RootParentFact {
  path: string;
  isDir: boolean;
  uid: number;
  mode: number;
  /** The owner of its entry on the way to the root (the root itself for the root's parent). */
  childUid: number;
  /** Why it could not be examined. */
  error?: string;
}

/**
 * ROOT_PARENT for each directory from the site root's parent up to `/` that lets a user other than
 * the site owner or root rename the root (or a directory above it) away and put a decoy in its
 * place: owned by another uid (its owner can always chmod it writable; sticky does not bind the
 * directory's owner), or group/other-writable, except a sticky directory (like /tmp) whose entry on
 * the way is owned by the site owner or root, which nobody else may rename or remove there.
 * --allow-shared-write does not waive this: it is for a web server owning the code below the root
 * (then it is the site owner), never for someone else being able to replace the whole site.
 */
export function rootParentProblems(parents: readonly RootParentFact[], owner: number): Problem[] {
  const trusted = (uid: number) => uid === 0 || uid === owner;
  const problems: Problem[] = [];
  const refuse = (path: string, why: string) =>
    problems.push({
      code: 'ROOT_PARENT',
      path,
      message: `${path}, above the site root, ${why}, so they could swap the site root for a decoy the update would go into; the site must sit below directories only the site owner or root can change`,
    });
  for (const p of parents) {
    if (!p.isDir) refuse(p.path, p.error ? `cannot be examined (${p.error}) to tell who can change it` : 'is no longer a directory (a link was put there)');
    else if (!trusted(p.uid)) refuse(p.path, `is owned by uid ${p.uid}, neither the site owner (uid ${owner}) nor root`);
    else if ((p.mode & 0o022) !== 0 && !((p.mode & 0o1000) !== 0 && trusted(p.childUid))) {
      refuse(
        p.path,
        `is writable by ${(p.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(p.mode & 0o7777).toString(8)}${(p.mode & 0o1000) !== 0 ? `, sticky, but its entry on the way is owned by uid ${p.childUid}` : ''})`,
      );
    }
  }
  return problems;
}

/**
 * Directories that hold nothing once the deletes are done (judged from their listings), deepest
 * first. A directory with anything else in it, or on the way to a file that stays, is kept.
 */
function emptiedDirectories(fileSteps: FileStep[], ops: FileOp[], kept: LocalChange[], facts: SiteFacts): Step[] {
  const deletes = fileSteps.filter((s) => s.op === 'delete');
  if (deletes.length === 0) return [];
  const keptPaths = new Set(kept.map((k) => k.path));
  const stays = new Set<string>();
  for (const op of ops) {
    if (op.op !== 'delete' || keptPaths.has(op.path)) for (const dir of ancestors(op.path)) stays.add(dir);
  }
  const gone = new Map<string, Set<string>>();
  const remove = (path: string) => {
    const parent = parentOf(path);
    if (!gone.has(parent)) gone.set(parent, new Set());
    gone.get(parent)!.add(nameOf(path));
  };
  deletes.forEach((d) => remove(d.path));
  const candidates = [...new Set(deletes.flatMap((d) => ancestors(d.path)))].sort(
    (a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : a > b ? 1 : 0),
  );
  const steps: Step[] = [];
  for (const dir of candidates) {
    if (stays.has(dir)) continue;
    const listing = facts.listings.get(dir);
    const node = facts.nodes.get(dir);
    if (listing === undefined || node?.kind !== 'dir') continue;
    const removed = gone.get(dir) ?? new Set<string>();
    if (listing.every((name) => removed.has(name))) {
      steps.push({ op: 'rmdir', path: dir, mode: node.mode & 0o7777 });
      remove(dir);
    }
  }
  return steps;
}

/** The bytes and inodes an update needs on the site's file system: staged files (whole blocks), the journal, and a margin. */
export function spaceNeeded(plan: Plan, blockSize: number): { bytes: number; inodes: number } {
  const bsize = blockSize > 0 ? blockSize : 4096;
  let bytes = 0;
  for (const s of plan.steps) if (s.op === 'add' || s.op === 'modify') bytes += Math.ceil(s.size / bsize) * bsize;
  bytes += plan.steps.length * 1024 + (1 << 20);
  const mkdirs = plan.steps.filter((s) => s.op === 'mkdir').length;
  return { bytes, inodes: plan.stagedFiles + mkdirs + 16 };
}

/** A NO_SPACE problem when the file system has less room than the update needs (statfs: bavail × bsize, ffree). */
export function checkSpace(plan: Plan, fs: { bsize: number; bavail: number; ffree: number; files?: number }, where: string): Problem | null {
  const need = spaceNeeded(plan, fs.bsize);
  const free = fs.bavail * fs.bsize;
  if (free < need.bytes) {
    return { code: 'NO_SPACE', path: where, message: `the update needs ${need.bytes} bytes on the site's file system; ${free} are free` };
  }
  // Some file systems report no inode limit at all (files = 0).
  if (fs.files !== 0 && fs.ffree < need.inodes) {
    return { code: 'NO_SPACE', path: where, message: `the update needs ${need.inodes} free inodes on the site's file system; ${fs.ffree} are free` };
  }
  return null;
}

/** The ops and paths of a plan, in commit order: what a dry run reports. */
export function describeSteps(steps: readonly Step[]): Array<{ op: Step['op']; path: string }> {
  return steps.map((s) => ({ op: s.op, path: s.path }));
}

export function countSteps(steps: readonly Step[]): Record<Step['op'], number> {
  const counts = { mkdir: 0, add: 0, modify: 0, delete: 0, rmdir: 0 };
  for (const s of steps) counts[s.op]++;
  return counts;
}
