// CLI contract shared by every command: --help with an example, one JSON object under --json, exit codes.
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listing, makeCliKeys, makeCliPolicy, runCli, runCliOk } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';

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

/** Every command path under `path`, read from the "Commands:" section of its --help page. */
async function subcommands(path: string[]): Promise<string[][]> {
  const r = await runCli([...path, '--help']);
  const prefix = ['countersign', ...path].join(' ') + ' ';
  const section = r.stdout.split(/^Commands:$/m)[1]?.split(/\n\n/)[0] ?? '';
  return section
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix))
    .map((l) => [...path, l.slice(prefix.length).split(/\s+/)[0]!]);
}

describe('cli --help: every command and subcommand', () => {
  it('ends with an example that is one whole line starting "countersign <the command>", never wrapped', async () => {
    const pages: string[][] = [[]];
    for (const top of await subcommands([])) {
      pages.push(top);
      pages.push(...(await subcommands(top)));
    }
    expect(pages.length, 'pages walked').to.be.greaterThan(25);
    for (const page of ['trust show', 'installer serve', 'hub serve', 'hub publish', 'hub push', 'hub status', 'site serve', 'site register', 'site poll']) {
      expect(
        pages.map((p) => p.join(' ')),
        page,
      ).to.include(page);
    }
    let longest = 0;
    for (const path of pages) {
      const name = ['countersign', ...path].join(' ');
      const r = await runCli([...path, '--help']);
      expect(r.code, name).to.equal(0);
      const lines = r.stdout.split('\n');
      const at = lines.findIndex((l) => /^Examples?:$/.test(l));
      expect(at, `${name}: an Example section`).to.be.greaterThan(-1);
      const examples = lines.slice(at + 1).filter((l) => l.trim() !== '');
      expect(examples, name).to.not.be.empty;
      for (const line of examples) {
        // Each line is a whole example: it starts the command again (a wrapped tail would not).
        expect(line, name).to.match(/^ {2}countersign \S/);
        expect(line, name).to.not.contain('@@example');
        longest = Math.max(longest, line.length);
      }
      // `help --help` is the top-level page (yargs' own reading of `help`).
      if (path[0] !== 'help')
        expect(
          examples.some((l) => l.startsWith(`  ${name} `)),
          `${name}: an example of itself`,
        ).to.equal(true);
    }
    expect(longest, 'some examples are longer than the help width, and still one line').to.be.greaterThan(110);
  });

  it('a group without its subcommand prints its help (stderr) and exits 2; so does no command at all', async () => {
    for (const group of [['policy'], ['trust'], ['installer'], ['hub'], ['site'], []]) {
      const r = await runCli(group);
      expect(r.code, group.join(' ')).to.equal(2);
      expect(r.stderr, group.join(' ')).to.match(/^Commands:$/m);
      expect(r.stderr, group.join(' ')).to.match(/^error\[USAGE\]: /m);
    }
  });

  it('`countersign help` and `countersign help <cmd>` print the same pages as --help', async () => {
    expect((await runCli(['help'])).stdout).to.equal((await runCli(['--help'])).stdout);
    const h = await runCli(['help', 'hub', 'push']);
    expect(h.code).to.equal(0);
    expect(h.stdout).to.equal((await runCli(['hub', 'push', '--help'])).stdout);
  });

  it('--version and -V print the package version; build --version still names the release', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).to.equal(0);
      expect(r.stdout.trim()).to.equal(`countersign ${version}`);
    }
    expect((await runCli(['--version', '--json'])).json).to.deep.equal({ ok: true, version });
    const b = await runCli(['build', '--version', '1.0.0', '--json']);
    expect(b.code).to.equal(2);
    expect(String(b.json.message)).to.match(/source|product|out/);
  });

  it('a misspelt command: exit 2, "did you mean"', async () => {
    const r = await runCli(['verfy', 'x.bundle']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/did you mean verify\?/i);
  });
});

