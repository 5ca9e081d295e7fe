// OpenSSH Ed25519 keys and SSHSIG signatures (PROTOCOL.sshsig, PROTOCOL.u2f), read more strictly than
// OpenSSH does: version exactly 1, reserved empty, our namespace, sha512, no trailing bytes, a 64-byte
// inner signature, libsodium-strict Ed25519, and for security keys the user-presence flag (which
// `ssh-keygen -Y verify` never checks), a pinned application string and, per key, user verification.
import { createHash } from 'node:crypto';
import { bytesEqual, concatBytes, fromBase64, toBase64, utf8 } from './bytes.js';
import { verifyStrict } from './ed25519.js';
import { KeyError, SignatureError, type SignatureCode } from './errors.js';

export const SSH_ED25519 = 'ssh-ed25519';
export const SK_SSH_ED25519 = 'sk-ssh-ed25519@openssh.com';
export type SshKeyType = typeof SSH_ED25519 | typeof SK_SSH_ED25519;

/** FIDO flags (PROTOCOL.u2f, WebAuthn authenticator data): user present, user verified (PIN or biometric). */
export const SK_USER_PRESENT = 0x01;
export const SK_USER_VERIFIED = 0x04;

/** The one hash we accept: OpenSSH also offers sha256, but a signer kind is pinned to one spelling. */
export const SSHSIG_HASH = 'sha512';
const MAGIC = utf8('SSHSIG');
const ARMOUR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOUR_END = '-----END SSH SIGNATURE-----';
const MAX_APPLICATION = 256;

export interface SshPublicKey {
  type: SshKeyType;
  publicKey: Uint8Array;
  /** sk keys only: the FIDO application string (usually "ssh:"). */
  application?: string;
}

/** RFC 4251 reading: u32 big-endian lengths; every overrun is `code` (the caller's malformation code). */
class WireReader {
  private at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}
  private take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw fail('SIGNATURE_MALFORMED', `${this.what} is truncated`);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  raw(n: number): Uint8Array {
    return this.take(n);
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u32(): number {
    const b = this.take(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }
  string(): Uint8Array {
    return this.take(this.u32());
  }
  text(): string {
    return Buffer.from(this.string()).toString('latin1');
  }
  end(): void {
    if (this.at !== this.bytes.length) throw fail('TRAILING_BYTES', `${this.what} has ${this.bytes.length - this.at} bytes after its last field`);
  }
}

function fail(code: SignatureCode, message: string): SignatureError {
  return new SignatureError(code, message);
}

function sshString(bytes: Uint8Array): Uint8Array {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, bytes.length);
  return concatBytes(len, bytes);
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

const sha = (alg: 'sha256' | 'sha512', data: Uint8Array) => new Uint8Array(createHash(alg).update(data).digest());

/** The public key blob: string type | string pk(32) [| string application]. */
export function sshPublicKeyBlob(key: SshPublicKey): Uint8Array {
  const parts = [sshString(utf8(key.type)), sshString(key.publicKey)];
  if (key.type === SK_SSH_ED25519) parts.push(sshString(utf8(key.application ?? '')));
  return concatBytes(...parts);
}

/** OpenSSH's fingerprint: SHA256: and the unpadded base64 of SHA-256(public key blob). */
export function sshFingerprint(key: SshPublicKey): string {
  return `SHA256:${toBase64(sha('sha256', sshPublicKeyBlob(key))).replace(/=+$/, '')}`;
}

function readKeyBlob(blob: Uint8Array, what: string): SshPublicKey {
  const r = new WireReader(blob, what);
  const type = r.text();
  if (type !== SSH_ED25519 && type !== SK_SSH_ED25519) throw fail('WRONG_SIGNATURE_ALG', `${what} is a ${JSON.stringify(type.slice(0, 64))} key, not Ed25519`);
  const publicKey = r.string();
  if (publicKey.length !== 32) throw fail('SIGNATURE_MALFORMED', `${what} holds a ${publicKey.length}-byte Ed25519 key`);
  const key: SshPublicKey = { type, publicKey: new Uint8Array(publicKey) };
  if (type === SK_SSH_ED25519) key.application = readApplication(r.string(), what);
  r.end();
  return key;
}

function readApplication(bytes: Uint8Array, what: string): string {
  const text = Buffer.from(bytes).toString('latin1');
  if (bytes.length === 0 || bytes.length > MAX_APPLICATION || !/^[\x21-\x7e]+$/.test(text)) {
    throw fail('SIGNATURE_MALFORMED', `${what} has an application string that is empty, too long or not printable ASCII`);
  }
  return text;
}

/**
 * One line of an OpenSSH .pub file: `ssh-ed25519 BASE64 [comment]` or `sk-ssh-ed25519@openssh.com BASE64 [comment]`.
 * No authorized_keys options, no other key type; the blob's type must equal the line's. KeyError KEY_FORMAT otherwise.
 */
export function parseSshPublicKeyLine(text: string): SshPublicKey & { comment: string } {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  const m = /^(ssh-ed25519|sk-ssh-ed25519@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?: ([^\r\n]*))?$/.exec(line);
  if (!m) throw new KeyError('KEY_FORMAT', 'not an OpenSSH ssh-ed25519 or sk-ssh-ed25519@openssh.com public key line');
  try {
    const key = readKeyBlob(fromBase64(m[2]!, 'SSH public key'), 'the SSH public key');
    if (key.type !== m[1]) throw new KeyError('KEY_FORMAT', `the line says ${m[1]} but its key blob is a ${key.type} key`);
    return { ...key, comment: (m[3] ?? '').trim() };
  } catch (err) {
    if (err instanceof SignatureError) throw new KeyError('KEY_FORMAT', err.message);
    throw err;
  }
}

/** The armoured form ssh-keygen writes; the blob inside is what a partial signature carries. */
export function dearmourSshSignature(text: string): Uint8Array {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 3 || lines[0] !== ARMOUR_BEGIN || lines.at(-1) !== ARMOUR_END) {
    throw fail('SIGNATURE_MALFORMED', `an SSH signature must start with ${ARMOUR_BEGIN} and end with ${ARMOUR_END}`);
  }
  const body = lines.slice(1, -1).join('');
  try {
    return fromBase64(body, 'SSH signature');
  } catch {
    throw fail('SIGNATURE_MALFORMED', 'the SSH signature is not valid base64');
  }
}

