import type { CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { generateSeed, isStrongPublicKey, keyId, publicKeyFromSeed } from '../lib/ed25519.js';
import { KeyError, UsageError } from '../lib/errors.js';
import { encryptSecretKey, formatPublicKeyFile, unencryptedSecretKey } from '../lib/keyfile.js';
import { writeFilesAtomically } from '../lib/durable.js';
import type { Context } from './context.js';
import { examples, succeed } from './output.js';
import { askPassphrase } from './passphrase.js';

interface KeygenArgs {
  out: string;
  name?: string;
  passphraseFile?: string;
  unencrypted?: boolean;
  json?: boolean;
}

export function keygenCommand(ctx: Context): CommandModule<object, KeygenArgs> {
  return {
    command: 'keygen',
    describe: 'Generate a signing key pair: PREFIX.key (encrypted secret) and PREFIX.pub',
    builder: (y) =>
      y
        .option('out', { type: 'string', demandOption: true, describe: 'Path prefix for PREFIX.key and PREFIX.pub' })
        .option('name', { type: 'string', describe: 'Display name, e.g. "Alice <alice@example.org>" (default: the prefix)' })
        .option('passphrase-file', { type: 'string', describe: 'Read the passphrase from the first line of this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)' })
        .option('unencrypted', { type: 'boolean', describe: 'Store the secret key in the clear. For tests and demos only.' })
        .epilogue('The secret key is encrypted with scrypt (N=2^17, r=8) and XChaCha20-Poly1305. Existing files are never overwritten.')
        .epilogue(examples('countersign keygen --out ~/.countersign/alice --name "Alice <alice@example.org>"  # asks for a passphrase twice')),
    handler: async (args) => {
      const keyPath = `${args.out}.key`;
      const pubPath = `${args.out}.pub`;
      // Refuse before asking for a passphrase: a key is never overwritten.
      for (const path of [keyPath, pubPath]) if (existsSync(path)) throw new UsageError('IO', `${path} already exists; refusing to overwrite a key`);
      const name = args.name ?? basename(args.out);
      const seed = generateSeed();
      const publicKey = publicKeyFromSeed(seed);
      if (!isStrongPublicKey(publicKey)) throw new KeyError('WEAK_KEY', 'the generated public key fails the key checks; nothing was written');
      let secretText: string;
      if (args.unencrypted) {
        ctx.err('warning: writing an UNENCRYPTED secret key; use it for tests and demos only.');
        secretText = unencryptedSecretKey(seed, publicKey, name);
      } else {
        const passphrase = await askPassphrase(ctx, args, { confirm: true });
        if (passphrase.length === 0) throw new UsageError('USAGE', 'the passphrase is empty; nothing was written');
        secretText = await encryptSecretKey(seed, publicKey, name, passphrase);
      }
      writeFilesAtomically([
        { path: keyPath, data: secretText, mode: 0o600 },
        { path: pubPath, data: formatPublicKeyFile(publicKey, name) },
      ]);
      const id = keyId(publicKey);
      succeed(ctx, args, { keyid: id, name, secretKey: keyPath, publicKey: pubPath, encrypted: !args.unencrypted }, [
        `Wrote ${keyPath} (${args.unencrypted ? 'UNENCRYPTED' : 'encrypted'}) and ${pubPath}`,
        `Key id: ${id}`,
        `Send ${pubPath} to the release manager; keep ${keyPath} on this machine.`,
      ]);
    },
  };
}
