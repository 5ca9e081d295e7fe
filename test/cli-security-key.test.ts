// `countersign sign --ssh-key` with a FIDO2 security key, without the hardware: a stand-in `ssh-keygen` on PATH
// prints a security-key SSHSIG the test built from PROTOCOL.u2f's layout over the document's PAE, with the flags a
// real key would set (0x01 a touch, 0x05 a touch and the PIN, 0x00 neither).
import { expect } from 'chai';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64 } from '../lib/core/bytes.js';
import { openEnvelope } from '../lib/core/envelope.js';
import { SSHSIG_NAMESPACES } from '../lib/core/signer-kinds.js';
import { armourSshSignature, SK_SSH_ED25519, sshPublicKeyBlob } from '../lib/core/sshsig.js';
import { makeCliKeys, runCli, runCliOk } from './support/cli.js';
import { NOW, tempDir } from './support/fixtures.js';
import { kindSigner, messageOf, sshSign } from './support/signer-kinds.js';

describe('cli sign --ssh-key with a security key (a stand-in ssh-keygen)', function () {
  this.timeout(60_000);
  const alice = kindSigner();
  let dir: string;
  let policy: string;
  let bobKey: string;
  let savedPath: string | undefined;
  const opts = { now: NOW };

  before(async () => {
    dir = tempDir('countersign-cli-sk-');
    mkdirSync(join(dir, 'bin'));
    // The .pub line ssh-keygen -t ed25519-sk writes; the private "key handle" file only needs to exist.
    writeFileSync(
      join(dir, 'id_ed25519_sk.pub'),
      `${SK_SSH_ED25519} ${toBase64(sshPublicKeyBlob({ type: SK_SSH_ED25519, publicKey: alice.publicKey, application: 'ssh:' }))} alice@yubikey\n`,
    );
    writeFileSync(join(dir, 'id_ed25519_sk'), 'a key handle\n');
    const bob = (await makeCliKeys(dir, ['bob'])).bob!;
    bobKey = bob.key;
    policy = join(dir, 'policy.json');
    await runCliOk(
      ['policy', 'init', '--threshold', '2', '--user-verification', '--signer', join(dir, 'id_ed25519_sk.pub'), '--signer', bob.pub, '--out', policy],
      opts,
    );
    savedPath = process.env.PATH;
    process.env.PATH = `${join(dir, 'bin')}:${savedPath}`;
  });
  after(() => {
    process.env.PATH = savedPath;
  });

  /** The stand-in ssh-keygen: checks its arguments as countersign must pass them, then prints the prepared signature. */
  function securityKey(flags: number, counter: number): void {
    const doc = openEnvelope(readFileSync(policy));
    const sig = armourSshSignature(sshSign(alice, messageOf(doc.envelope), SK_SSH_ED25519, { namespace: SSHSIG_NAMESPACES.policy, flags, counter }));
    writeFileSync(join(dir, 'prepared.sig'), sig);
    const expected = `-Y sign -n ${SSHSIG_NAMESPACES.policy} -O hashalg=sha512 -f ${join(dir, 'id_ed25519_sk')}`;
    const script = join(dir, 'bin', 'ssh-keygen');
    writeFileSync(
      script,
      `#!/bin/sh\n[ "$*" = "${expected}" ] || { echo "unexpected arguments: $*" >&2; exit 9; }\ncat >/dev/null\necho "Confirm user presence for key ED25519-SK" >&2\ncat ${join(dir, 'prepared.sig')}\n`,
    );
    chmodSync(script, 0o755);
  }

  it('policy init reads the sk line: kind, application pinned, user verification required', () => {
    const doc = openEnvelope(readFileSync(policy));
    const signer = JSON.parse(Buffer.from(doc.payloadBytes).toString()).signers[0];
    expect(signer).to.include({ kind: SK_SSH_ED25519, application: 'ssh:', userVerification: true, name: 'alice@yubikey' });
  });

  it('the review first, then the touch; the partial names the kind and inspect shows the counter', async () => {
    securityKey(0x05, 41);
    const r = await runCliOk(['sign', policy, '--ssh-key', join(dir, 'id_ed25519_sk'), '--yes', '--out', join(dir, 'uv.sig')], opts);
    expect(r.stdout.indexOf('Signing:')).to.be.lessThan(r.stdout.indexOf('Signed as'));
    expect(r.stdout).to.contain(`Signing with: alice@yubikey, ${SK_SSH_ED25519} SHA256:`);
    expect(r.stderr).to.contain('Touch your security key');
    expect(r.stderr).to.contain('ssh-keygen: Confirm user presence for key ED25519-SK');
    expect(r.stdout).to.contain('security key counter 41, flags 0x05 (user present, user verified)');
    const shown = (await runCliOk(['inspect', join(dir, 'uv.sig')], opts)).stdout;
    expect(shown).to.contain('Counter:     41');
    expect(shown).to.contain('Flags:       0x05 (user present, user verified)');
  });

  it('a signature without a touch (flags 0x00) is refused at signing (USER_NOT_PRESENT, exit 1) and no partial is written', async () => {
    securityKey(0x00, 42);
    const r = await runCli(['sign', policy, '--ssh-key', join(dir, 'id_ed25519_sk'), '--yes', '--out', join(dir, 'none.sig'), '--json'], opts);
    expect(r.code).to.equal(1);
    expect(r.json.code).to.equal('USER_NOT_PRESENT');
    expect(() => readFileSync(join(dir, 'none.sig'))).to.throw();
  });

  it('a touch without the PIN (0x01) makes a partial, but the policy requiring verification never counts it (USER_NOT_VERIFIED)', async () => {
    securityKey(0x01, 43);
    await runCliOk(['sign', policy, '--ssh-key', join(dir, 'id_ed25519_sk'), '--yes', '--out', join(dir, 'up.sig')], opts);
    await runCliOk(['sign', policy, '--key', bobKey, '--yes', '--out', join(dir, 'bob.sig')], opts);
    const short = await runCli(
      ['assemble', policy, '--policy', policy, '--out', join(dir, 'signed.json'), join(dir, 'up.sig'), join(dir, 'bob.sig'), '--json'],
      opts,
    );
    expect(short.code).to.equal(1);
    expect((short.json.details as { problems: Array<{ code: string }> }).problems.map((p) => p.code)).to.deep.equal(['USER_NOT_VERIFIED']);
    const ok = await runCliOk(
      ['assemble', policy, '--policy', policy, '--out', join(dir, 'signed.json'), join(dir, 'uv.sig'), join(dir, 'bob.sig'), '--json'],
      opts,
    );
    expect(ok.json.signed).to.equal(2);
    const v = await runCliOk(['verify', join(dir, 'signed.json'), '--policy', join(dir, 'signed.json')], opts);
    expect(v.stdout).to.contain(`alice@yubikey: ${SK_SSH_ED25519}, security key counter 41`);
  });
});
