// CLI contract: `keygen` and `policy init`.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listing, makeCliKeys, runCli, runCliOk, envelopePayload, type CliKey, scriptedPrompter } from './support/cli.js';
import { NOW, tempDir } from './support/fixtures.js';

const PASSPHRASE = 'correct horse battery staple 7f3a';

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A public key file holding arbitrary key bytes, with a key id that matches them (so only the key itself is wrong). */
function craftPublicKeyFile(path: string, keyBytes: Uint8Array, name: string): string {
  writeFileSync(
    path,
    JSON.stringify({ type: 'countersign-public-key', keyid: sha256Hex(keyBytes), name, publicKey: Buffer.from(keyBytes).toString('base64') }, null, 2) + '\n',
  );
  return path;
}

/** What inquirer throws on Ctrl-C. */
function ctrlC(): Error {
  return Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
}

function expectNoStackTrace(text: string): void {
  expect(text).not.to.match(/\n\s+at .+\(.*:\d+:\d+\)/);
  expect(text).not.to.contain('node:internal');
}

describe('cli keygen', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('countersign-cli-keygen-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--unencrypted writes PREFIX.key and PREFIX.pub and warns that the key is for tests and demos only', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'alice'), '--unencrypted']);
    expect(r.code).to.equal(0);
    expect(listing(dir)).to.deep.equal(['alice.key', 'alice.pub']);
    expect(r.stderr).to.match(/tests and demos only/i);
    const secret = JSON.parse(readFileSync(join(dir, 'alice.key'), 'utf8'));
    expect(secret.type).to.equal('countersign-secret-key');
    expect(secret.kdf).to.equal(null);
    expect(secret.warning).to.match(/UNENCRYPTED/);
    expect(statSync(join(dir, 'alice.key')).mode & 0o077, 'secret key readable by others').to.equal(0);
    const pub = JSON.parse(readFileSync(join(dir, 'alice.pub'), 'utf8'));
    expect(pub.type).to.equal('countersign-public-key');
    expect(pub.keyid).to.equal(sha256Hex(Buffer.from(pub.publicKey, 'base64')));
    expect(pub.keyid).to.equal(secret.keyid);
    // Without --name the display name is the prefix's base name.
    expect(pub.name).to.equal('alice');
    expect(r.stdout).to.contain(pub.keyid);
  });

  it('--json prints one object with the key id, paths and encrypted: false', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'bob'), '--name', 'Bob <bob@example.org>', '--unencrypted', '--json']);
    expect(r.code).to.equal(0);
    expect(r.json).to.include({ ok: true, name: 'Bob <bob@example.org>', encrypted: false, secretKey: join(dir, 'bob.key'), publicKey: join(dir, 'bob.pub') });
    expect(r.json.keyid).to.match(/^[0-9a-f]{64}$/);
    expect(JSON.parse(readFileSync(join(dir, 'bob.pub'), 'utf8')).name).to.equal('Bob <bob@example.org>');
  });

  it('encrypts the secret key at rest with the passphrase from --passphrase-file, and never prints the passphrase', async () => {
    const passFile = join(dir, 'pass.txt');
    writeFileSync(passFile, `${PASSPHRASE}\nsecond line is ignored\n`);
    const r = await runCli(['keygen', '--out', join(dir, 'carol'), '--passphrase-file', passFile, '--json']);
    expect(r.code).to.equal(0);
    expect(r.json).to.include({ ok: true, encrypted: true });
    const text = readFileSync(join(dir, 'carol.key'), 'utf8');
    const secret = JSON.parse(text);
    expect(secret.kdf.name).to.equal('scrypt');
    expect(secret.cipher.name).to.equal('xchacha20-poly1305');
    expect(secret).to.have.property('ciphertext');
    expect(secret).not.to.have.property('seed');
    expect(text).not.to.contain(PASSPHRASE);
    expect(r.stdout + r.stderr).not.to.contain(PASSPHRASE);
    expect(statSync(join(dir, 'carol.key')).mode & 0o077, 'secret key readable by others').to.equal(0);
    expect(listing(dir)).to.deep.equal(['carol.key', 'carol.pub', 'pass.txt']);
    // inspect sees an encrypted key without decrypting it.
    const i = await runCli(['inspect', join(dir, 'carol.key'), '--json']);
    expect(i.json).to.include({ ok: true, file: 'secret-key', encrypted: true, keyid: r.json.keyid });
  });

  it('takes the passphrase from COUNTERSIGN_PASSPHRASE in scripts', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'dave'), '--json'], { env: { COUNTERSIGN_PASSPHRASE: PASSPHRASE } });
    expect(r.code).to.equal(0);
    expect(r.json).to.include({ ok: true, encrypted: true });
    expect(r.stdout + r.stderr).not.to.contain(PASSPHRASE);
    expect(readFileSync(join(dir, 'dave.key'), 'utf8')).not.to.contain(PASSPHRASE);
  });

  it('with no passphrase available and no terminal: exit 2 and no file behind', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'erin'), '--json']);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'USAGE' });
    expect(listing(dir)).to.deep.equal([]);
  });

  it('refuses an empty passphrase file: exit 2 and no file behind', async () => {
    writeFileSync(join(dir, 'empty.txt'), '\n');
    const r = await runCli(['keygen', '--out', join(dir, 'erin'), '--passphrase-file', join(dir, 'empty.txt'), '--json']);
    expect(r.code).to.equal(2);
    expect(r.json.ok).to.equal(false);
    expect(listing(dir)).to.deep.equal(['empty.txt']);
  });

  it('a missing --passphrase-file is an I/O error (exit 2, IO)', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'erin'), '--passphrase-file', join(dir, 'nope.txt'), '--json']);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'IO' });
    expect(listing(dir)).to.deep.equal([]);
  });

  it("--out in a directory that does not exist (the README's ~/.countersign/alice): creates it, mode 0700", async () => {
    await runCliOk(['keygen', '--out', join(dir, 'missing', 'deeper', 'frank'), '--unencrypted', '--json']);
    for (const d of ['missing', join('missing', 'deeper')]) expect(statSync(join(dir, d)).mode & 0o777, d).to.equal(0o700);
    expect(listing(join(dir, 'missing', 'deeper'))).to.deep.equal(['frank.key', 'frank.pub']);
  });

  it('a keygen that fails after creating the directory removes it again', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'missing', 'frank'), '--json'], { env: { COUNTERSIGN_PASSPHRASE: '' } });
    expect(r.code).to.equal(2);
    expect(existsSync(join(dir, 'missing'))).to.equal(false);
  });

  it('--out under a file, not a directory: exit 2, IO, before any passphrase is asked', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    const asked: string[] = [];
    const r = await runCli(['keygen', '--out', join(dir, 'plain', 'frank'), '--json'], { interactive: true, prompter: scriptedPrompter(asked, []) });
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'IO' });
    expect(asked).to.deep.equal([]);
  });

  it('never overwrites an existing key: exit 2, both files untouched, no temporary file left', async () => {
    await runCliOk(['keygen', '--out', join(dir, 'gina'), '--unencrypted']);
    const key = readFileSync(join(dir, 'gina.key'));
    const pub = readFileSync(join(dir, 'gina.pub'));
    const asked: string[] = [];
    const r = await runCli(['keygen', '--out', join(dir, 'gina'), '--json'], { interactive: true, prompter: scriptedPrompter(asked, []) });
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
    expect(asked, 'refused before any prompt').to.deep.equal([]);
    expect(readFileSync(join(dir, 'gina.key')).equals(key)).to.equal(true);
    expect(readFileSync(join(dir, 'gina.pub')).equals(pub)).to.equal(true);
    expect(listing(dir)).to.deep.equal(['gina.key', 'gina.pub']);
  });

  it('refuses when only PREFIX.pub exists, and writes no PREFIX.key', async () => {
    writeFileSync(join(dir, 'hal.pub'), 'someone else\n');
    const r = await runCli(['keygen', '--out', join(dir, 'hal'), '--unencrypted', '--json']);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
    expect(readFileSync(join(dir, 'hal.pub'), 'utf8')).to.equal('someone else\n');
    expect(listing(dir)).to.deep.equal(['hal.pub']);
  });

  it('--help exits 0 with an example', async () => {
    const r = await runCli(['keygen', '--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Examples?:$/m);
    expect(r.stdout).to.contain('--passphrase-file');
  });

  it('an unknown flag or a missing --out is a usage error (exit 2)', async () => {
    const unknown = await runCli(['keygen', '--out', join(dir, 'x'), '--unencrypted', '--bogus', '--json']);
    expect(unknown.code).to.equal(2);
    expect(unknown.json).to.include({ ok: false, code: 'USAGE' });
    const missing = await runCli(['keygen', '--unencrypted', '--json']);
    expect(missing.code).to.equal(2);
    expect(missing.json).to.include({ ok: false, code: 'USAGE' });
    // A passphrase is never taken from argv.
    const argvPass = await runCli(['keygen', '--out', join(dir, 'x'), '--passphrase', PASSPHRASE, '--json']);
    expect(argvPass.code).to.equal(2);
    expect(listing(dir)).to.deep.equal([]);
  });
});

