// Building a release: scan the new tree (and the base tree), derive file operations, write the
// deterministic archive, and produce the canonical manifest payload. File I/O lives here, at the edge.
import { hash } from 'node:crypto';
import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { fromUtf8 } from '../core/bytes.js';
import { canonicalBytes } from '../core/canonical.js';
import { createEnvelope, type Envelope } from '../core/envelope.js';
import { ArchiveError, FormatError, UsageError } from '../core/errors.js';
import { checkManifest, type AddOp, type FileOp, type Manifest } from '../core/manifest.js';
import { checkPathSet, sortByPathBytes, type FileMode, type PathSet } from '../core/paths.js';
import { computeRisk } from '../core/risk.js';
import { validate } from '../core/schema.js';
import { TarWriter, type TarEntryRecord, type TarSink, type TarSummary } from '../core/tar.js';
import { formatTimestamp } from '../core/time.js';
import { checkStatedVersion, defaultVersionFile, parseVersionText, versionFileCandidates } from '../core/version-file.js';
import { parseVersion } from '../core/version.js';
import { fdSink } from './fd-sink.js';
import { ThreadedArchiveSink } from './archive-sink.js';
import { FileReader, PrefetchingReader, type TreeFile, type TreeReader } from './tree-reader.js';
import { errnoOf } from '../core/errno.js';
import { MANIFEST_FORMAT, MANIFEST_PROVIDER_FORMAT } from '../core/format.js';

export type { TreeFile } from './tree-reader.js';

export interface ReleaseRequest {
  source: string;
  base?: string;
  product: string;
  component: string;
  version: string;
  /**
   * Installed versions the release applies to; [] means any, and only when asked for. Default: with a
   * base tree, the version its version file states; without one (every file is an add, so the release
   * installs only where none of its files exist), any.
   */
  appliesTo?: string[];
  riskVector?: string;
  advisory?: string;
  postUpdate: string[][];
  created: Date;
  expires: Date;
  policyVersion: number;
  /** Archive entry mtime in seconds: SOURCE_DATE_EPOCH, or 0. Part of what makes archives reproducible. */
  mtime: number;
  /**
   * The file that carries the version number (the installer writes it last); it must be added or
   * modified by this release. Default: the product's usual one (lib/core/version-file.ts) when
   * the release writes it, else null.
   */
  versionFile?: string | null;
  /** A provider's release: written as manifest format 3, which signs the name; policyVersion is then the provider policy's. */
  provider?: string;
}

export interface BuiltRelease {
  manifest: Manifest;
  /** What the source tree's version file states (the site's after installation), and where; null when it has none. */
  versionStated: { path: string; version: string | null } | null;
  payloadBytes: Uint8Array;
  envelope: Envelope;
  archive: TarSummary;
}

export function archiveFileName(product: string, version: string): string {
  return `${product}-${version}.tar`;
}

export function manifestFileName(product: string, version: string): string {
  return `${product}-${version}.manifest.json`;
}

/**
 * Files under `root`, sorted by path bytes, their names checked against the path rules as a set.
 * Symlinks and special files are refused here from the directory entry types; contents, modes and
 * setuid/setgid/sticky bits are checked when each file is read (readTreeFile).
 */
export function scanTree(root: string): TreeFile[] {
  return scanCheckedTree(root).files;
}

/** scanTree, and the PathSet that accepted the tree's paths (the archive writer then need not check them again). */
function scanCheckedTree(root: string): { files: TreeFile[]; paths: PathSet } {
  const files = listTree(root);
  return { files, paths: checkPathSet(files.map((f) => f.path)) };
}

/**
 * The files under `root` sorted by path bytes, links and special files refused; their paths not yet checked.
 * `found` is told the number of files listed so far after each one.
 */
function listTree(root: string, found?: (count: number) => void): TreeFile[] {
  const files: TreeFile[] = [];
  let isDirectory = false;
  try {
    isDirectory = lstatSync(root).isDirectory();
  } catch (err) {
    throw new UsageError('IO', `cannot read ${root}: ${errnoOf(err)}`);
  }
  if (!isDirectory) throw new UsageError('IO', `${root} is not a directory`);
  walk(root, '', files, found);
  return sortByPathBytes(files);
}

function walk(dir: string, prefix: string, out: TreeFile[], found: ((count: number) => void) | undefined): void {
  // Names as strings: Node decodes them as UTF-8 with U+FFFD for every ill-formed sequence, so a directory
  // without U+FFFD in any name had only well-formed names, each the string the strict decoder would give.
  // Any U+FFFD (ill-formed, or a well-formed name holding one): the directory is read again as bytes.
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((entry) => entry.name.includes('\uFFFD'))) {
    for (const entry of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) visit(entry, decodeName(entry.name, prefix), dir, prefix, out, found);
  } else {
    for (const entry of entries) visit(entry, entry.name, dir, prefix, out, found);
  }
}

