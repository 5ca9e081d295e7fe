// Bundle files on disk: read the envelope first, expose the archive as a lazily streamed range of the open file.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { bundleHeader, BUNDLE_HEADER_MAX, looksLikeBundle, parseBundleHeader, type BundleLayout } from '../core/bundle.js';
import { serializeEnvelope, type Envelope, MAX_ENVELOPE_BYTES } from '../core/envelope.js';
import { CountersignError, FormatError, UsageError } from '../core/errors.js';
import { readFdChunks } from './file-chunks.js';
import { commitPending, refuseExisting, tempPathFor } from './durable.js';
import type { ArchiveInput, BundleInput } from '../core/verify.js';
import { errnoOf } from '../core/errno.js';

export interface OpenedInput extends BundleInput {
  /** True for a bundle (header + envelope + archive), false for a bare envelope JSON file. */
  isBundle: boolean;
  /** A bundle's header version and sections, as read. */
  layout?: BundleLayout;
  /** The bytes of a v2 bundle's proof section (a C2SP tlog-proof), when it has one. */
  proof?: Uint8Array;
  /** The bytes of a v2 bundle's state section (lib/log/state-proof.ts), when it has one. */
  state?: Uint8Array;
  /** Closes the file the archive is streamed from. */
  close(): Promise<void>;
}

export type OpenedArchive = ArchiveInput & { close(): Promise<void> };

/**
 * Opens a bundle or a bare envelope and reads the header and envelope now. The archive is streamed
 * later through the same open file, so every pass (verify, then install) reads the same bytes even
 * if the path is replaced meanwhile. The caller must close() it.
 */
export async function openBundleFile(path: string, maxEnvelope = MAX_ENVELOPE_BYTES): Promise<OpenedInput> {
  const { fd, size } = openRegularFile(path);
  try {
    const head = new Uint8Array(Math.min(size, BUNDLE_HEADER_MAX));
    readFully(fd, head, 0, path);
    if (!looksLikeBundle(head)) {
      if (size > maxEnvelope) throw new FormatError('SIZE_LIMIT', `${path} is ${size} bytes; an envelope may be at most ${maxEnvelope}`);
      const envelopeBytes = new Uint8Array(size);
      readFully(fd, envelopeBytes, 0, path);
      closeSync(fd);
      return { envelopeBytes, isBundle: false, close: async () => undefined };
    }
    const layout = parseBundleHeader(head, maxEnvelope, size);
    const envelopeBytes = new Uint8Array(layout.envelope.length);
    readFully(fd, envelopeBytes, layout.envelope.offset, path);
    const proof = layout.proof && new Uint8Array(layout.proof.length);
    if (proof) readFully(fd, proof, layout.proof!.offset, path);
    const state = layout.state && new Uint8Array(layout.state.length);
    if (state) readFully(fd, state, layout.state!.offset, path);
    const carried = { ...(proof ? { proof } : {}), ...(state ? { state } : {}) };
    const { archive } = layout;
    if (!archive) {
      closeSync(fd);
      return { envelopeBytes, isBundle: true, layout, ...carried, close: async () => undefined };
    }
    return {
      envelopeBytes,
      isBundle: true,
      layout,
      ...carried,
      archive: { size: archive.length, chunks: () => readFdChunks(fd, archive.offset, archive.length) },
      close: closer(fd),
    };
  } catch (err) {
    closeSync(fd);
    throw ioError(err, path);
  }
}

/** An archive file given on its own (beside a bare envelope); the caller must close() it. */
export async function openArchiveFile(path: string): Promise<OpenedArchive> {
  const { fd, size } = openRegularFile(path);
  return { size, chunks: () => readFdChunks(fd, 0, size), close: closer(fd) };
}

/** close() of an opened file: closes `fd` the first time only, so a second call never closes a descriptor reused since. */
function closer(fd: number): () => Promise<void> {
  let open = true;
  return async () => {
    if (open) closeSync(fd);
    open = false;
  };
}

// The header and the envelope are read in place (they are small): a small bundle's verify then takes no thread-pool
// round trip at all (lib/node/file-chunks.ts).
function openRegularFile(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw ioError(err, path);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UsageError('IO', `${path} is not a regular file`);
  }
  return { fd, size: st.size };
}

function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  if (readSync(fd, into, 0, into.length, position) !== into.length) throw new FormatError('MALFORMED', `${path} changed while it was being read`);
}

function ioError(err: unknown, path: string): unknown {
  if (err instanceof CountersignError || !(err instanceof Error && 'code' in err)) return err;
  return new UsageError('IO', `cannot read ${path}: ${errnoOf(err)}`);
}

/**
 * Writes a v2 header + envelope (+ proof, a C2SP tlog-proof, and + state, its state proof, when given) + archive to a
 * temporary file, fsyncs, and moves it into place: an existing target is replaced only with `force` (else OUTPUT_EXISTS).
 */
export async function writeBundleFile(
  target: string,
  envelope: Envelope,
  archive: ArchiveInput,
  opts: { force?: boolean; proof?: Uint8Array; state?: Uint8Array } = {},
): Promise<void> {
  refuseExisting([target], opts.force);
  const envelopeBytes = Buffer.from(serializeEnvelope(envelope), 'utf8');
  const temp = tempPathFor(target);
  // Loaded here: a verify, which only reads bundles, never loads node:fs/promises.
  const { open, rm } = process.getBuiltinModule('node:fs/promises');
  const fh = await open(temp, 'wx', 0o644).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('IO', `cannot write bundle ${target}: ${err.code ?? err.message}`);
  });
  try {
    await fh.write(bundleHeader(envelopeBytes.length, archive.size, opts.proof?.length, opts.state?.length));
    await fh.write(envelopeBytes);
    if (opts.proof) await fh.write(opts.proof);
    if (opts.state) await fh.write(opts.state);
    for await (const chunk of archive.chunks()) await fh.write(chunk);
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw new UsageError('IO', `cannot write bundle ${target}: ${errnoOf(err)}`);
  }
  commitPending([{ target, temp }], { replace: opts.force ?? false });
}
