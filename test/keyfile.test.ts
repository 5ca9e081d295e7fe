import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { fromBase64, fromHex, toBase64 } from '../lib/core/bytes.js';
import { CountersignError, KeyError } from '../lib/core/errors.js';
import {
  DEFAULT_SCRYPT_N,
  UNENCRYPTED_WARNING,
  decryptSecretKey,
  encryptSecretKey,
  formatPublicKeyFile,
  parsePublicKeyFile,
  secretKeyIsEncrypted,
  unencryptedSecretKey,
} from '../lib/core/keyfile.js';

// RFC 8032 section 7.1 key pairs (seed, public key), from test/vectors (see test/vectors/SOURCES.md).
const RFC8032 = JSON.parse(readFileSync(new URL('./vectors/ed25519/rfc8032.json', import.meta.url), 'utf8')) as { priv: string; pub: string }[];
const SEED = fromHex(RFC8032[0]!.priv);
const PUB = fromHex(RFC8032[0]!.pub);
const OTHER_SEED = fromHex(RFC8032[1]!.priv);
const OTHER_PUB = fromHex(RFC8032[1]!.pub);
const KEYID = createHash('sha256').update(PUB).digest('hex');

const FAST = { N: 2 ** 14 };
const PASSPHRASE = 'correct horse battery staple \u2713 Zq7';

async function caught(fn: () => unknown): Promise<CountersignError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof CountersignError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

async function codeOf(fn: () => unknown): Promise<string> {
  return (await caught(fn)).code;
}

type Json = Record<string, any>;
const edit = (text: string, change: (obj: Json) => void): string => {
  const obj = JSON.parse(text) as Json;
  change(obj);
  return `${JSON.stringify(obj, null, 2)}\n`;
};
const flipByte = (b64: string, at: number): string => {
  const bytes = fromBase64(b64);
  bytes[at]! ^= 0x01;
  return toBase64(bytes);
};

describe('keyfile: public key files', () => {
  it('writes pretty JSON with the key id and parses it back', () => {
    const text = formatPublicKeyFile(PUB, 'Alice (security team)');
    expect(text).to.equal(
      `{\n  "type": "countersign-public-key",\n  "keyid": "${KEYID}",\n  "name": "Alice (security team)",\n  "publicKey": "${toBase64(PUB)}"\n}\n`,
    );
    const parsed = parsePublicKeyFile(text);
    expect(parsed.keyid).to.equal(KEYID);
    expect(parsed.name).to.equal('Alice (security team)');
    expect(Buffer.from(parsed.publicKey)).to.deep.equal(Buffer.from(PUB));
  });

  it('accepts the same JSON written compactly', () => {
    const text = JSON.stringify({ type: 'countersign-public-key', keyid: KEYID, name: 'a', publicKey: toBase64(PUB) });
    expect(parsePublicKeyFile(text).keyid).to.equal(KEYID);
  });

  it('recomputes the key id: a mismatch is KEY_FORMAT', async () => {
    const text = formatPublicKeyFile(PUB, 'alice');
    expect(await codeOf(() => parsePublicKeyFile(edit(text, (o) => (o.keyid = createHash('sha256').update(OTHER_PUB).digest('hex')))))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => parsePublicKeyFile(edit(text, (o) => (o.publicKey = toBase64(OTHER_PUB)))))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => parsePublicKeyFile(edit(text, (o) => (o.keyid = KEYID.toUpperCase()))))).to.equal('KEY_FORMAT');
  });

  it('is strict about members, types and encodings', async () => {
    const text = formatPublicKeyFile(PUB, 'alice');
    const bad = [
      'not json',
      '[]',
      'null',
      edit(text, (o) => (o.extra = 1)),
      edit(text, (o) => delete o.name),
      edit(text, (o) => delete o.keyid),
      edit(text, (o) => (o.type = 'countersign-secret-key')),
      edit(text, (o) => (o.type = 'minisign')),
      edit(text, (o) => (o.name = '')),
      edit(text, (o) => (o.name = 'evil\u001b[2Jname')),
      edit(text, (o) => (o.name = 'abc\u202edcba')),
      edit(text, (o) => (o.name = 7)),
      edit(text, (o) => (o.publicKey = toBase64(PUB).replace(/=*$/, ''))), // unpadded
      edit(text, (o) => (o.publicKey = toBase64(new Uint8Array(31)))),
      edit(text, (o) => (o.publicKey = toBase64(new Uint8Array(33)))),
      ' '.repeat(70_000),
    ];
    for (const t of bad) expect(await codeOf(() => parsePublicKeyFile(t)), t.slice(0, 80)).to.equal('KEY_FORMAT');
    expect(await codeOf(() => parsePublicKeyFile(unencryptedSecretKey(SEED, PUB, 'alice')))).to.equal('KEY_FORMAT');
  });

  it('refuses to write a bad key or name', async () => {
    expect(await codeOf(() => formatPublicKeyFile(new Uint8Array(31), 'alice'))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => formatPublicKeyFile(PUB, 'line\nbreak'))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => formatPublicKeyFile(PUB, 'x'.repeat(201)))).to.equal('KEY_FORMAT');
  });
});

