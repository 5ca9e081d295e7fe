// The README's ceremony, run as written: the first ```sh block under "## The ceremony", command by command,
// in a temporary directory with a temporary HOME. Only what a person does between the lines is done here:
// collecting the .pub files, and one signing line run once by each of three members.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readmeCommands, words } from './support/readme.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Prompter } from '../cli/context.js';
import { runCli } from './support/cli.js';
import { BASE_TREE, NEW_TREE, tempDir, writeTree } from './support/fixtures.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE_KEYS = join(REPO, 'keys-example');
const PASSPHRASE = readFileSync(join(EXAMPLE_KEYS, 'PASSPHRASE-TEST-ONLY'), 'utf8').split('\n')[0]!;

/** The ceremony's commands: continuation lines joined, comments and blank lines dropped. */
function ceremonyCommands(): string[] {
  return readmeCommands('The ceremony', 1);
}

describe('README: the ceremony, as written', function () {
  this.timeout(180_000);
  let dir: string;
  let cwd: string;
  before(() => {
    dir = tempDir('countersign-readme-');
    cwd = process.cwd();
  });
  after(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs from keygen to a verified bundle, with the names sign writes and assemble reads', async () => {
    const home = join(dir, 'home');
    const work = join(dir, 'work');
    mkdirSync(home);
    mkdirSync(work);
    process.chdir(work);
    // Two tiny Drupal trees whose version files agree with the versions the README builds.
    writeTree(join(work, 'drupal-10.2.3'), BASE_TREE);
    writeTree(join(work, 'drupal-10.2.4'), NEW_TREE);
    const members = ['alice', 'bob', 'carol', 'dave', 'erin'];
    // A person at the terminal who answers "yes" to every review; passphrases come from the environment.
    const prompter: Prompter = { password: async () => PASSPHRASE, confirm: async () => true };
    const opts = { env: { COUNTERSIGN_PASSPHRASE: PASSPHRASE }, interactive: true, prompter };

    const commands = ceremonyCommands();
    expect(commands.map((c) => c.split(/\s+/).slice(0, 2).join(' '))).to.deep.equal([
      'countersign keygen',
      'countersign policy',
      'countersign sign',
      'countersign assemble',
      'countersign build',
      'countersign sign',
      'countersign assemble',
      'countersign verify',
    ]);
    const ran: string[] = [];
    for (const command of commands) {
      const isSign = command.startsWith('countersign sign ');
      if (command.startsWith('countersign policy init')) {
        // The release manager collects the .pub files: alice's fresh one, the other members' test keys.
        copyFileSync(join(home, '.countersign', 'alice.pub'), join(work, 'alice.pub'));
        for (const m of members.slice(1)) {
          copyFileSync(join(EXAMPLE_KEYS, `${m}.pub`), join(work, `${m}.pub`));
          copyFileSync(join(EXAMPLE_KEYS, `${m}.key`), join(home, '.countersign', `${m}.key`));
        }
      }
      // A signing line is what each member runs with their own key: three of them here, the quorum.
      const runs = isSign ? ['alice', 'bob', 'carol'].map((m) => command.replace(/~\/\.countersign\/\w+\.key/, `~/.countersign/${m}.key`)) : [command];
      for (const line of runs) {
        const args = words(line, home, work);
        expect(args[0]).to.equal('countersign');
        const r = await runCli([...args.slice(1), '--json'], opts);
        expect(r.code, `${line}\n${r.stdout}${r.stderr}`).to.equal(0);
        ran.push(line);
        if (line.startsWith('countersign verify')) expect(r.json).to.include({ ok: true, kind: 'manifest' });
      }
    }
    expect(ran).to.have.length(12);
    expect(readdirSync(join(work, 'release')).filter((f) => f.endsWith('.sig'))).to.have.length(3);
  });
});
