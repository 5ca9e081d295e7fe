// The countersign command line: one yargs CommandModule per file, exported so tests drive it in-process.
import yargs, { type Argv } from 'yargs';
import { CountersignError, UsageError } from '../lib/errors.js';
import type { Context } from './context.js';
import { fail } from './output.js';
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

export function createParser(ctx: Context): Argv {
  return yargs()
    .scriptName('countersign')
    .usage(
      '$0 <command> [options]\n\n' +
        'Quorum-signed releases: a release is installable only when m of n trusted keys have signed it.\n' +
        'Ceremony: keygen -> policy init -> build -> sign (each signer, offline) -> assemble -> verify.\n' +
        'On a site: trust init -> apply (check, files, post; recover after a crash).\n' +
        'Distribution: hub serve / hub publish / hub push; on a site: site serve + site register, or site poll.',
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
    .command(revokeCommand(ctx))
    .command(inspectCommand(ctx))
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 success, 1 rejected (a check failed), 2 usage or I/O error, or a trust store error (STORE_MISSING, STORE_EXISTS, STORE_LOCKED, STORE_CORRUPT).')
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError('USAGE', msg);
    })
    .help()
    // `--version` is taken by `build`, where it names the release being built.
    .version(false);
}

/** Runs one command line and returns its exit code; every error becomes a coded message, never a stack trace. */
export async function run(argv: string[], ctx: Context): Promise<number> {
  const json = argv.includes('--json');
  try {
    await createParser(ctx).parseAsync(argv, {}, (_err, _args, output) => {
      if (output) ctx.out(output);
    });
  } catch (err) {
    if (err instanceof CountersignError) {
      fail(ctx, { json }, err);
    } else {
      ctx.exitCode = 2;
      const message = (err as Error)?.message ?? String(err);
      if (json) ctx.out(JSON.stringify({ ok: false, code: 'INTERNAL', message }));
      else ctx.err(`error[INTERNAL]: ${message}${argv.includes('--debug') ? `\n${(err as Error)?.stack}` : ''}`);
    }
  }
  return ctx.exitCode;
}
