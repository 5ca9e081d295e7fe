// Signatures in the formats of ssh-keygen (plain and security key), minisign and signify, made by the tests
// themselves from the published layouts (PROTOCOL.sshsig, PROTOCOL.u2f, minisign.h): CI has no security key.
import { blake2b } from '@noble/hashes/blake2.js';
import { concatBytes, toBase64, utf8 } from '../../lib/core/bytes.js';
import { generateSeed, keyId, publicKeyFromSeed, signMessage } from '../../lib/core/ed25519.js';
import { pae, type Envelope } from '../../lib/core/envelope.js';
import { encodeMinisignSignature, type MinisignSignature } from '../../lib/core/minisign.js';
import type { NewSigner } from '../../lib/core/signer-kinds.js';
import { SK_SSH_ED25519, SSH_ED25519, SSHSIG_HASH, skSignedData, sshSignedData, sshsigBlob, type SshSignature } from '../../lib/core/sshsig.js';

export interface KindSigner {
  seed: Uint8Array;
  publicKey: Uint8Array;
  id: string;
  keynum: Uint8Array;
}

export function kindSigner(seed = generateSeed()): KindSigner {
  const publicKey = publicKeyFromSeed(seed);
  return { seed, publicKey, id: keyId(publicKey), keynum: Uint8Array.from(publicKey.subarray(0, 8)) };
}

export const messageOf = (envelope: Pick<Envelope, 'payloadType' | 'payload'>) => pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));

export interface SshOptions {
  namespace: string;
  version?: number;
  hashAlg?: string;
  reserved?: Uint8Array;
  /** sk: which application the signature's key names and signs under. */
  application?: string;
  flags?: number;
  counter?: number;
  /** Replace the inner signature (e.g. by 63 bytes). */
  signature?: (sig: Uint8Array) => Uint8Array;
}

/** An SSHSIG blob by `s` over `message`, valid in every field the options do not change. */
export function sshSign(s: KindSigner, message: Uint8Array, type: typeof SSH_ED25519 | typeof SK_SSH_ED25519, o: SshOptions): Uint8Array {
  const hashAlg = o.hashAlg ?? SSHSIG_HASH;
  const reserved = o.reserved ?? new Uint8Array(0);
  let signed = sshSignedData(o.namespace, message, hashAlg, reserved);
  const application = o.application ?? 'ssh:';
  if (type === SK_SSH_ED25519) signed = skSignedData(application, o.flags ?? 0x01, o.counter ?? 7, signed);
  const signature = signMessage(signed, s.seed);
  const sig: SshSignature = {
    version: o.version ?? 1,
    key: type === SK_SSH_ED25519 ? { type, publicKey: s.publicKey, application } : { type, publicKey: s.publicKey },
    namespace: o.namespace,
    reserved,
    hashAlg,
    signature: o.signature ? o.signature(signature) : signature,
    ...(type === SK_SSH_ED25519 && { flags: o.flags ?? 0x01, counter: o.counter ?? 7 }),
  };
  return sshsigBlob(sig);
}

/** A minisign signature as a partial carries it: prehashed ("ED") unless `legacy`. */
export function minisignSign(
  s: KindSigner,
  message: Uint8Array,
  o: { legacy?: boolean; trustedComment?: string; alg?: string; keynum?: Uint8Array } = {},
): Uint8Array {
  const signature = signMessage(o.legacy ? message : blake2b(message, { dkLen: 64 }), s.seed);
  const trustedComment = o.trustedComment ?? 'timestamp:1764000000\tfile:pae.bin\thashed';
  const sig: MinisignSignature = {
    alg: (o.alg ?? (o.legacy ? 'Ed' : 'ED')) as 'ED',
    keynum: o.keynum ?? s.keynum,
    signature,
    globalSignature: signMessage(concatBytes(signature, utf8(trustedComment)), s.seed),
    trustedComment,
  };
  return encodeMinisignSignature(sig);
}

export function signifySign(s: KindSigner, message: Uint8Array, keynum = s.keynum): Uint8Array {
  return concatBytes(utf8('Ed'), keynum, signMessage(message, s.seed));
}

export const asSignature = (s: KindSigner, sig: Uint8Array) => ({ keyid: s.id, sig: toBase64(sig) });

export const newSigner = (s: KindSigner, name: string, kind: NewSigner['kind'], extra: Partial<NewSigner> = {}): NewSigner => ({
  publicKey: s.publicKey,
  name,
  kind,
  ...(kind === SK_SSH_ED25519 && { application: 'ssh:' }),
  ...((kind === 'minisign' || kind === 'signify') && { keynum: s.keynum }),
  ...extra,
});