describe('keyfile: unencrypted secret key files', () => {
  it('round-trips and says it is unencrypted', async () => {
    const text = unencryptedSecretKey(SEED, PUB, 'demo');
    const obj = JSON.parse(text) as Json;
    expect(Object.keys(obj)).to.deep.equal(['type', 'keyid', 'name', 'publicKey', 'kdf', 'cipher', 'seed', 'warning']);
    expect(obj).to.deep.include({ type: 'countersign-secret-key', keyid: KEYID, kdf: null, cipher: null, warning: UNENCRYPTED_WARNING });
    expect(text.endsWith('}\n')).to.equal(true);
    const key = await decryptSecretKey(text, undefined);
    expect(key).to.deep.include({ name: 'demo', keyid: KEYID, encrypted: false });
    expect(Buffer.from(key.seed)).to.deep.equal(Buffer.from(SEED));
    expect(Buffer.from(key.publicKey)).to.deep.equal(Buffer.from(PUB));
    // A passphrase offered for an unencrypted key changes nothing; the caller sees encrypted: false.
    expect((await decryptSecretKey(text, 'anything')).encrypted).to.equal(false);
  });

  it('derives public keys as RFC 8032 does (node:crypto), and refuses pairs that do not match', async () => {
    for (const v of RFC8032) {
      const text = unencryptedSecretKey(fromHex(v.priv), fromHex(v.pub), 'rfc8032');
      expect((await decryptSecretKey(text, undefined)).keyid).to.equal(createHash('sha256').update(fromHex(v.pub)).digest('hex'));
    }
    expect(await codeOf(() => unencryptedSecretKey(SEED, OTHER_PUB, 'mismatch'))).to.equal('KEY_FORMAT');
    const text = unencryptedSecretKey(SEED, PUB, 'demo');
    expect(
      await codeOf(() =>
        decryptSecretKey(
          edit(text, (o) => (o.seed = toBase64(OTHER_SEED))),
          undefined,
        ),
      ),
    ).to.equal('KEY_FORMAT');
  });

  it('requires the warning and exact members', async () => {
    const text = unencryptedSecretKey(SEED, PUB, 'demo');
    for (const t of [
      edit(text, (o) => delete o.warning),
      edit(text, (o) => (o.warning = 'fine')),
      edit(text, (o) => (o.ciphertext = 'AAAA')),
      edit(text, (o) => (o.seed = toBase64(new Uint8Array(64)))),
      edit(text, (o) => (o.cipher = { name: 'xchacha20-poly1305', nonce: toBase64(new Uint8Array(24)) })),
    ]) {
      expect(await codeOf(() => decryptSecretKey(t, undefined))).to.equal('KEY_FORMAT');
    }
  });
});

