import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { signerAsNew, signerKind, signerLabel } from '../lib/core/signer-kinds.js';
import { createPolicy, loadTrustedPolicy, policyEnvelope, policyWarnings, type Policy } from '../lib/core/policy.js';
import type { Signer } from '../lib/core/quorum.js';
import { policyChanges, rotationLines } from '../lib/core/summary.js';
import { serializeEnvelope } from '../lib/core/envelope.js';
import { writeFilesAtomically } from '../lib/node/durable.js';
import { addDays } from '../lib/core/time.js';
import { FORCE_OPTION, timeFlag } from './flags.js';
import type { Context } from './context.js';
import { readSigner } from './signer-file.js';
import { readDocument } from './documents.js';
import { examples, fromCallersInput, SUBCOMMAND_NEEDED, succeed } from './output.js';

interface PolicyInitArgs {
  threshold: number;
  signer: string[];
  userVerification?: boolean;
  expires?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

export function policyCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'policy',
    describe: 'Create and rotate trust policies (who may sign, and how many must)',
    builder: (y) =>
      y
        .command(policyInitCommand(ctx))
        .command(policyRotateCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(
          examples(
            'countersign policy init --threshold 3 --signer a.pub --signer b.pub --signer c.pub --signer d.pub --signer e.pub --out policy.json  # 3-of-5',
            'countersign policy rotate --from policy.signed.json --remove-signer 43e2adfe --add-signer frank.pub --out policy-2.json  # replace a lost key',
          ),
        ),
    handler: () => undefined,
  };
}

function policyInitCommand(ctx: Context): CommandModule<object, PolicyInitArgs> {
  return {
    command: 'init',
    describe: 'Write an unsigned policy (version 1); a quorum of its own signers then signs it',
    builder: (y) =>
      y
        .option('threshold', { type: 'number', demandOption: true, describe: 'm: how many distinct signers must sign' })
        .option('signer', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'A public key file (repeat for each signer): countersign .pub, OpenSSH ssh-ed25519 or sk-ssh-ed25519 .pub, minisign or signify .pub',
        })
        .option('user-verification', USER_VERIFICATION_OPTION)
        .option('expires', { type: 'string', describe: 'ISO-8601 expiry (default: one year from now)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write the policy envelope' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Then: countersign sign policy.json --key K.key (by at least m signers) and countersign assemble policy.json --policy policy.json --out policy.signed.json SIG...',
        )
        .epilogue(
          examples(
            'countersign policy init --threshold 3 --signer a.pub --signer b.pub --signer c.pub --signer d.pub --signer e.pub --out policy.json  # 3-of-5',
          ),
        ),
    handler: (args) => {
      if (!Number.isInteger(args.threshold)) throw new UsageError('USAGE', '--threshold must be a whole number');
      const policy = fromCallersInput(() =>
        createPolicy({
          threshold: args.threshold,
          signers: args.signer.map(readSigner),
          expires: expiryFlag(ctx, args.expires),
          userVerification: args.userVerification,
        }),
      );
      writePolicy(ctx, args, policy, `Next: at least ${policy.threshold} signers run "countersign sign ${args.out} --key THEIR.key".`);
    },
  };
}

