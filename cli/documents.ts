// Loading the documents commands are given: a bare envelope or a bundle, plus an optional separate archive.
import { archiveFromFile, readBundleFile } from '../lib/bundle-file.js';
import { openEnvelope, type OpenedEnvelope } from '../lib/envelope.js';
import type { ArchiveInput } from '../lib/verify.js';

export interface LoadedDocument {
  doc: OpenedEnvelope;
  envelopeBytes: Uint8Array;
  archive?: ArchiveInput;
  isBundle: boolean;
}

export async function loadDocument(path: string, archivePath?: string): Promise<LoadedDocument> {
  const input = await readBundleFile(path);
  const archive = archivePath ? await archiveFromFile(archivePath) : input.archive;
  return { doc: openEnvelope(input.envelopeBytes, path), envelopeBytes: input.envelopeBytes, archive, isBundle: input.isBundle };
}
