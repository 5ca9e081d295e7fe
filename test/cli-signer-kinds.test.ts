// Signer kinds end to end with the real tools: keys made by ssh-keygen, minisign and signify-openbsd, signatures
// made by them (ssh-keygen through `sign --ssh-key` and `--ssh-agent`; minisign and signify by hand over
// `--emit-pae`'s bytes, then `--import-signature`), assembled and verified by countersign's own verifier.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCliKeys, runCli, runCliOk, type CliKey } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';

const RISK = 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default';
const TOOLS = ['ssh-keygen', 'minisign', 'signify-openbsd'];
const missing = TOOLS.filter((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});

const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }).toString();

describe('cli signer kinds with ssh-keygen, minisign and signify', function () {
  this.timeout(120_000);
  before(function () {
    if (missing.length > 0) {
      console.log(`    skipped: ${missing.join(', ')} not installed (Debian: apt install openssh-client minisign signify-openbsd)`);
      this.skip();
    }
  });

  let dir: string;
  let dave: CliKey;
  let policy: string;
  let signed: string;
  const opts = { now: NOW };
  const at = (name: string) => join(dir, name);

  before(async () => {
    dir = tempDir('countersign-cli-kinds-');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', at('alice_ed25519')]);
    run('minisign', ['-G', '-W', '-p', at('bob.pub'), '-s', at('bob.key')]);
    run('signify-openbsd', ['-G', '-n', '-p', at('carol.pub'), '-s', at('carol.sec')]);
    dave = (await makeCliKeys(dir, ['dave'])).dave!;
    policy = at('policy.json');
    signed = at('policy.signed.json');
  });

  /** --emit-pae, then the tool by hand, then --import-signature: a partial at `out`. */
  async function byHand(doc: string, tool: 'minisign' | 'minisign-legacy' | 'signify', out: string): Promise<Record<string, unknown>> {
    const pae = `${out}.pae`;
    await runCliOk(['sign', doc, '--emit-pae', pae, '--json'], opts);
    let sig: string;
    let pub: string;
    if (tool === 'signify') {
      sig = `${pae}.sig`;
      pub = at('carol.pub');
      run('signify-openbsd', ['-S', '-s', at('carol.sec'), '-m', pae, '-x', sig]);
    } else {
      sig = `${pae}.minisig`;
      pub = at('bob.pub');
      run('minisign', ['-S', ...(tool === 'minisign-legacy' ? ['-l'] : []), '-s', at('bob.key'), '-m', pae]);
    }
    return (await runCliOk(['sign', doc, '--import-signature', sig, '--signer', pub, '--out', out, '--json'], opts)).json;
  }

  it('policy init detects each file format; inspect shows the kinds, the SSH fingerprint and the minisign key id', async () => {
    const r = await runCliOk(
      [
        'policy',
        'init',
        '--threshold',
        '3',
        ...['--signer', at('alice_ed25519.pub'), '--signer', at('bob.pub'), '--signer', at('carol.pub'), '--signer', dave.pub],
        '--expires',
        '2028-01-01T00:00:00Z',
        '--out',
        policy,
        '--json',
      ],
      opts,
    );
    expect((r.json.signers as Array<{ kind: string; name: string }>).map((s) => [s.name, s.kind])).to.deep.equal([
      ['alice@laptop', 'ssh-ed25519'],
      ['bob', 'minisign'],
      ['carol', 'signify'],
      ['dave', 'countersign'],
    ]);
    const fingerprint = run('ssh-keygen', ['-lf', at('alice_ed25519.pub')]).split(' ')[1]!;
    // minisign prints the id without leading zeros (%PRIX64); countersign shows all 16 digits.
    const minisignId = /minisign public key ([0-9A-F]{1,16})\n/.exec(readFileSync(at('bob.pub'), 'utf8'))![1]!.padStart(16, '0');
    const shown = (await runCliOk(['inspect', policy], opts)).stdout;
    expect(shown).to.contain(`ssh-ed25519 ${fingerprint}`);
    expect(shown).to.contain(`minisign key id ${minisignId}`);
    expect(shown).to.contain('signify key number');
    // The .pub files themselves, before any policy.
    expect((await runCliOk(['inspect', at('alice_ed25519.pub')], opts)).stdout).to.contain(`Key:         ssh-ed25519 ${fingerprint}`);
    expect((await runCliOk(['inspect', at('bob.pub'), '--json'], opts)).json).to.include({ kind: 'minisign', key: `minisign key id ${minisignId}` });
  });

  it('one raw key listed twice (as an SSH key and again): policy init refuses it (DUPLICATE_KEY)', async () => {
    const r = await runCli(
      ['policy', 'init', '--threshold', '1', '--signer', at('alice_ed25519.pub'), '--signer', at('alice_ed25519.pub'), '--out', at('dup.json')],
      opts,
    );
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('DUPLICATE_KEY');
  });

  it('the policy self-signed with ssh-keygen (--ssh-key), minisign and signify partials: assembled and verified', async () => {
    const ssh = await runCliOk(['sign', policy, '--ssh-key', at('alice_ed25519'), '--yes', '--out', at('p.alice.sig'), '--json'], opts);
    expect(ssh.json.signedWith).to.deep.equal({ kind: 'ssh-ed25519' });
    const mini = await byHand(policy, 'minisign', at('p.bob.sig'));
    expect(mini.signedWith).to.include({ kind: 'minisign', prehashed: true });
    await byHand(policy, 'signify', at('p.carol.sig'));
    const partial = JSON.parse(readFileSync(at('p.alice.sig'), 'utf8'));
    expect(partial).to.include({ format: 2, kind: 'ssh-ed25519' });
    const shown = (await runCliOk(['inspect', at('p.alice.sig')], opts)).stdout;
    expect(shown).to.contain('Namespace:   countersign-policy@v1');
    const r = await runCliOk(['assemble', policy, '--policy', policy, '--out', signed, at('p.alice.sig'), at('p.bob.sig'), at('p.carol.sig'), '--json'], opts);
    expect(r.json.signed).to.equal(3);
    const v = await runCliOk(['verify', signed, '--policy', signed, '--json'], opts);
    expect((v.json.signedWith as Array<{ kind: string }>).map((s) => s.kind)).to.deep.equal(['ssh-ed25519', 'minisign', 'signify']);
  });

  it('a release signed with ssh-keygen via ssh-agent, minisign legacy, signify and a countersign key: a bundle that verifies', async () => {
    const oldTree = writeTree(at('drupal-10.2.3'), BASE_TREE);
    const newTree = writeTree(at('drupal-10.2.4'), NEW_TREE);
    await runCliOk(
      [
        'build',
        ...['--source', newTree, '--base', oldTree, '--product', 'drupal', '--version', '10.2.4', '--applies-to', '10.2.3', '--risk', RISK],
        ...['--policy', signed, '--expires', '2027-01-01T00:00:00Z', '--out', at('rel')],
      ],
      opts,
    );
    const manifest = at('rel/drupal-10.2.4.manifest.json');
    // ssh-agent holds alice's key; countersign names only her public key.
    const agent = run('ssh-agent', ['-s', '-a', at('agent.sock')]);
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(agent)![1]);
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      run('ssh-add', ['-q', at('alice_ed25519')], { SSH_AUTH_SOCK: at('agent.sock') });
      process.env.SSH_AUTH_SOCK = at('agent.sock');
      await runCliOk(['sign', manifest, '--ssh-key', at('alice_ed25519.pub'), '--ssh-agent', '--yes', '--out', at('m.alice.sig')], opts);
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      process.kill(pid);
    }
    const legacy = await byHand(manifest, 'minisign-legacy', at('m.bob.sig'));
    expect(legacy.signedWith).to.include({ kind: 'minisign', prehashed: false });
    await byHand(manifest, 'signify', at('m.carol.sig'));
    await runCliOk(['sign', manifest, '--key', dave.key, '--yes', '--out', at('m.dave.sig')], opts);
    const sigs = ['alice', 'bob', 'carol', 'dave'].map((n) => at(`m.${n}.sig`));
    // A partial over the policy is another document type: reported, never counted.
    const a = await runCliOk(['assemble', manifest, '--policy', signed, '--out', at('rel.bundle'), ...sigs, at('p.alice.sig'), '--json'], opts);
    expect(a.json.signed).to.equal(4);
    expect((a.json.problems as Array<{ code: string }>).map((p) => p.code)).to.deep.equal(['WRONG_DOCUMENT']);
    const v = await runCliOk(['verify', at('rel.bundle'), '--policy', signed, '--product', 'drupal', '--component', 'core', '--installed', '10.2.3'], opts);
    expect(v.stdout).to.contain('alice@laptop: ssh-ed25519');
    expect(v.stdout).to.contain('bob: minisign, minisign legacy (Ed)');
  });

  it('a partial over the manifest, put in the policy envelope in place of the policy one, does not count (another namespace and PAE)', async () => {
    const envelope = JSON.parse(readFileSync(signed, 'utf8'));
    const manifestPartial = JSON.parse(readFileSync(at('m.carol.sig'), 'utf8'));
    const aliceSsh = JSON.parse(readFileSync(at('m.alice.sig'), 'utf8'));
    envelope.signatures = envelope.signatures.map((s: { keyid: string }) =>
      s.keyid === aliceSsh.keyid ? { keyid: s.keyid, sig: aliceSsh.sig } : s.keyid === manifestPartial.keyid ? { keyid: s.keyid, sig: manifestPartial.sig } : s,
    );
    writeFileSync(at('swapped.json'), JSON.stringify(envelope));
    const r = await runCli(['verify', at('swapped.json'), '--policy', signed, '--json'], opts);
    expect(r.code).to.equal(1);
    const reasons = r.json.reasons as Array<{ code: string; details?: { problems?: Array<{ code: string }> } }>;
    expect(reasons[0]!.code).to.be.oneOf(['POLICY_UNSIGNED', 'QUORUM_NOT_MET']);
    const problems = reasons.flatMap((x) => x.details?.problems ?? []).map((p) => p.code);
    expect(problems).to.include.members(['WRONG_NAMESPACE', 'BAD_SIGNATURE']);
  });

  it('an ssh-keygen signature in the git namespace, or with sha256: refused on import with its code (exit 1)', async () => {
    await runCliOk(['sign', policy, '--emit-pae', at('x.pae')], opts);
    const cases: Array<[string[], string]> = [
      [['-n', 'git'], 'WRONG_NAMESPACE'],
      [['-n', 'countersign-policy@v1', '-O', 'hashalg=sha256'], 'WRONG_HASH_ALG'],
      [['-n', 'countersign-release@v1'], 'WRONG_NAMESPACE'],
    ];
    for (const [flags, code] of cases) {
      const out = execFileSync('ssh-keygen', ['-Y', 'sign', ...flags, '-f', at('alice_ed25519')], {
        input: readFileSync(at('x.pae')),
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      writeFileSync(at('x.sig'), out);
      const r = await runCli(
        ['sign', policy, '--import-signature', at('x.sig'), '--signer', at('alice_ed25519.pub'), '--out', at('x.partial'), '--force', '--json'],
        opts,
      );
      expect(r.code, r.stdout + r.stderr).to.equal(1);
      expect(r.json.code).to.equal(code);
    }
  });
});
