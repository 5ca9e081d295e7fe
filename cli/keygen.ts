import type { CommandModule } from 'yargs';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { generateSeed, isStrongPublicKey, keyId, publicKeyFromSeed } from '../lib/core/ed25519.js';
import { KeyError, UsageError } from '../lib/core/errors.js';
import { encryptSecretKey, formatPublicKeyFile, unencryptedSecretKey } from '../lib/core/keyfile.js';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import type { Context } from './context.js';
import { FORCE_OPTION } from './flags.js';
import { examples, succeed } from './output.js';
import { newPassphrase } from './passphrase.js';
import { errnoOf } from '../lib/core/errno.js';

interface KeygenArgs {
  out: string;
  name?: string;
  passphraseFile?: string;
  unencrypted?: boolean;
  force?: boolean;
  json?: boolean;
}

export function keygenCommand(ctx: Context): CommandModule<object, KeygenArgs> {
  return {
    command: 'keygen',
    describe: 'Generate a signing key pair: PREFIX.key (encrypted secret) and PREFIX.pub',
    builder: (y) =>
      y
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'Path prefix for PREFIX.key and PREFIX.pub (a missing directory is created, mode 0700)',
        })
        .option('name', { type: 'string', describe: 'Display name, e.g. "Alice <alice@example.org>" (default: the prefix)' })
        .option('passphrase-file', {
          type: 'string',
          describe: 'Read the passphrase from the first line of this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)',
        })
        .option('unencrypted', { type: 'boolean', describe: 'Store the secret key in the clear. For tests and demos only.' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'The secret key is encrypted with scrypt (N=2^17, r=8) and XChaCha20-Poly1305. A weak passphrase is warned about. Existing files are replaced only with --force.',
        )
        .epilogue(examples('countersign keygen --out ~/.countersign/alice --name "Alice <alice@example.org>"  # asks for a passphrase twice')),
    handler: async (args) => {
      const keyPath = `${args.out}.key`;
      const pubPath = `${args.out}.pub`;
      // Everything that can fail without a passphrase fails before one is asked for.
      refuseExisting([keyPath, pubPath], args.force);
      const name = args.name ?? basename(args.out);
      const created = makeKeyDirectory(dirname(args.out));
      try {
        const seed = generateSeed();
        const publicKey = publicKeyFromSeed(seed);
        // The admission rule every policy applies (lib/ed25519.ts), checked before anything is written.
        if (!isStrongPublicKey(publicKey)) throw new KeyError('WEAK_KEY', 'the generated public key fails the key checks; nothing was written');
        let secretText: string;
        if (args.unencrypted) {
          ctx.err('warning: writing an UNENCRYPTED secret key; use it for tests and demos only.');
          secretText = unencryptedSecretKey(seed, publicKey, name);
        } else {
          secretText = await encryptSecretKey(seed, publicKey, name, await newPassphrase(ctx, args));
        }
        writeFilesAtomically(
          [
            { path: keyPath, data: secretText, mode: 0o600 },
            { path: pubPath, data: formatPublicKeyFile(publicKey, name) },
          ],
          { force: args.force },
        );
        const id = keyId(publicKey);
        succeed(ctx, args, { keyid: id, name, secretKey: keyPath, publicKey: pubPath, encrypted: !args.unencrypted }, [
          `Wrote ${keyPath} (${args.unencrypted ? 'UNENCRYPTED' : 'encrypted'}) and ${pubPath}`,
          `Key id: ${id}`,
          `Send ${pubPath} to the release manager; keep ${keyPath} on this machine.`,
        ]);
      } catch (err) {
        if (created) rmSync(created, { recursive: true, force: true });
        throw err;
      }
    },
  };
}

/** Creates a missing key directory (mode 0700) and checks it is writable; returns the topmost directory it created. */
function makeKeyDirectory(dir: string): string | undefined {
  try {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new UsageError('IO', `${dir} is not a directory`);
      accessSync(dir, constants.W_OK);
      return undefined;
    }
    const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return created;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot write keys into ${dir}: ${errnoOf(err)}`);
  }
}