describe('cli: one overwrite rule for every output', () => {
  let dir: string;
  before(() => {
    dir = tempDir('countersign-cli-overwrite-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('build, revoke, policy init and rotate, keygen refuse an existing output (OUTPUT_EXISTS, exit 2, untouched) unless --force', async () => {
    const keys = await makeCliKeys(dir, ['alice', 'bob']);
    const policy = await makeCliPolicy(dir, [keys.alice!, keys.bob!], { threshold: 1, expires: '2028-01-01T00:00:00Z', now: NOW });
    const base = writeTree(join(dir, 'drupal-10.2.3'), BASE_TREE);
    const source = writeTree(join(dir, 'drupal-10.2.4'), NEW_TREE);
    const rel = join(dir, 'rel');
    const commands: Array<{ args: string[]; outputs: string[] }> = [
      {
        args: [
          'build',
          '--source',
          source,
          '--base',
          base,
          '--product',
          'drupal',
          '--version',
          '10.2.4',
          '--applies-to',
          '10.2.3',
          '--expires',
          '2027-01-01T00:00:00Z',
          '--out',
          rel,
        ],
        outputs: [join(rel, 'drupal-10.2.4.manifest.json'), join(rel, 'drupal-10.2.4.tar')],
      },
      {
        args: ['revoke', '--product', 'drupal', '--version', '10.2.4', '--policy', policy.signed, '--out', join(dir, 'revoke.json')],
        outputs: [join(dir, 'revoke.json')],
      },
      {
        args: ['policy', 'init', '--threshold', '1', '--signer', keys.alice!.pub, '--expires', '2028-01-01T00:00:00Z', '--out', join(dir, 'p1.json')],
        outputs: [join(dir, 'p1.json')],
      },
      {
        args: [
          'policy',
          'rotate',
          '--from',
          policy.signed,
          '--add-signer',
          join(dir, 'carol.pub'),
          '--expires',
          '2028-01-01T00:00:00Z',
          '--out',
          join(dir, 'p2.json'),
        ],
        outputs: [join(dir, 'p2.json')],
      },
      { args: ['keygen', '--out', join(dir, 'dave'), '--unencrypted'], outputs: [join(dir, 'dave.key'), join(dir, 'dave.pub')] },
    ];
    await makeCliKeys(dir, ['carol']);
    for (const { args, outputs } of commands) {
      const name = args.slice(0, 2).join(' ');
      await runCliOk(args, { now: NOW });
      const before = outputs.map((o) => readFileSync(o));
      const r = await runCli([...args, '--json'], { now: NOW });
      expect(r.code, name).to.equal(2);
      expect(r.json, name).to.include({ ok: false, code: 'OUTPUT_EXISTS' });
      outputs.forEach((o, i) => expect(readFileSync(o).equals(before[i]!), `${name}: ${o} untouched`).to.equal(true));
      await runCliOk([...args, '--force'], { now: NOW });
      for (const o of outputs)
        expect(
          listing(dirname(o)).filter((f) => f.endsWith('.tmp')),
          `${name}: no temporary file`,
        ).to.deep.equal([]);
    }
  });

  it('a file that appears between the check and the commit is not clobbered either (link, not rename)', async () => {
    const { commitPending, tempPathFor, writeDurably } = await import('../lib/node/durable.js');
    const target = join(dir, 'raced.json');
    const temp = tempPathFor(target);
    writeDurably(temp, 'ours', 0o644);
    writeFileSync(target, 'theirs');
    let code = '';
    try {
      commitPending([{ target, temp }], { replace: false });
    } catch (err) {
      code = (err as { code: string }).code;
    }
    expect(code).to.equal('OUTPUT_EXISTS');
    expect(readFileSync(target, 'utf8')).to.equal('theirs');
    expect(listing(dir).filter((f) => f.includes('raced'))).to.deep.equal(['raced.json']);
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
    const { stringifyForOutput } = await import('../lib/core/json.js');
    const value = { message: 'x\u0085y\u202ez\u2028\x1b[2K' };
    expect(JSON.parse(printable(stringifyForOutput(value)))).to.deep.equal(value);
  });
});
