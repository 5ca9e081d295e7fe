// Counting a quorum: distinct authorised public keys with a valid signature, compared with m.
// Signatures and key ids are only hints; the set that is counted is a set of key bytes.
import type * as generated from './generated/types.js';
import { fromBase64, toHex } from './bytes.js';
import { kindOf, pae, type EnvelopeSignature } from './envelope.js';
import { CountersignError, SignatureError, type Reason } from './errors.js';
import { verifySignerSignature, type SignatureInfo } from './signer-kinds.js';

/** `id` is the hex SHA-256 of the raw public key; always recomputed from the key bytes. */
export type Signer = generated.Policy['signers'][number];

/** Who may sign and how many must: the keys decoded, m of them required (the shape of tuf-js's Role). */
export interface KeyRing {
  threshold: number;
  keys: ReadonlyArray<{ signer: Signer; publicKey: Uint8Array }>;
}

export interface SignedDocument {
  envelope: { payloadType: string };
  payloadBytes: Uint8Array;
}

export interface QuorumResult {
  threshold: number;
  /** Authorised signers whose signature verified, each counted once. */
  signedBy: Signer[];
  /** Authorised signers who have not (validly) signed yet. */
  couldSign: Signer[];
  /** One valid signature per counted key, in policy order: what a bundle keeps. */
  signatures: EnvelopeSignature[];
  /** What each counted signature said beyond "valid" (its kind; a security key's counter), parallel to signedBy. */
  signedWith: SignatureInfo[];
  /** Unknown keys, bad and duplicate signatures: reported, never counted. */
  problems: Reason[];
  met: boolean;
}

export function countQuorum(doc: SignedDocument, signatures: readonly EnvelopeSignature[], ring: KeyRing): QuorumResult {
  const message = pae(doc.envelope.payloadType, doc.payloadBytes);
  const docKind = kindOf(doc.envelope.payloadType);
  const byId = new Map(ring.keys.map((k) => [k.signer.id, k]));
  const counted = new Map<string, { sig: EnvelopeSignature; info: SignatureInfo }>(); // raw key hex -> the signature that counted
  const problems: Reason[] = [];
  for (const s of signatures) {
    const key = byId.get(s.keyid);
    if (!key) {
      problems.push({ code: 'UNKNOWN_KEY', message: `signature by key ${short(s.keyid)} which the policy does not authorise`, details: { keyid: s.keyid } });
      continue;
    }
    const keyHex = toHex(key.publicKey);
    if (counted.has(keyHex)) {
      problems.push({ code: 'DUPLICATE_SIGNATURE', message: `${key.signer.name} is already counted; extra signature ignored`, details: { keyid: s.keyid } });
      continue;
    }
    let sig: Uint8Array | undefined;
    try {
      sig = fromBase64(s.sig, 'signature');
    } catch {
      sig = undefined;
    }
    let info: SignatureInfo;
    try {
      if (!sig || docKind === undefined) throw new SignatureError('BAD_SIGNATURE', 'not base64, or over an unknown document type');
      // Read as the trusted entry's kind, never as the signature claims (lib/core/signer-kinds.ts).
      info = verifySignerSignature(key.signer, key.publicKey, sig, docKind, message);
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      const why = err.code === 'BAD_SIGNATURE' ? 'does not verify over this document' : `is refused: ${err.message}`;
      problems.push({ code: err.code, message: `signature claiming to be from ${key.signer.name} ${why}`, details: { keyid: s.keyid } });
      continue;
    }
    counted.set(keyHex, { sig: { keyid: key.signer.id, sig: s.sig }, info });
  }
  const signedBy: Signer[] = [];
  const couldSign: Signer[] = [];
  const kept: EnvelopeSignature[] = [];
  const signedWith: SignatureInfo[] = [];
  for (const k of ring.keys) {
    const keyHex = toHex(k.publicKey);
    const found = counted.get(keyHex);
    if (found) {
      counted.delete(keyHex); // a key listed twice (even as two kinds) still counts once
      signedBy.push(k.signer);
      kept.push(found.sig);
      signedWith.push(found.info);
    } else {
      couldSign.push(k.signer);
    }
  }
  const threshold = ring.threshold;
  return { threshold, signedBy, couldSign, signatures: kept, signedWith, problems, met: signedBy.length >= threshold };
}

export function describeQuorum(q: QuorumResult): string {
  const names = (list: Signer[]) => (list.length ? list.map((s) => s.name).join(', ') : 'nobody');
  return `${q.signedBy.length} of ${q.threshold} required signatures (signed: ${names(q.signedBy)}; could still sign: ${names(q.couldSign)})`;
}

/** For a quorum that holds: "3 signers (threshold 3 of 5)". */
export function describeSigners(q: QuorumResult): string {
  return `${q.signedBy.length} signer${q.signedBy.length === 1 ? '' : 's'} (threshold ${q.threshold} of ${q.signedBy.length + q.couldSign.length})`;
}

export function requireQuorum(q: QuorumResult): void {
  if (!q.met) {
    throw new SignatureError('QUORUM_NOT_MET', `quorum not met: ${describeQuorum(q)}`, {
      signed: q.signedBy.length,
      threshold: q.threshold,
      signedBy: q.signedBy.map(publicSigner),
      couldSign: q.couldSign.map(publicSigner),
      problems: q.problems,
    });
  }
}

export function publicSigner(s: Signer): { id: string; name: string } {
  return { id: s.id, name: s.name };
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 16)}…` : id;
}
