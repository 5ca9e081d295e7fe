import { expect } from 'chai';
import crypto from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, parseSignedCheckpoint } from '../../lib/log/checkpoint.js';
import { cosignatureMessage, cosignatureTimestamp, cosignatureVerifier, cosigner } from '../../lib/log/cosignature.js';
import { leafHash, rootOf } from '../../lib/log/merkle.js';
import {
  computeKeyId,
  ed25519Signer,
  ed25519Verifier,
  formatNote,
  formatVkey,
  MAX_SIGNATURES,
  parseNote,
  parseVkey,
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  signatureLine,
  signNote,
  verifyNote,
} from '../../lib/log/note.js';
import { mixedOrderKey } from '../support/torsion.js';
import { codeOf as code } from '../support/codes.js';

// c2sp.org/signed-note §Example.
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

// LOG.md "Worked example": log key from the seed 32 x 0x01, leaves entry-0..entry-2.
const LOG_SEED = new Uint8Array(32).fill(1);
const LOG_NAME = 'countersign.example/log';
const LOG_VKEY = 'countersign.example/log+cc310fba+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c';
const WORKED = `countersign.example/log
3
pkvybgkSj2/i/m+LLYyAHhZrV8BHp82bK4Ceepai8cs=

— countersign.example/log zDEPujczbSt8wy0+Q8bGrZ6sgfAvrwYZL2EKSv67NzTkm1LPYJvedXmlshRrZ69lXzYgaIMLySEZnAckC5rlJDxRAAs=
`;

