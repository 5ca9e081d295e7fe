// `npm run demo`: the whole ceremony on built-in, test-only data, explained step by step. Everything is
// written under a new temporary directory, removed at the end unless `--keep` is given (then its path is
// printed). `--hub` adds the distribution steps, `--log` the transparency log, `--providers` a provider's releases. Colour only on a terminal, and never with NO_COLOR set.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../cli/context.js';
import { run } from '../cli/parser.js';

const root = packageRoot(dirname(fileURLToPath(import.meta.url)));
const examples = join(root, 'keys-example');
const keep = process.argv.includes('--keep');
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const work = mkdtempSync(join(tmpdir(), 'countersign-demo-'));
const passphrase = readFileSync(join(examples, 'PASSPHRASE-TEST-ONLY'), 'utf8').trim();
const keys = copyKeys(join(work, 'keys'));

/** The members' keys as each member keeps them: private keys 0600 (a checkout gives them the umask's mode). */
function copyKeys(dir: string): string {
  mkdirSync(dir, { mode: 0o700 });
  for (const name of readdirSync(examples).filter((n) => n.endsWith('.key') || n.endsWith('.pub'))) {
    copyFileSync(join(examples, name), join(dir, name));
    chmodSync(join(dir, name), name.endsWith('.key') ? 0o600 : 0o644);
  }
  return dir;
}

function packageRoot(dir: string): string {
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the countersign package root');
    dir = up;
  }
  return dir;
}

function say(text: string): void {
  process.stdout.write(color ? `\n\x1b[1m== ${text}\x1b[0m\n` : `\n== ${text}\n`);
}

async function countersign(args: string[], expectExit = 0): Promise<void> {
  const shown = args
    .map((a) => (a.startsWith(work) ? relative(work, a) || '.' : a.startsWith(root) ? relative(root, a) : a))
    .map((a) => (/\s/.test(a) ? `"${a}"` : a));
  process.stdout.write(`$ countersign ${shown.join(' ')}\n`);
  const ctx: Context = {
    out: (t) => process.stdout.write(indent(t)),
    err: (t) => process.stdout.write(indent(t)),
    env: { COUNTERSIGN_PASSPHRASE: passphrase },
    interactive: false,
    now: new Date(),
    exitCode: 0,
  };
  const code = await run(args, ctx);
  process.stdout.write(`  (exit ${code})\n`);
  if (code !== expectExit) throw new Error(`demo step exited ${code}, expected ${expectExit}`);
}

/** The same check by the PHP verifier (php/), as a shared host without Node runs it; skipped when php is absent. */
function phpVerify(args: string[]): void {
  const cli = join(root, 'php', 'bin', 'countersign-verify');
  if (!existsSync(cli) || spawnSync('php', ['--version'], { stdio: 'ignore' }).status !== 0) {
    process.stdout.write('  (the PHP verifier is skipped: php is not installed)\n');
    return;
  }
  const rest = args.slice(1);
  const shown = rest.map((a) => (a.startsWith(work) ? relative(work, a) : a.startsWith(root) ? relative(root, a) : a));
  process.stdout.write(`$ php php/bin/countersign-verify ${shown.join(' ')}\n`);
  const r = spawnSync('php', [cli, ...rest], { encoding: 'utf8' });
  process.stdout.write(indent((r.stdout + r.stderr).trimEnd()));
  process.stdout.write(`  (exit ${r.status})\n`);
  if (r.status !== 0) throw new Error(`the PHP verifier exited ${r.status}, expected 0`);
}

function indent(text: string): string {
  return (
    text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n') + '\n'
  );
}

process.stdout.write(`countersign demo — working in ${work} (${keep ? 'kept afterwards' : 'removed afterwards; --keep keeps it'})\n`);
process.stdout.write('The keys in keys-example/ are TEST-ONLY: their passphrase is published. Never trust them.\n');

const policy = join(examples, 'policy.signed.json');
const bundle = join(work, 'drupal-10.2.4.bundle');

