// Key and signature files of the tools people already hold (ssh-keygen, minisign, signify), read for `policy init
// --signer` and `sign --import-signature`; kept apart from signer-kinds.ts so verification loads none of it.
import type * as generated from './generated/types.js';
import { pae, type OpenedEnvelope } from './envelope.js';
import { KeyError } from './errors.js';
import { parsePublicKeyFile } from './keyfile.js';
import { decodeMinisignSignature, encodeMinisignSignature, parseMinisignPublicKey, parseMinisignSignatureFile, parseSignifySignatureFile } from './minisign.js';
import { kindMembers, signerLabel, verifySignerSignature, type NewSigner, type SignatureInfo } from './signer-kinds.js';
import { dearmourSshSignature, parseSshPublicKeyLine, parseSshsig, SK_SSH_ED25519, SSH_ED25519 } from './sshsig.js';

type Signer = generated.Policy['signers'][number];

/**
 * A --signer file in any format, told apart strictly: a countersign .pub (JSON), an OpenSSH .pub line
 * (ssh-ed25519 or sk-ssh-ed25519@openssh.com), a minisign or signify .pub. `fallbackName` names keys whose file
 * carries no name (minisign, signify, an SSH line without a comment).
 */
export function parseSignerFile(text: string, fallbackName: string): NewSigner {
  if (text.startsWith('{')) {
    const pub = parsePublicKeyFile(text);
    return { publicKey: pub.publicKey, name: pub.name, kind: 'countersign' };
  }
  if (text.startsWith(`${SSH_ED25519} `) || text.startsWith(`${SK_SSH_ED25519} `)) {
    const key = parseSshPublicKeyLine(text);
    const name = key.comment || fallbackName;
    return key.type === SK_SSH_ED25519
      ? { publicKey: key.publicKey, name, kind: SK_SSH_ED25519, application: key.application }
      : { publicKey: key.publicKey, name, kind: SSH_ED25519 };
  }
  if (text.startsWith('untrusted comment: ')) {
    const key = parseMinisignPublicKey(text);
    return { publicKey: key.publicKey, name: fallbackName, kind: key.tool, keynum: key.keynum };
  }
  throw new KeyError(
    'KEY_FORMAT',
    'not a public key file: expected a countersign .pub, an OpenSSH ssh-ed25519 / sk-ssh-ed25519 .pub line, or a minisign / signify .pub',
  );
}

/** signerLabel for a key about to sign or be listed: which tool, which key in that tool's terms. */
export function newSignerLabel(s: NewSigner): string {
  return signerLabel(entryOf(s, ''));
}

/** A policy-like entry for a signer file (no user-verification requirement): what an imported signature is checked against. */
function entryOf(s: NewSigner, id: string): Signer {
  return { id, publicKey: Buffer.from(s.publicKey).toString('base64'), name: s.name, ...kindMembers(s, false) } as Signer;
}

/**
 * A signature made by hand with ssh-keygen, minisign or signify over `countersign sign --emit-pae`'s bytes, turned
 * into the bytes a partial carries, after verifying it for `signer` over `doc` (UV is the policy's to require).
 */
export function importSignature(sigText: string, signer: NewSigner, id: string, doc: OpenedEnvelope): { sig: Uint8Array; info: SignatureInfo } {
  const kind = signer.kind ?? 'countersign';
  let sig: Uint8Array;
  if (kind === SSH_ED25519 || kind === SK_SSH_ED25519) {
    sig = dearmourSshSignature(sigText);
    parseSshsig(sig);
  } else if (kind === 'minisign') {
    sig = encodeMinisignSignature(parseMinisignSignatureFile(sigText));
    decodeMinisignSignature(sig);
  } else if (kind === 'signify') {
    sig = parseSignifySignatureFile(sigText);
  } else {
    throw new KeyError('KEY_FORMAT', 'a countersign key signs with countersign sign --key; there is nothing to import');
  }
  const info = verifySignerSignature(entryOf(signer, id), signer.publicKey, sig, doc.kind, pae(doc.envelope.payloadType, doc.payloadBytes));
  return { sig, info };
}