describe('log/note: C2SP signed-note', () => {
  it('verifies the signed-note spec example with its vkey', () => {
    const v = verifyNote(SPEC_NOTE, [ed25519Verifier(SPEC_VKEY)]);
    expect(v.text).to.equal('This is an example message.\n');
    expect(v.verified).to.have.length(1);
    expect(parseVkey(SPEC_VKEY).keyId).to.equal(0x530d903a);
  });

  it('the worked example: seed 32 x 0x01 gives the LOG.md vkey and the exact signed checkpoint', () => {
    const signer = ed25519Signer(LOG_NAME, LOG_SEED);
    expect(signer.vkey).to.equal(LOG_VKEY);
    const root = rootOf(['entry-0', 'entry-1', 'entry-2'].map((e) => leafHash(new TextEncoder().encode(e))));
    const text = formatCheckpoint({ origin: LOG_NAME, size: 3, root, extensions: [] });
    expect(signNote(text, [signer])).to.equal(WORKED);
    const cp = openCheckpoint(WORKED, ed25519Verifier(LOG_VKEY));
    expect(cp).to.include({ origin: LOG_NAME, size: 3 });
  });

  it('the signature is libsodium-verifiable over exactly the note text (an independent verifier)', async () => {
    await sodium.ready;
    const note = parseNote(WORKED);
    const pub = parseVkey(LOG_VKEY).publicKey;
    expect(sodium.crypto_sign_verify_detached(note.signatures[0]!.signature, new TextEncoder().encode(note.text), pub)).to.equal(true);
  });

  it('unknown (name, key id) pairs are ignored, even sharing the name or the id of a known key', () => {
    const other = ed25519Signer(LOG_NAME, new Uint8Array(32).fill(2));
    const sameName = signNote(parseNote(WORKED), [other]);
    expect(verifyNote(sameName, [ed25519Verifier(LOG_VKEY)]).verified).to.have.length(1);
    const note = parseNote(WORKED);
    const sameId = formatNote({
      text: note.text,
      signatures: [...note.signatures, signatureLine('someone.else', parseVkey(LOG_VKEY).keyId, new Uint8Array(64))],
    });
    expect(verifyNote(sameId, [ed25519Verifier(LOG_VKEY)]).verified).to.have.length(1);
  });

  it('a known key whose signature fails rejects the whole note, even beside a good one (BAD_NOTE)', () => {
    const note = parseNote(WORKED);
    const bad = signatureLine(LOG_NAME, note.signatures[0]!.keyId, new Uint8Array(64).fill(7));
    expect(code(() => verifyNote(formatNote({ text: note.text, signatures: [...note.signatures, bad] }), [ed25519Verifier(LOG_VKEY)]))).to.equal('BAD_NOTE');
    expect(code(() => verifyNote(WORKED.replace('\n3\n', '\n4\n'), [ed25519Verifier(LOG_VKEY)]))).to.equal('BAD_NOTE');
  });

  it('a note no known key signed is rejected (BAD_NOTE): a checkpoint signed by another key', () => {
    const other = ed25519Signer(LOG_NAME, new Uint8Array(32).fill(2));
    const forged = signNote(parseNote(WORKED).text, [other]);
    expect(code(() => verifyNote(forged, [ed25519Verifier(LOG_VKEY)]))).to.equal('BAD_NOTE');
    expect(code(() => openCheckpoint(forged, ed25519Verifier(LOG_VKEY)))).to.equal('BAD_NOTE');
  });

  it('format rules: blank line, em dash, names, base64, control characters, UTF-8, signature count', () => {
    const text = 'hello\n';
    const line = parseNote(WORKED).signatures[0]!.line;
    for (const [why, note] of [
      ['no blank line', `${text}${line}\n`],
      ['no signatures', `${text}\n`],
      ['no final newline', `${text}\n${line}`],
      ['hyphen, not em dash', `${text}\n${line.replace('\u2014', '-')}\n`],
      ['no space after the dash', `${text}\n${line.replace('\u2014 ', '\u2014')}\n`],
      ['name with +', `${text}\n${line.replace(LOG_NAME, 'a+b')}\n`],
      ['name with NBSP', `${text}\n${line.replace(LOG_NAME, 'a\u00a0b')}\n`],
      ['empty name', `${text}\n${line.replace(LOG_NAME, '')}\n`],
      ['unpadded base64', `${text}\n${line.replace(/=$/, '')}\n`],
      ['non-canonical base64', `${text}\n${line.replace(/s=$/, 't=')}\n`],
      ['signature of 4 bytes', `${text}\n\u2014 a AAAAAA==\n`],
      ['tab in text', `hel\tlo\n\n${line}\n`],
      ['CR in text', `hello\r\n\n${line}\n`],
      ['NUL', `hel\u0000lo\n\n${line}\n`],
    ] as const) {
      expect(
        code(() => parseNote(note)),
        why,
      ).to.equal('BAD_NOTE');
    }
    expect(code(() => parseNote(new Uint8Array([0x68, 0xff, 0x0a, 0x0a, ...new TextEncoder().encode(`${line}\n`)])))).to.equal('BAD_NOTE');
    // Empty lines inside the text are allowed: the last blank line splits.
    expect(parseNote(`a\n\nb\n\n${line}\n`).text).to.equal('a\n\nb\n');
    // At least 16 signatures are accepted; more than MAX_SIGNATURES are not.
    const many = (n: number): string => `${text}\n${Array.from({ length: n }, () => line).join('\n')}\n`;
    expect(parseNote(many(16)).signatures).to.have.length(16);
    expect(parseNote(many(MAX_SIGNATURES)).signatures).to.have.length(MAX_SIGNATURES);
    expect(code(() => parseNote(many(MAX_SIGNATURES + 1)))).to.equal('BAD_NOTE');
  });

  it('vkeys: key id checked, types 1 and 4 only, 32-byte keys, weak and mixed-order keys refused (BAD_VKEY)', () => {
    const pub = parseVkey(LOG_VKEY).publicKey;
    expect(formatVkey(LOG_NAME, SIG_ED25519, pub)).to.equal(LOG_VKEY);
    expect(computeKeyId(LOG_NAME, SIG_ED25519, pub)).to.equal(0xcc310fba);
    const b64 = (type: number, key: Uint8Array): string => Buffer.concat([Buffer.from([type]), key]).toString('base64');
    for (const [why, vkey] of [
      ['wrong id', LOG_VKEY.replace('cc310fba', 'cc310fbb')],
      ['upper-case id', LOG_VKEY.replace('cc310fba', 'CC310FBA')],
      ['two parts', 'countersign.example/log+cc310fba'],
      ['four parts', `${LOG_VKEY}+x`],
      ['type 2', `${LOG_NAME}+${computeKeyId(LOG_NAME, 2, pub).toString(16).padStart(8, '0')}+${b64(2, pub)}`],
      ['31-byte key', `${LOG_NAME}+00000000+${b64(1, pub.subarray(1))}`],
      ['bad base64', `${LOG_NAME}+cc310fba+AYqI4910CfGV!VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c`],
      ['name with space', LOG_VKEY.replace(LOG_NAME, 'a b')],
    ] as const) {
      expect(
        code(() => parseVkey(vkey)),
        why,
      ).to.equal('BAD_VKEY');
    }
    // A "+" inside the base64 key is not a separator (names never hold one).
    const plus = ed25519Signer('k', new Uint8Array(32).fill(8)).vkey;
    expect(plus).to.equal('k+55d9cee6+AROY9ixtGkV8UbpqS189vS9p/KkyFiGNyJl+QWvRfZPK');
    expect(parseVkey(plus).keyId).to.equal(0x55d9cee6);
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const weak = `w+${computeKeyId('w', 1, identity).toString(16).padStart(8, '0')}+${b64(1, identity)}`;
    expect(
      code(() => parseVkey(weak)),
      'small-order key',
    ).to.equal('BAD_VKEY');
    const mixed = mixedOrderKey(LOG_SEED);
    const mixedVkey = `m+${computeKeyId('m', 1, mixed).toString(16).padStart(8, '0')}+${b64(1, mixed)}`;
    expect(
      code(() => parseVkey(mixedVkey)),
      'mixed-order key',
    ).to.equal('BAD_VKEY');
    // A type 0x04 key is not a note (log) key and vice versa.
    const w = cosigner('witness.example/w1', new Uint8Array(32).fill(3));
    expect(code(() => ed25519Verifier(w.vkey))).to.equal('BAD_VKEY');
    expect(code(() => cosignatureVerifier(LOG_VKEY))).to.equal('BAD_VKEY');
  });
});