describe('keyfile: encrypted secret key files', () => {
  let text: string;
  before(async () => {
    text = await encryptSecretKey(SEED, PUB, 'Alice', PASSPHRASE, FAST);
  });

  it('writes the documented structure', () => {
    const obj = JSON.parse(text) as Json;
    expect(text).to.equal(`${JSON.stringify(obj, null, 2)}\n`);
    expect(Object.keys(obj)).to.deep.equal(['type', 'keyid', 'name', 'publicKey', 'kdf', 'cipher', 'ciphertext']);
    expect(obj).to.deep.include({ type: 'countersign-secret-key', keyid: KEYID, name: 'Alice', publicKey: toBase64(PUB) });
    expect(obj.kdf).to.deep.include({ name: 'scrypt', N: 16384, r: 8, p: 1 });
    expect(fromBase64(obj.kdf.salt)).to.have.length(32);
    expect(obj.cipher.name).to.equal('xchacha20-poly1305');
    expect(fromBase64(obj.cipher.nonce)).to.have.length(24);
    expect(fromBase64(obj.ciphertext)).to.have.length(48);
    expect(text).not.to.include(toBase64(SEED));
  });

  it('round-trips with the passphrase', async () => {
    const key = await decryptSecretKey(text, PASSPHRASE);
    expect(key).to.deep.include({ name: 'Alice', keyid: KEYID, encrypted: true });
    expect(Buffer.from(key.seed)).to.deep.equal(Buffer.from(SEED));
    expect(Buffer.from(key.publicKey)).to.deep.equal(Buffer.from(PUB));
  });

  it('uses a fresh salt and nonce each time', async () => {
    const again = JSON.parse(await encryptSecretKey(SEED, PUB, 'Alice', PASSPHRASE, FAST)) as Json;
    const first = JSON.parse(text) as Json;
    expect(again.kdf.salt).not.to.equal(first.kdf.salt);
    expect(again.cipher.nonce).not.to.equal(first.cipher.nonce);
    expect(again.ciphertext).not.to.equal(first.ciphertext);
  });

  it('defaults to scrypt N = 2^17', async () => {
    const obj = JSON.parse(await encryptSecretKey(OTHER_SEED, OTHER_PUB, 'Bob', 'pw', {})) as Json;
    expect(obj.kdf.N).to.equal(DEFAULT_SCRYPT_N).and.to.equal(131072);
    expect((await decryptSecretKey(`${JSON.stringify(obj)}`, 'pw')).name).to.equal('Bob');
  });

  it('normalises the passphrase to NFC', async () => {
    const t = await encryptSecretKey(SEED, PUB, 'Alice', 'caf\u00e9', FAST);
    expect((await decryptSecretKey(t, 'cafe\u0301')).keyid).to.equal(KEYID);
  });

  it('a wrong passphrase is BAD_PASSPHRASE', async () => {
    expect(await codeOf(() => decryptSecretKey(text, 'wrong'))).to.equal('BAD_PASSPHRASE');
    expect(await codeOf(() => decryptSecretKey(text, `${PASSPHRASE} `))).to.equal('BAD_PASSPHRASE');
  });

  it('a missing passphrase is BAD_PASSPHRASE, saying one is needed', async () => {
    for (const p of [undefined, '']) {
      const err = await caught(() => decryptSecretKey(text, p));
      expect(err).to.be.instanceOf(KeyError);
      expect(err.code).to.equal('BAD_PASSPHRASE');
      expect(err.message).to.equal('this key is encrypted; a passphrase is needed');
    }
  });

  it('a modified ciphertext, nonce, salt or cost is BAD_PASSPHRASE', async () => {
    const tampered = [
      edit(text, (o) => (o.ciphertext = flipByte(o.ciphertext, 0))), // seed bytes
      edit(text, (o) => (o.ciphertext = flipByte(o.ciphertext, 47))), // tag
      edit(text, (o) => (o.cipher.nonce = flipByte(o.cipher.nonce, 23))),
      edit(text, (o) => (o.kdf.salt = flipByte(o.kdf.salt, 5))),
      edit(text, (o) => (o.kdf.N = 2 ** 15)),
      edit(text, (o) => (o.kdf.p = 2)),
    ];
    for (const t of tampered) expect(await codeOf(() => decryptSecretKey(t, PASSPHRASE))).to.equal('BAD_PASSPHRASE');
  });

  it('a modified key id is refused: alone it no longer matches the key, with a matching key the AEAD fails', async () => {
    const otherId = createHash('sha256').update(OTHER_PUB).digest('hex');
    expect(
      await codeOf(() =>
        decryptSecretKey(
          edit(text, (o) => (o.keyid = otherId)),
          PASSPHRASE,
        ),
      ),
    ).to.equal('KEY_FORMAT');
    const swapped = edit(text, (o) => {
      o.keyid = otherId;
      o.publicKey = toBase64(OTHER_PUB);
    });
    expect(await codeOf(() => decryptSecretKey(swapped, PASSPHRASE))).to.equal('BAD_PASSPHRASE');
  });

  it('refuses a hostile scrypt cost fast, before running scrypt', async () => {
    const hostile = edit(text, (o) => (o.kdf.N = 2 ** 30));
    const start = performance.now();
    expect(await codeOf(() => decryptSecretKey(hostile, PASSPHRASE))).to.equal('KEY_FORMAT');
    expect(performance.now() - start).to.be.lessThan(50);
  });

  it('checks every KDF and cipher parameter against fixed bounds', async () => {
    const bad = [
      edit(text, (o) => (o.kdf.N = 2 ** 18)),
      edit(text, (o) => (o.kdf.N = 2 ** 13)),
      edit(text, (o) => (o.kdf.N = 2 ** 14 + 1)),
      edit(text, (o) => (o.kdf.N = 1e300)),
      edit(text, (o) => (o.kdf.N = '16384')),
      edit(text, (o) => (o.kdf.N = 16384.5)),
      edit(text, (o) => (o.kdf.r = 16)),
      edit(text, (o) => (o.kdf.r = 1)),
      edit(text, (o) => (o.kdf.p = 0)),
      edit(text, (o) => (o.kdf.p = 5)),
      edit(text, (o) => (o.kdf.p = 1e9)),
      edit(text, (o) => (o.kdf.name = 'argon2id')),
      edit(text, (o) => (o.kdf.salt = toBase64(new Uint8Array(8)))),
      edit(text, (o) => (o.kdf.salt = toBase64(new Uint8Array(33)))),
      edit(text, (o) => (o.kdf.extra = true)),
      edit(text, (o) => delete o.kdf.salt),
      edit(text, (o) => (o.kdf = [])),
      edit(text, (o) => (o.kdf = null)),
      edit(text, (o) => (o.cipher = null)),
      edit(text, (o) => (o.cipher.name = 'aes-256-gcm')),
      edit(text, (o) => (o.cipher.nonce = toBase64(new Uint8Array(12)))),
      edit(text, (o) => (o.cipher.extra = 1)),
      edit(text, (o) => (o.ciphertext = toBase64(new Uint8Array(47)))),
      edit(text, (o) => (o.ciphertext = o.ciphertext.slice(0, -1))),
      edit(text, (o) => (o.ciphertext = `${o.ciphertext}AAAA`)),
      edit(text, (o) => delete o.ciphertext),
      edit(text, (o) => (o.seed = toBase64(SEED))),
      edit(text, (o) => (o.type = 'countersign-public-key')),
    ];
    for (const t of bad) expect(await codeOf(() => decryptSecretKey(t, PASSPHRASE)), t).to.equal('KEY_FORMAT');
  });

  it('refuses to write what it would refuse to read', async () => {
    expect(await codeOf(() => encryptSecretKey(SEED, PUB, 'Alice', PASSPHRASE, { N: 2 ** 18 }))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => encryptSecretKey(SEED, PUB, 'Alice', PASSPHRASE, { N: 1000 }))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => encryptSecretKey(SEED, OTHER_PUB, 'Alice', PASSPHRASE, FAST))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => encryptSecretKey(SEED.subarray(1), PUB, 'Alice', PASSPHRASE, FAST))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => encryptSecretKey(SEED, PUB, '', PASSPHRASE, FAST))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => encryptSecretKey(SEED, PUB, 'Alice', '', FAST))).to.equal('BAD_PASSPHRASE');
  });

  it('tells encrypted from unencrypted files before any passphrase is asked for', async () => {
    expect(secretKeyIsEncrypted(text)).to.equal(true);
    expect(secretKeyIsEncrypted(unencryptedSecretKey(SEED, PUB, 'demo'))).to.equal(false);
    expect(await codeOf(() => secretKeyIsEncrypted(formatPublicKeyFile(PUB, 'alice')))).to.equal('KEY_FORMAT');
    expect(await codeOf(() => secretKeyIsEncrypted('nope'))).to.equal('KEY_FORMAT');
  });

  it('never puts the passphrase in an error', async () => {
    const secret = `pass-${randomBytes(8).toString('hex')}-phrase`;
    const mine = await encryptSecretKey(SEED, PUB, 'Alice', secret, FAST);
    const errors = [
      await caught(() => decryptSecretKey(text, secret)), // wrong passphrase for `text`
      await caught(() =>
        decryptSecretKey(
          edit(mine, (o) => (o.ciphertext = flipByte(o.ciphertext, 3))),
          secret,
        ),
      ),
      await caught(() =>
        decryptSecretKey(
          edit(mine, (o) => (o.kdf.N = 2 ** 30)),
          secret,
        ),
      ),
      await caught(() =>
        decryptSecretKey(
          edit(mine, (o) => (o.keyid = '00'.repeat(32))),
          secret,
        ),
      ),
      await caught(() => decryptSecretKey('{"type":', secret)),
      await caught(() => decryptSecretKey(mine.replace('scrypt', 'bcrypt'), secret)),
      await caught(() => encryptSecretKey(SEED, OTHER_PUB, 'Alice', secret, FAST)),
      await caught(() => encryptSecretKey(SEED, PUB, 'Alice', secret, { N: 3 })),
    ];
    expect(errors).to.have.length(8);
    for (const err of errors) {
      const everything = [err.message, String(err.stack), String(err), JSON.stringify(err.details), JSON.stringify(err)].join('\n');
      expect(everything).not.to.include(secret);
      expect(everything).not.to.include('pass-');
    }
    expect((await decryptSecretKey(mine, secret)).keyid).to.equal(KEYID);
  });
});
