// The bundle file: one header line, the signed envelope, then the archive.
// The envelope comes first so it can be read and verified before a byte of the archive is touched.
import { utf8 } from './bytes.js';
import { FormatError } from './errors.js';

const MAGIC = 'countersign-bundle v1 ';
const HEADER = /^countersign-bundle v1 ([1-9][0-9]{0,8})\n/;
/** The header is never longer than this; readers fetch this many bytes first. */
export const BUNDLE_HEADER_MAX = 64;

export interface BundleLayout {
  envelopeOffset: number;
  envelopeLength: number;
  /** Where the archive starts: everything after the envelope. */
  archiveOffset: number;
}

export function bundleHeader(envelopeLength: number): Uint8Array {
  return utf8(`${MAGIC}${envelopeLength}\n`);
}

export function looksLikeBundle(head: Uint8Array): boolean {
  return Buffer.from(head.subarray(0, MAGIC.length)).toString('latin1') === MAGIC;
}

export function parseBundleHeader(head: Uint8Array, maxEnvelope: number): BundleLayout {
  const m = HEADER.exec(Buffer.from(head.subarray(0, BUNDLE_HEADER_MAX)).toString('latin1'));
  if (!m) throw new FormatError('MALFORMED', 'not a countersign bundle (bad header line)');
  const envelopeLength = Number(m[1]);
  if (envelopeLength > maxEnvelope) {
    throw new FormatError('SIZE_LIMIT', `bundle envelope is ${envelopeLength} bytes; the limit is ${maxEnvelope}`);
  }
  const envelopeOffset = m[0].length;
  return { envelopeOffset, envelopeLength, archiveOffset: envelopeOffset + envelopeLength };
}
