// Partial signatures: what one signer sends back after reviewing a document offline.
import type * as generated from './generated/types.js';
import { fromBase64, toBase64 } from './bytes.js';
import { keyId, signMessage } from './ed25519.js';
import { checkPayloadFormat, PARTIAL_KINDS_FORMAT } from './format.js';
import type { SignerKind } from './signer-kinds.js';
import { kindOf, pae, parseJsonBytes, type EnvelopeSignature, type OpenedEnvelope } from './envelope.js';
import type { Reason } from './errors.js';
import { validateFile } from './file-schema.js';

/** `payloadSha256` is the hex SHA-256 of the envelope payload bytes this signature covers. */
export type PartialSignature = generated.PartialSignature;

export const MAX_PARTIAL_BYTES = 4096;

export function signDocument(doc: OpenedEnvelope, seed: Uint8Array, publicKey: Uint8Array): PartialSignature {
  const sig = signMessage(pae(doc.envelope.payloadType, doc.payloadBytes), seed);
  return {
    type: 'countersign-partial-signature',
    payloadType: doc.envelope.payloadType,
    payloadSha256: doc.payloadSha256,
    keyid: keyId(publicKey),
    sig: toBase64(sig),
  };
}

/** A partial signature made with another tool (ssh-keygen, minisign, signify): format 2, naming its kind. */
export function toolPartial(doc: OpenedEnvelope, kind: SignerKind, publicKey: Uint8Array, sig: Uint8Array): PartialSignature {
  return {
    type: 'countersign-partial-signature',
    format: PARTIAL_KINDS_FORMAT,
    kind,
    payloadType: doc.envelope.payloadType,
    payloadSha256: doc.payloadSha256,
    keyid: keyId(publicKey),
    sig: toBase64(sig),
  };
}

/** The kind a partial says it was made with (format 1: a countersign key); the policy entry decides how it is verified. */
export function partialKind(partial: PartialSignature): SignerKind {
  return 'kind' in partial ? partial.kind : 'countersign';
}

export function parsePartial(bytes: Uint8Array, what = 'partial signature'): PartialSignature {
  const value = parseJsonBytes(bytes, what, MAX_PARTIAL_BYTES);
  checkPayloadFormat('partial-signature', value);
  const partial = validateFile<PartialSignature>('partial-signature', value, what);
  fromBase64(partial.sig, `${what} sig`);
  return partial;
}

export function serializePartial(partial: PartialSignature): string {
  return JSON.stringify(partial, null, 2) + '\n';
}

/** A partial made for another document (or another document type) is reported, never counted. */
export function partialMismatch(partial: PartialSignature, doc: OpenedEnvelope, what: string): Reason | undefined {
  if (partial.payloadType !== doc.envelope.payloadType) {
    const signs = kindOf(partial.payloadType) ?? partial.payloadType;
    return { code: 'WRONG_DOCUMENT', message: `${what} signs a ${signs}, not this ${doc.kind}`, details: { keyid: partial.keyid } };
  }
  if (partial.payloadSha256 !== doc.payloadSha256) {
    return {
      code: 'WRONG_DOCUMENT',
      message: `${what} signs another document (payload ${partial.payloadSha256.slice(0, 16)}…)`,
      details: { keyid: partial.keyid },
    };
  }
  return undefined;
}

export function partialAsSignature(partial: PartialSignature): EnvelopeSignature {
  return { keyid: partial.keyid, sig: partial.sig };
}
