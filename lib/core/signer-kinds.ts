// Signer kinds (policy format 2): keys people already hold. Every kind is one raw Ed25519 key; the policy entry
// says which tool's signature format its signatures are in, so a signature is read only as its trusted entry's kind.
import { fromBase64, toHex } from './bytes.js';
import { verifyStrict } from './ed25519.js';
import type { DocumentKind } from './envelope.js';
import { SignatureError } from './errors.js';
import type * as generated from './generated/types.js';
import { decodeMinisignSignature, minisignKeyId, verifyMinisign, verifySignify, type MinisignPublicKey } from './minisign.js';
import { parseSshsig, sshFingerprint, SK_SSH_ED25519, SSH_ED25519, verifySshsig, type SshPublicKey } from './sshsig.js';

export const SIGNER_KINDS = ['countersign', SSH_ED25519, SK_SSH_ED25519, 'minisign', 'signify'] as const;
export type SignerKind = (typeof SIGNER_KINDS)[number];
/** A policy entry (quorum.ts's Signer). */
type Signer = generated.Policy['signers'][number];

/**
 * The SSHSIG namespace of each document type. The DSSE PAE already binds the payload type; the namespace also keeps
 * an SSH signature made for git, a file, or another document type from ever verifying here.
 */
export const SSHSIG_NAMESPACES: Record<DocumentKind, string> = {
  policy: 'countersign-policy@v1',
  manifest: 'countersign-release@v1',
  revocation: 'countersign-revocation@v1',
  enrolment: 'countersign-enrolment@v1',
  'key-revocation': 'countersign-key-revocation@v1',
};

/** What a verified signature said beyond "valid", for verify and inspect to show. */
export interface SignatureInfo {
  kind: SignerKind;
  /** sk keys: the FIDO flags and signature counter. */
  flags?: number;
  counter?: number;
  /** minisign: its signed trusted comment, and whether it signed the BLAKE2b-512 prehash (ED) or the bytes (Ed). */
  trustedComment?: string;
  prehashed?: boolean;
}

/** A key to add to a policy, with the kind its file was in. */
export interface NewSigner {
  publicKey: Uint8Array;
  name: string;
  kind?: SignerKind;
  /** sk keys. */
  application?: string;
  userVerification?: boolean;
  /** minisign and signify. */
  keynum?: Uint8Array;
}

export function signerKind(s: Pick<Signer, 'kind'>): SignerKind {
  return s.kind ?? 'countersign';
}

function sshKeyOf(s: Signer, publicKey: Uint8Array): SshPublicKey {
  return s.kind === SK_SSH_ED25519 ? { type: SK_SSH_ED25519, publicKey, application: s.application } : { type: SSH_ED25519, publicKey };
}

function minisignKeyOf(s: Signer, publicKey: Uint8Array): MinisignPublicKey {
  if (s.kind !== 'minisign' && s.kind !== 'signify') throw new Error('not a minisign or signify signer');
  return { tool: s.kind, keynum: fromHexBytes(s.keynum), publicKey };
}

const fromHexBytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

/**
 * Verifies one signature by `signer` (a trusted policy entry, key already admitted) over `message` (the DSSE PAE of a
 * document of type `doc`), read as the entry's kind. Throws SignatureError naming the first rule broken.
 */
export function verifySignerSignature(signer: Signer, publicKey: Uint8Array, sig: Uint8Array, doc: DocumentKind, message: Uint8Array): SignatureInfo {
  switch (signer.kind) {
    case undefined:
    case 'countersign':
      if (!verifyStrict(sig, message, publicKey)) throw new SignatureError('BAD_SIGNATURE', 'the signature does not verify over this document');
      return { kind: 'countersign' };
    case SSH_ED25519:
    case SK_SSH_ED25519: {
      const s = verifySshsig(sig, message, {
        key: sshKeyOf(signer, publicKey),
        namespace: SSHSIG_NAMESPACES[doc],
        userVerification: signer.kind === SK_SSH_ED25519 && signer.userVerification === true,
      });
      return signer.kind === SK_SSH_ED25519 ? { kind: signer.kind, flags: s.flags, counter: s.counter } : { kind: signer.kind };
    }
    case 'minisign': {
      const s = verifyMinisign(sig, message, minisignKeyOf(signer, publicKey));
      return { kind: 'minisign', trustedComment: s.trustedComment, prehashed: s.alg === 'ED' };
    }
    case 'signify':
      verifySignify(sig, message, minisignKeyOf(signer, publicKey));
      return { kind: 'signify' };
  }
}