export function armourSshSignature(blob: Uint8Array): string {
  const b64 = toBase64(blob);
  return `${ARMOUR_BEGIN}\n${(b64.match(/.{1,70}/g) ?? []).join('\n')}\n${ARMOUR_END}\n`;
}

/** An SSHSIG blob, parsed: every field as found, checked only for framing (magic, lengths, no trailing bytes). */
export interface SshSignature {
  version: number;
  key: SshPublicKey;
  namespace: string;
  reserved: Uint8Array;
  hashAlg: string;
  signature: Uint8Array;
  /** sk keys only. */
  flags?: number;
  counter?: number;
}

export function parseSshsig(blob: Uint8Array): SshSignature {
  const r = new WireReader(blob, 'the SSH signature');
  if (!bytesEqual(r.raw(MAGIC.length), MAGIC)) throw fail('SIGNATURE_MALFORMED', 'the SSH signature does not start with SSHSIG');
  const version = r.u32();
  // Refused before the rest is read: another version may lay the fields out differently.
  if (version !== 1) throw fail('SIGNATURE_VERSION', `SSHSIG version ${version}; only version 1 is read`);
  const key = readKeyBlob(r.string(), 'the key in the SSH signature');
  const namespace = r.text();
  const reserved = r.string();
  const hashAlg = r.text();
  const sigBlob = r.string();
  r.end();
  const s = new WireReader(sigBlob, 'the inner SSH signature');
  const sigType = s.text();
  if (sigType !== key.type) throw fail('WRONG_SIGNATURE_ALG', `a ${key.type} key with a ${JSON.stringify(sigType.slice(0, 64))} signature`);
  const signature = s.string();
  if (signature.length !== 64) throw fail('BAD_SIGNATURE_LENGTH', `the inner Ed25519 signature is ${signature.length} bytes, not 64`);
  const out: SshSignature = { version, key, namespace, reserved: new Uint8Array(reserved), hashAlg, signature: new Uint8Array(signature) };
  if (key.type === SK_SSH_ED25519) {
    out.flags = s.u8();
    out.counter = s.u32();
  }
  s.end();
  return out;
}

