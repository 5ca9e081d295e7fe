// DSSE envelopes: a payload's exact bytes plus signatures over PAE(payloadType, payload).
// Verifiers work on the decoded payload bytes and never re-serialise parsed JSON.
import type * as generated from './generated/types.js';
import { createHash } from 'node:crypto';
import { fromBase64, fromUtf8, toBase64, utf8, concatBytes } from './bytes.js';
import { FormatError } from './errors.js';
import { parseStrictJson } from './json.js';
import { validate } from './schema.js';

export const PAYLOAD_TYPES = {
  policy: 'application/vnd.countersign.policy+json',
  manifest: 'application/vnd.countersign.manifest+json',
  revocation: 'application/vnd.countersign.revocation+json',
  enrolment: 'application/vnd.countersign.enrolment+json',
  'key-revocation': 'application/vnd.countersign.key-revocation+json',
} as const;

export type DocumentKind = keyof typeof PAYLOAD_TYPES;

export type Envelope = generated.Envelope;
export type EnvelopeSignature = Envelope['signatures'][number];

/** An envelope whose payload has been decoded and checked to be canonical JSON of a known kind. */
export interface OpenedEnvelope {
  envelope: Envelope;
  kind: DocumentKind;
  payloadBytes: Uint8Array;
  /** Hex SHA-256 of the payload bytes: what partial signatures name. */
  payloadSha256: string;
}

export const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;

/** DSSE v1 pre-authentication encoding: binds the payload type into every signature. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

export function kindOf(payloadType: string): DocumentKind | undefined {
  for (const [kind, type] of Object.entries(PAYLOAD_TYPES)) if (type === payloadType) return kind as DocumentKind;
  return undefined;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Parse JSON text strictly (UTF-8, size-capped, no duplicate keys). */
export function parseJsonBytes(bytes: Uint8Array, what: string, maxBytes = MAX_ENVELOPE_BYTES): unknown {
  if (bytes.length > maxBytes) throw new FormatError('SIZE_LIMIT', `${what} is ${bytes.length} bytes; the limit is ${maxBytes}`);
  return parseStrictJson(fromUtf8(bytes, what), what);
}

export function openEnvelope(bytes: Uint8Array, what = 'envelope'): OpenedEnvelope {
  const envelope = validate<Envelope>('envelope', parseJsonBytes(bytes, what), what);
  const kind = kindOf(envelope.payloadType);
  if (!kind) throw new FormatError('WRONG_TYPE', `${what} has unknown payloadType ${JSON.stringify(envelope.payloadType)}`);
  const payloadBytes = fromBase64(envelope.payload, `${what} payload`);
  return { envelope, kind, payloadBytes, payloadSha256: sha256Hex(payloadBytes) };
}

export function expectKind(opened: OpenedEnvelope, kind: DocumentKind, what: string): void {
  if (opened.kind !== kind) {
    throw new FormatError('WRONG_TYPE', `${what} is a ${opened.kind}, not a ${kind}`, { expected: kind, found: opened.kind });
  }
}

export function createEnvelope(kind: DocumentKind, payloadBytes: Uint8Array, signatures: EnvelopeSignature[] = []): Envelope {
  return { payloadType: PAYLOAD_TYPES[kind], payload: toBase64(payloadBytes), signatures };
}

/** Envelopes are written pretty-printed; only the payload bytes inside are signed. */
export function serializeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope, null, 2) + '\n';
}