describe('log/checkpoint: C2SP tlog-checkpoint', () => {
  it('parses and re-formats the worked example text exactly', () => {
    const cp = parseSignedCheckpoint(WORKED);
    expect(formatCheckpoint(cp)).to.equal(cp.note.text);
    expect(Buffer.from(cp.root).toString('base64')).to.equal('pkvybgkSj2/i/m+LLYyAHhZrV8BHp82bK4Ceepai8cs=');
    const ext = parseCheckpoint('o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nx-ext one\n');
    expect(ext.extensions).to.deep.equal(['x-ext one']);
  });

  it('refuses every malformed text with BAD_CHECKPOINT', () => {
    const root = 'pkvybgkSj2/i/m+LLYyAHhZrV8BHp82bK4Ceepai8cs=';
    for (const [why, text] of [
      ['two lines', `o\n3\n`],
      ['no final newline', `o\n3\n${root}`],
      ['empty origin', `\n3\n${root}\n`],
      ['leading zero', `o\n03\n${root}\n`],
      ['plus sign', `o\n+3\n${root}\n`],
      ['negative', `o\n-3\n${root}\n`],
      ['above 2^53', `o\n9007199254740993\n${root}\n`],
      ['31-byte root', `o\n3\n${Buffer.alloc(31).toString('base64')}\n`],
      ['unpadded root', `o\n3\n${root.slice(0, -1)}\n`],
      ['empty extension line', `o\n3\n${root}\n\nx\n`],
    ] as const) {
      expect(
        code(() => parseCheckpoint(text)),
        why,
      ).to.equal('BAD_CHECKPOINT');
    }
    expect(parseCheckpoint(`o\n0\n${root}\n`).size).to.equal(0);
  });

  it('another origin is refused even when the key verifies (BAD_CHECKPOINT): a key reused for two logs', () => {
    const signer = ed25519Signer(LOG_NAME, LOG_SEED);
    const cp = parseSignedCheckpoint(WORKED);
    const other = signNote(formatCheckpoint({ ...cp, origin: 'other.example/log' }), [signer]);
    expect(code(() => openCheckpoint(other, ed25519Verifier(LOG_VKEY)))).to.equal('BAD_CHECKPOINT');
  });
});

