// Our own minimal, strict ustar (POSIX.1-1988) tar: regular files only, one canonical header per
// (path, mode, size, mtime). The writer is deterministic; the reader accepts exactly what the
// writer emits and nothing else, so one archive has one meaning and one byte sequence.
//
// Header layout (offset, size): name 0,100 · mode 100,8 · uid 108,8 · gid 116,8 · size 124,12 ·
// mtime 136,12 · chksum 148,8 · typeflag 156,1 · linkname 157,100 · magic 257,6 · version 263,2 ·
// uname 265,32 · gname 297,32 · devmajor 329,8 · devminor 337,8 · prefix 345,155 · pad 500,12.
// Numbers are zero-padded octal followed by a NUL, as GNU tar writes them; the checksum is six
// octal digits, NUL, space. Given the same mode/owner options and `-b 1`, GNU tar
// `--format=ustar` writes the same bytes (the tests check this).
import { createHash, hash, type Hash } from 'node:crypto';
import { ArchiveError } from './errors.js';
import { PathSet, checkPath, ustarSplit, type FileMode } from './paths.js';

export const BLOCK_SIZE = 512;
/** Largest entry size and mtime that fit 11 octal digits. */
export const TAR_MAX_NUMBER = 8 ** 11 - 1;
export const DEFAULT_MAX_ENTRIES = 100_000;

const ZEROS = new Uint8Array(2 * BLOCK_SIZE);
const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface TarHeader {
  path: string;
  mode: FileMode;
  size: number;
  mtime: number;
}

/** One file to archive. `content` may be a callback so the caller reads the file only when its turn comes. */
export interface TarEntry {
  path: string;
  mode: FileMode;
  content: Uint8Array | (() => Uint8Array);
}

/** What was written for one entry: the facts a manifest's add/modify op carries. */
export interface TarEntryRecord {
  path: string;
  mode: FileMode;
  size: number;
  sha256: string;
}

export interface TarSummary {
  /** Archive length in bytes. */
  size: number;
  sha256: string;
  entries: TarEntryRecord[];
}

function malformed(message: string, details: Record<string, unknown> = {}): never {
  throw new ArchiveError('ARCHIVE_MALFORMED', message, details);
}

/** Zero-padded octal of `value` in width-1 digits, then a NUL; digits are written from the right, no string built. */
function writeOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  block[offset + width - 1] = 0;
  for (let i = width - 2; i >= 0; i--) {
    block[offset + i] = 0x30 + (value % 8);
    value = Math.floor(value / 8);
  }
}

/** Zero bytes after an entry of `size` bytes, up to the next block boundary. */
export function paddingOf(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/** Sum of the header's bytes with the checksum field counted as eight spaces. */
export function headerChecksum(block: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK_SIZE; i++) sum += block[i]!;
  return sum;
}

const MODE_BITS: Record<FileMode, number> = { '0644': 0o644, '0755': 0o755 };
const USTAR_MAGIC = Uint8Array.of(0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30); // "ustar\0" "00"

/** The one header our writer emits for these facts. The path must already have passed checkPath. */
export function encodeHeader(header: TarHeader): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE);
  writeHeader(block, 0, Buffer.from(header.path, 'utf8'), header);
  return block;
}

/** The fields every header of one archive shares (mtime included; name, prefix, mode, size and checksum left zero), and its checksum so far. */
interface HeaderTemplate {
  mtime: number;
  block: Uint8Array;
  sum: number;
}

function headerTemplate(mtime: number): HeaderTemplate {
  const block = new Uint8Array(BLOCK_SIZE);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 136, 12, mtime);
  block[156] = 0x30; // '0': regular file
  block.set(USTAR_MAGIC, 257);
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  return { mtime, block, sum: headerChecksum(block) };
}

let lastTemplate: HeaderTemplate | null = null;

function sumBytes(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i]!;
  return sum;
}

/**
 * Writes encodeHeader's bytes for `header` (whose path is `pathBytes` in UTF-8) at `offset`, over whatever
 * the block held: the writer builds headers in place in its staging buffer, from a template of the shared fields.
 */
