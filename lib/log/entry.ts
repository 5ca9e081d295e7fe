// What the log holds for each signed document (spec/log.md "Entries"): one RFC 8785 canonical JSON object,
// at most 16 KiB, so one document has one entry and the leaf hash is reproducible from the bundle alone.
//   - a policy or a revocation is logged as itself: its payload type, exact payload bytes and signatures;
//   - a release is logged as a statement binding product, component, version, the manifest's payload type and
//     SHA-256, the archive's SHA-256 and size, the policy version and the signatures over the manifest. The full
//     manifest is kept content-addressed beside the tiles, so a monitor can re-verify those signatures.
import { toBase64 } from '../core/bytes.js';
import { canonicalBytes, canonicalize, parseCanonical } from '../core/canonical.js';
import { openEnvelope, PAYLOAD_TYPES, serializeEnvelope, type EnvelopeSignature, type OpenedEnvelope } from '../core/envelope.js';
import { CountersignError } from '../core/errors.js';
import { manifestFromPayload } from '../core/manifest.js';
import { LogError } from './errors.js';

/** Entries are small: a sequencer refuses larger ones, a verifier never reads one. */
export const MAX_LOG_ENTRY_BYTES = 16 * 1024;

export const ENTRY_TYPES = {
  policy: 'countersign.policy/v1',
  revocation: 'countersign.revocation/v1',
  release: 'countersign.release/v1',
  enrolment: 'countersign.enrolment/v1',
  'key-revocation': 'countersign.key-revocation/v1',
  state: 'countersign.state/v1',
} as const;

/** The documents logged as themselves (the key is the envelope's document kind). */
export type SignedDocumentKind = 'policy' | 'revocation' | 'enrolment' | 'key-revocation';
const SIGNED_DOCUMENT_KINDS: readonly SignedDocumentKind[] = ['policy', 'revocation', 'enrolment', 'key-revocation'];

export interface SignedDocumentEntry {
  entry: (typeof ENTRY_TYPES)[SignedDocumentKind];
  payloadType: string;
  /** Standard base64 of the exact signed payload bytes. */
  payload: string;
  signatures: EnvelopeSignature[];
}

export interface ReleaseStatement {
  entry: typeof ENTRY_TYPES.release;
  /** The provider named in the manifest (format 3); absent for a release of the root policy. */
  provider?: string;
  product: string;
  component: string;
  version: string;
  payloadType: string;
  /** Hex SHA-256 of the manifest payload bytes: the name of the manifest stored beside the tiles. */
  payloadSha256: string;
  archive: { sha256: string; size: number };
  policyVersion: number;
  /** The envelope's signatures over PAE(payloadType, manifest payload). */
  signatures: EnvelopeSignature[];
}

/**
 * What the sequencer appends as the last entry of every batch (spec/log.md "State entries"): its own index, the log
 * time (POSIX seconds, never decreasing) and the root of the state map replayed over the entries before it.
 */
export interface StateEntry {
  entry: typeof ENTRY_TYPES.state;
  size: number;
  time: number;
  /** Hex root of the state map (lib/log/state-records.ts) over entries [0, size). */
  map: string;
}

/** The entry of a signed document (what `log add` takes); the state entries are the sequencer's own. */
export type DocumentEntry = SignedDocumentEntry | ReleaseStatement;

export type LogEntry = DocumentEntry | StateEntry;

const invalid = (message: string): LogError => new LogError('ENTRY_INVALID', message);

