import type { CommandModule } from 'yargs';
import { verifyArchiveStream } from '../lib/core/archive-verify.js';
import { writeBundleFile } from '../lib/node/bundle-file.js';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import { assemblyQuorums, keptSignatures, uncountedProblems, type QuorumSide } from '../lib/core/assembly.js';
import { serializeEnvelope, type EnvelopeSignature } from '../lib/core/envelope.js';
import { CountersignError, SignatureError, UsageError, type Reason } from '../lib/core/errors.js';
import { manifestFromPayload } from '../lib/core/manifest.js';
import { partialAsSignature, partialMismatch, parsePartial, type PartialSignature } from '../lib/core/partial-signature.js';
import { describeQuorum, describeSigners, publicSigner } from '../lib/core/quorum.js';
import type { Context } from './context.js';
import { FORCE_OPTION } from './flags.js';
import { readDocument, withDocument } from './documents.js';
import { examples, fail, succeed } from './output.js';

interface AssembleArgs {
  doc: string;
  policy: string;
  archive?: string;
  out: string;
  sig: string[];
  force?: boolean;
  log?: string;
  passphraseFile?: string;
  json?: boolean;
}

export function assembleCommand(ctx: Context): CommandModule<object, AssembleArgs> {
  return {
    command: 'assemble <doc> <sig..>',
    describe: 'Collect partial signatures; write the bundle only when a quorum of distinct trusted keys has signed',
    builder: (y) =>
      y
        .positional('doc', {
          type: 'string',
          demandOption: true,
          describe: 'The unsigned manifest, policy, revocation, enrolment or key revocation; - reads it from standard input',
        })
        .positional('sig', { type: 'string', array: true, demandOption: true, describe: 'Partial signature files' })
        .option('policy', {
          type: 'string',
          demandOption: true,
          describe:
            "The signed policy sites trust (or, for a new policy, the policy itself); for an enrolment the root policy; for a provider's document its policy (or enrolment), or the root policy (the super provider)",
        })
        .option('archive', { type: 'string', describe: 'The release archive (default: the one named in the manifest, beside it)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Bundle file to write (a signed policy for a policy)' })
        .option('force', FORCE_OPTION)
        .option('log', { type: 'string', describe: 'Last step: submit to this transparency log (URL of log serve, or a log DIR) and attach its proof' })
        .option('passphrase-file', { type: 'string', describe: "With --log DIR: the log key's passphrase file (else $COUNTERSIGN_PASSPHRASE)" })
        .epilogue(
          'Invalid, unknown and duplicate signatures are reported and never counted. Short of the quorum nothing is written (exit 1). ' +
            "A provider's documents count its release role (a release), release or admin role (a release revocation), admin role (a key revocation; both versions' for a rotation); " +
            "this is the signers' check: the log counts them again from its replayed state, with key activation and revocation.",
        )
        .epilogue(
          examples(
            'countersign assemble drupal-10.2.4.manifest.json --policy policy.signed.json --out drupal-10.2.4.bundle *.sig  # release bundle',
            'countersign assemble policy.json --policy policy.json --out policy.signed.json a.sig b.sig c.sig  # self-sign a new policy',
            'countersign assemble wordfence-enrolment.json --policy root-policy.signed.json --out wordfence-enrolment.signed.json *.sig  # root quorum or registry role',
            'countersign assemble revoke-ci.json --policy wordfence-enrolment.signed.json --out revoke-ci.signed.json ana.sig ben.sig  # the provider admin role',
          ),
        ),
    handler: (args) => {
      refuseExisting([args.out], args.force);
      return withDocument(args.doc, args.archive, async ({ doc, archive }) => {
        const problems: Reason[] = [];
        const signatures: EnvelopeSignature[] = [...doc.envelope.signatures];
        for (const file of args.sig) {
          const partial = readPartial(file, problems);
          if (!partial) continue;
          const mismatch = partialMismatch(partial, doc, file);
          if (mismatch) problems.push(mismatch);
          else signatures.push(partialAsSignature(partial));
        }
        const sides = assemblyQuorums(doc, signatures, readDocument(args.policy, 'policy or enrolment'), ctx.now, args.policy);
        const allProblems = [...problems, ...uncountedProblems(sides)];
        const report = allProblems.map((p) => `  ${p.code}: ${p.message}`);
        const first = sides[0]!.quorum;
        const who = { signedBy: first.signedBy.map(publicSigner), couldSign: first.couldSign.map(publicSigner), threshold: first.threshold };
        const sideData = sides.map((x) => ({
          policy: x.label,
          met: x.quorum.met,
          signed: x.quorum.signedBy.length,
          threshold: x.quorum.threshold,
          signedBy: x.quorum.signedBy.map(publicSigner),
          couldSign: x.quorum.couldSign.map(publicSigner),
        }));
        const short = sides.filter((x) => !x.quorum.met);
        if (short.length > 0) {
          const summary = short.map((x) => `${x.label}: ${describeQuorum(x.quorum)}`).join('; ');
          const err = new SignatureError('QUORUM_NOT_MET', `quorum not met (${summary}); nothing was written`, {
            ...who,
            sides: sideData,
            problems: allProblems,
          });
          fail(ctx, args, err, [`error[QUORUM_NOT_MET]: quorum not met; nothing was written`, ...sides.flatMap(sideLines), ...report]);
          return;
        }
        const envelope = { ...doc.envelope, signatures: keptSignatures(sides) };
        if (doc.kind === 'manifest') {
          const manifest = manifestFromPayload(doc.payloadBytes);
          if (!archive) throw new UsageError('USAGE', `the archive ${manifest.archive.name} is not beside the manifest; pass --archive`);
          // A bundle that would fail verification is never published.
          await verifyArchiveStream(archive.chunks(), manifest.archive, manifest.files);
          await writeBundleFile(args.out, envelope, archive, { force: args.force });
        } else {
          writeFilesAtomically([{ path: args.out, data: serializeEnvelope(envelope) }], { force: args.force });
        }
        // The log step comes last: the bundle is complete without it, and a log that is down can be retried with log prove.
        const logged = args.log ? await (await import('./log.js')).logAndAttachProof(ctx, args.log, args.out, args) : undefined;
        succeed(
          ctx,
          args,
          { bundle: args.out, kind: doc.kind, signed: first.signedBy.length, ...who, sides: sideData, problems: allProblems, ...(logged ? { logged } : {}) },
          [
            `Quorum met: ${sides.map((x) => `${x.label}: ${describeSigners(x.quorum)}`).join('; ')}`,
            ...sides.flatMap(sideLines),
            ...(report.length ? ['Not counted:', ...report] : []),
            `Wrote ${args.out}`,
            ...(logged ? [`Logged as entry ${logged.index} of ${args.log}; proof attached (${logged.proofFile})`] : []),
          ],
        );
      });
    },
  };
}

/** A partial that cannot be read is reported like any other invalid signature; I/O errors still stop the run. */
function readPartial(file: string, problems: Reason[]): PartialSignature | undefined {
  const bytes = readDocument(file, 'partial signature');
  try {
    return parsePartial(bytes, file);
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    problems.push({ code: err.code, message: err.message, details: { file } });
    return undefined;
  }
}

function sideLines(side: QuorumSide): string[] {
  const q = side.quorum;
  return [
    q.met
      ? `  ${side.label}: ${q.signedBy.length} signed, ${q.threshold} required`
      : `  ${side.label}: ${q.signedBy.length} of ${q.threshold} required signatures, short by ${q.threshold - q.signedBy.length}`,
    `    signed:           ${q.signedBy.map((s) => s.name).join(', ') || 'nobody'}`,
    `    could still sign: ${q.couldSign.map((s) => s.name).join(', ') || 'nobody'}`,
  ];
}
