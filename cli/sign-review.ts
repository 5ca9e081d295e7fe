// What a signer reviews before any key is used, for every way `countersign sign` signs (cli/sign.ts, cli/sign-tools.ts).
import { basename, dirname, join } from 'node:path';
import { verifyArchiveStream } from '../lib/core/archive-verify.js';
import { summarizeDocument } from '../lib/core/summary.js';
import { checkStatedVersion, versionFileOf, versionInArchive } from '../lib/core/version-file.js';
import type { Context } from './context.js';
import { readPolicyInForce, type LoadedDocument } from './documents.js';

/**
 * The review a signer sees before any key is used, whichever tool signs: the document's summary, the archive
 * re-hashed against the manifest (and its version file read), the rotation's changes with --policy.
 */
export async function showReview(
  ctx: Context,
  args: { policy?: string; json?: boolean },
  { doc, archive, archiveFile }: LoadedDocument,
  heading = 'Signing:',
): Promise<void> {
  const current = args.policy === undefined ? undefined : readPolicyInForce(args.policy);
  let summary = summarizeDocument(doc, { current });
  const archiveLines: string[] = [];
  if (summary.manifest) {
    if (archive) {
      await verifyArchiveStream(archive.chunks(), summary.manifest.archive, summary.manifest.files);
      archiveLines.push(`Archive check: re-hashed ${archiveFile}; size, digests and every entry match`);
      // What the site will report after installing it: read from the verified archive, and it must be this release's version.
      const versionFile = versionFileOf(summary.manifest);
      if (versionFile !== null) {
        const says = await versionInArchive(archive.chunks(), versionFile);
        checkStatedVersion(versionFile, says, summary.manifest.version, 'the archive');
        summary = summarizeDocument(doc, { current, versionFileSays: says });
      }
    } else {
      archiveLines.push(`Archive check: NOT DONE: ${summary.manifest.archive.name} is not beside the manifest (pass --archive to re-hash it)`);
    }
  }
  const lines = [...summary.lines, ...archiveLines];
  (args.json ? ctx.err : ctx.out)([heading, ...lines.map((l) => `  ${l}`)].join('\n'));
}

/** DOC.<first 8 hex digits of the key id>.sig beside DOC (`.json` dropped): release/drupal-10.2.4.manifest.1a2b3c4d.sig. */
export function defaultOut(doc: string, keyid: string): string {
  return join(dirname(doc), `${basename(doc).replace(/\.json$/, '')}.${keyid.slice(0, 8)}.sig`);
}
