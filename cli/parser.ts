// The countersign command line: one yargs CommandModule per file, exported so tests drive it in-process.
// Each command's file (and what it imports) is loaded only when the command line needs it: see COMMANDS.
import type { Argv, CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/core/errors.js';
import type { Context } from './context.js';
import { renderHelp, SUBCOMMAND_NEEDED, examples } from './output.js';
import { parseDirectly } from './direct-argv.js';
import { lazyImport } from './lazy-import.js';
import { GLOBAL_OPTIONS, runGuarded, withStdin } from './run.js';

export { GLOBAL_OPTIONS };

// Each command has its own argument type.
type CommandFactory = (ctx: Context) => CommandModule<object, any>;

/**
 * Every top-level command, in the order the help page lists them: cli/NAME.ts exports NAMECommand. Each is
 * loaded on demand, and a bundler splits each into a chunk of its own, so `verify` never loads (or
 * compiles) the hub's or the builder's code.
 */
const COMMANDS: Record<string, () => Promise<object>> = {
  keygen: () => import('./keygen.js'),
  policy: () => import('./policy.js'),
  provider: () => import('./provider.js'),
  build: () => import('./build.js'),
  sign: () => import('./sign.js'),
  assemble: () => import('./assemble.js'),
  verify: () => import('./verify.js'),
  trust: () => import('./trust.js'),
  apply: () => import('./apply.js'),
  recover: () => import('./recover.js'),
  installer: () => import('./installer.js'),
  hub: () => import('./hub.js'),
  site: () => import('./site.js'),
  log: () => import('./log.js'),
  witness: () => import('./witness.js'),
  revoke: () => import('./revoke.js'),
  inspect: () => import('./inspect.js'),
};

/** The top-level commands' names, in the order the help page lists them. */
export const COMMAND_NAMES = Object.keys(COMMANDS);

export async function loadCommand(name: string): Promise<CommandFactory> {
  const loaded = (await lazyImport(`./${name}.js`, COMMANDS[name]!)) as Record<string, CommandFactory>;
  return loaded[`${name}Command`]!;
}

/**
 * The commands `argv` needs: only the one it names, unless it asks for help (a page may list every
 * command) or names none that is known (the error suggests the nearest, or lists them all).
 */
async function commandsFor(argv: readonly string[]): Promise<CommandFactory[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  const names = first !== undefined && Object.hasOwn(COMMANDS, first) && !argv.some((a) => a === '--help' || a === '-h') ? [first] : Object.keys(COMMANDS);
  return Promise.all(names.map(loadCommand));
}

/** The parser for `argv`, with the commands it needs (commandsFor). */
async function createParser(ctx: Context, argv: readonly string[]): Promise<Argv> {
  return yargsParser(
    ctx,
    (await commandsFor(argv)).map((command) => command(ctx)),
  );
}

/** yargs, set up with `commands` (and help): the parser of every command line parseDirectly declines. */
export async function yargsParser(ctx: Context, commands: CommandModule<object, any>[]): Promise<Argv> {
  const { default: yargs } = await import('yargs'); // not loaded for --version, nor for a line parsed directly
  const parser = yargs()
    .scriptName('countersign')
    .usage(
      '$0 <command> [options]\n\n' +
        'Quorum-signed releases: a release is installable only when m of n trusted keys have signed it.\n' +
        'Ceremony: keygen -> policy init -> build -> sign (each signer, offline) -> assemble -> verify.\n' +
        'On a site: trust init -> apply (check, files, post; recover after a crash).\n' +
        'Distribution: hub serve / hub publish / hub push; on a site: site serve + site register, or site poll.\n' +
        '`countersign help COMMAND` (or COMMAND --help) explains a command; `countersign --version` (-V) prints the version.',
    )
    .options(GLOBAL_OPTIONS);
  for (const command of commands) parser.command(command);
  parser
    .command(helpCommand(ctx))
    .demandCommand(1, SUBCOMMAND_NEEDED)
    .recommendCommands()
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue(
      'Exit codes: 0 success, 1 rejected (a check failed), 2 usage or I/O error, or a trust store error (STORE_MISSING, STORE_EXISTS, STORE_LOCKED, STORE_CORRUPT).',
    )
    .epilogue(examples('countersign verify drupal-10.2.4.bundle --policy policy.signed.json --product drupal --component core --installed 10.2.3'))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      if (msg === SUBCOMMAND_NEEDED) throw new UsageError('USAGE', 'name a command (listed above)', { showHelp: true });
      throw new UsageError('USAGE', msg.startsWith('Did you mean') ? `unknown command. ${msg}` : msg);
    })
    .help()
    // `--version` is taken by `build`, where it names the release being built; run() answers the top-level one.
    .version(false);
  // yargs renders the command's help page after every handler, in case the handler asks for it; ours never
  // do (run() answers help with a parse of its own), and the rendering would cost more than a verify.
  (parser as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } })
    .getInternalMethods()
    .getUsageInstance().cacheHelpMessage = () => {};
  return parser;
}

function helpCommand(ctx: Context): CommandModule<object, { command?: string[] }> {
  return {
    command: 'help [command..]',
    describe: 'Explain a command (the same as COMMAND --help)',
    builder: (y) =>
      y.positional('command', { type: 'string', array: true, describe: 'A command, e.g. hub push' }).epilogue(examples('countersign help hub push')),
    handler: (args) => parseAndPrint(ctx, [...(args.command ?? []), '--help']),
  };
}

/** Runs the command `argv` names: parsed directly from its declarations when it can be, else by yargs. */
async function parseAndRun(ctx: Context, argv: string[]): Promise<void> {
  const first = argv[0];
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) {
    const direct = parseDirectly((await loadCommand(first))(ctx), argv, GLOBAL_OPTIONS);
    if (direct) return void (await direct.handler(direct.args));
  }
  await parseAndPrint(ctx, argv);
}

async function parseAndPrint(ctx: Context, argv: string[]): Promise<void> {
  const parser = await createParser(ctx, argv);
  await parser.parseAsync(argv, {}, (_err, _args, output) => {
    if (output) ctx.out(renderHelp(output));
  });
}

/** The package's version: the nearest countersign package.json above this module (cli/, or the bundled dist/). */
function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'countersign' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // none here: look further up
    }
    if (dir.pathname === '/') throw new UsageError('IO', 'cannot find the countersign package.json');
  }
}

/** Runs one command line and returns its exit code; every error becomes a coded message, never a stack trace. */
export async function run(argv: string[], ctx: Context): Promise<number> {
  return runGuarded(
    argv,
    ctx,
    async () => {
      // Refused before yargs sees it, whose "unknown argument" message would echo the value.
      if (argv.some((a) => /^--(passphrase|password)(=|$)/.test(a))) {
        throw new UsageError('USAGE', 'a passphrase is never taken from the command line: use --passphrase-file FILE or $COUNTERSIGN_PASSPHRASE');
      }
      const words = argv.filter((a) => a !== '--json' && a !== '--debug');
      if (words.length === 1 && (words[0] === '--version' || words[0] === '-V')) {
        const version = packageVersion();
        ctx.out(argv.includes('--json') ? JSON.stringify({ ok: true, version }) : `countersign ${version}`);
        return;
      }
      await parseAndRun(ctx, withStdin(argv));
    },
    parseAndPrint,
  );
}
