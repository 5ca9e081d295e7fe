// The bundle file (spec/bundle.md): a header, then the signed envelope, then the archive. v2 (written since
// 0.2.0) names each section and its length; v1 (still read) gives the envelope's length, the archive is the rest.
// The envelope comes first so it can be read and verified before a byte of the archive is touched. A v2 bundle may
// carry a `proof` section between them: the C2SP tlog-proof that the document is in the transparency log
// (spec/log.md), checked by lib/log/verify-proof.ts when a log policy requires it; after it, a provider release may
// carry a `state` section (lib/log/state-proof.ts): the log's state entry and map proofs that it is not revoked.
import { utf8 } from './bytes.js';
import { FormatError } from './errors.js';
import { BUNDLE_FORMAT, unsupportedFormat } from './format.js';

const PREFIX = 'countersign-bundle v';
const VERSION = /^countersign-bundle v([1-9][0-9]{0,8}) /;
const V1 = /^countersign-bundle v1 ([1-9][0-9]{0,8})\n/;
const V2 = /^countersign-bundle v2 ([1-9])\n/;
// At most 15 digits: every length stays an exact integer (2^53 has 16 digits), so the sum check cannot round.
const SECTION = /([a-z]{1,16}) (0|[1-9][0-9]{0,14})\n/y;
/**
 * The header is never longer than this; readers fetch this many bytes first. 256: a v2 first line
 * (24 bytes) and four section lines of at most 34 bytes each (16-letter name, 15-digit length) fit with room.
 */
export const BUNDLE_HEADER_MAX = 256;

export type SectionName = 'envelope' | 'proof' | 'state' | 'archive';
/** In the order they must appear; each but the envelope is optional. */
const KNOWN: readonly string[] = ['envelope', 'proof', 'state', 'archive'] satisfies SectionName[];

export interface BundleSection {
  name: SectionName;
  offset: number;
  length: number;
}

export interface BundleLayout {
  version: 1 | 2;
  /** In file order; a v1 bundle has an envelope and an archive (the rest of the file, perhaps empty). */
  sections: BundleSection[];
  envelope: BundleSection;
  /** The transparency-log proof (v2 only), between the envelope and the archive. */
  proof?: BundleSection;
  /** The log's state proof (v2 only), right after the proof. */
  state?: BundleSection;
  archive?: BundleSection;
}

/** The most a proof section may hold: lib/log/proof.ts MAX_PROOF_BYTES (a 16 KiB entry, 63 hashes, a cosigned checkpoint). */
export const MAX_PROOF_SECTION_BYTES = 128 * 1024;
/** The most a state section may hold: lib/log/state-proof.ts MAX_STATE_PROOF_BYTES. */
export const MAX_STATE_SECTION_BYTES = 64 * 1024;

/** A v2 header for an envelope, then a proof and a state proof when their lengths are given, then an archive. */
export function bundleHeader(envelopeLength: number, archiveLength: number, proofLength?: number, stateLength?: number): Uint8Array {
  if (stateLength !== undefined && proofLength === undefined) throw new FormatError('MALFORMED', 'a state section needs a proof section');
  const lines = [`envelope ${envelopeLength}`];
  if (proofLength !== undefined) lines.push(`proof ${proofLength}`);
  if (stateLength !== undefined) lines.push(`state ${stateLength}`);
  lines.push(`archive ${archiveLength}`);
  return utf8(`${PREFIX}${BUNDLE_FORMAT} ${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`);
}

/** Any version's header, so a newer bundle is refused as FORMAT_UNSUPPORTED rather than read as an envelope. */
export function looksLikeBundle(head: Uint8Array): boolean {
  return Buffer.from(head.subarray(0, PREFIX.length)).toString('latin1') === PREFIX;
}

