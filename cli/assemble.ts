import type { CommandModule } from 'yargs';
import { verifyArchiveStream } from '../lib/archive.js';
import { writeBundleFile } from '../lib/bundle-file.js';
import { writeFilesAtomically } from '../lib/durable.js';
import { expectKind, openEnvelope, serializeEnvelope, type EnvelopeSignature, type OpenedEnvelope } from '../lib/envelope.js';
import { CountersignError, SignatureError, UsageError, type Reason } from '../lib/errors.js';
import { manifestFromPayload } from '../lib/manifest.js';
import { partialAsSignature, partialMismatch, parsePartial, type PartialSignature } from '../lib/partial.js';
import { checkPolicyFresh, loadTrustedPolicy, policyFromPayload } from '../lib/policy.js';
import { checkRotationVersion, countRotation } from '../lib/rotation.js';
import { bytesEqual } from '../lib/bytes.js';
import { countQuorum, describeQuorum, describeSigners, publicSigner, type QuorumResult } from '../lib/quorum.js';
import type { Context } from './context.js';
import { withDocument } from './documents.js';
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
    handler: (args) =>
      withDocument(args.doc, args.archive, async ({ doc, archive }) => {
        const problems: Reason[] = [];
        const signatures: EnvelopeSignature[] = [...doc.envelope.signatures];
        for (const file of args.sig) {
          const partial = readPartial(file, problems);
          if (!partial) continue;
          const mismatch = partialMismatch(partial, doc, file);
          if (mismatch) problems.push(mismatch);
          else signatures.push(partialAsSignature(partial));
        }
        const sides = quorumSides(args, doc, signatures, ctx.now);
        const allProblems = [...problems, ...uncounted(sides)];
        const report = allProblems.map((p) => `  ${p.code}: ${p.message}`);
        const first = sides[0]!.quorum;
        const who = { signedBy: first.signedBy.map(publicSigner), couldSign: first.couldSign.map(publicSigner), threshold: first.threshold };
        const sideData = sides.map((x) => ({ policy: x.label, met: x.quorum.met, signed: x.quorum.signedBy.length, threshold: x.quorum.threshold, signedBy: x.quorum.signedBy.map(publicSigner), couldSign: x.quorum.couldSign.map(publicSigner) }));
        const short = sides.filter((x) => !x.quorum.met);
        if (short.length > 0) {
          const summary = short.map((x) => `${x.label}: ${describeQuorum(x.quorum)}`).join('; ');
          const err = new SignatureError('QUORUM_NOT_MET', `quorum not met (${summary}); nothing was written`, { ...who, sides: sideData, problems: allProblems });
          fail(ctx, args, err, [`error[QUORUM_NOT_MET]: quorum not met; nothing was written`, ...sides.flatMap(sideLines), ...report]);
          return;
        }
        const envelope = { ...doc.envelope, signatures: keptSignatures(sides) };
        if (doc.kind === 'manifest') {
          const manifest = manifestFromPayload(doc.payloadBytes);
          if (!archive) throw new UsageError('USAGE', `the archive ${manifest.archive.name} is not beside the manifest; pass --archive`);
          // A bundle that would fail verification is never published.
          await verifyArchiveStream(archive.chunks(), manifest.archive, manifest.files);
          await writeBundleFile(args.out, envelope, archive);
        } else {
          writeFilesAtomically([{ path: args.out, data: serializeEnvelope(envelope), overwrite: true }]);
        }
        succeed(ctx, args, { bundle: args.out, kind: doc.kind, signed: first.signedBy.length, ...who, sides: sideData, problems: allProblems }, [
          `Quorum met: ${sides.map((x) => `${x.label}: ${describeSigners(x.quorum)}`).join('; ')}`,
          ...sides.flatMap(sideLines),
          ...(report.length ? ['Not counted:', ...report] : []),
          `Wrote ${args.out}`,
        ]);
      }),
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

interface Side {
  label: string;
  quorum: QuorumResult;
}

/**
 * The quorums a document needs. A release or revocation: the signed policy sites trust, unexpired.
 * A new policy (version 1): its own signers. A rotation to version N+1: the current signed policy N
 * and the new policy itself, as sites will check it.
 */
function quorumSides(args: AssembleArgs, doc: OpenedEnvelope, signatures: EnvelopeSignature[], now: Date): Side[] {
  const bytes = readInput(args.policy, 'policy');
  if (doc.kind !== 'policy') {
    const trusted = loadTrustedPolicy(bytes, args.policy);
    checkPolicyFresh(trusted.policy, now);
    return [{ label: `policy ${trusted.policy.version}`, quorum: countQuorum(doc, signatures, trusted) }];
  }
  const next = policyFromPayload(doc.payloadBytes, args.doc);
  const given = openEnvelope(bytes, args.policy);
  expectKind(given, 'policy', args.policy);
  if (bytesEqual(given.payloadBytes, doc.payloadBytes)) {
    if (next.policy.version !== 1) {
      throw new UsageError('USAGE', `policy version ${next.policy.version} is a rotation: assemble it with --policy set to the signed policy ${next.policy.version - 1}`);
    }
    return [{ label: 'policy 1 (its own signers)', quorum: countQuorum(doc, signatures, next) }];
  }
  const current = loadTrustedPolicy(bytes, args.policy);
  checkRotationVersion(current, next);
  const q = countRotation(doc, signatures, current, next);
  return [
    { label: `policy ${current.policy.version} (current)`, quorum: q.current },
    { label: `policy ${next.policy.version} (new)`, quorum: q.next },
  ];
}

/**
 * Problems worth reporting: each side's own, except that a signature counted by one side is not
 * "unknown" because the other side lacks its key, and a problem both sides saw is listed once.
 */
function uncounted(sides: Side[]): Reason[] {
  const counted = new Set(sides.flatMap((x) => x.quorum.signatures.map((s) => s.keyid)));
  const listed = new Set<string>();
  const out: Reason[] = [];
  for (const side of sides) {
    const fromThisSide = new Set<string>();
    for (const p of side.quorum.problems) {
      const keyid = String(p.details?.keyid ?? '');
      const key = `${p.code}:${keyid}`;
      if ((p.code === 'UNKNOWN_KEY' && counted.has(keyid)) || listed.has(key)) continue;
      fromThisSide.add(key);
      out.push(p);
    }
    fromThisSide.forEach((k) => listed.add(k));
  }
  return out;
}

/** Every signature that counts for some side, each key once. */
function keptSignatures(sides: Side[]): EnvelopeSignature[] {
  const kept = new Map<string, EnvelopeSignature>();
  for (const x of sides) for (const s of x.quorum.signatures) kept.set(s.keyid, s);
  return [...kept.values()];
}

function sideLines(side: Side): string[] {
  const q = side.quorum;
  return [
    q.met
      ? `  ${side.label}: ${q.signedBy.length} signed, ${q.threshold} required`
      : `  ${side.label}: ${q.signedBy.length} of ${q.threshold} required signatures, short by ${q.threshold - q.signedBy.length}`,
    `    signed:           ${q.signedBy.map((s) => s.name).join(', ') || 'nobody'}`,
    `    could still sign: ${q.couldSign.map((s) => s.name).join(', ') || 'nobody'}`,
  ];
}