function writeHeader(block: Uint8Array, offset: number, pathBytes: Uint8Array, header: TarHeader): void {
  const { path, mode, size, mtime } = header;
  const split = ustarSplit(pathBytes);
  if (split === null) throw new ArchiveError('UNSAFE_PATH', `path ${JSON.stringify(path)} does not fit a ustar header`, { path });
  if (!Number.isSafeInteger(size) || size < 0 || size > TAR_MAX_NUMBER) malformed(`entry size ${size} out of ustar range`);
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > TAR_MAX_NUMBER) malformed(`mtime ${mtime} out of ustar range`);
  const bits = MODE_BITS[mode];
  if (bits === undefined) malformed(`mode ${String(mode)} is not 0644 or 0755`);
  const template = lastTemplate?.mtime === mtime ? lastTemplate : (lastTemplate = headerTemplate(mtime));
  block.set(template.block, offset);
  block.set(split.name, offset);
  writeOctal(block, offset + 100, 8, bits);
  writeOctal(block, offset + 124, 12, size);
  block.set(split.prefix, offset + 345);
  const sum =
    template.sum + sumBytes(split.name) + sumBytes(split.prefix) + sumBytes(block, offset + 100, offset + 108) + sumBytes(block, offset + 124, offset + 136);
  writeOctal(block, offset + 148, 7, sum);
  block[offset + 155] = 0x20;
}

/** Where the writer's bytes go: a callback (an edge writes them to a file: lib/node/fd-sink.ts), or a DigestingTarSink. */
export type TarSink = ((chunk: Uint8Array) => void) | DigestingTarSink;

/**
 * A sink that stages the bytes itself and computes the archive's SHA-256 and SHA-512 (lib/node/archive-sink.ts
 * does both on another thread). The writer then neither stages nor hashes the archive; `write` must copy
 * what it keeps, since the writer reuses its header block.
 */
export interface DigestingTarSink {
  write(chunk: Uint8Array): void;
  /**
   * When present, the sink also hashes each entry's content: the writer calls it with the content's length
   * just before writing the content, and leaves the entry's SHA-256 to the sink (digests().entries, in order).
   */
  beginEntry?(size: number): void;
  /** Called once, after the last write: the digests of every byte written, in hex (and each entry's, with beginEntry). */
  digests(): { sha256: string; entries?: string[] };
}

export interface TarWriterOptions {
  mtime: number;
  /** Staging buffer size (default 1 MiB); unused with a DigestingTarSink. */
  bufferSize?: number;
  /**
   * The whole set of paths the caller already accepted with a PathSet (e.g. the scanned tree): each
   * entry must be one of them, and is not checked again. A subset of an accepted set is itself acceptable.
   */
  acceptedPaths?: PathSet;
}

/**
 * Writes a deterministic ustar archive one entry at a time, synchronously, hashing as it goes.
 * Entries must come in strictly increasing UTF-8 byte order of path (use sortByPathBytes) and
 * pass the path rules as a set; the writer refuses anything else rather than emit an archive our
 * reader would refuse. Output is staged in a buffer of `bufferSize` bytes (default 1 MiB); the
 * sink receives views of that buffer (or of the caller's content) that are only valid
 * during the call. After any error (a
 * refused entry, a failing content callback or write) every later call throws that error again:
 * the output is incomplete and must be discarded.
 */
export class TarWriter {
  private readonly sink: ((chunk: Uint8Array) => void) | null;
  private readonly digesting: DigestingTarSink | null;
  private readonly mtime: number;
  private readonly stage: Uint8Array;
  private staged = 0;
  private readonly sha256: Hash | null;
  private size = 0;
  private readonly paths: PathSet;
  private readonly accepted: boolean;
  private previous: Buffer | null = null;
  private readonly records: TarEntryRecord[] = [];
  private finished = false;
  private failure: unknown = null;

