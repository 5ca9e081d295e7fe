// Loading the documents commands are given: a bare envelope or a bundle, plus an optional separate archive.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openArchiveFile, openBundleFile, type OpenedArchive } from '../lib/bundle-file.js';
import { openEnvelope, type OpenedEnvelope } from '../lib/envelope.js';
import { manifestFromPayload } from '../lib/manifest.js';
import type { ArchiveInput } from '../lib/verify.js';

export interface LoadedDocument {
  doc: OpenedEnvelope;
  envelopeBytes: Uint8Array;
  archive?: ArchiveInput;
  /** Where the archive bytes come from: a separate file, or the bundle itself. */
  archiveFile?: string;
  isBundle: boolean;
}

/**
 * Runs `use` with a document and its archive: the one given, else the bundle's own, else (for a bare
 * manifest) the archive the manifest names when it sits beside it, as `build` leaves them.
 * Every file opened is closed afterwards.
 */
export async function withDocument<T>(path: string, archivePath: string | undefined, use: (loaded: LoadedDocument) => Promise<T>): Promise<T> {
  const input = await openBundleFile(path);
  let separate: OpenedArchive | undefined;
  try {
    const doc = openEnvelope(input.envelopeBytes, path);
    let archiveFile = archivePath ?? (input.archive ? path : undefined);
    if (!archivePath && !input.archive && doc.kind === 'manifest') {
      const sibling = join(dirname(path), manifestFromPayload(doc.payloadBytes).archive.name);
      if (existsSync(sibling) && statSync(sibling).isFile()) archiveFile = sibling;
    }
    if (archiveFile && archiveFile !== path) separate = await openArchiveFile(archiveFile);
    return await use({ doc, envelopeBytes: input.envelopeBytes, archive: separate ?? input.archive, archiveFile, isBundle: input.isBundle });
  } finally {
    await separate?.close();
    await input.close();
  }
}
