// CLI contract shared by every command: --help with an example, one JSON object under --json, exit codes.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './support/cli.js';
import { tempDir } from './support/fixtures.js';

const COMMANDS = [['keygen'], ['policy', 'init'], ['build'], ['sign'], ['assemble'], ['verify'], ['inspect']];

describe('cli: every command', () => {
  let dir: string;
  before(() => {
    dir = tempDir('countersign-cli-global-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const command of COMMANDS) {
    const name = command.join(' ');

    it(`${name} --help exits 0, prints usage with an example, and writes nothing to stderr`, async () => {
      const r = await runCli([...command, '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.contain(`countersign ${name}`);
      expect(r.stdout).to.match(/^Examples?:$/m);
      expect(r.stdout).to.contain('--json');
      expect(r.stderr).to.equal('');
    });

    it(`${name} with an unknown flag: exit 2 and exactly one JSON object {ok: false, code: USAGE} under --json`, async () => {
      const r = await runCli([...command, '--frobnicate', '--json']);
      expect(r.code).to.equal(2);
      expect(r.stdout.trim().split('\n'), 'one line of JSON').to.have.length(1);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
      expect(r.json.message).to.be.a('string');
    });

    it(`${name} with required arguments missing: exit 2 and a coded message on stderr`, async () => {
      const r = await runCli([...command]);
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(/^error\[USAGE\]: /);
    });
  }

  it('commands reading a file that does not exist: exit 2, code IO', async () => {
    const missing = join(dir, 'missing');
    for (const args of [
      ['sign', missing, '--key', missing, '--yes'],
      ['assemble', missing, '--policy', missing, '--out', join(dir, 'x'), missing],
      ['verify', missing, '--policy', missing],
      ['inspect', missing],
      ['policy', 'init', '--threshold', '1', '--signer', missing, '--out', join(dir, 'p.json')],
      ['build', '--source', missing, '--product', 'p', '--version', '1.0.0', '--out', join(dir, 'out')],
      ['keygen', '--out', join(dir, 'k'), '--passphrase-file', missing],
    ]) {
      const r = await runCli([...args, '--json']);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.json, args.join(' ')).to.include({ ok: false, code: 'IO' });
    }
  });

  it('top-level --help lists every command and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).to.equal(0);
    for (const c of ['keygen', 'policy', 'build', 'sign', 'assemble', 'verify', 'inspect']) expect(r.stdout).to.contain(c);
    expect(r.stdout).to.contain('Exit codes');
  });

  it('no command, or an unknown command: exit 2 USAGE', async () => {
    for (const args of [[], ['publish']]) {
      const r = await runCli([...args, '--json']);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
    }
  });
});

describe('cli output to a terminal', () => {
  it('shows control and bidi characters as escapes, so a document cannot drive the terminal', async () => {
    const { printable } = await import('../cli/context.js');
    expect(printable('ok\x1b[2K\rfake\u202e\n')).to.equal('ok\\u{1b}[2K\\u{d}fake\\u{202e}\n');
  });
});

describe('cli --json output', () => {
  it('stays valid JSON through the terminal escaping, whatever the strings hold', async () => {
    const { printable } = await import('../cli/context.js');
    const { stringifyForOutput } = await import('../lib/json.js');
    const value = { message: 'x\u0085y\u202ez\u2028\x1b[2K' };
    expect(JSON.parse(printable(stringifyForOutput(value)))).to.deep.equal(value);
  });
});