describe('cli keygen at a terminal (passphrases)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('countersign-cli-keygen-tty-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const STRONG = 'violet anchor quantum seventeen lagoon';

  it('an empty passphrase is refused at the first prompt and asked again', async () => {
    const asked: string[] = [];
    const r = await runCli(['keygen', '--out', join(dir, 'a'), '--json'], { interactive: true, prompter: scriptedPrompter(asked, ['', STRONG, STRONG]) });
    expect(r.code, r.stderr).to.equal(0);
    expect(asked).to.deep.equal(['Passphrase:', 'Passphrase:', 'Passphrase again:']);
    expect(r.stderr).to.match(/must not be empty/);
  });

  it('a mismatch asks for both again instead of failing; three mismatches fail with nothing written', async () => {
    const asked: string[] = [];
    const ok = await runCli(['keygen', '--out', join(dir, 'b'), '--json'], {
      interactive: true,
      prompter: scriptedPrompter(asked, [STRONG, 'typo', STRONG, STRONG]),
    });
    expect(ok.code, ok.stderr).to.equal(0);
    expect(asked).to.have.length(4);
    const r = await runCli(['keygen', '--out', join(dir, 'c'), '--json'], {
      interactive: true,
      prompter: scriptedPrompter([], [STRONG, 'x', STRONG, 'y', STRONG, 'z']),
    });
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'PASSPHRASE_MISMATCH' });
    expect(listing(dir)).to.deep.equal(['b.key', 'b.pub']);
  });

  it('a weak passphrase is warned about (zxcvbn), not refused; a strong one is not', async () => {
    const weak = await runCli(['keygen', '--out', join(dir, 'd'), '--unencrypted'], { interactive: true, prompter: scriptedPrompter([], []) });
    expect(weak.stderr).not.to.match(/weak/);
    const r = await runCli(['keygen', '--out', join(dir, 'e'), '--json'], { env: { COUNTERSIGN_PASSPHRASE: 'password1' } });
    expect(r.code).to.equal(0);
    expect(r.stderr).to.match(/warning: this passphrase is weak/);
    expect(r.stderr).not.to.contain('password1');
    const strong = await runCli(['keygen', '--out', join(dir, 'f'), '--json'], { env: { COUNTERSIGN_PASSPHRASE: STRONG } });
    expect(strong.stderr).not.to.match(/weak/);
  });

  it('Ctrl-C at a prompt: "cancelled", CANCELLED, exit 2, nothing written (not INTERNAL)', async () => {
    const r = await runCli(['keygen', '--out', join(dir, 'sub', 'g')], { interactive: true, prompter: scriptedPrompter([], [ctrlC()]) });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^error\[CANCELLED\]: cancelled$/m);
    expect(r.stderr).not.to.contain('INTERNAL');
    expect(listing(dir)).to.deep.equal([]);
  });

  it('a passphrase on the command line is refused without echoing it', async () => {
    for (const args of [['--passphrase', 'hunter2-secret'], ['--passphrase=hunter2-secret'], ['--password', 'hunter2-secret']]) {
      const r = await runCli(['keygen', '--out', join(dir, 'h'), ...args, '--json']);
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
      expect(String(r.json.message)).to.match(/never taken from the command line.*--passphrase-file/);
      expect(r.stdout + r.stderr).not.to.contain('hunter2-secret');
    }
  });
});