describe('log/cosignature: C2SP tlog-cosignature cosignature/v1', () => {
  const W_SEED = new Uint8Array(32).fill(3);
  const W_NAME = 'witness.example/w1';

  it('the spec example line is 76 bytes whose timestamp is the spec signed-message example time', () => {
    // tlog-cosignature §Format example line and §Ed25519 signed message ("time 1679315147").
    const raw = Buffer.from('jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==', 'base64');
    expect(raw.length).to.equal(76);
    expect(cosignatureTimestamp(new Uint8Array(raw.subarray(4)))).to.equal(1679315147);
    const msg = new TextDecoder().decode(
      cosignatureMessage('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n', 1679315147),
    );
    expect(msg).to.equal('cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
  });

  it('cosigns the worked example; libsodium verifies it over a hand-built message; key id uses type 0x04', async () => {
    await sodium.ready;
    const w = cosigner(W_NAME, W_SEED);
    const pub = parseVkey(w.vkey).publicKey;
    expect(parseVkey(w.vkey).type).to.equal(SIG_COSIGNATURE_V1);
    const expectedId = crypto
      .createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${W_NAME}\n`), Buffer.from([4]), pub]))
      .digest()
      .readUInt32BE(0);
    expect(w.keyId).to.equal(expectedId);
    const text = parseNote(WORKED).text;
    const line = w.cosign(text, 1700000000);
    const blob = Buffer.from(line.line.split(' ')[2]!, 'base64');
    expect(blob.length).to.equal(76);
    expect(blob.readUInt32BE(0)).to.equal(expectedId);
    expect(blob.readBigUInt64BE(4)).to.equal(1700000000n);
    const message = Buffer.from(`cosignature/v1\ntime 1700000000\n${text}`);
    expect(sodium.crypto_sign_verify_detached(blob.subarray(12), message, pub)).to.equal(true);
    const cosigned = formatNote({ text, signatures: [...parseNote(WORKED).signatures, line] });
    const v = verifyNote(cosigned, [ed25519Verifier(LOG_VKEY), cosignatureVerifier(w.vkey)]);
    expect(v.verified).to.have.length(2);
  });

  it('a cosignature covers its timestamp, the extension lines and the whole text', () => {
    const w = cosignatureVerifier(cosigner(W_NAME, W_SEED).vkey);
    const c = cosigner(W_NAME, W_SEED);
    const text = 'o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n';
    const sig = c.cosign(text, 1700000000).signature;
    expect(w.verify(new TextEncoder().encode(text), sig)).to.equal(true);
    const later = new Uint8Array(sig);
    later[7]! ^= 1;
    expect(w.verify(new TextEncoder().encode(text), later), 'timestamp changed').to.equal(false);
    expect(w.verify(new TextEncoder().encode(text.replace('ext', 'exu')), sig), 'extension changed').to.equal(false);
    expect(w.verify(new TextEncoder().encode(text), sig.subarray(0, 71)), 'short').to.equal(false);
    // A type 0x01 signature by the same key over the bare text is not a cosignature.
    expect(
      w.verify(new TextEncoder().encode(text), new Uint8Array([...sig.subarray(0, 8), ...ed25519Signer('x', W_SEED).sign(new TextEncoder().encode(text))])),
    ).to.equal(false);
    const big = new Uint8Array(sig);
    big[0] = 0x80;
    expect(cosignatureTimestamp(big), 'timestamp >= 2^63').to.equal(null);
  });
});