interface PolicyRotateArgs {
  from: string;
  threshold?: number;
  addSigner?: string[];
  removeSigner?: string[];
  userVerification?: boolean;
  expires?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

function policyRotateCommand(ctx: Context): CommandModule<object, PolicyRotateArgs> {
  return {
    command: 'rotate',
    describe: 'Write policy version N+1 (unsigned): add or remove signers, change the threshold or the expiry',
    builder: (y) =>
      y
        .option('from', { type: 'string', demandOption: true, describe: 'The current signed policy (version N)' })
        .option('threshold', { type: 'number', describe: 'The new m (default: unchanged)' })
        .option('add-signer', { type: 'string', array: true, describe: 'A public key file to add, in any --signer format of policy init (repeat)' })
        .option('user-verification', USER_VERIFICATION_OPTION)
        .option('remove-signer', {
          type: 'string',
          array: true,
          describe: 'A signer to remove: key id, a unique prefix of it (8+ hex digits), or exact name (repeat)',
        })
        .option('expires', { type: 'string', describe: 'ISO-8601 expiry (default: one year from now)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write policy N+1' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Version N+1 takes effect only when a quorum of N AND a quorum of N+1 sign it: countersign assemble policy-2.json --policy policy.signed.json --out policy-2.signed.json SIG... ' +
            'Sites accept it with countersign trust update --store DIR policy-2.signed.json; from then on a removed key counts for nothing.',
        )
        .epilogue(
          examples('countersign policy rotate --from policy.signed.json --remove-signer 43e2adfe --add-signer frank.pub --out policy-2.json  # a lost laptop'),
        ),
    handler: (args) => {
      const current = loadTrustedPolicy(readDocument(args.from, 'policy'), args.from).policy;
      const removed = new Set((args.removeSigner ?? []).map((r) => findSigner(current.signers, r).id));
      const kept = current.signers.filter((s) => !removed.has(s.id)).map(signerAsNew);
      const threshold = args.threshold ?? current.threshold;
      if (!Number.isInteger(threshold)) throw new UsageError('USAGE', '--threshold must be a whole number');
      const next = fromCallersInput(() =>
        createPolicy({
          threshold,
          signers: [...kept, ...(args.addSigner ?? []).map(readSigner)],
          expires: expiryFlag(ctx, args.expires),
          version: current.version + 1,
          userVerification: args.userVerification,
        }),
      );
      writePolicy(
        ctx,
        args,
        next,
        `Next: signers of BOTH policies sign it (${current.threshold} of version ${current.version} and ${next.threshold} of version ${next.version}; sign --policy ${args.from} shows these changes), then assemble it with --policy ${args.from}.`,
        current,
      );
    },
  };
}

const USER_VERIFICATION_OPTION = {
  type: 'boolean',
  describe: 'Require user verification (security-key PIN or biometric) as well as a touch from every sk-ssh-ed25519 signer added',
} as const;

/** A signer named by full key id, a unique id prefix of 8+ hex digits, or exact display name. */
function findSigner(signers: Signer[], ref: string): Signer {
  const matches = signers.filter((s) => s.id === ref || s.name === ref || (/^[0-9a-f]{8,63}$/.test(ref) && s.id.startsWith(ref)));
  if (matches.length !== 1) {
    throw new UsageError('USAGE', `--remove-signer ${ref} matches ${matches.length === 0 ? 'no signer' : `${matches.length} signers`} of the current policy`);
  }
  return matches[0]!;
}

function expiryFlag(ctx: Context, text: string | undefined): Date {
  const expires = text ? timeFlag('--expires', text) : addDays(ctx.now, 365);
  if (expires.getTime() <= ctx.now.getTime()) throw new UsageError('USAGE', `--expires ${text} is in the past`);
  return expires;
}

/** Writes the policy; `current` (for a rotation) adds what changes, as the signers' review shows it. */
function writePolicy(ctx: Context, args: { out: string; force?: boolean; json?: boolean }, policy: Policy, next: string, current?: Policy): void {
  const warnings = policyWarnings(policy, ctx.now);
  writeFilesAtomically([{ path: args.out, data: serializeEnvelope(policyEnvelope(policy)) }], { force: args.force });
  for (const w of warnings) ctx.err(`warning: ${w}`);
  succeed(
    ctx,
    args,
    {
      policy: args.out,
      version: policy.version,
      threshold: policy.threshold,
      signers: policy.signers.map((s) => ({ id: s.id, name: s.name, kind: signerKind(s), key: signerLabel(s) })),
      ...(current && { changes: policyChanges(current, policy) }),
      warnings,
    },
    [
      `Wrote ${args.out}: policy version ${policy.version}, ${policy.threshold} of ${policy.signers.length} signers, expires ${policy.expires}`,
      ...policy.signers.map((s) => `  ${s.name}  ${s.id}${signerKind(s) === 'countersign' ? '' : `  ${signerLabel(s)}`}`),
      ...(current ? rotationLines(current, policy) : []),
      next,
    ],
  );
}
