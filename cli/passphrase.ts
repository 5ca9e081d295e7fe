// Passphrases come from a file, the environment, or a prompt; never from argv, and never printed.
import { UsageError, KeyError } from '../lib/core/errors.js';
import { decryptSecretKey, type SecretKey } from '../lib/core/keyfile.js';
import type { Context, Prompter } from './context.js';
import { readInput } from './files.js';
import { fromUtf8 } from '../lib/core/bytes.js';

export const PASSPHRASE_ENV = 'COUNTERSIGN_PASSPHRASE';

/** How often a person at a terminal may mistype: a wrong passphrase, a mismatch, an empty one. */
export const TRIES = 3;

/** Below this zxcvbn score (0-4) a new passphrase gets a warning. */
const WEAK_SCORE = 3;

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

/** keygen: a new passphrase, typed twice. Empty is asked again, a mismatch asks both again, a weak one is warned about. */
export async function newPassphrase(ctx: Context, flags: PassphraseSource): Promise<string> {
  const given = passphraseFromFlags(ctx, flags);
  if (given !== undefined) {
    if (given === '') throw new UsageError('USAGE', 'the passphrase is empty; nothing was written');
    await warnIfWeak(ctx, given);
    return given;
  }
  const p = await prompter(ctx, 'a passphrase is needed: give --passphrase-file FILE or set ' + PASSPHRASE_ENV);
  for (let round = 1; ; round++) {
    let first = await ask(() => p.password('Passphrase:'));
    for (let empty = 1; first === ''; empty++) {
      if (empty === TRIES) throw new UsageError('USAGE', 'the passphrase is empty; nothing was written');
      ctx.err('The passphrase must not be empty.');
      first = await ask(() => p.password('Passphrase:'));
    }
    await warnIfWeak(ctx, first);
    if ((await ask(() => p.password('Passphrase again:'))) === first) return first;
    if (round === TRIES) throw new KeyError('PASSPHRASE_MISMATCH', `the two passphrases differed ${TRIES} times; nothing was written`);
    ctx.err('The two passphrases differ; choose it again.');
  }
}

/** Decrypts a secret key file: one try with a passphrase from a file or the environment, three at a terminal. */
export async function unlockSecretKey(ctx: Context, flags: PassphraseSource, keyText: string, encrypted: boolean): Promise<SecretKey> {
  if (!encrypted) return decryptSecretKey(keyText, undefined);
  const given = passphraseFromFlags(ctx, flags);
  if (given !== undefined) return decryptSecretKey(keyText, given);
  const p = await prompter(ctx, 'a passphrase is needed: give --passphrase-file FILE or set ' + PASSPHRASE_ENV);
  for (let attempt = 1; ; attempt++) {
    const passphrase = await ask(() => p.password('Passphrase:'));
    try {
      return await decryptSecretKey(keyText, passphrase);
    } catch (err) {
      if (!(err instanceof KeyError) || err.code !== 'BAD_PASSPHRASE' || attempt === TRIES) throw err;
      ctx.err(`Wrong passphrase; ${TRIES - attempt} ${TRIES - attempt === 1 ? 'try' : 'tries'} left.`);
    }
  }
}

export async function askConfirmation(ctx: Context, question: string): Promise<boolean> {
  const p = await prompter(ctx, 'confirmation is needed: review the summary and pass --yes');
  return ask(() => p.confirm(question));
}

/** The estimator (and its dictionaries) is loaded only here, so no other command pays for it. */
async function warnIfWeak(ctx: Context, passphrase: string): Promise<void> {
  const [{ ZxcvbnFactory }, common] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')]);
  const { score } = new ZxcvbnFactory({ dictionary: common.dictionary, graphs: common.adjacencyGraphs }).check(passphrase);
  if (score < WEAK_SCORE) {
    ctx.err(`warning: this passphrase is weak (strength ${score} of 4): whoever copies the key file can guess it offline. A few unrelated words are stronger.`);
  }
}

async function prompter(ctx: Context, needed: string): Promise<Prompter> {
  if (!ctx.interactive) throw new UsageError('USAGE', `${needed} (no terminal to ask on)`);
  if (ctx.prompter) return ctx.prompter;
  const { default: inquirer } = await import('inquirer');
  return {
    password: async (message) => (await inquirer.prompt<{ v: string }>([{ type: 'password', name: 'v', message, mask: '*' }])).v,
    confirm: async (message) => (await inquirer.prompt<{ v: boolean }>([{ type: 'confirm', name: 'v', message, default: false }])).v,
  };
}

/** Ctrl-C at a prompt (inquirer's ExitPromptError) is the person cancelling, not a failure of ours. */
async function ask<T>(question: () => Promise<T>): Promise<T> {
  try {
    return await question();
  } catch (err) {
    if ((err as Error)?.name === 'ExitPromptError') throw new UsageError('CANCELLED', 'cancelled');
    throw err;
  }
}