function visit(entry: Dirent | Dirent<Buffer>, name: string, dir: string, prefix: string, out: TreeFile[], found: ((count: number) => void) | undefined): void {
  const path = prefix ? `${prefix}/${name}` : name;
  const absolute = `${dir}/${name}`;
  if (entry.isSymbolicLink()) refuse(path, 'is a symbolic link');
  if (entry.isDirectory()) walk(absolute, path, out, found);
  else if (entry.isFile()) {
    const count = out.push({ path, absolute });
    if (found) found(count);
  } else refuse(path, 'is not a regular file (device, FIFO or socket)');
}

function decodeName(raw: Buffer, prefix: string): string {
  try {
    return fromUtf8(raw, 'file name');
  } catch {
    return refuse(`${prefix}/${raw.toString('latin1')}`, 'file name is not valid UTF-8');
  }
}

function refuse(path: string, rule: string): never {
  throw new ArchiveError('UNSAFE_PATH', `unsafe path ${JSON.stringify(path)}: ${rule}`, { path, rule });
}

function sha256(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'hex');
}

/** From this many files on, a build reads ahead and (to a descriptor) hashes and writes the archive on worker threads (below it, starting them costs more than they save). */
const THREADED_FROM_FILES = 1000;

export interface BuildOptions {
  /** Hash and write the archive on a worker thread (only when the output is a descriptor). Default: for trees of 1,000 files or more. */
  threaded?: boolean;
  /** Read the source tree's files ahead on a worker thread (tree-reader.ts). Default: for trees of 1,000 files or more. */
  prefetch?: boolean;
}

/**
 * Builds the release into `archiveOut` (a file descriptor or sink) and returns the manifest.
 * Each file is read once, synchronously into one reused buffer (fastest for many small files, see STACK.md);
 * for a big tree a worker thread reads the source files ahead, and (written to a descriptor) another computes
 * the archive digests and writes it meanwhile.
 */
export function buildRelease(req: ReleaseRequest, archiveOut: number | TarSink, options: BuildOptions = {}): BuiltRelease {
  parseVersion(req.version);
  req.appliesTo?.forEach((v) => parseVersion(v));
  const risk = req.riskVector ? computeRisk(req.riskVector) : null;
  const reader = new FileReader();
  // Trees of this many files are read ahead on a worker thread (tree-reader.ts).
  const prefetchFrom = options.prefetch === undefined ? THREADED_FROM_FILES : options.prefetch ? 0 : Number.POSITIVE_INFINITY;
  // Where the version may be written, most specific first: the named version file, then the product's own.
  const candidates = [...(typeof req.versionFile === 'string' ? [req.versionFile] : []), ...versionFileCandidates(req.product, req.component)];
  const baseTexts = new Map<string, string>();
  const baseHashes = new Map<string, { sha256: string; mode: FileMode }>();
  if (req.base) {
    const baseFiles = scanTree(req.base);
    const ahead = baseFiles.length >= prefetchFrom ? new PrefetchingReader() : null;
    try {
      ahead?.start(baseFiles);
      hashFiles(baseFiles, ahead ?? reader, candidates, baseHashes, baseTexts);
    } finally {
      ahead?.close();
    }
  }
  // The read-ahead worker starts as soon as the walk has found enough files, so that its start-up overlaps the rest of
  // the walk and the path check; it reads nothing before start(), which comes after the check.
  let prefetching = null as PrefetchingReader | null;
  try {
    const files = listTree(req.source, (count) => {
      if (count >= prefetchFrom && prefetching === null) prefetching = new PrefetchingReader();
    });
    if (files.length >= prefetchFrom) prefetching ??= new PrefetchingReader();
    const source = { files, paths: checkPathSet(files.map((f) => f.path)) };
    prefetching?.start(files);
    const threaded = typeof archiveOut === 'number' && (options.threaded ?? files.length >= THREADED_FROM_FILES);
    const sink = threaded ? new ThreadedArchiveSink(archiveOut, files.length) : null;
    try {
      return finishBuild(
        req,
        sink ?? (typeof archiveOut === 'number' ? fdSink(archiveOut) : archiveOut),
        source,
        prefetching ?? reader,
        candidates,
        baseHashes,
        baseTexts,
        risk,
      );
    } finally {
      // The worker must be done with the descriptor before the caller closes it.
      sink?.release();
    }
  } finally {
    prefetching?.close();
  }
}

