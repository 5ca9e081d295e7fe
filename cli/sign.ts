import type { CommandModule } from 'yargs';
import { statSync } from 'node:fs';
import { fromUtf8 } from '../lib/core/bytes.js';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import { KeyError, UsageError } from '../lib/core/errors.js';
import { secretKeyIsEncrypted } from '../lib/core/keyfile.js';
import { serializePartial, signDocument } from '../lib/core/partial-signature.js';
import type { Context } from './context.js';
import { readDocument, withDocument } from './documents.js';
import { examples, succeed } from './output.js';
import { askConfirmation, unlockSecretKey } from './passphrase.js';
import { FORCE_OPTION } from './flags.js';
import { STDIN } from './files.js';
import { signWithTool, TOOL_OPTIONS, toolMode, type ToolArgs } from './sign-tools.js';
import { defaultOut, showReview } from './sign-review.js';

interface SignArgs extends ToolArgs {
  doc: string;
  key?: string;
  archive?: string;
  policy?: string;
  yes?: boolean;
  out?: string;
  passphraseFile?: string;
  force?: boolean;
  json?: boolean;
}

export function signCommand(ctx: Context): CommandModule<object, SignArgs> {
  return {
    command: 'sign <doc>',
    describe: 'Review a document and write one partial signature (works offline)',
    builder: (y) =>
      y
        .positional('doc', {
          type: 'string',
          demandOption: true,
          describe: 'A manifest, policy, revocation, enrolment, key revocation or bundle; - reads it from standard input (then give --out)',
        })
        .option('key', { type: 'string', describe: 'Your secret key file (PREFIX.key); or sign with --ssh-key, or offline with --emit-pae' })
        .options(TOOL_OPTIONS)
        .option('archive', { type: 'string', describe: "Re-hash this archive and refuse to sign if it differs from the manifest's" })
        .option('policy', {
          type: 'string',
          describe:
            "The policy in force: a new policy (or a re-enrolment's) is then reviewed as a rotation (who is added and removed, threshold, roles, expiry); a key revocation names the key's holder from a provider's policy",
        })
        .option('yes', { type: 'boolean', describe: 'Do not ask for confirmation (you reviewed the summary another way)' })
        .option('out', { type: 'string', describe: 'Partial signature file (default: DOC.<keyid>.sig beside DOC)' })
        .option('passphrase-file', { type: 'string', describe: 'Read the key passphrase from this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)' })
        .option('force', FORCE_OPTION)
        .epilogue('Send the small .sig file back to the release manager by any channel: it proves nothing until a quorum is assembled.')
        .epilogue(
          examples(
            'countersign sign drupal-10.2.4.manifest.json --archive drupal-10.2.4.tar --key ~/.countersign/alice.key  # shows the summary, asks, writes the .sig',
            'countersign sign drupal-10.2.4.manifest.json --ssh-key ~/.ssh/id_ed25519_sk  # the same review, then touch the security key',
            'countersign sign drupal-10.2.4.manifest.json --emit-pae pae.bin  # then minisign -S -m pae.bin offline, and --import-signature pae.bin.minisig --signer minisign.pub',
          ),
        ),
    handler: (args) => {
      const mode = toolMode(args);
      if (args.doc === STDIN && args.out === undefined && mode !== 'emit-pae') {
        throw new UsageError('USAGE', 'DOC - (standard input): give --out for the partial signature');
      }
      if (mode !== 'key') return signWithTool(ctx, args, mode);
      // A wrong --key, or an output that exists, fails now: before the review and the passphrase.
      const keyFile = args.key!;
      const keyText = fromUtf8(readDocument(keyFile, 'secret key file'), 'secret key file');
      const encrypted = secretKeyIsEncrypted(keyText);
      const out = args.out ?? defaultOut(args.doc, claimedKeyId(keyText));
      refuseExisting([out], args.force);
      return withDocument(args.doc, args.archive, async (loaded) => {
        const { doc } = loaded;
        if (!encrypted) ctx.err(`warning: ${keyFile} is an UNENCRYPTED key, fit only for tests and demos`);
        if (keyFile !== STDIN && (statSync(keyFile).mode & 0o077) !== 0) ctx.err(`warning: ${keyFile} is readable by other users; chmod 600 it`);
        await showReview(ctx, args, loaded);
        if (!args.yes && !(await askConfirmation(ctx, 'Sign this document?'))) {
          throw new UsageError('DECLINED', 'not signed: you declined');
        }
        const key = await unlockSecretKey(ctx, args, keyText, encrypted);
        const partial = signDocument(doc, key.seed, key.publicKey);
        writeFilesAtomically([{ path: out, data: serializePartial(partial) }], { force: args.force });
        succeed(ctx, args, { signature: out, keyid: partial.keyid, signer: key.name, payloadSha256: partial.payloadSha256, kind: doc.kind }, [
          `Signed as ${key.name} (${partial.keyid.slice(0, 16)}…): wrote ${out}`,
        ]);
      });
    },
  };
}

/** The key id a secret key file names (checked against its key when it is decrypted), for the default --out. */
function claimedKeyId(keyText: string): string {
  const keyid = (JSON.parse(keyText) as { keyid?: unknown }).keyid;
  if (typeof keyid !== 'string' || !/^[0-9a-f]{64}$/.test(keyid)) throw new KeyError('KEY_FORMAT', 'the secret key file has no valid keyid');
  return keyid;
}