  constructor(out: TarSink, options: TarWriterOptions) {
    if (!Number.isSafeInteger(options.mtime) || options.mtime < 0 || options.mtime > TAR_MAX_NUMBER) {
      throw new RangeError(`mtime must be an integer number of seconds in [0, ${TAR_MAX_NUMBER}]`);
    }
    this.sink = typeof out === 'function' ? out : null;
    this.digesting = typeof out === 'function' ? null : out;
    this.mtime = options.mtime;
    // With a digesting sink the stage holds only the header being built.
    this.stage = new Uint8Array(this.digesting ? BLOCK_SIZE : Math.max(options.bufferSize ?? 1 << 20, 2 * BLOCK_SIZE));
    this.sha256 = this.digesting ? null : createHash('sha256');
    this.paths = options.acceptedPaths ?? new PathSet();
    this.accepted = options.acceptedPaths !== undefined;
  }

  /** Writes one entry; its record's sha256 is known at once, or, when the sink hashes entries (beginEntry), after finish(). */
  add(entry: TarEntry): TarEntryRecord {
    if (this.failure !== null) throw this.failure;
    if (this.finished) throw new Error('TarWriter: add() after finish()');
    try {
      return this.append(entry);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private append(entry: TarEntry): TarEntryRecord {
    const pathBytes = Buffer.from(entry.path, 'utf8');
    if (!this.accepted) this.paths.add(entry.path);
    else if (!this.paths.has(entry.path)) malformed(`${JSON.stringify(entry.path)} is not one of the accepted paths`, { path: entry.path });
    if (this.previous !== null && Buffer.compare(this.previous, pathBytes) >= 0) {
      malformed(`entries must be added in path byte order: ${JSON.stringify(entry.path)} comes after the previous entry`, { path: entry.path });
    }
    this.previous = pathBytes;
    const content = typeof entry.content === 'function' ? entry.content() : entry.content;
    if (!(content instanceof Uint8Array)) throw new TypeError(`content of ${entry.path} is not a Uint8Array`);
    this.emitHeader(pathBytes, { path: entry.path, mode: entry.mode, size: content.length, mtime: this.mtime });
    const sinkHashes = this.digesting?.beginEntry !== undefined;
    if (sinkHashes) this.digesting!.beginEntry!(content.length);
    this.emit(content);
    const pad = paddingOf(content.length);
    if (pad > 0) this.emit(ZEROS.subarray(0, pad));
    // With a sink that hashes entries, the record's sha256 is filled in by finish().
    const record: TarEntryRecord = { path: entry.path, mode: entry.mode, size: content.length, sha256: sinkHashes ? '' : hash('sha256', content, 'hex') };
    this.records.push(record);
    return record;
  }

  /** Writes the end-of-archive marker (two zero blocks, no record padding) and returns the digests. */
  finish(): TarSummary {
    if (this.failure !== null) throw this.failure;
    if (this.finished) throw new Error('TarWriter: finish() called twice');
    try {
      this.emit(ZEROS);
      this.flush();
      const digests = this.digesting ? this.digesting.digests() : { sha256: this.sha256!.digest('hex') };
      if (digests.entries) {
        if (digests.entries.length !== this.records.length)
          throw new Error(`TarWriter: the sink hashed ${digests.entries.length} entries of ${this.records.length}`);
        this.records.forEach((record, i) => (record.sha256 = digests.entries![i]!));
      }
      this.finished = true;
      return { size: this.size, sha256: digests.sha256, entries: this.records };
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  /** The header goes straight into the staging buffer (or the header block for a digesting sink). */
  private emitHeader(pathBytes: Uint8Array, header: TarHeader): void {
    if (this.digesting) {
      writeHeader(this.stage, 0, pathBytes, header);
      this.output(this.stage);
      return;
    }
    if (this.stage.length - this.staged < BLOCK_SIZE) this.flush();
    writeHeader(this.stage, this.staged, pathBytes, header);
    this.staged += BLOCK_SIZE;
  }

  private emit(bytes: Uint8Array): void {
    if (this.digesting) return this.output(bytes);
    if (bytes.length <= this.stage.length - this.staged) {
      this.stage.set(bytes, this.staged);
      this.staged += bytes.length;
      return;
    }
    this.flush();
    if (bytes.length >= this.stage.length / 2) {
      this.output(bytes);
    } else {
      this.stage.set(bytes, 0);
      this.staged = bytes.length;
    }
  }

  private flush(): void {
    if (this.staged === 0) return;
    this.output(this.stage.subarray(0, this.staged));
    this.staged = 0;
  }

  private output(bytes: Uint8Array): void {
    this.size += bytes.length;
    if (this.digesting) return this.digesting.write(bytes);
    this.sha256!.update(bytes);
    this.sink!(bytes);
  }
}

/** Writes `entries` (already in path byte order) and the end marker; returns size, digests and per-entry records. */
export function writeTar(out: TarSink, entries: Iterable<TarEntry>, mtime: number): TarSummary {
  const writer = new TarWriter(out, { mtime });
  for (const entry of entries) writer.add(entry);
  return writer.finish();
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface TarReaderHandlers {
  /** Called once per entry after its header passed every check. */
  onEntryStart?(header: TarHeader): void;
  /** A piece of the entry's content: a view into the chunk given to push(), valid only during the call. */
  onEntryData?(data: Uint8Array, header: TarHeader): void;
  /** Called after the entry's last content byte and its zero padding. */
  onEntryEnd?(header: TarHeader): void;
}

export interface TarReaderOptions {
  /** More entries than this → ArchiveError('SIZE_LIMIT'), before the extra entry is reported. Default 100,000. */
  maxEntries?: number;
}

const ENTRY_KIND: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
};
const OTHER_KIND: Record<string, string> = {
  '\0': 'an old-style (pre-POSIX) regular file',
  '5': 'a directory',
  '7': 'a contiguous file',
  x: 'a pax extended header',
  g: 'a pax global header',
  L: 'a GNU long name',
  K: 'a GNU long link name',
};

type State = 'header' | 'data' | 'padding' | 'end' | 'done';

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function describe(index: number, path: string | null): string {
  return path === null ? `entry #${index + 1}` : `entry #${index + 1} (${JSON.stringify(path)})`;
}

/** Exactly width-1 octal digits and a NUL, as the writer emits them. */
function readOctal(block: Uint8Array, offset: number, width: number, field: string, where: string): number {
  let value = 0;
  for (let i = 0; i < width - 1; i++) {
    const c = block[offset + i]!;
    if (c < 0x30 || c > 0x37) malformed(`${where}: ${field} field is not ${width - 1} octal digits and a NUL`, { field });
    value = value * 8 + (c - 0x30);
  }
  if (block[offset + width - 1] !== 0) malformed(`${where}: ${field} field is not ${width - 1} octal digits and a NUL`, { field });
  return value;
}

/** Bytes up to the first NUL; everything after it must be NUL too. */
function readString(block: Uint8Array, offset: number, width: number): Uint8Array | null {
  const field = block.subarray(offset, offset + width);
  const nul = field.indexOf(0);
  if (nul === -1) return field;
  return allZero(field.subarray(nul)) ? field.subarray(0, nul) : null;
}

/** Best-effort path for error messages, before the path has been validated. */
function roughPath(block: Uint8Array): string {
  const name = block.subarray(0, 100);
  const prefix = block.subarray(345, 500);
  const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.indexOf(0) === -1 ? b.length : b.indexOf(0)).toString('utf8');
  // Decoded apart: the '/' between them is ASCII, so no UTF-8 sequence spans it.
  const p = text(prefix);
  return p.length > 0 ? `${p}/${text(name)}` : text(name);
}

/** Parses one header with every check the format allows; throws ARCHIVE_MALFORMED or UNSAFE_PATH. */
export function parseHeader(block: Uint8Array, index: number): TarHeader {
  let where = describe(index, null);
  // The checksum comes first: nothing else in a corrupt header is worth interpreting.
  if (block[154] !== 0 || block[155] !== 0x20) malformed(`${where}: checksum field is not six octal digits, NUL, space`);
  const stored = readOctal(block, 148, 7, 'checksum', where);
  if (stored !== headerChecksum(block)) malformed(`${where}: header checksum mismatch`);
  const rough = roughPath(block);
  where = describe(index, rough);
  for (let i = 0; i < 8; i++) {
    if (block[257 + i] !== [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30][i]) malformed(`${where}: not a POSIX ustar header (magic/version)`);
  }
  const type = String.fromCharCode(block[156]!);
  if (type !== '0') {
    const unsafeKind = ENTRY_KIND[type];
    if (unsafeKind !== undefined) {
      throw new ArchiveError('UNSAFE_PATH', `${where} is ${unsafeKind}; only regular files are allowed`, { path: rough, typeflag: type });
    }
    malformed(`${where} is ${OTHER_KIND[type] ?? `of unknown type ${JSON.stringify(type)}`}; only regular files are allowed`, { typeflag: type });
  }
  const modeBits = readOctal(block, 100, 8, 'mode', where);
  if ((modeBits & 0o7000) !== 0) {
    throw new ArchiveError('UNSAFE_PATH', `${where} has setuid, setgid or sticky bits (mode ${modeBits.toString(8)})`, { path: rough, mode: modeBits });
  }
  if (modeBits !== 0o644 && modeBits !== 0o755) malformed(`${where}: mode ${modeBits.toString(8).padStart(4, '0')} is not 0644 or 0755`);
  const mode: FileMode = modeBits === 0o755 ? '0755' : '0644';
  if (readOctal(block, 108, 8, 'uid', where) !== 0) malformed(`${where}: uid is not 0`);
  if (readOctal(block, 116, 8, 'gid', where) !== 0) malformed(`${where}: gid is not 0`);
  const size = readOctal(block, 124, 12, 'size', where);
  const mtime = readOctal(block, 136, 12, 'mtime', where);
  if (!allZero(block.subarray(157, 257))) malformed(`${where}: link name is not empty`);
  if (!allZero(block.subarray(265, 297))) malformed(`${where}: user name is not empty`);
  if (!allZero(block.subarray(297, 329))) malformed(`${where}: group name is not empty`);
  readOctal(block, 329, 8, 'devmajor', where);
  readOctal(block, 337, 8, 'devminor', where);
  const name = readString(block, 0, 100);
  const prefix = readString(block, 345, 155);
  if (name === null || prefix === null) malformed(`${where}: name or prefix field has bytes after its NUL terminator`);
  const pathBytes = prefix.length > 0 ? Buffer.concat([prefix, Buffer.of(0x2f), name]) : name;
  let path: string;
  try {
    path = FATAL_UTF8.decode(pathBytes);
  } catch {
    throw new ArchiveError('UNSAFE_PATH', `${where}: path is not valid UTF-8`, { path: rough });
  }
  checkPath(path);
  const header: TarHeader = { path, mode, size, mtime };
  // Everything parsed; now the whole block must be the one our writer emits for these facts
  // (this also pins the name/prefix split, devmajor/devminor and the reserved bytes).
  let canonical: Uint8Array;
  try {
    canonical = encodeHeader(header);
  } catch {
    malformed(`${where}: path cannot be stored in a canonical ustar header`);
  }
  if (Buffer.compare(canonical, block) !== 0) malformed(`${where}: header is not in canonical form`);
  return header;
}

/**
 * A push parser: feed it chunks of any size with push(), then call end(). Entry content is passed
 * to the handlers as views into the pushed chunks, so no entry is ever held in memory.
 * Refuses (ArchiveError, and every later call throws the same error):
 * - ARCHIVE_MALFORMED: bad checksum, non-ustar magic, non-canonical fields, uid/gid ≠ 0, non-empty
 *   link/user/group names, modes other than 0644/0755, directories, pax and GNU extension headers,
 *   non-zero padding, entries out of path byte order, a lone zero block, anything after the two
 *   zero blocks, and end() before them (truncation);
 * - UNSAFE_PATH: a path breaking the path rules, a duplicate path (exact or after case folding) or a
 *   file/directory clash (lib/core/paths.ts PathSet), hard links, symbolic links, devices, FIFOs, and
 *   setuid/setgid/sticky bits — the kinds of entry spec/verification.md's path rules forbid;
 * - SIZE_LIMIT: more than maxEntries entries.
 */
export class TarReader {
  private readonly handlers: TarReaderHandlers;
  private readonly maxEntries: number;
  private readonly block = new Uint8Array(BLOCK_SIZE);
  private blockFill = 0;
  private state: State = 'header';
  private remaining = 0;
  private current: TarHeader | null = null;
  private readonly paths = new PathSet();
  private previous: Buffer | null = null;
  private failure: unknown = null;
  private count = 0;
  private offset = 0;

  constructor(handlers: TarReaderHandlers = {}, options: TarReaderOptions = {}) {
    this.handlers = handlers;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  /** Entries whose header has been accepted so far. */
  get entries(): number {
    return this.count;
  }

  /** Bytes consumed so far. */
  get bytesRead(): number {
    return this.offset;
  }

  /** True once both end-of-archive blocks have been read. */
  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.consume(chunk);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  /** The input is over: throws ARCHIVE_MALFORMED unless the end-of-archive marker was complete. */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (this.state === 'done') return;
    const where =
      this.current !== null
        ? `inside ${describe(this.count - 1, this.current.path)}`
        : this.state === 'end'
          ? 'after the first end-of-archive block'
          : `after ${this.count} entries`;
    this.failure = new ArchiveError('ARCHIVE_MALFORMED', `archive truncated ${where} (no end-of-archive marker)`, { offset: this.offset });
    throw this.failure;
  }

  private consume(chunk: Uint8Array): void {
    const length = chunk.length;
    let at = 0;
    while (at < length) {
      switch (this.state) {
        case 'header':
        case 'end': {
          let block: Uint8Array;
          if (this.blockFill === 0 && length - at >= BLOCK_SIZE) {
            block = chunk.subarray(at, at + BLOCK_SIZE);
            at += BLOCK_SIZE;
          } else {
            const n = Math.min(BLOCK_SIZE - this.blockFill, length - at);
            this.block.set(chunk.subarray(at, at + n), this.blockFill);
            this.blockFill += n;
            at += n;
            if (this.blockFill < BLOCK_SIZE) break;
            this.blockFill = 0;
            block = this.block;
          }
          this.offset += BLOCK_SIZE;
          this.onBlock(block);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, length - at);
          this.handlers.onEntryData?.(chunk.subarray(at, at + n), this.current!);
          at += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.afterData();
          break;
        }
        case 'padding': {
          const n = Math.min(this.remaining, length - at);
          if (!allZero(chunk.subarray(at, at + n))) {
            malformed(`${describe(this.count - 1, this.current!.path)}: padding after the content is not zero`, { offset: this.offset });
          }
          at += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endEntry();
          break;
        }
        case 'done':
          malformed(`data after the end-of-archive marker (at byte ${this.offset})`, { offset: this.offset });
      }
    }
  }

  private onBlock(block: Uint8Array): void {
    if (this.state === 'end') {
      if (!allZero(block)) malformed(`a single zero block followed by data at byte ${this.offset - BLOCK_SIZE}`, { offset: this.offset - BLOCK_SIZE });
      this.state = 'done';
      return;
    }
    if (allZero(block)) {
      this.state = 'end';
      return;
    }
    if (this.count >= this.maxEntries) {
      throw new ArchiveError('SIZE_LIMIT', `archive has more than ${this.maxEntries} entries`, { maxEntries: this.maxEntries });
    }
    const header = parseHeader(block, this.count);
    this.paths.add(header.path);
    const pathBytes = Buffer.from(header.path, 'utf8');
    if (this.previous !== null && Buffer.compare(this.previous, pathBytes) >= 0) {
      malformed(`${describe(this.count, header.path)} is out of path byte order`, { path: header.path });
    }
    this.previous = pathBytes;
    this.count++;
    this.current = header;
    this.handlers.onEntryStart?.(header);
    this.remaining = header.size;
    if (header.size > 0) this.state = 'data';
    else this.afterData();
  }

  private afterData(): void {
    const pad = paddingOf(this.current!.size);
    if (pad > 0) {
      this.state = 'padding';
      this.remaining = pad;
    } else {
      this.endEntry();
    }
  }

  private endEntry(): void {
    const header = this.current!;
    this.current = null;
    this.state = 'header';
    this.handlers.onEntryEnd?.(header);
  }
}
