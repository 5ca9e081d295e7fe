// Passphrases come from a file, the environment, or a prompt; never from argv, and never printed.
import { UsageError, KeyError } from '../lib/errors.js';
import type { Context } from './context.js';
import { readInput } from './files.js';
import { fromUtf8 } from '../lib/bytes.js';

export const PASSPHRASE_ENV = 'COUNTERSIGN_PASSPHRASE';

export interface PassphraseSource {
  passphraseFile?: string;
}

/** The first line of the file, or the environment variable; undefined when neither is given. */
export function passphraseFromFlags(ctx: Context, flags: PassphraseSource): string | undefined {
  if (flags.passphraseFile) {
    const text = fromUtf8(readInput(flags.passphraseFile, 'passphrase file', 64 * 1024), 'passphrase file');
    return text.split(/\r?\n/, 1)[0] ?? '';
  }
  return ctx.env[PASSPHRASE_ENV];
}

export async function askPassphrase(ctx: Context, flags: PassphraseSource, opts: { confirm: boolean }): Promise<string> {
  const given = passphraseFromFlags(ctx, flags);
  if (given !== undefined) return given;
  if (!ctx.interactive) {
    throw new UsageError('USAGE', `a passphrase is needed: give --passphrase-file FILE or set ${PASSPHRASE_ENV} (no terminal to ask on)`);
  }
  const { default: inquirer } = await import('inquirer');
  const { first } = await inquirer.prompt<{ first: string }>([{ type: 'password', name: 'first', message: 'Passphrase:', mask: '*' }]);
  if (opts.confirm) {
    const { second } = await inquirer.prompt<{ second: string }>([{ type: 'password', name: 'second', message: 'Passphrase again:', mask: '*' }]);
    if (first !== second) throw new KeyError('PASSPHRASE_MISMATCH', 'the two passphrases differ; nothing was written');
  }
  return first;
}

export async function askConfirmation(ctx: Context, question: string): Promise<boolean> {
  if (!ctx.interactive) {
    throw new UsageError('USAGE', 'confirmation is needed but there is no terminal: review the summary and pass --yes');
  }
  const { default: inquirer } = await import('inquirer');
  const { ok } = await inquirer.prompt<{ ok: boolean }>([{ type: 'confirm', name: 'ok', message: question, default: false }]);
  return ok;
}
