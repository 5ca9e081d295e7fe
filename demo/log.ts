// `npm run demo -- --log`: a transparency log and two witnesses on loopback (real processes), the demo release
// logged and verified offline with its proof, and a monitor catching a split view: a coerced quorum signs a
// backdoored 10.2.4 that the log refuses (the first release wins), so a compromised log operator forks the log
// with the same key to show it to one site; the witnesses refuse to cosign the fork and the monitor reports it.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DemoHelpers {
  countersign(args: string[], expectExit?: number): Promise<void>;
  say(text: string): void;
  root: string;
  work: string;
  keys: string;
  policy: string;
  /** The release bundle of the ceremony (steps 1-4), with the three signatures beside it. */
  bundle: string;
  passphrase: string;
}

export async function logDemo(h: DemoHelpers): Promise<void> {
  const { countersign, say, work } = h;
  const children: ChildProcess[] = [];
  try {
    say('11. Transparency log: a log key and two witnesses, each with its own key');
    for (const k of ['log', 'w1', 'w2']) await countersign(['keygen', '--out', join(work, 'log-keys', k), '--name', k]);
    const tiles = join(work, 'log');
    const logVkey = await output(h, ['log', 'init', '--origin', 'demo.countersign.example/log', '--key', join(work, 'log-keys', 'log.key'), '--tiles', tiles]);
    const witnesses: Array<{ name: string; url: string; vkey: string }> = [];
    for (const w of ['w1', 'w2']) {
      const name = `${w}.demo.countersign.example`;
      const args = [
        'witness',
        'serve',
        '--key',
        join(work, 'log-keys', `${w}.key`),
        '--name',
        name,
        '--listen',
        '127.0.0.1:0',
        '--log',
        logVkey,
        '--db',
        `sqlite:${join(work, `${w}.db`)}`,
      ];
      const [vkey, url] = await serving(h, children, args, 2);
      witnesses.push({ name, url: url!, vkey: vkey! });
    }
    const policyFile = join(work, 'log.policy');
    writeFileSync(
      policyFile,
      [`log ${logVkey}`, ...witnesses.map((w, i) => `witness w${i + 1} ${w.vkey} ${w.url}`), 'group both all w1 w2', 'quorum both', ''].join('\n'),
    );
    process.stdout.write(`  the log policy sites and monitors use (c2sp.org/tlog-policy), ${relative(work, policyFile)}:\n${indent(readText(policyFile))}`);

    say("12. The log's first entry is the team's policy; then it runs as a service, publishing only what both witnesses cosign");
    await countersign(['log', 'add', h.policy, '--tiles', tiles]);
    const [url] = await serving(h, children, logServeArgs(tiles, witnesses));

    say('13. The release manager assembles again with --log: the bundle is logged and carries its proof (entry, inclusion proof, cosigned checkpoint)');
    const manifest = join(work, 'release', 'drupal-10.2.4.manifest.json');
    const sigs = ['alice', 'bob', 'carol'].map((who) => join(work, `${who}.sig`));
    const logged = join(work, 'drupal-10.2.4.logged.bundle');
    await countersign(['assemble', manifest, '--policy', h.policy, '--out', logged, '--log', url!, ...sigs]);

    say('14. A site verifies it offline with its proof: logged, included, cosigned by both witnesses, fresh');
    await countersign(['verify', logged, '--policy', h.policy, '--log-policy', policyFile, '--installed', '10.2.3']);

    say('15. Alice monitors the log as a signer: every entry signed with her key is reported');
    const alice = join(h.keys, 'alice.pub');
    await countersign(['log', 'monitor', '--log', url!, '--log-policy', policyFile, '--state', join(work, 'monitor'), '--watch-key', alice, '--once']);

    say('16. A coerced quorum signs a backdoored 10.2.4: the log refuses it, the first release for a version wins forever');
    const evilSrc = join(work, 'evil-src');
    cpSync(join(h.root, 'demo/sample/drupal-10.2.4'), evilSrc, { recursive: true });
    appendFileSync(join(evilSrc, 'index.php'), '\n// a targeted backdoor\n');
    const evilOut = join(work, 'evil-release');
    await countersign([
      'build',
      '--source',
      evilSrc,
      '--base',
      join(h.root, 'demo/sample/drupal-10.2.3'),
      '--product',
      'drupal',
      '--version',
      '10.2.4',
      '--applies-to',
      '10.2.3',
      '--risk',
      'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
      '--policy',
      h.policy,
      '--out',
      evilOut,
    ]);
    const evilManifest = join(evilOut, 'drupal-10.2.4.manifest.json');
    const evilSigs: string[] = [];
    for (const who of ['alice', 'bob', 'carol']) {
      const sig = join(work, `evil.${who}.sig`);
      await countersign(['sign', evilManifest, '--archive', join(evilOut, 'drupal-10.2.4.tar'), '--key', join(h.keys, `${who}.key`), '--yes', '--out', sig]);
      evilSigs.push(sig);
    }
    const evil = join(work, 'evil.bundle');
    await countersign(['assemble', evilManifest, '--policy', h.policy, '--out', evil, '--log', url!, ...evilSigs], 1);

    say('17. So the log operator, compromised too, forks the log with the same key to show the backdoor to one site (a split view)');
    const evilTiles = join(work, 'evil-log');
    await output(h, ['log', 'init', '--origin', 'demo.countersign.example/log', '--key', join(work, 'log-keys', 'log.key'), '--tiles', evilTiles]);
    await countersign(['log', 'add', h.policy, evil, '--tiles', evilTiles]);
    await countersign(['log', 'prove', evil, '--log', evilTiles, '--out', join(work, 'evil.logged.bundle')]);
    process.stdout.write('  the targeted site refuses it: no witness cosigned that checkpoint\n');
    await countersign(['verify', join(work, 'evil.logged.bundle'), '--policy', h.policy, '--log-policy', policyFile, '--installed', '10.2.3'], 1);
    const forked = readText(join(evilTiles, 'checkpoint'));
    const res = await fetch(`${witnesses[0]!.url}/add-checkpoint`, { method: 'POST', body: `old 2\n\n${forked}` });
    process.stdout.write(
      `  witness w1, asked to cosign the forked checkpoint of size 2: HTTP ${res.status} ${(await res.text()).trim()} (the request is kept as evidence)\n`,
    );

    say("18. Alice's monitor, shown the split view, catches it: two checkpoints of size 2 signed by the log key with different roots");
    process.stdout.write('  (this monitor counts the log signature alone, so even witnesses coerced into cosigning the fork could not hide it)\n');
    const monitorPolicy = join(work, 'monitor.policy');
    writeFileSync(monitorPolicy, `log ${logVkey}\nquorum none\n`);
    await countersign(
      ['log', 'monitor', '--log', evilTiles, '--log-policy', monitorPolicy, '--state', join(work, 'monitor'), '--watch-key', alice, '--once'],
      1,
    );
  } finally {
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(undefined) : c.once('exit', resolve).kill('SIGTERM')))));
  }
}

