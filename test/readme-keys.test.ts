// The README's "Keys people already hold" blocks, run as written in a temporary directory with a temporary HOME:
// a security key in the ceremony, then the offline minisign path. CI has no security key, so the one line that
// needs the hardware (ssh-keygen -t ed25519-sk) makes a plain ed25519 key instead; everything else runs unchanged.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Prompter } from '../cli/context.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { readmeCommands, words } from './support/readme.js';

const EXAMPLE_KEYS = fileURLToPath(new URL('../keys-example/', import.meta.url));
const HARDWARE = ['-t', 'ed25519-sk', '-O', 'verify-required'];
const missing = ['ssh-keygen', 'minisign'].filter((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});

describe('README: keys people already hold, as written', function () {
  this.timeout(120_000);
  let dir: string;
  let cwd: string;
  before(function () {
    if (missing.length > 0) {
      console.log(`    skipped: ${missing.join(', ')} not installed (Debian: apt install openssh-client minisign)`);
      this.skip();
    }
    dir = tempDir('countersign-readme-keys-');
    cwd = process.cwd();
  });
  after(() => {
    if (cwd) process.chdir(cwd);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a security key signs the policy after the review, a minisign key offline, and assemble counts both', async () => {
    const home = join(dir, 'home');
    const work = join(dir, 'work');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    mkdirSync(join(home, '.minisign'));
    mkdirSync(work);
    process.chdir(work);
    // What the members did before: bob has a countersign key, Carol a minisign key (no password, for the test).
    copyFileSync(join(EXAMPLE_KEYS, 'bob.pub'), join(work, 'bob.pub'));
    execFileSync('minisign', ['-G', '-W', '-p', join(work, 'carol-minisign.pub'), '-s', join(home, '.minisign', 'minisign.key')], { stdio: 'ignore' });
    const prompter: Prompter = { password: async () => '', confirm: async () => true };
    const commands = readmeCommands('Keys people already hold: a security key, SSH, minisign, signify', 2);
    expect(commands.map((c) => c.split(/\s+/).slice(0, 2).join(' '))).to.deep.equal([
      'ssh-keygen -t',
      'countersign policy',
      'countersign sign',
      'countersign sign',
      'minisign -S',
      'countersign sign',
      'countersign assemble',
    ]);
    for (const line of commands) {
      const args = words(line, home, work);
      if (args[0] !== 'countersign') {
        // The security key's line: a plain ed25519 key (no passphrase) stands in for the hardware.
        const real = args[0] === 'ssh-keygen' ? ['-t', 'ed25519', '-N', '', ...args.slice(1 + HARDWARE.length)] : args.slice(1);
        if (args[0] === 'ssh-keygen') expect(args.slice(1, 1 + HARDWARE.length)).to.deep.equal(HARDWARE);
        execFileSync(args[0]!, real, { cwd: work, env: { ...process.env, HOME: home }, stdio: 'ignore' });
        // The release manager collects the new .pub file.
        if (args[0] === 'ssh-keygen') copyFileSync(join(home, '.ssh', 'id_ed25519_sk.pub'), join(work, 'id_ed25519_sk.pub'));
        continue;
      }
      const r = await runCli([...args.slice(1), '--json'], { interactive: true, prompter });
      expect(r.code, `${line}\n${r.stdout}${r.stderr}`).to.equal(0);
    }
    expect(readdirSync(work).filter((f) => /^policy\..*\.sig$/.test(f))).to.have.length(2);
    const v = await runCli(['verify', 'policy.signed.json', '--policy', 'policy.signed.json', '--json']);
    expect(v.code, v.stdout + v.stderr).to.equal(0);
    expect((v.json.signedWith as Array<{ kind: string }>).map((s) => s.kind)).to.deep.equal(['ssh-ed25519', 'minisign']);
  });
});