function finishBuild(
  req: ReleaseRequest,
  out: TarSink,
  source: { files: TreeFile[]; paths: PathSet },
  reader: TreeReader,
  candidates: string[],
  baseHashes: Map<string, { sha256: string; mode: FileMode }>,
  baseTexts: Map<string, string>,
  risk: Manifest['risk'],
): BuiltRelease {
  const appliesTo = req.appliesTo ?? (req.base ? [baseVersion(req.base, candidates, baseTexts)] : []);
  const sourceTexts = new Map<string, string>();
  const writer = new TarWriter(out, { mtime: req.mtime, acceptedPaths: source.paths });
  const files: FileOp[] = [];
  const added: Array<{ op: AddOp; record: TarEntryRecord }> = [];
  archiveFiles(source.files, reader, writer, candidates, baseHashes, sourceTexts, files, added);
  for (const [path, before] of baseHashes) {
    if (!source.paths.has(path)) files.push({ op: 'delete', path, previousSha256: before.sha256 });
  }
  const archive = writer.finish();
  // A threaded sink hashes the entries on its worker: their digests are known once the archive is finished.
  for (const { op, record } of added) op.sha256 = record.sha256;
  if (files.length === 0) throw new FormatError('MALFORMED', 'the source tree is identical to the base tree: nothing to release');
  const sorted = sortByPathBytes(files);
  const versionFile = req.versionFile === undefined ? defaultVersionFile(req.product, req.component, sorted) : req.versionFile;
  if (versionFile !== null && !sorted.some((f) => f.path === versionFile && f.op !== 'delete')) {
    throw new UsageError('USAGE', `the version file ${JSON.stringify(versionFile)} is not added or modified by this release`);
  }
  const versionStated = statedVersion(versionFile, candidates, sourceTexts);
  if (versionStated) checkStatedVersion(versionStated.path, versionStated.version, req.version, 'the source tree');
  const manifest: Manifest = {
    format: req.provider === undefined ? MANIFEST_FORMAT : MANIFEST_PROVIDER_FORMAT,
    ...(req.provider !== undefined && { provider: req.provider }),
    product: req.product,
    component: req.component,
    version: req.version,
    appliesTo,
    risk,
    advisory: req.advisory ?? null,
    archive: { name: archiveFileName(req.product, req.version), size: archive.size, sha256: archive.sha256, mtime: req.mtime },
    files: sorted,
    postUpdate: req.postUpdate,
    versionFile,
    created: formatTimestamp(req.created),
    expires: formatTimestamp(req.expires),
    policyVersion: req.policyVersion,
  };
  checkManifest(validate<Manifest>('manifest', manifest, 'manifest'), source.paths);
  const payloadBytes = canonicalBytes(manifest);
  return { manifest, payloadBytes, versionStated, envelope: createEnvelope('manifest', payloadBytes), archive };
}

/** The digest and mode of each base file, and the text of those that may carry the version. */
function hashFiles(
  baseFiles: readonly TreeFile[],
  reader: TreeReader,
  candidates: readonly string[],
  baseHashes: Map<string, { sha256: string; mode: FileMode }>,
  baseTexts: Map<string, string>,
): void {
  for (const f of baseFiles) {
    const { content, mode } = reader.read(f);
    if (candidates.includes(f.path)) baseTexts.set(f.path, Buffer.from(content).toString('utf8'));
    baseHashes.set(f.path, { sha256: sha256(content), mode });
  }
}

/**
 * Reads each source file and writes the added and modified ones to the archive, collecting their ops. A function
 * of its own so that the engine optimises this loop alone, not the once-run rest of the build around it.
 */
function archiveFiles(
  sourceFiles: readonly TreeFile[],
  reader: TreeReader,
  writer: TarWriter,
  candidates: readonly string[],
  baseHashes: ReadonlyMap<string, { sha256: string; mode: FileMode }>,
  sourceTexts: Map<string, string>,
  files: FileOp[],
  added: Array<{ op: AddOp; record: TarEntryRecord }>,
): void {
  // Each FileOp's members in canonical (sorted) order: canonicalBytes then writes the list with JSON.stringify.
  for (const f of sourceFiles) {
    const { content, mode } = reader.read(f);
    if (candidates.includes(f.path)) sourceTexts.set(f.path, Buffer.from(content).toString('utf8'));
    const before = baseHashes.get(f.path);
    if (before) {
      const digest = sha256(content);
      if (digest === before.sha256 && mode === before.mode) continue;
      writer.add({ path: f.path, mode, content });
      files.push({ mode, op: 'modify', path: f.path, previousSha256: before.sha256, sha256: digest, size: content.length });
    } else {
      const op: AddOp = { mode, op: 'add', path: f.path, sha256: '', size: content.length };
      added.push({ op, record: writer.add({ path: f.path, mode, content }) });
      files.push(op);
    }
  }
}

/** The source tree's version file (the one the release writes, else the first the product uses that the tree has) and what it states. */
function statedVersion(versionFile: string | null, candidates: readonly string[], texts: ReadonlyMap<string, string>): BuiltRelease['versionStated'] {
  const path = versionFile ?? candidates.find((p) => texts.has(p));
  if (path === undefined || !texts.has(path)) return null;
  return { path, version: parseVersionText(texts.get(path)!) };
}

/** The base tree's version, from the first version file that states one; else a usage error naming the way out. */
function baseVersion(base: string, candidates: readonly string[], texts: ReadonlyMap<string, string>): string {
  for (const path of candidates) {
    const stated = texts.has(path) ? parseVersionText(texts.get(path)!) : null;
    if (stated !== null) return stated;
  }
  throw new UsageError(
    'USAGE',
    `cannot tell which version the base tree ${base} is (no version in ${candidates.join(', ') || 'a known version file'}): pass --applies-to VERSION, or --applies-to any`,
    {
      candidates,
    },
  );
}