try {
  await ceremony();
  if (process.argv.includes('--hub')) await distributionDemo();
  else process.stdout.write('\n(Run `npm run demo -- --hub` to also see a hub push the release to one site and another site poll it.)\n');
  if (process.argv.includes('--log')) await (await import('./log.js')).logDemo({ countersign, say, root, work, keys, policy, bundle, passphrase });
  else process.stdout.write('(Run `npm run demo -- --log` to see the release logged in a witnessed transparency log and a monitor catch a split view.)\n');
  if (process.argv.includes('--providers'))
    await (await import('./providers.js')).providersDemo({ countersign, say, root, work, keys, policy, bundle, passphrase });
  else
    process.stdout.write(
      '(Run `npm run demo -- --providers` to see a module developer sign their own releases through the log, and a site verify one offline.)\n',
    );
} finally {
  if (keep) process.stdout.write(`\nDone. Everything is kept in ${work}: ${readdirSync(work).join(', ')}\n`);
  else {
    rmSync(work, { recursive: true, force: true });
    process.stdout.write(`\nDone. Removed ${work} (run with --keep to keep it).\n`);
  }
}

/** Steps 1 to 9: build, sign, assemble, verify, apply. */
async function ceremony(): Promise<void> {
  const out = join(work, 'release');
  say('1. The release manager builds drupal 10.2.4 as the difference from 10.2.3');
  await countersign([
    'build',
    '--source',
    join(root, 'demo/sample/drupal-10.2.4'),
    '--base',
    join(root, 'demo/sample/drupal-10.2.3'),
    '--product',
    'drupal',
    '--version',
    '10.2.4',
    '--applies-to',
    '10.2.3',
    '--risk',
    'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
    '--advisory',
    'SA-CORE-2026-001',
    // A real Drupal release would run `drush updb -y`; the demo site has no database, so it only says so.
    '--post-update',
    'echo post-update: database updates would run here (drush updb -y)',
    '--policy',
    policy,
    '--out',
    out,
  ]);
  const manifest = join(out, 'drupal-10.2.4.manifest.json');
  const archive = join(out, 'drupal-10.2.4.tar');

  say('2. Two of the five security-team members review and sign, each on their own laptop');
  for (const who of ['alice', 'bob']) {
    await countersign(['sign', manifest, '--archive', archive, '--key', join(keys, `${who}.key`), '--yes', '--out', join(work, `${who}.sig`)]);
  }

  say('3. The release manager tries to assemble with two signatures: the policy needs 3 of 5, so nothing is written');
  process.stdout.write(
    '  (bob.sig is given twice on purpose: a second partial from the same key is a DUPLICATE_SIGNATURE and never counts, so this is still 2 of 3)\n',
  );
  await countersign(['assemble', manifest, '--policy', policy, '--out', bundle, join(work, 'alice.sig'), join(work, 'bob.sig'), join(work, 'bob.sig')], 1);
  process.stdout.write(`  bundle written? ${existsSync(bundle) ? 'YES (bug!)' : 'no'}\n`);

  say('4. A third member signs; now the quorum holds and the bundle is written');
  await countersign(['sign', manifest, '--archive', archive, '--key', join(keys, 'carol.key'), '--yes', '--out', join(work, 'carol.sig')]);
  await countersign(['assemble', manifest, '--policy', policy, '--out', bundle, join(work, 'alice.sig'), join(work, 'bob.sig'), join(work, 'carol.sig')]);

  say('5. A site running 10.2.3 verifies the bundle against the policy it pins');
  await countersign(['verify', bundle, '--policy', policy, '--product', 'drupal', '--component', 'core', '--installed', '10.2.3']);
  phpVerify(['verify', bundle, '--policy', policy, '--product', 'drupal', '--component', 'core', '--installed', '10.2.3']);

  say('6. The same bundle offered to a site already on 10.2.4 is a rollback');
  await countersign(['verify', bundle, '--policy', policy, '--product', 'drupal', '--installed', '10.2.4'], 1);

  say('7. A mirror flips one byte of the archive inside the bundle: rejected before anything is extracted');
  const tampered = join(work, 'tampered.bundle');
  const bytes = readFileSync(bundle);
  bytes[bytes.length - 2048] ^= 0x01;
  writeFileSync(tampered, bytes);
  await countersign(['verify', tampered, '--policy', policy, '--installed', '10.2.3'], 1);

  say('8. What is inside the bundle, in human terms');
  await countersign(['inspect', bundle]);

  say('9. The site applies the release: verify, preflight, staged and journaled file changes, then post-update');
  const site = join(work, 'site');
  cpSync(join(root, 'demo/sample/drupal-10.2.3'), site, { recursive: true });
  showTree('before', site);
  await countersign(['apply', bundle, '--site', site, '--policy', policy]);
  showTree('after', site);
}