/** Signatures in one order (keyid, then sig) without repeats: the order in an envelope is not signed. */
function canonicalSignatures(signatures: readonly EnvelopeSignature[]): EnvelopeSignature[] {
  const seen = new Set<string>();
  return signatures
    .map((s) => ({ keyid: s.keyid, sig: s.sig }))
    .sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : a.sig < b.sig ? -1 : a.sig > b.sig ? 1 : 0))
    .filter((s) => {
      const key = `${s.keyid} ${s.sig}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** The entry (as an object) for an opened envelope: a bundle's or signed manifest's, a policy's or a revocation's. */
export function logEntryForOpened(opened: OpenedEnvelope): DocumentEntry {
  const signatures = canonicalSignatures(opened.envelope.signatures);
  if (opened.kind === 'manifest') {
    const m = manifestFromPayload(opened.payloadBytes);
    return {
      entry: ENTRY_TYPES.release,
      ...(m.provider === undefined ? {} : { provider: m.provider }),
      product: m.product,
      component: m.component,
      version: m.version,
      payloadType: opened.envelope.payloadType,
      payloadSha256: opened.payloadSha256,
      archive: { sha256: m.archive.sha256, size: m.archive.size },
      policyVersion: m.policyVersion,
      signatures,
    };
  }
  return { entry: ENTRY_TYPES[opened.kind], payloadType: opened.envelope.payloadType, payload: toBase64(opened.payloadBytes), signatures };
}

/** The entry (as an object) for an envelope's bytes. A document that does not open is ENTRY_INVALID (with the cause). */
export function logEntryFor(envelopeBytes: Uint8Array): DocumentEntry {
  let opened: OpenedEnvelope;
  try {
    opened = openEnvelope(envelopeBytes);
  } catch (err) {
    if (err instanceof CountersignError) throw new LogError('ENTRY_INVALID', `the document cannot be logged: ${err.message}`, { cause: err.code });
    throw err;
  }
  return logEntryForOpened(opened);
}

/** The entry bytes for an envelope's bytes (what `log add` sequences and a proof's leaf hashes). */
export function entryForEnvelope(envelopeBytes: Uint8Array): Uint8Array {
  return encodeEntry(logEntryFor(envelopeBytes));
}

/** The entry's bytes: RFC 8785 canonical JSON, at most 16 KiB (ENTRY_INVALID otherwise). */
export function encodeEntry(entry: LogEntry): Uint8Array {
  const bytes = canonicalBytes(entry);
  if (bytes.length > MAX_LOG_ENTRY_BYTES) throw invalid(`the entry is ${bytes.length} bytes; the limit is ${MAX_LOG_ENTRY_BYTES}`);
  return bytes;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 1024;

function checkSignatures(v: unknown): EnvelopeSignature[] {
  if (!Array.isArray(v)) throw invalid('an entry lists its signatures');
  const sigs = v.map((s) => {
    if (typeof s !== 'object' || s === null || Object.keys(s).sort().join() !== 'keyid,sig') throw invalid('an entry signature is {keyid, sig}');
    const { keyid, sig } = s as Record<string, unknown>;
    if (typeof keyid !== 'string' || !HEX64.test(keyid) || typeof sig !== 'string' || !isString(sig))
      throw invalid('an entry signature has a hex keyid and a sig');
    return { keyid, sig };
  });
  const canonical = canonicalSignatures(sigs);
  if (canonical.length !== sigs.length || canonical.some((s, i) => s.keyid !== sigs[i]!.keyid || s.sig !== sigs[i]!.sig)) {
    throw invalid('entry signatures are sorted by keyid and sig, without repeats');
  }
  return sigs;
}

function exactKeys(o: Record<string, unknown>, keys: string[]): void {
  const have = Object.keys(o).sort();
  if (have.join() !== [...keys].sort().join()) throw invalid(`the entry members are ${[...keys].sort().join(', ')}, not ${have.join(', ')}`);
}

export type ParsedEntry =
  | { kind: SignedDocumentKind; entry: SignedDocumentEntry; envelopeBytes: Uint8Array }
  | { kind: 'release'; entry: ReleaseStatement; statement: ReleaseStatement }
  | { kind: 'state'; entry: StateEntry; state: StateEntry };

/**
 * Parses and checks an entry's bytes (size, canonical JSON, shape); anything else is ENTRY_INVALID. A policy or
 * revocation comes with envelope bytes to verify as any envelope (signatures are over the payload, not the JSON).
 */
export function parseEntry(bytes: Uint8Array): ParsedEntry {
  const entry = parseEntryObject(bytes);
  if (entry.entry === ENTRY_TYPES.release) return { kind: 'release', entry, statement: entry };
  if (entry.entry === ENTRY_TYPES.state) return { kind: 'state', entry, state: entry };
  const kind = signedDocumentKind(entry.entry)!;
  const envelope = { payloadType: entry.payloadType, payload: entry.payload, signatures: entry.signatures };
  return { kind, entry, envelopeBytes: new TextEncoder().encode(serializeEnvelope(envelope)) };
}

function signedDocumentKind(type: unknown): SignedDocumentKind | undefined {
  return SIGNED_DOCUMENT_KINDS.find((k) => ENTRY_TYPES[k] === type);
}

function parseEntryObject(bytes: Uint8Array): LogEntry {
  if (bytes.length > MAX_LOG_ENTRY_BYTES) throw invalid(`the entry is ${bytes.length} bytes; the limit is ${MAX_LOG_ENTRY_BYTES}`);
  let value: unknown;
  try {
    value = parseCanonical(bytes, 'log entry');
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('an entry is a JSON object');
  const o = value as Record<string, unknown>;
  if (o.entry === ENTRY_TYPES.release) {
    const members = ['entry', 'product', 'component', 'version', 'payloadType', 'payloadSha256', 'archive', 'policyVersion', 'signatures'];
    exactKeys(o, 'provider' in o ? [...members, 'provider'] : members);
    const a = o.archive as Record<string, unknown> | null;
    if ('provider' in o && !isString(o.provider)) throw invalid('provider is a non-empty string');
    if (![o.product, o.component, o.version].every(isString)) throw invalid('product, component and version are non-empty strings');
    if (o.payloadType !== PAYLOAD_TYPES.manifest) throw invalid('a release statement is for a manifest');
    if (typeof o.payloadSha256 !== 'string' || !HEX64.test(o.payloadSha256)) throw invalid('payloadSha256 is 64 hex digits');
    if (typeof a !== 'object' || a === null || Object.keys(a).sort().join() !== 'sha256,size') throw invalid('archive is {sha256, size}');
    if (typeof a.sha256 !== 'string' || !HEX64.test(a.sha256) || !Number.isSafeInteger(a.size) || (a.size as number) < 0)
      throw invalid('the archive has a hex sha256 and a size');
    if (!Number.isSafeInteger(o.policyVersion) || (o.policyVersion as number) < 1) throw invalid('policyVersion is a positive integer');
    checkSignatures(o.signatures);
    return value as ReleaseStatement;
  }
  if (o.entry === ENTRY_TYPES.state) {
    exactKeys(o, ['entry', 'size', 'time', 'map']);
    if (!Number.isSafeInteger(o.size) || (o.size as number) < 0) throw invalid('a state entry size is an integer ≥ 0');
    if (!Number.isSafeInteger(o.time) || (o.time as number) < 0) throw invalid('a state entry time is POSIX seconds, an integer ≥ 0');
    if (typeof o.map !== 'string' || !HEX64.test(o.map)) throw invalid('a state entry map is 64 hex digits');
    return value as StateEntry;
  }
  const kind = signedDocumentKind(o.entry);
  if (kind !== undefined) {
    exactKeys(o, ['entry', 'payloadType', 'payload', 'signatures']);
    if (o.payloadType !== PAYLOAD_TYPES[kind]) throw invalid(`a ${kind} entry carries a ${kind} payload`);
    if (typeof o.payload !== 'string' || o.payload.length === 0) throw invalid('the payload is base64');
    if (Buffer.from(o.payload, 'base64').toString('base64') !== o.payload) throw invalid('the payload is canonical standard base64');
    checkSignatures(o.signatures);
    return value as SignedDocumentEntry;
  }
  throw invalid(`unknown entry type ${JSON.stringify(o.entry)}`);
}

/**
 * Checks that `entry` is the one for the document in `envelopeBytes`: the same payload (a policy or revocation),
 * or a release statement with the same product, component, version, payload type and SHA-256, archive and policy
 * version. Signatures may differ (a bundle can gain signatures after it was logged; the site counts its own).
 * LOG_ENTRY_MISMATCH otherwise.
 */
export function checkEntryForEnvelope(entry: LogEntry, envelopeBytes: Uint8Array): void {
  const want = logEntryFor(envelopeBytes);
  const identity = (e: LogEntry): string => canonicalize({ ...e, signatures: [] });
  if (identity(want) !== identity(entry)) {
    throw new LogError('LOG_ENTRY_MISMATCH', 'the log entry in the proof is not the one for this document', {
      expected: describeEntry(want),
      found: describeEntry(entry),
    });
  }
}

/** A one-line description for messages and monitors. */
export function describeEntry(e: LogEntry): string {
  if (e.entry === ENTRY_TYPES.release)
    return `release ${e.provider === undefined ? '' : `${e.provider} `}${e.product}/${e.component} ${e.version} (manifest ${e.payloadSha256.slice(0, 12)}…)`;
  if (e.entry === ENTRY_TYPES.state) return `state at ${e.size}, time ${e.time}, map ${e.map.slice(0, 12)}…`;
  return `${signedDocumentKind(e.entry)} (payload ${e.payload.length} base64 chars)`;
}
