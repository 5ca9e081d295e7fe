import type { CommandModule } from 'yargs';
import { verifyArchiveStream } from '../lib/archive.js';
import { writeBundleFile } from '../lib/bundle-file.js';
import { writeFilesAtomically } from '../lib/durable.js';
import { serializeEnvelope, type EnvelopeSignature } from '../lib/envelope.js';
import { CountersignError, SignatureError, UsageError, type Reason } from '../lib/errors.js';
import { manifestFromPayload } from '../lib/manifest.js';
import { partialAsSignature, partialMismatch, parsePartial, type PartialSignature } from '../lib/partial.js';
import { checkPolicyFresh, loadTrustedPolicy, readPolicyDocument, type CheckedPolicy } from '../lib/policy.js';
import { countQuorum, describeQuorum, describeSigners, publicSigner } from '../lib/quorum.js';
import type { Context } from './context.js';
import { loadDocument } from './documents.js';
import { readInput } from './files.js';
import { fail, succeed } from './output.js';

interface AssembleArgs {
  doc: string;
  policy: string;
  archive?: string;
  out: string;
  sig: string[];
  json?: boolean;
}

export function assembleCommand(ctx: Context): CommandModule<object, AssembleArgs> {
  return {
    command: 'assemble <doc> <sig..>',
    describe: 'Collect partial signatures; write the bundle only when a quorum of distinct trusted keys has signed',
    builder: (y) =>
      y
        .positional('doc', { type: 'string', demandOption: true, describe: 'The unsigned manifest or policy' })
        .positional('sig', { type: 'string', array: true, demandOption: true, describe: 'Partial signature files' })
        .option('policy', { type: 'string', demandOption: true, describe: 'The signed policy sites trust (or, for a new policy, the policy itself)' })
        .option('archive', { type: 'string', describe: 'The release archive (default: the one named in the manifest, beside it)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Bundle file to write (a signed policy for a policy)' })
        .example('$0 assemble drupal-10.2.4.manifest.json --policy policy.signed.json --out drupal-10.2.4.bundle *.sig', 'release bundle')
        .example('$0 assemble policy.json --policy policy.json --out policy.signed.json a.sig b.sig c.sig', 'self-sign a new policy')
        .epilogue('Invalid, unknown and duplicate signatures are reported and never counted. Short of the quorum nothing is written (exit 1).'),
    handler: async (args) => {
      const { doc, archive } = await loadDocument(args.doc, args.archive);
      const trusted = loadAssemblyPolicy(args, doc.kind, ctx.now);
      const problems: Reason[] = [];
      const signatures: EnvelopeSignature[] = [...doc.envelope.signatures];
      for (const file of args.sig) {
        const partial = readPartial(file, problems);
        if (!partial) continue;
        const mismatch = partialMismatch(partial, doc, file);
        if (mismatch) problems.push(mismatch);
        else signatures.push(partialAsSignature(partial));
      }
      const quorum = countQuorum(doc, signatures, trusted);
      const report = [...problems, ...quorum.problems].map((p) => `  ${p.code}: ${p.message}`);
      const who = { signedBy: quorum.signedBy.map(publicSigner), couldSign: quorum.couldSign.map(publicSigner), threshold: quorum.threshold };
      if (!quorum.met) {
        const err = new SignatureError('QUORUM_NOT_MET', `quorum not met: ${describeQuorum(quorum)}; nothing was written`, { ...who, problems: [...problems, ...quorum.problems] });
        fail(ctx, args, err, [`error[QUORUM_NOT_MET]: ${quorum.signedBy.length} of ${quorum.threshold} required signatures; nothing was written`, ...signerLines(quorum), ...report]);
        return;
      }
      const envelope = { ...doc.envelope, signatures: quorum.signatures };
      if (doc.kind === 'manifest') {
        const manifest = manifestFromPayload(doc.payloadBytes);
        if (!archive) throw new UsageError('USAGE', `the archive ${manifest.archive.name} is not beside the manifest; pass --archive`);
        // A bundle that would fail verification is never published.
        await verifyArchiveStream(archive.chunks(), manifest.archive, manifest.files);
        await writeBundleFile(args.out, envelope, archive);
      } else {
        writeFilesAtomically([{ path: args.out, data: serializeEnvelope(envelope), overwrite: true }]);
      }
      succeed(ctx, args, { bundle: args.out, kind: doc.kind, signed: quorum.signedBy.length, ...who, problems: [...problems, ...quorum.problems] }, [
        `Quorum met: ${describeSigners(quorum)}`,
        ...signerLines(quorum),
        ...(report.length ? ['Not counted:', ...report] : []),
        `Wrote ${args.out}`,
      ]);
    },
  };
}

/** A partial that cannot be read is reported like any other invalid signature; I/O errors still stop the run. */
function readPartial(file: string, problems: Reason[]): PartialSignature | undefined {
  const bytes = readInput(file, 'partial signature', 64 * 1024);
  try {
    return parsePartial(bytes, file);
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    problems.push({ code: err.code, message: err.message, details: { file } });
    return undefined;
  }
}

function signerLines(q: ReturnType<typeof countQuorum>): string[] {
  return [
    `  signed:          ${q.signedBy.map((s) => s.name).join(', ') || 'nobody'}`,
    `  could still sign: ${q.couldSign.map((s) => s.name).join(', ') || 'nobody'}`,
  ];
}

/**
 * A release is assembled against the signed policy sites trust. A new policy (version 1) is
 * assembled against itself: its own signers form its first quorum.
 */
function loadAssemblyPolicy(args: AssembleArgs, kind: string, now: Date): CheckedPolicy {
  const bytes = readInput(args.policy, 'policy');
  if (kind === 'policy') return readPolicyDocument(bytes, args.policy);
  const trusted = loadTrustedPolicy(bytes, args.policy);
  checkPolicyFresh(trusted.policy, now);
  return trusted;
}
