import type { CommandModule } from 'yargs';
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { verifyArchiveStream } from '../lib/archive.js';
import { fromUtf8 } from '../lib/bytes.js';
import { writeFilesAtomically } from '../lib/durable.js';
import { UsageError } from '../lib/errors.js';
import { decryptSecretKey, secretKeyIsEncrypted } from '../lib/keyfile.js';
import { serializePartial, signDocument } from '../lib/partial.js';
import { summarizeDocument } from '../lib/summary.js';
import type { Context } from './context.js';
import { withDocument } from './documents.js';
import { readInput } from './files.js';
import { examples, succeed } from './output.js';
import { askConfirmation, askPassphrase } from './passphrase.js';

interface SignArgs {
  doc: string;
  key: string;
  archive?: string;
  yes?: boolean;
  out?: string;
  passphraseFile?: string;
  json?: boolean;
}

export function signCommand(ctx: Context): CommandModule<object, SignArgs> {
  return {
    command: 'sign <doc>',
    describe: 'Review a document and write one partial signature (works offline)',
    builder: (y) =>
      y
        .positional('doc', { type: 'string', demandOption: true, describe: 'A manifest, policy or bundle' })
        .option('key', { type: 'string', demandOption: true, describe: 'Your secret key file (PREFIX.key)' })
        .option('archive', { type: 'string', describe: "Re-hash this archive and refuse to sign if it differs from the manifest's" })
        .option('yes', { type: 'boolean', describe: 'Do not ask for confirmation (you reviewed the summary another way)' })
        .option('out', { type: 'string', describe: 'Partial signature file (default: DOC.<keyid>.sig beside DOC)' })
        .option('passphrase-file', { type: 'string', describe: 'Read the key passphrase from this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)' })
        .epilogue('Send the small .sig file back to the release manager by any channel: it proves nothing until a quorum is assembled.')
        .epilogue(examples('countersign sign drupal-10.2.4.manifest.json --archive drupal-10.2.4.tar --key ~/.countersign/alice.key  # shows the summary, asks, writes the .sig')),
    handler: (args) =>
      withDocument(args.doc, args.archive, async ({ doc, archive, archiveFile }) => {
        const summary = summarizeDocument(doc);
        const keyText = fromUtf8(readInput(args.key, 'secret key file', 64 * 1024), 'secret key file');
        const encrypted = secretKeyIsEncrypted(keyText); // a wrong --key fails now, before the review
        if (!encrypted) ctx.err(`warning: ${args.key} is an UNENCRYPTED key, fit only for tests and demos`);
        if ((statSync(args.key).mode & 0o077) !== 0) ctx.err(`warning: ${args.key} is readable by other users; chmod 600 it`);
        const lines = [...summary.lines];
        if (summary.manifest) {
          if (archive) {
            await verifyArchiveStream(archive.chunks(), summary.manifest.archive, summary.manifest.files);
            lines.push(`Archive check: re-hashed ${archiveFile}; size, digests and every entry match`);
          } else {
            lines.push(`Archive check: NOT DONE: ${summary.manifest.archive.name} is not beside the manifest (pass --archive to re-hash it)`);
          }
        }
        (args.json ? ctx.err : ctx.out)(['Signing:', ...lines.map((l) => `  ${l}`)].join('\n'));
        if (!args.yes && !(await askConfirmation(ctx, 'Sign this document?'))) {
          throw new UsageError('DECLINED', 'not signed: you declined');
        }
        const passphrase = encrypted ? await askPassphrase(ctx, args, { confirm: false }) : undefined;
        const key = await decryptSecretKey(keyText, passphrase);
        const partial = signDocument(doc, key.seed, key.publicKey);
        const out = args.out ?? join(dirname(args.doc), `${basename(args.doc).replace(/\.json$/, '')}.${partial.keyid.slice(0, 8)}.sig`);
        writeFilesAtomically([{ path: out, data: serializePartial(partial), overwrite: true }]);
        succeed(ctx, args, { signature: out, keyid: partial.keyid, signer: key.name, payloadSha256: partial.payloadSha256, kind: doc.kind }, [
          `Signed as ${key.name} (${partial.keyid.slice(0, 16)}…): wrote ${out}`,
        ]);
      }),
  };
}
