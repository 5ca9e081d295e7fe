// Building a release: scan the new tree (and the base tree), derive file operations, write the
// deterministic archive, and produce the canonical manifest payload. File I/O lives here, at the edge.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromUtf8 } from './bytes.js';
import { canonicalBytes } from './canonical.js';
import { createEnvelope, type Envelope } from './envelope.js';
import { ArchiveError, FormatError, UsageError } from './errors.js';
import { checkManifest, type FileMode, type FileOp, type Manifest } from './manifest.js';
import { checkPath, checkPathSet, normaliseMode, sortByPathBytes } from './paths.js';
import { computeRisk } from './risk.js';
import { validate } from './schema.js';
import { TarWriter, type TarSink, type TarSummary } from './tar.js';
import { formatTimestamp } from './time.js';
import { parseVersion } from './version.js';

export interface TreeFile {
  path: string;
  absolute: string;
  mode: FileMode;
  size: number;
}

export interface ReleaseRequest {
  source: string;
  base?: string;
  product: string;
  component: string;
  version: string;
  appliesTo: string[];
  riskVector?: string;
  advisory?: string;
  postUpdate: string[][];
  created: Date;
  expires: Date;
  policyVersion: number;
  /** Archive entry mtime in seconds: SOURCE_DATE_EPOCH, or 0. Part of what makes archives reproducible. */
  mtime: number;
}

export interface BuiltRelease {
  manifest: Manifest;
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

/** Regular files under `root`, sorted by path bytes. Symlinks, devices, setuid/setgid/sticky files and unsafe names are refused. */
export function scanTree(root: string): TreeFile[] {
  const files: TreeFile[] = [];
  const rootStat = statOrThrow(root);
  if (!rootStat.isDirectory()) throw new UsageError('IO', `${root} is not a directory`);
  walk(root, '', files);
  const sorted = sortByPathBytes(files);
  checkPathSet(sorted.map((f) => f.path));
  return sorted;
}

function walk(dir: string, prefix: string, out: TreeFile[]): void {
  for (const rawName of readdirSync(dir, { encoding: 'buffer' })) {
    const name = decodeName(rawName, prefix);
    const path = prefix ? `${prefix}/${name}` : name;
    const absolute = join(dir, name);
    const st = lstatSync(absolute);
    if (st.isSymbolicLink()) refuse(path, 'is a symbolic link');
    if (st.isDirectory()) {
      walk(absolute, path, out);
      continue;
    }
    if (!st.isFile()) refuse(path, 'is not a regular file (device, FIFO or socket)');
    if ((st.mode & 0o7000) !== 0) refuse(path, 'has a setuid, setgid or sticky bit');
    checkPath(path);
    out.push({ path, absolute, mode: normaliseMode(st.mode), size: st.size });
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

function statOrThrow(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    throw new UsageError('IO', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Builds the release into `archiveOut` (a file descriptor or sink) and returns the manifest.
 * New-tree files are read once each, synchronously (fastest for many small files, see STACK.md).
 */
export function buildRelease(req: ReleaseRequest, archiveOut: TarSink): BuiltRelease {
  parseVersion(req.version);
  req.appliesTo.forEach((v) => parseVersion(v));
  const risk = req.riskVector ? computeRisk(req.riskVector) : null;
  const baseHashes = new Map<string, { sha256: string; mode: FileMode }>();
  if (req.base) {
    for (const f of scanTree(req.base)) baseHashes.set(f.path, { sha256: sha256(readFileSync(f.absolute)), mode: f.mode });
  }
  const writer = new TarWriter(archiveOut, { mtime: req.mtime });
  const files: FileOp[] = [];
  const seen = new Set<string>();
  for (const f of scanTree(req.source)) {
    seen.add(f.path);
    const content = readFileSync(f.absolute);
    const before = baseHashes.get(f.path);
    if (before) {
      const digest = sha256(content);
      if (digest === before.sha256 && f.mode === before.mode) continue;
      writer.add({ path: f.path, mode: f.mode, content });
      files.push({ op: 'modify', path: f.path, sha256: digest, size: content.length, mode: f.mode, previousSha256: before.sha256 });
    } else {
      const record = writer.add({ path: f.path, mode: f.mode, content });
      files.push({ op: 'add', path: f.path, sha256: record.sha256, size: record.size, mode: f.mode });
    }
  }
  for (const [path, before] of baseHashes) {
    if (!seen.has(path)) files.push({ op: 'delete', path, previousSha256: before.sha256 });
  }
  const archive = writer.finish();
  if (files.length === 0) throw new FormatError('MALFORMED', 'the source tree is identical to the base tree: nothing to release');
  const manifest: Manifest = {
    product: req.product,
    component: req.component,
    version: req.version,
    appliesTo: req.appliesTo,
    risk,
    advisory: req.advisory ?? null,
    archive: { name: archiveFileName(req.product, req.version), size: archive.size, sha256: archive.sha256, sha512: archive.sha512 },
    files: sortByPathBytes(files),
    postUpdate: req.postUpdate,
    created: formatTimestamp(req.created),
    expires: formatTimestamp(req.expires),
    policyVersion: req.policyVersion,
  };
  checkManifest(validate<Manifest>('manifest', manifest, 'manifest'));
  const payloadBytes = canonicalBytes(manifest);
  return { manifest, payloadBytes, envelope: createEnvelope('manifest', payloadBytes), archive };
}