/** `log serve` of TILES on a loopback port, publishing only what both witnesses cosign. */
export function logServeArgs(tiles: string, witnesses: ReadonlyArray<{ name: string; url: string; vkey: string }>): string[] {
  const witnessFlags = witnesses.flatMap((w) => ['--witness', `${w.name}=${w.url}=${w.vkey}`]);
  return ['log', 'serve', '--tiles', tiles, '--listen', '127.0.0.1:0', '--batch-ms', '200', ...witnessFlags, '--witness-quorum', '2'];
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}\n`)
    .join('');
}

/** The CLI as a process: the built one, or the sources under tsx when run from a checkout without dist/. */
function cliCommand(root: string): string[] {
  const built = join(root, 'dist', 'countersign.cjs');
  return existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'cli', 'main.ts')];
}

/** Runs a command as a process (its passphrase from the environment) and returns its first stdout line (a vkey). */
export async function output(h: DemoHelpers, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(h.root), ...args], {
      env: { ...process.env, COUNTERSIGN_PASSPHRASE: h.passphrase },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      process.stdout.write(`$ countersign ${args.map((a) => (a.startsWith(h.work) ? relative(h.work, a) : a)).join(' ')}\n${indent(out)}  (exit ${code})\n`);
      if (code === 0) resolve(out.split('\n')[0]!);
      else reject(new Error(`countersign ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

/** Starts a serving command and resolves with its first `lines` stdout lines (vkey, URL). */
export async function serving(h: DemoHelpers, children: ChildProcess[], args: string[], lines = 1): Promise<string[]> {
  process.stdout.write(`$ countersign ${args.map((a) => (a.startsWith(h.work) ? relative(h.work, a) : a)).join(' ')} &\n`);
  const child = spawn(process.execPath, [...cliCommand(h.root), ...args], {
    env: { ...process.env, COUNTERSIGN_PASSPHRASE: h.passphrase },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    // The log's own account of what it publishes (and what it refuses to), shown as it happens.
    for (const line of c
      .toString()
      .split('\n')
      .filter((l) => / (NOT published|cosigned by|serving at) /.test(l)))
      process.stdout.write(`  [${args[0]} ${args[1]}] ${line.replace(/^\S+ /, '')}\n`);
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const got = out.split('\n');
      if (got.length > lines) resolve(got.slice(0, lines));
    });
    child.once('exit', (code) => reject(new Error(`countersign ${args[0]} ${args[1]} exited ${code}: ${err}`)));
  });
}
