// The countersign command line: one yargs CommandModule per file, exported so tests drive it in-process.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { CountersignError, UsageError } from '../lib/core/errors.js';
import type { Context } from './context.js';
import { STDIN } from './files.js';
import { fail, renderHelp, SUBCOMMAND_NEEDED, examples } from './output.js';
import { assembleCommand } from './assemble.js';
import { buildCommand } from './build.js';
import { inspectCommand } from './inspect.js';
import { keygenCommand } from './keygen.js';
import { revokeCommand } from './revoke.js';
import { policyCommand } from './policy.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';
import { trustCommand } from './trust.js';
import { applyCommand } from './apply.js';
import { recoverCommand } from './recover.js';
import { installerCommand } from './installer.js';
import { hubCommand } from './hub.js';
import { siteCommand } from './site.js';
import { logCommand } from './log.js';
import { witnessCommand } from './witness.js';
import { errnoOf } from '../lib/core/errno.js';

export function createParser(ctx: Context): Argv {
  return (
    yargs()
      .scriptName('countersign')
      .usage(
        '$0 <command> [options]\n\n' +
          'Quorum-signed releases: a release is installable only when m of n trusted keys have signed it.\n' +
          'Ceremony: keygen -> policy init -> build -> sign (each signer, offline) -> assemble -> verify.\n' +
          'On a site: trust init -> apply (check, files, post; recover after a crash).\n' +
          'Distribution: hub serve / hub publish / hub push; on a site: site serve + site register, or site poll.\n' +
          '`countersign help COMMAND` (or COMMAND --help) explains a command; `countersign --version` (-V) prints the version.',
      )
      .option('json', { type: 'boolean', describe: 'Print one JSON object (ok: true|false) instead of text', global: true })
      .option('debug', { type: 'boolean', describe: 'Print stack traces of internal errors', global: true })
      .command(keygenCommand(ctx))
      .command(policyCommand(ctx))
      .command(buildCommand(ctx))
      .command(signCommand(ctx))
      .command(assembleCommand(ctx))
      .command(verifyCommand(ctx))
      .command(trustCommand(ctx))
      .command(applyCommand(ctx))
      .command(recoverCommand(ctx))
      .command(installerCommand(ctx))
      .command(hubCommand(ctx))
      .command(siteCommand(ctx))
      .command(logCommand(ctx))
      .command(witnessCommand(ctx))
      .command(revokeCommand(ctx))
      .command(inspectCommand(ctx))
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
      .version(false)
  );
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

async function parseAndPrint(ctx: Context, argv: string[]): Promise<void> {
  await createParser(ctx).parseAsync(argv, {}, (_err, _args, output) => {
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
  const json = argv.includes('--json');
  try {
    // Refused before yargs sees it, whose "unknown argument" message would echo the value.
    if (argv.some((a) => /^--(passphrase|password)(=|$)/.test(a))) {
      throw new UsageError('USAGE', 'a passphrase is never taken from the command line: use --passphrase-file FILE or $COUNTERSIGN_PASSPHRASE');
    }
    const words = argv.filter((a) => a !== '--json' && a !== '--debug');
    if (words.length === 1 && (words[0] === '--version' || words[0] === '-V')) {
      const version = packageVersion();
      ctx.out(json ? JSON.stringify({ ok: true, version }) : `countersign ${version}`);
      return ctx.exitCode;
    }
    await parseAndPrint(
      ctx,
      argv.map((a) => (a === '-' ? STDIN : a)),
    );
  } catch (caught) {
    // The stand-in for `-` reached a path that is not read as a document (node refuses its NUL).
    const err =
      argv.includes('-') && (errnoOf(caught) === 'ERR_INVALID_ARG_VALUE' || String((caught as Error)?.message).includes(STDIN))
        ? new UsageError('USAGE', '- (standard input) is taken only where a bundle or document is read')
        : caught;
    if (err instanceof CountersignError) {
      if (err.details.showHelp === true) {
        // A group named without its subcommand (`countersign hub`, or nothing at all) gets its help page.
        if (!json) await parseAndPrint({ ...ctx, out: ctx.err }, [...argv.filter((a) => a !== '--debug'), '--help']);
        fail(ctx, { json }, new UsageError('USAGE', err.message));
      } else fail(ctx, { json }, err);
    } else {
      ctx.exitCode = 2;
      const message = (err as Error)?.message ?? String(err);
      if (json) ctx.out(JSON.stringify({ ok: false, code: 'INTERNAL', message }));
      else ctx.err(`error[INTERNAL]: ${message}${argv.includes('--debug') ? `\n${(err as Error)?.stack}` : ''}`);
    }
  }
  return ctx.exitCode;
}