/** Step 10 (--hub): a hub and two sites on loopback, the serving commands as real processes. */
async function distributionDemo(): Promise<void> {
  say('10. Distribution: a hub publishes the bundle and pushes it to a site; another site polls');
  const hubTrust = join(work, 'hub-trust');
  const db = `sqlite:${join(work, 'hub.db')}`;
  const bundles = join(work, 'bundles');
  await countersign(['trust', 'init', '--store', hubTrust, '--policy', policy]);
  await countersign(['hub', 'publish', bundle, '--db', db, '--bundles', bundles, '--store', hubTrust]);
  const children: ChildProcess[] = [];
  try {
    const hub = await serving(children, ['hub', 'serve', '--db', db, '--bundles', bundles, '--listen', '127.0.0.1:0', '--allow-private-endpoints']);
    const pushed = join(work, 'site-pushed');
    cpSync(join(root, 'demo/sample/drupal-10.2.3'), pushed, { recursive: true });
    const pushedTrust = join(work, 'site-pushed-trust');
    await countersign(['trust', 'init', '--store', pushedTrust, '--policy', policy, '--installed', 'drupal/core=10.2.3']);
    const endpoint = `http://127.0.0.1:${await freePort()}/countersign`;
    await serving(children, ['site', 'serve', '--store', pushedTrust, '--endpoint', endpoint, '--site', pushed]);
    await countersign(['site', 'register', '--allow-private', '--hub', String(hub.url), '--endpoint', endpoint, '--store', pushedTrust]);
    const polling = join(work, 'site-polling-trust');
    await countersign(['trust', 'init', '--store', polling, '--policy', policy, '--installed', 'drupal/core=10.2.3']);
    await countersign(['site', 'register', '--allow-private', '--hub', String(hub.url), '--store', polling]);
    await countersign(['hub', 'push', '--db', db, '--bundles', bundles, '--allow-private-endpoints']);
    showTree('pushed to, after', pushed);
    await countersign(['site', 'poll', '--store', polling, '--inbox', join(work, 'inbox'), '--allow-private']);
    await countersign(['hub', 'status', '--db', db]);
  } finally {
    await Promise.all(
      children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve).kill('SIGTERM')))),
    );
  }
}

/** Starts `countersign ARGS` (the built CLI) and waits for its "listening" log line. */
async function serving(children: ChildProcess[], args: string[]): Promise<Record<string, unknown>> {
  process.stdout.write(`$ countersign ${args.map((a) => (a.startsWith(work) ? relative(work, a) : a)).join(' ')} &\n`);
  const child = spawn(process.execPath, [join(root, 'dist', 'countersign.cjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      log += c.toString('utf8');
      const line = log.split('\n').find((l) => l.includes('"event":"listening"'));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`countersign ${args[0]} ${args[1]} exited ${code}: ${log}`)));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every file of a tree with the start of its SHA-256, so the change is visible at a glance. */
function showTree(label: string, dir: string): void {
  process.stdout.write(`  site ${label}:\n`);
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  for (const f of walk(dir).sort()) {
    process.stdout.write(`    ${createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12)}  ${relative(dir, f)}\n`);
  }
}
