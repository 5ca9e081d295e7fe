// Building a release: scan the new tree (and the base tree), derive file operations, write the
// deterministic archive, and produce the canonical manifest payload. File I/O lives here, at the edge.
import { hash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { fromUtf8 } from '../core/bytes.js';
import { canonicalBytes } from '../core/canonical.js';
import { createEnvelope, type Envelope } from '../core/envelope.js';
import { ArchiveError, FormatError, UsageError } from '../core/errors.js';
import { checkManifest, type FileOp, type Manifest } from '../core/manifest.js';
import { checkPathSet, normaliseMode, sortByPathBytes, type FileMode, type PathSet } from '../core/paths.js';
import { computeRisk } from '../core/risk.js';
import { validate } from '../core/schema.js';
import { TarWriter, type TarSink, type TarSummary } from '../core/tar.js';
import { formatTimestamp } from '../core/time.js';
import { checkStatedVersion, defaultVersionFile, parseVersionText, versionFileCandidates } from '../core/version-file.js';
import { parseVersion } from '../core/version.js';
import { fdSink } from './fd-sink.js';
import { ThreadedArchiveSink } from './archive-sink.js';
import { errnoOf } from '../core/errno.js';
import { MANIFEST_FORMAT, MANIFEST_PROVIDER_FORMAT } from '../core/format.js';

export interface TreeFile {
  path: string;
  absolute: string;
}

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
  const files: TreeFile[] = [];
  let isDirectory = false;
  try {
    isDirectory = lstatSync(root).isDirectory();
  } catch (err) {
    throw new UsageError('IO', `cannot read ${root}: ${errnoOf(err)}`);
  }
  if (!isDirectory) throw new UsageError('IO', `${root} is not a directory`);
  walk(root, '', files);
  const sorted = sortByPathBytes(files);
  return { files: sorted, paths: checkPathSet(sorted.map((f) => f.path)) };
}

function walk(dir: string, prefix: string, out: TreeFile[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const name = decodeName(entry.name, prefix);
    const path = prefix ? `${prefix}/${name}` : name;
    const absolute = `${dir}/${name}`;
    if (entry.isSymbolicLink()) refuse(path, 'is a symbolic link');
    if (entry.isDirectory()) walk(absolute, path, out);
    else if (entry.isFile()) out.push({ path, absolute });
    else refuse(path, 'is not a regular file (device, FIFO or socket)');
  }
}

/** One buffer reused for every file of a build: the archive writer consumes each file before the next is read. */
class FileReader {
  private buffer = Buffer.alloc(1 << 20);

  /** Reads a regular file without following links; the returned bytes are valid until the next read. */
  read(file: TreeFile): { content: Uint8Array; mode: FileMode } {
    let fd: number;
    try {
      fd = openSync(file.absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if (errnoOf(err) === 'ELOOP') refuse(file.path, 'is a symbolic link');
      throw new UsageError('IO', `cannot read ${file.absolute}: ${errnoOf(err)}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) refuse(file.path, 'is not a regular file');
      if ((st.mode & 0o7000) !== 0) refuse(file.path, 'has a setuid, setgid or sticky bit');
      if (st.size > this.buffer.length) this.buffer = Buffer.alloc(Math.max(st.size, 2 * this.buffer.length));
      let done = 0;
      while (done < st.size) {
        const n = readSync(fd, this.buffer, done, st.size - done, done);
        if (n === 0) break;
        done += n;
      }
      return { content: this.buffer.subarray(0, done), mode: normaliseMode(st.mode) };
    } finally {
      closeSync(fd);
    }
  }
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

/** From this many files on, a build to a descriptor hashes and writes the archive on a worker thread (below it, starting one costs more than it saves). */
const THREADED_FROM_FILES = 1000;

export interface BuildOptions {
  /** Hash and write the archive on a worker thread (only when the output is a descriptor). Default: for trees of 1,000 files or more. */
  threaded?: boolean;
}

/**
 * Builds the release into `archiveOut` (a file descriptor or sink) and returns the manifest.
 * Each file is read once, synchronously into one reused buffer (fastest for many small files, see STACK.md);
 * for a big tree written to a descriptor the archive digests and writes run on a worker thread meanwhile.
 */
export function buildRelease(req: ReleaseRequest, archiveOut: number | TarSink, options: BuildOptions = {}): BuiltRelease {
  parseVersion(req.version);
  req.appliesTo?.forEach((v) => parseVersion(v));
  const risk = req.riskVector ? computeRisk(req.riskVector) : null;
  const reader = new FileReader();
  // Where the version may be written, most specific first: the named version file, then the product's own.
  const candidates = [...(typeof req.versionFile === 'string' ? [req.versionFile] : []), ...versionFileCandidates(req.product, req.component)];
  const baseTexts = new Map<string, string>();
  const baseHashes = new Map<string, { sha256: string; mode: FileMode }>();
  if (req.base) {
    for (const f of scanTree(req.base)) {
      const { content, mode } = reader.read(f);
      if (candidates.includes(f.path)) baseTexts.set(f.path, Buffer.from(content).toString('utf8'));
      baseHashes.set(f.path, { sha256: sha256(content), mode });
    }
  }
  const source = scanCheckedTree(req.source);
  const threaded = typeof archiveOut === 'number' && (options.threaded ?? source.files.length >= THREADED_FROM_FILES);
  const sink = threaded ? new ThreadedArchiveSink(archiveOut) : null;
  try {
    return finishBuild(
      req,
      sink ?? (typeof archiveOut === 'number' ? fdSink(archiveOut) : archiveOut),
      source,
      reader,
      candidates,
      baseHashes,
      baseTexts,
      risk,
    );
  } finally {
    // The worker must be done with the descriptor before the caller closes it.
    sink?.release();
  }
}

function finishBuild(
  req: ReleaseRequest,
  out: TarSink,
  source: { files: TreeFile[]; paths: PathSet },
  reader: FileReader,
  candidates: string[],
  baseHashes: Map<string, { sha256: string; mode: FileMode }>,
  baseTexts: Map<string, string>,
  risk: Manifest['risk'],
): BuiltRelease {
  const appliesTo = req.appliesTo ?? (req.base ? [baseVersion(req.base, candidates, baseTexts)] : []);
  const sourceTexts = new Map<string, string>();
  const writer = new TarWriter(out, { mtime: req.mtime, acceptedPaths: source.paths });
  const files: FileOp[] = [];
  const seen = new Set<string>();
  for (const f of source.files) {
    seen.add(f.path);
    const { content, mode } = reader.read(f);
    if (candidates.includes(f.path)) sourceTexts.set(f.path, Buffer.from(content).toString('utf8'));
    const before = baseHashes.get(f.path);
    if (before) {
      const digest = sha256(content);
      if (digest === before.sha256 && mode === before.mode) continue;
      writer.add({ path: f.path, mode, content });
      files.push({ op: 'modify', path: f.path, sha256: digest, size: content.length, mode, previousSha256: before.sha256 });
    } else {
      const record = writer.add({ path: f.path, mode, content });
      files.push({ op: 'add', path: f.path, sha256: record.sha256, size: record.size, mode });
    }
  }
  for (const [path, before] of baseHashes) {
    if (!seen.has(path)) files.push({ op: 'delete', path, previousSha256: before.sha256 });
  }
  const archive = writer.finish();
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
  checkManifest(validate<Manifest>('manifest', manifest, 'manifest'));
  const payloadBytes = canonicalBytes(manifest);
  return { manifest, payloadBytes, versionStated, envelope: createEnvelope('manifest', payloadBytes), archive };
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
