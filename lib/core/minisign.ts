// minisign and signify keys and signatures (minisign's src/minisign.h; signify uses the same structs), read
// strictly. Key: "Ed" | keynum[8] | pk[32]. Signature: alg[2] | keynum[8] | sig[64], where minisign's "ED"
// signs BLAKE2b-512(message) and "Ed" (legacy, and signify) the message itself. minisign adds a trusted
// comment and a global signature over sig | comment; we verify that too, so the comment shown is signed.
import { blake2b } from '@noble/hashes/blake2.js';
import { bytesEqual, concatBytes, fromBase64, toHex, utf8 } from './bytes.js';
import { verifyStrict } from './ed25519.js';
import { KeyError, SignatureError } from './errors.js';

export type MinisignTool = 'minisign' | 'signify';

export interface MinisignPublicKey {
  tool: MinisignTool;
  keynum: Uint8Array;
  publicKey: Uint8Array;
}

/** A minisign signature as a partial carries it: the signature struct, the global signature, the trusted comment. */
export interface MinisignSignature {
  alg: 'ED' | 'Ed';
  keynum: Uint8Array;
  signature: Uint8Array;
  globalSignature: Uint8Array;
  trustedComment: string;
}

const UNTRUSTED = 'untrusted comment: ';
const TRUSTED = 'trusted comment: ';
const STRUCT_BYTES = 74;
/** Stricter than minisign's 8 KiB: a partial stays small, and minisign's default comment is under 100 bytes. */
export const MAX_TRUSTED_COMMENT = 1024;

/** minisign's key id as it prints it: the keynum read as a little-endian u64, upper-case hex. */
export function minisignKeyId(keynum: Uint8Array): string {
  return toHex(Uint8Array.from(keynum).reverse()).toUpperCase();
}

/** A file of exactly `count` lines, each ending in \n, nothing after. */
function fileLines(text: string, count: number, what: string, err: (m: string) => Error): string[] {
  const lines = text.split('\n');
  if (lines.length !== count + 1 || lines[count] !== '' || lines.some((l) => l.includes('\r'))) {
    throw err(`${what} must be exactly ${count} lines, each ending in a newline`);
  }
  return lines.slice(0, count);
}

function decodeStruct(line: string, bytes: number, what: string, err: (m: string) => Error): Uint8Array {
  let out: Uint8Array;
  try {
    out = fromBase64(line, what);
  } catch {
    throw err(`${what} is not base64`);
  }
  if (out.length !== bytes) throw err(`${what} is ${out.length} bytes, not ${bytes}`);
  return out;
}

/**
 * A minisign or signify .pub file. The two are byte-identical but for the comment, so the format is told by it:
 * minisign writes "minisign public key <KEY ID>" (its key id must then match), signify "<name> public key".
 */
export function parseMinisignPublicKey(text: string): MinisignPublicKey {
  const err = (m: string) => new KeyError('KEY_FORMAT', m);
  const [comment, b64] = fileLines(text, 2, 'a minisign or signify public key file', err);
  if (!comment!.startsWith(UNTRUSTED)) throw err(`a minisign or signify public key file starts with "${UNTRUSTED}"`);
  const key = decodeStruct(b64!, 42, 'the public key', err);
  if (key[0] !== 0x45 || key[1] !== 0x64) throw err('the public key is not an Ed25519 ("Ed") key');
  const keynum = key.slice(2, 10);
  const said = comment!.slice(UNTRUSTED.length);
  // minisign prints the id with %PRIX64, without leading zeros (one key in 16 has a 15-digit id); both spellings are read.
  const minisign = /^minisign public key ([0-9A-F]{1,16})$/.exec(said);
  if (minisign) {
    const id = minisignKeyId(keynum);
    if (minisign[1] !== id && minisign[1] !== id.replace(/^0+(?=.)/, '')) throw err(`the comment names key id ${minisign[1]} but the key is ${id}`);
    return { tool: 'minisign', keynum, publicKey: key.slice(10) };
  }
  if (/^minisign /.test(said) || !/^\S.* public key$/.test(said)) {
    throw err('cannot tell minisign from signify: the comment is neither "minisign public key <KEY ID>" nor "<name> public key"');
  }
  return { tool: 'signify', keynum, publicKey: key.slice(10) };
}

/** minisign's .minisig: untrusted comment, signature struct, trusted comment, global signature (4 lines). */
export function parseMinisignSignatureFile(text: string): MinisignSignature {
  const err = (m: string) => new SignatureError('SIGNATURE_MALFORMED', m);
  const [untrusted, sig, trusted, global] = fileLines(text, 4, 'a minisign signature file', err);
  if (!untrusted!.startsWith(UNTRUSTED)) throw err(`a minisign signature file starts with "${UNTRUSTED}"`);
  if (!trusted!.startsWith(TRUSTED)) throw err(`the third line of a minisign signature file starts with "${TRUSTED}"`);
  const struct = decodeStruct(sig!, STRUCT_BYTES, 'the minisign signature', err);
  return fromStruct(struct, decodeStruct(global!, 64, 'the global signature', err), trusted!.slice(TRUSTED.length));
}