/** Reads the header of a bundle of `fileSize` bytes whose first bytes (up to BUNDLE_HEADER_MAX) are `head`. */
export function parseBundleHeader(head: Uint8Array, maxEnvelope: number, fileSize: number): BundleLayout {
  const text = Buffer.from(head.subarray(0, BUNDLE_HEADER_MAX)).toString('latin1');
  const version = VERSION.exec(text);
  if (!version) throw new FormatError('MALFORMED', 'not a countersign bundle (bad header line)');
  if (version[1] === '1') return parseV1(text, maxEnvelope, fileSize);
  if (version[1] === '2') return parseV2(text, maxEnvelope, fileSize);
  throw unsupportedFormat('bundle', Number(version[1]), `bundle v${version[1]}`);
}

function parseV1(text: string, maxEnvelope: number, fileSize: number): BundleLayout {
  const m = V1.exec(text);
  if (!m) throw new FormatError('MALFORMED', 'not a countersign bundle (bad header line)');
  const envelope: BundleSection = { name: 'envelope', offset: m[0].length, length: Number(m[1]) };
  checkEnvelopeSize(envelope, maxEnvelope);
  const archiveOffset = envelope.offset + envelope.length;
  if (archiveOffset > fileSize) throw new FormatError('MALFORMED', 'the bundle is truncated inside its envelope');
  const archive: BundleSection = { name: 'archive', offset: archiveOffset, length: fileSize - archiveOffset };
  return { version: 1, sections: [envelope, archive], envelope, archive };
}

function parseV2(text: string, maxEnvelope: number, fileSize: number): BundleLayout {
  const m = V2.exec(text);
  if (!m) throw new FormatError('MALFORMED', 'bad bundle v2 header line (countersign-bundle v2 <count>)');
  const lines: Array<{ name: string; length: number }> = [];
  SECTION.lastIndex = m[0].length;
  for (let i = 0; i < Number(m[1]); i++) {
    const line = SECTION.exec(text);
    if (!line) throw new FormatError('MALFORMED', `bundle section line ${i + 1} is not "<name> <length>" within the first ${BUNDLE_HEADER_MAX} bytes`);
    const name = line[1]!;
    if (!KNOWN.includes(name)) throw unsupportedFormat('bundle', 2, `bundle section "${name}"`);
    if (lines.some((l) => l.name === name)) throw unsupportedFormat('bundle', 2, `a duplicated bundle section "${name}"`);
    lines.push({ name, length: Number(line[2]) });
  }
  if (lines[0]?.name !== 'envelope') throw new FormatError('MALFORMED', 'the first bundle section must be the envelope');
  const archiveAt = lines.findIndex((l) => l.name === 'archive');
  if (archiveAt !== -1 && archiveAt !== lines.length - 1) throw new FormatError('MALFORMED', 'the archive must be the last bundle section');
  const stateAt = lines.findIndex((l) => l.name === 'state');
  if (stateAt !== -1 && lines[stateAt - 1]?.name !== 'proof') throw new FormatError('MALFORMED', 'the state section must follow the proof section');
  for (const [name, max] of [
    ['proof', MAX_PROOF_SECTION_BYTES],
    ['state', MAX_STATE_SECTION_BYTES],
  ] as const) {
    const line = lines.find((l) => l.name === name);
    if (line && line.length > max) throw new FormatError('SIZE_LIMIT', `the bundle's ${name} section is ${line.length} bytes; the limit is ${max}`);
  }
  let offset = SECTION.lastIndex;
  const sections = lines.map(({ name, length }) => {
    const section = { name: name as SectionName, offset, length };
    offset += length;
    return section;
  });
  const envelope = sections[0]!;
  checkEnvelopeSize(envelope, maxEnvelope);
  if (offset !== fileSize) throw new FormatError('MALFORMED', `the bundle's sections add up to ${offset} bytes, but it has ${fileSize}`);
  const proof = sections.find((s) => s.name === 'proof');
  const state = sections.find((s) => s.name === 'state');
  return { version: 2, sections, envelope, ...(proof ? { proof } : {}), ...(state ? { state } : {}), archive: sections.find((s) => s.name === 'archive') };
}

function checkEnvelopeSize(envelope: BundleSection, maxEnvelope: number): void {
  if (envelope.length > maxEnvelope) {
    throw new FormatError('SIZE_LIMIT', `bundle envelope is ${envelope.length} bytes; the limit is ${maxEnvelope}`);
  }
}
