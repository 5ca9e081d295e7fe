// Bundle files on disk: read the envelope first, expose the archive as a lazily streamed range.
import { open, rm, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bundleHeader, BUNDLE_HEADER_MAX, looksLikeBundle, parseBundleHeader } from './bundle.js';
import { serializeEnvelope, type Envelope, MAX_ENVELOPE_BYTES } from './envelope.js';
import { CountersignError, FormatError, UsageError } from './errors.js';
import { readFileChunks } from './file-chunks.js';
import { fsyncDir, tempPathFor } from './durable.js';
import type { ArchiveInput, BundleInput } from './verify.js';

export interface LoadedInput extends BundleInput {
  /** True for a bundle (header + envelope + archive), false for a bare envelope JSON file. */
  isBundle: boolean;
}

/** Opens a bundle or a bare envelope. Only the header and envelope are read now; the archive is streamed later. */
export async function readBundleFile(path: string, maxEnvelope = MAX_ENVELOPE_BYTES): Promise<LoadedInput> {
  try {
    return await readBundleLayout(path, maxEnvelope);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code && !(err instanceof CountersignError)) {
      throw new UsageError('IO', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`);
    }
    throw err;
  }
}

async function readBundleLayout(path: string, maxEnvelope: number): Promise<LoadedInput> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = new Uint8Array(Math.min(size, BUNDLE_HEADER_MAX));
    await fh.read(head, 0, head.length, 0);
    if (!looksLikeBundle(head)) {
      if (size > maxEnvelope) throw new FormatError('SIZE_LIMIT', `${path} is ${size} bytes; an envelope may be at most ${maxEnvelope}`);
      const envelopeBytes = new Uint8Array(size);
      await fh.read(envelopeBytes, 0, size, 0);
      return { envelopeBytes, isBundle: false };
    }
    const layout = parseBundleHeader(head, maxEnvelope);
    if (layout.archiveOffset > size) throw new FormatError('MALFORMED', `${path} is truncated inside its envelope`);
    const envelopeBytes = new Uint8Array(layout.envelopeLength);
    await fh.read(envelopeBytes, 0, layout.envelopeLength, layout.envelopeOffset);
    const archiveSize = size - layout.archiveOffset;
    return {
      envelopeBytes,
      isBundle: true,
      archive: { size: archiveSize, chunks: () => readFileChunks(path, layout.archiveOffset, archiveSize) },
    };
  } finally {
    await fh.close();
  }
}

/** An archive file given on its own (beside a bare envelope). */
export async function archiveFromFile(path: string): Promise<ArchiveInput> {
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('IO', `cannot open archive ${path}: ${err.code ?? err.message}`);
  });
  const { size } = await fh.stat().finally(() => fh.close());
  return { size, chunks: () => readFileChunks(path, 0, size) };
}

/** Writes header + envelope + archive to a temporary file, fsyncs, and renames it into place. */
export async function writeBundleFile(target: string, envelope: Envelope, archive: ArchiveInput): Promise<void> {
  const envelopeBytes = Buffer.from(serializeEnvelope(envelope), 'utf8');
  const temp = tempPathFor(target);
  const fh = await open(temp, 'wx', 0o644).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('IO', `cannot write bundle ${target}: ${err.code ?? err.message}`);
  });
  try {
    await fh.write(bundleHeader(envelopeBytes.length));
    await fh.write(envelopeBytes);
    for await (const chunk of archive.chunks()) await fh.write(chunk);
    await fh.sync();
    await fh.close();
    await rename(temp, target);
    fsyncDir(dirname(target));
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw new UsageError('IO', `cannot write bundle ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