function fromStruct(struct: Uint8Array, globalSignature: Uint8Array, trustedComment: string): MinisignSignature {
  const alg = Buffer.from(struct.subarray(0, 2)).toString('latin1');
  if (alg !== 'ED' && alg !== 'Ed') throw new SignatureError('WRONG_SIGNATURE_ALG', `minisign algorithm ${JSON.stringify(alg)}: only "ED" and "Ed" are read`);
  checkTrustedComment(trustedComment);
  return { alg, keynum: struct.slice(2, 10), signature: struct.slice(10), globalSignature, trustedComment };
}

// minisign's is_printable(): tab and 0x20-0x7e; nothing a terminal would interpret.
function checkTrustedComment(comment: string): void {
  if (comment.length > MAX_TRUSTED_COMMENT || !/^[\t\x20-\x7e]*$/.test(comment)) {
    throw new SignatureError('SIGNATURE_MALFORMED', `the trusted comment must be printable ASCII of at most ${MAX_TRUSTED_COMMENT} bytes`);
  }
}

/** The bytes a partial carries: struct[74] | global_sig[64] | trusted comment. */
export function encodeMinisignSignature(s: MinisignSignature): Uint8Array {
  return concatBytes(utf8(s.alg), s.keynum, s.signature, s.globalSignature, utf8(s.trustedComment));
}

export function decodeMinisignSignature(bytes: Uint8Array): MinisignSignature {
  if (bytes.length < STRUCT_BYTES + 64) throw new SignatureError('SIGNATURE_MALFORMED', `a minisign signature is at least ${STRUCT_BYTES + 64} bytes`);
  return fromStruct(
    bytes.subarray(0, STRUCT_BYTES),
    bytes.slice(STRUCT_BYTES, STRUCT_BYTES + 64),
    Buffer.from(bytes.subarray(STRUCT_BYTES + 64)).toString('latin1'),
  );
}

/** signify's .sig (without -e): untrusted comment, then "Ed" | keynum | sig. The 74 bytes are what a partial carries. */
export function parseSignifySignatureFile(text: string): Uint8Array {
  const err = (m: string) => new SignatureError('SIGNATURE_MALFORMED', m);
  const [untrusted, sig] = fileLines(text, 2, 'a signify signature file (signed without -e)', err);
  if (!untrusted!.startsWith(UNTRUSTED)) throw err(`a signify signature file starts with "${UNTRUSTED}"`);
  return decodeStruct(sig!, STRUCT_BYTES, 'the signify signature', err);
}

function checkKeynum(found: Uint8Array, key: MinisignPublicKey): void {
  if (!bytesEqual(found, key.keynum)) {
    throw new SignatureError('WRONG_SIGNER_KEY', `the signature is by key id ${minisignKeyId(found)}, not ${minisignKeyId(key.keynum)}`);
  }
}

/** Verifies a minisign signature (as encodeMinisignSignature lays it out) over `message`, global signature included. */
export function verifyMinisign(bytes: Uint8Array, message: Uint8Array, key: MinisignPublicKey): MinisignSignature {
  const s = decodeMinisignSignature(bytes);
  checkKeynum(s.keynum, key);
  const signed = s.alg === 'ED' ? blake2b(message, { dkLen: 64 }) : message;
  if (!verifyStrict(s.signature, signed, key.publicKey)) throw new SignatureError('BAD_SIGNATURE', 'the minisign signature does not verify over this document');
  if (!verifyStrict(s.globalSignature, concatBytes(s.signature, utf8(s.trustedComment)), key.publicKey)) {
    throw new SignatureError('BAD_SIGNATURE', 'the global signature over the trusted comment does not verify');
  }
  return s;
}

/** Verifies a signify signature struct (74 bytes: "Ed" | keynum | sig) over `message`. */
export function verifySignify(bytes: Uint8Array, message: Uint8Array, key: MinisignPublicKey): void {
  if (bytes.length !== STRUCT_BYTES) throw new SignatureError('SIGNATURE_MALFORMED', `a signify signature is ${STRUCT_BYTES} bytes, not ${bytes.length}`);
  if (bytes[0] !== 0x45 || bytes[1] !== 0x64) throw new SignatureError('WRONG_SIGNATURE_ALG', 'a signify signature has algorithm "Ed"');
  checkKeynum(bytes.subarray(2, 10), key);
  if (!verifyStrict(bytes.subarray(10), message, key.publicKey))
    throw new SignatureError('BAD_SIGNATURE', 'the signify signature does not verify over this document');
}
