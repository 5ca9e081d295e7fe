// Loading the documents commands are given: a bare envelope or a bundle, plus an optional separate archive.
import { archiveFromFile, readBundleFile } from '../lib/bundle-file.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
 * Opens a document and its archive: the one given, else the bundle's own, else (for a bare manifest)
 * the archive the manifest names when it sits beside it, as `build` leaves them.
 */
export async function loadDocument(path: string, archivePath?: string): Promise<LoadedDocument> {
  const input = await readBundleFile(path);
  const doc = openEnvelope(input.envelopeBytes, path);
  let archive = archivePath ? await archiveFromFile(archivePath) : input.archive;
  let archiveFile = archivePath ?? (input.archive ? path : undefined);
  if (!archive && doc.kind === 'manifest') {
    const sibling = join(dirname(path), manifestFromPayload(doc.payloadBytes).archive.name);
    if (existsSync(sibling)) {
      archive = await archiveFromFile(sibling);
      archiveFile = sibling;
    }
  }
  return { doc, envelopeBytes: input.envelopeBytes, archive, archiveFile, isBundle: input.isBundle };
}