/** What an SSHSIG key signs: "SSHSIG" | string namespace | string reserved | string hash_alg | string H(message). */
export function sshSignedData(namespace: string, message: Uint8Array, hashAlg = SSHSIG_HASH, reserved: Uint8Array = new Uint8Array(0)): Uint8Array {
  const digest = hashAlg === 'sha256' ? sha('sha256', message) : sha('sha512', message);
  return concatBytes(MAGIC, sshString(utf8(namespace)), sshString(reserved), sshString(utf8(hashAlg)), sshString(digest));
}

/** What a FIDO key signs (PROTOCOL.u2f): SHA256(application) | flags | u32 counter | SHA256(data), 69 bytes. */
export function skSignedData(application: string, flags: number, counter: number, data: Uint8Array): Uint8Array {
  return concatBytes(sha('sha256', utf8(application)), Uint8Array.of(flags), u32(counter), sha('sha256', data));
}

/** Builds an SSHSIG blob from its fields (for tests and the conformance vectors: CI has no security key). */
export function sshsigBlob(sig: SshSignature): Uint8Array {
  const inner = [sshString(utf8(sig.key.type)), sshString(sig.signature)];
  if (sig.key.type === SK_SSH_ED25519) inner.push(Uint8Array.of(sig.flags ?? 0), u32(sig.counter ?? 0));
  return concatBytes(
    MAGIC,
    u32(sig.version),
    sshString(sshPublicKeyBlob(sig.key)),
    sshString(utf8(sig.namespace)),
    sshString(sig.reserved),
    sshString(utf8(sig.hashAlg)),
    sshString(concatBytes(...inner)),
  );
}

export interface SshExpectation {
  key: SshPublicKey;
  namespace: string;
  /** sk keys: refuse a signature made without user verification (PIN or biometric). */
  userVerification?: boolean;
}

/** Verifies an SSHSIG blob over `message` for exactly `expected`; throws SignatureError with the first rule broken. */
export function verifySshsig(blob: Uint8Array, message: Uint8Array, expected: SshExpectation): SshSignature {
  const sig = parseSshsig(blob);
  if (sig.key.type !== expected.key.type) throw fail('WRONG_SIGNATURE_ALG', `a ${sig.key.type} signature for a ${expected.key.type} signer`);
  if (!bytesEqual(sig.key.publicKey, expected.key.publicKey)) throw fail('WRONG_SIGNER_KEY', 'the SSH signature names another key');
  if (sig.key.type === SK_SSH_ED25519 && sig.key.application !== expected.key.application) {
    throw fail(
      'WRONG_APPLICATION',
      `the security key's application is ${JSON.stringify(sig.key.application)}, not ${JSON.stringify(expected.key.application)}`,
    );
  }
  if (sig.namespace !== expected.namespace) {
    throw fail('WRONG_NAMESPACE', `the SSH signature is for namespace ${JSON.stringify(sig.namespace.slice(0, 100))}, not ${expected.namespace}`);
  }
  if (sig.reserved.length !== 0) throw fail('RESERVED_NOT_EMPTY', 'the SSH signature has a non-empty reserved field');
  if (sig.hashAlg !== SSHSIG_HASH)
    throw fail('WRONG_HASH_ALG', `the SSH signature hashes with ${JSON.stringify(sig.hashAlg.slice(0, 32))}, not ${SSHSIG_HASH}`);
  // Built from the blob's own fields: each rule above is then the only thing refusing what it refuses.
  let signed = sshSignedData(sig.namespace, message, sig.hashAlg, sig.reserved);
  if (sig.key.type === SK_SSH_ED25519) {
    const flags = sig.flags!;
    if ((flags & SK_USER_PRESENT) === 0) throw fail('USER_NOT_PRESENT', `the security key signed without a touch (flags 0x${hex2(flags)})`);
    if (expected.userVerification && (flags & SK_USER_VERIFIED) === 0) {
      throw fail('USER_NOT_VERIFIED', `the policy requires user verification (PIN or biometric) and the flags 0x${hex2(flags)} lack it`);
    }
    signed = skSignedData(sig.key.application!, flags, sig.counter!, signed);
  }
  if (!verifyStrict(sig.signature, signed, sig.key.publicKey)) throw fail('BAD_SIGNATURE', 'the SSH signature does not verify over this document');
  return sig;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
