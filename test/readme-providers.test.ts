// The README's provider lifecycle, run as written: the three ```sh blocks under "## Providers: developers sign their
// own releases", command by command, in a temporary directory with a temporary HOME. Only what happens between the
// lines is done here: the keys made and the .pub files collected, the log created (the transparency log section), the
// log's URL standing for its directory, a signing line run by each member it names, and the clock moved by a day
// where a comment says "a day later". A command whose comment says "refused: CODE (PROBLEM)" must exit 1 with CODE
// and name PROBLEM; every other must exit 0.
import { expect } from 'chai';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Prompter } from '../cli/context.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { readmeSteps, words } from './support/readme.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE_KEYS = join(REPO, 'keys-example');
const PASSPHRASE = readFileSync(join(EXAMPLE_KEYS, 'PASSPHRASE-TEST-ONLY'), 'utf8').split('\n')[0]!;
const HEADING = 'Providers: developers sign their own releases';
const DAY = 86_400_000;

/** Who runs a signing line of a document that needs several members (the README's comment says how many). */
const SIGNERS: Record<string, string[]> = {
  'root.json': ['alice', 'bob', 'carol'],
  'pathauto-2.json': ['matt', 'mia'],
  'revoke-ci.json': ['matt', 'mia'],
  'reenrol.json': ['alice', 'bob', 'carol'],
};

describe('README: providers, as written', function () {
  this.timeout(300_000);
  let dir: string;
  let cwd: string;
  before(() => {
    dir = tempDir('countersign-readme-providers-');
    cwd = process.cwd();
  });
  after(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('enrols, releases, rotates, revokes a key and a release, re-enrols as the super provider, and a site verifies both ways', async () => {
    const home = join(dir, 'home');
    const work = join(dir, 'work');
    mkdirSync(join(home, '.countersign'), { recursive: true });
    mkdirSync(join(work, 'srv'), { recursive: true });
    mkdirSync(join(work, 'var', 'lib'), { recursive: true });
    process.chdir(work);
    const prompter: Prompter = { password: async () => PASSPHRASE, confirm: async () => true };
    let now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const cli = (args: string[]) => runCli([...args, '--json'], { env: { COUNTERSIGN_PASSPHRASE: PASSPHRASE }, interactive: true, prompter, now });

    // Before the block: the team's keys (the test-only ones), the registry's and the developers' own, the auditor's.
    for (const m of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      copyFileSync(join(EXAMPLE_KEYS, `${m}.pub`), join(work, `${m}.pub`));
      copyFileSync(join(EXAMPLE_KEYS, `${m}.key`), join(home, '.countersign', `${m}.key`));
    }
    for (const k of ['registry', 'matt', 'mia', 'ci', 'ci2', 'mia2']) {
      const r = await cli(['keygen', '--out', join(home, '.countersign', k), '--name', k]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      copyFileSync(join(home, '.countersign', `${k}.pub`), join(work, `${k}.pub`));
    }
    expect((await cli(['keygen', '--out', join(work, 'a1'), '--name', 'a1'])).code).to.equal(0);
    for (const v of ['1.12.0', '1.13.0', '1.13.1']) cpSync(join(REPO, 'demo', 'sample', `pathauto-${v}`), join(work, `pathauto-${v}`), { recursive: true });
    // The log (the transparency log section's log init), and a log policy naming it (no witnesses in this test).
    expect((await cli(['keygen', '--out', join(work, 'log'), '--name', 'log'])).code).to.equal(0);
    const init = await cli(['log', 'init', '--origin', 'log.example.org/countersign', '--key', join(work, 'log.key'), '--tiles', join(work, 'srv', 'log')]);
    expect(init.code, init.stdout + init.stderr).to.equal(0);
    const vkey = init.json.vkey as string;
    writeFileSync(join(work, 'log.policy'), `log ${vkey} https://log.example.org/\nquorum none\n`);

    const steps = readmeSteps(HEADING, 3);
    expect(steps.map((s) => s.command.split(/\s+/).slice(1, 3).join(' '))).to.include.members(['provider enroll', 'log sync', 'log mirror', 'log audit']);
    const refusals: string[] = [];
    for (const step of steps) {
      if (step.above.some((c) => /^a day later/i.test(c))) now = new Date(now.getTime() + DAY + 60_000);
      now = new Date(now.getTime() + 1000);
      const line = step.command
        .replaceAll('https://log.example.org/', `${work}/srv/log`)
        .replaceAll(' /srv/', ` ${work}/srv/`)
        .replaceAll(' /var/lib/', ` ${work}/var/lib/`)
        .replaceAll('LOG-VKEY', vkey);
      const args = words(line, home, work);
      expect(args[0]).to.equal('countersign');
      const doc = args[1] === 'sign' ? args[2]! : '';
      const runs = SIGNERS[doc]?.map((m) => args.map((a) => a.replace(/\/\.countersign\/\w+\.key$/, `/.countersign/${m}.key`))) ?? [args];
      const refused = /^refused: ([A-Z_]+)(?: \(([A-Z_]+)\))?/.exec(step.comment);
      for (const run of runs) {
        const r = await cli(run.slice(1));
        const said = r.stdout + r.stderr;
        if (refused) {
          expect([r.code, r.json.code], `${step.command}\n${said}`).to.deep.equal([1, refused[1]]);
          if (refused[2]) expect(said, step.command).to.include(refused[2]);
          refusals.push(refused[2] ?? refused[1]!);
        } else expect(r.code, `${step.command}\n${said}`).to.equal(0);
        if (args[1] === 'verify') expect(r.json).to.include({ ok: true, kind: 'manifest' });
        if (step.command.startsWith('countersign policy init --provider')) expect(said).to.include('1-of-1 release role');
      }
    }
    expect(refusals).to.deep.equal(['KEY_REVOKED', 'KEY_NOT_ACTIVE', 'REVOKED']);
  });
});