describe('cli policy init', () => {
  let dir: string;
  let keys: Record<string, CliKey>;
  const expires = '2028-01-01T00:00:00Z';
  const init = (args: string[]) => runCli(['policy', 'init', ...args, '--json'], { now: NOW });
  const signers = (...names: string[]) => names.flatMap((n) => ['--signer', keys[n]!.pub]);

  before(async () => {
    dir = tempDir('countersign-cli-policy-');
    keys = await makeCliKeys(dir, ['alice', 'bob', 'carol']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an unsigned version-1 policy with the threshold, signers and expiry', async () => {
    const out = join(dir, 'ok.json');
    const r = await init(['--threshold', '2', ...signers('alice', 'bob', 'carol'), '--expires', expires, '--out', out]);
    expect(r.code).to.equal(0);
    expect(r.json).to.include({ ok: true, policy: out, version: 1, threshold: 2 });
    expect((r.json.signers as Array<{ id: string; name: string }>).map((s) => s.id)).to.deep.equal([keys.alice!.keyid, keys.bob!.keyid, keys.carol!.keyid]);
    const envelope = JSON.parse(readFileSync(out, 'utf8'));
    expect(envelope.payloadType).to.equal('application/vnd.countersign.policy+json');
    expect(envelope.signatures).to.deep.equal([]);
    const policy = envelopePayload(out);
    expect(policy).to.include({ version: 1, threshold: 2, expires });
    expect(policy.signers.map((s: { name: string }) => s.name)).to.deep.equal(['alice', 'bob', 'carol']);
    // Human output says what comes next.
    const human = await runCli(['policy', 'init', '--threshold', '1', ...signers('alice'), '--expires', expires, '--out', join(dir, 'ok-human.json')], {
      now: NOW,
    });
    expect(human.code).to.equal(0);
    expect(human.stdout).to.contain('1 of 1');
    expect(human.stdout).to.contain('countersign sign');
  });

  it('defaults the expiry to one year from now', async () => {
    const out = join(dir, 'default-expiry.json');
    await runCliOk(['policy', 'init', '--threshold', '1', ...signers('alice'), '--out', out], { now: NOW });
    expect(envelopePayload(out).expires).to.equal('2027-11-23T12:00:00Z');
  });

  it("refuses a threshold above the number of signers (BAD_THRESHOLD, exit 2: the caller's own input, nothing written)", async () => {
    const out = join(dir, 'too-high.json');
    const r = await init(['--threshold', '3', ...signers('alice', 'bob'), '--expires', expires, '--out', out]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'BAD_THRESHOLD' });
    expect(existsSync(out)).to.equal(false);
  });

  it('refuses a threshold below 1 (or beyond the schema range) with BAD_THRESHOLD', async () => {
    for (const threshold of ['0', '-1', '300']) {
      const out = join(dir, `bad-threshold${threshold}.json`);
      const r = await init([`--threshold=${threshold}`, ...signers('alice', 'bob'), '--expires', expires, '--out', out]);
      expect(r.code, `--threshold ${threshold}`).to.equal(2);
      expect(r.json, `--threshold ${threshold}`).to.include({ ok: false, code: 'BAD_THRESHOLD' });
      expect(existsSync(out)).to.equal(false);
    }
  });

  it('refuses a threshold below 1 (some error, exit 2, nothing written)', async () => {
    for (const threshold of ['0', '-1']) {
      const out = join(dir, `below-one${threshold}.json`);
      const r = await init([`--threshold=${threshold}`, ...signers('alice', 'bob'), '--expires', expires, '--out', out]);
      expect(r.code, `--threshold ${threshold}`).to.equal(2);
      expect(r.json.ok).to.equal(false);
      expect(existsSync(out)).to.equal(false);
    }
  });

  it('refuses a fractional threshold as a usage error', async () => {
    const out = join(dir, 'fraction.json');
    const r = await init(['--threshold', '1.5', ...signers('alice', 'bob'), '--expires', expires, '--out', out]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'USAGE' });
    expect(existsSync(out)).to.equal(false);
  });

  it('refuses a public key listed twice (DUPLICATE_KEY), also under another file and name', async () => {
    const same = join(dir, 'dup-same.json');
    const r1 = await init(['--threshold', '1', ...signers('alice', 'bob', 'alice'), '--expires', expires, '--out', same]);
    expect(r1.code).to.equal(2);
    expect(r1.json).to.include({ ok: false, code: 'DUPLICATE_KEY' });
    expect(existsSync(same)).to.equal(false);

    const alias = join(dir, 'alice-alias.pub');
    const pub = JSON.parse(readFileSync(keys.alice!.pub, 'utf8'));
    writeFileSync(alias, JSON.stringify({ ...pub, name: 'Not Alice' }));
    const renamed = join(dir, 'dup-renamed.json');
    const r2 = await init(['--threshold', '1', ...signers('alice', 'bob'), '--signer', alias, '--expires', expires, '--out', renamed]);
    expect(r2.code).to.equal(2);
    expect(r2.json).to.include({ ok: false, code: 'DUPLICATE_KEY' });
    expect(existsSync(renamed)).to.equal(false);
  });

  it('refuses a small-order public key (WEAK_KEY)', async () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point: order 1
    const weak = craftPublicKeyFile(join(dir, 'small-order.pub'), identity, 'Mallory');
    const out = join(dir, 'weak.json');
    const r = await init(['--threshold', '1', ...signers('alice'), '--signer', weak, '--expires', expires, '--out', out]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'WEAK_KEY' });
    expect(existsSync(out)).to.equal(false);
  });

  it('refuses a non-canonical public key encoding (WEAK_KEY)', async () => {
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[0] = 0xee; // y = p + 1: a second spelling of y = 1
    nonCanonical[31] = 0x7f;
    const weak = craftPublicKeyFile(join(dir, 'non-canonical.pub'), nonCanonical, 'Mallory');
    const out = join(dir, 'non-canonical.json');
    const r = await init(['--threshold', '1', ...signers('alice'), '--signer', weak, '--expires', expires, '--out', out]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'WEAK_KEY' });
    expect(existsSync(out)).to.equal(false);
  });

  it('refuses a public key file whose key id is not the SHA-256 of its key (KEY_FORMAT)', async () => {
    const pub = JSON.parse(readFileSync(keys.bob!.pub, 'utf8'));
    const forged = join(dir, 'forged-id.pub');
    writeFileSync(forged, JSON.stringify({ ...pub, keyid: keys.alice!.keyid }));
    const r = await init(['--threshold', '1', '--signer', forged, '--expires', expires, '--out', join(dir, 'forged.json')]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'KEY_FORMAT' });
  });

  it('refuses a secret key given as --signer, naming what it is (WRONG_KIND, exit 2), without printing any of it', async () => {
    const r = await init(['--threshold', '1', '--signer', keys.alice!.key, '--expires', expires, '--out', join(dir, 'secret.json')]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'WRONG_KIND' });
    expect(r.json.details).to.include({ found: 'secret-key' });
    const seed = JSON.parse(readFileSync(keys.alice!.key, 'utf8')).seed as string;
    expect(r.stdout + r.stderr).not.to.contain(seed);
  });

  it('a missing --signer file is an I/O error (exit 2, IO)', async () => {
    const r = await init(['--threshold', '1', '--signer', join(dir, 'nobody.pub'), '--expires', expires, '--out', join(dir, 'io.json')]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'IO' });
    expect(existsSync(join(dir, 'io.json'))).to.equal(false);
  });

  it('refuses an expiry in the past (exit 2)', async () => {
    const r = await init(['--threshold', '1', ...signers('alice'), '--expires', '2020-01-01', '--out', join(dir, 'past.json')]);
    expect(r.code).to.equal(2);
    expect(r.json.ok).to.equal(false);
    expect(existsSync(join(dir, 'past.json'))).to.equal(false);
  });

  it('never overwrites an existing --out (exit 2, OUTPUT_EXISTS, untouched)', async () => {
    const out = join(dir, 'existing.json');
    writeFileSync(out, 'keep me');
    const r = await init(['--threshold', '1', ...signers('alice'), '--expires', expires, '--out', out]);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
    expect(readFileSync(out, 'utf8')).to.equal('keep me');
  });

  it('missing --threshold, --signer or --out, or an unknown flag: exit 2 USAGE', async () => {
    for (const args of [
      [...signers('alice'), '--out', join(dir, 'u1.json')],
      ['--threshold', '1', '--out', join(dir, 'u2.json')],
      ['--threshold', '1', ...signers('alice')],
      ['--threshold', '1', ...signers('alice'), '--out', join(dir, 'u3.json'), '--bogus'],
    ]) {
      const r = await init(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
    }
    for (const f of ['u1.json', 'u2.json', 'u3.json']) expect(existsSync(join(dir, f)), f).to.equal(false);
  });

  it('errors are coded messages, never stack traces', async () => {
    const r = await runCli(['policy', 'init', '--threshold', '5', ...signers('alice'), '--expires', expires, '--out', join(dir, 'st.json')], { now: NOW });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('BAD_THRESHOLD');
    expectNoStackTrace(r.stdout + r.stderr);
  });

  it('policy init --help exits 0 with an example', async () => {
    const r = await runCli(['policy', 'init', '--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Examples?:$/m);
  });

  it('policy --help exits 0 with an example', async () => {
    const r = await runCli(['policy', '--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Examples?:$/m);
  });

  it('policy without an action is a usage error (exit 2)', async () => {
    const r = await runCli(['policy', '--json']);
    expect(r.code).to.equal(2);
    expect(r.json).to.include({ ok: false, code: 'USAGE' });
  });
});