/** The kind and what identifies the key in its own tool: an SSH fingerprint, a minisign key id. */
export function signerLabel(s: Signer): string {
  const publicKey = fromBase64(s.publicKey);
  switch (s.kind) {
    case undefined:
    case 'countersign':
      return 'countersign';
    case SSH_ED25519:
      return `${SSH_ED25519} ${sshFingerprint(sshKeyOf(s, publicKey))}`;
    case SK_SSH_ED25519:
      return `${SK_SSH_ED25519} ${sshFingerprint(sshKeyOf(s, publicKey))} (security key, application ${s.application}, touch required${s.userVerification ? ', PIN/biometric required' : ''})`;
    case 'minisign':
      return `minisign key id ${minisignKeyId(fromHexBytes(s.keynum))}`;
    case 'signify':
      return `signify key number ${s.keynum}`;
  }
}

/** SignatureInfo in words, for verify and inspect ("" when there is nothing beyond the kind). */
export function describeSignatureInfo(info: SignatureInfo): string {
  if (info.counter !== undefined) {
    const flags = info.flags ?? 0;
    return `security key counter ${info.counter}, flags 0x${flags.toString(16).padStart(2, '0')} (user present${flags & 0x04 ? ', user verified' : ''})`;
  }
  if (info.trustedComment !== undefined)
    return `minisign ${info.prehashed ? 'prehashed (ED)' : 'legacy (Ed)'}, trusted comment ${JSON.stringify(info.trustedComment)}`;
  return '';
}

/** A policy entry's shape for a new signer (the caller adds id and base64 key). */
export function kindMembers(s: NewSigner, userVerification: boolean): Record<string, unknown> {
  const kind = s.kind ?? 'countersign';
  switch (kind) {
    case 'countersign':
    case SSH_ED25519:
      return { kind };
    case SK_SSH_ED25519:
      return { kind, application: s.application, ...((s.userVerification ?? userVerification) && { userVerification: true }) };
    case 'minisign':
    case 'signify':
      return { kind, keynum: toHex(s.keynum!) };
  }
}

/** A policy entry as a NewSigner again, kind and requirements kept (policy rotate keeps signers as they were). */
export function signerAsNew(s: Signer): NewSigner {
  const base = { publicKey: fromBase64(s.publicKey), name: s.name };
  switch (s.kind) {
    case undefined:
    case 'countersign':
      return { ...base, kind: 'countersign' };
    case SSH_ED25519:
      return { ...base, kind: s.kind };
    case SK_SSH_ED25519:
      return { ...base, kind: s.kind, application: s.application, userVerification: s.userVerification === true };
    case 'minisign':
    case 'signify':
      return { ...base, kind: s.kind, keynum: fromHexBytes(s.keynum) };
  }
}

/** What a partial's signature bytes say, read but not verified (inspect): the key in its tool's terms, a counter. */
export function describeSignatureBytes(kind: SignerKind, sig: Uint8Array): Record<string, string | number> {
  switch (kind) {
    case 'countersign':
      return {};
    case SSH_ED25519:
    case SK_SSH_ED25519: {
      const s = parseSshsig(sig);
      return {
        fingerprint: sshFingerprint(s.key),
        namespace: s.namespace,
        hashAlg: s.hashAlg,
        ...(s.key.application !== undefined && { application: s.key.application }),
        ...(s.flags !== undefined && { flags: s.flags, counter: s.counter! }),
      };
    }
    case 'minisign': {
      const s = decodeMinisignSignature(sig);
      return { keyId: minisignKeyId(s.keynum), algorithm: s.alg, trustedComment: s.trustedComment };
    }
    case 'signify':
      return { keyNumber: toHex(sig.subarray(2, 10)) };
  }
}
