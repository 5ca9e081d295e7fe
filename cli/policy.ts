import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { signerAsNew, signerKind, signerLabel } from '../lib/core/signer-kinds.js';
import { createPolicy, policyEnvelope, policyWarnings, type Policy } from '../lib/core/policy.js';
import { keyId } from '../lib/core/ed25519.js';
import { policyChanges, rotationLines } from '../lib/core/summary.js';
import { serializeEnvelope } from '../lib/core/envelope.js';
import { writeFilesAtomically } from '../lib/node/durable.js';
import { addDays } from '../lib/core/time.js';
import { FORCE_OPTION, timeFlag } from './flags.js';
import type { Context } from './context.js';
import { readSigner } from './signer-file.js';
import { findSigner, ROLE_OPTIONS, roleMembers, type RoleArgs } from './role-flags.js';
import { readPolicyInForce } from './documents.js';
import { examples, fromCallersInput, SUBCOMMAND_NEEDED, succeed } from './output.js';

interface PolicyInitArgs extends RoleArgs {
  provider?: string;
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
            'countersign policy init --provider wordpress.org/plugins/wordfence --threshold 2 --signer ana.pub --signer ben.pub --signer ci.pub --admin ana.pub --admin ben.pub --admin-threshold 2 --release ci.pub --release-threshold 1 --out wordfence-policy.json',
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
        .option('provider', {
          type: 'string',
          describe: "Write a provider's policy (format 3) for this name, e.g. wordpress.org/plugins/wordfence; enrol it with countersign provider enroll",
        })
        .options(ROLE_OPTIONS)
        .option('expires', { type: 'string', describe: 'ISO-8601 expiry (default: one year from now)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write the policy envelope' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Then: countersign sign policy.json --key K.key (by at least m signers) and countersign assemble policy.json --policy policy.json --out policy.signed.json SIG... ' +
            'A provider policy is enrolled instead: countersign provider enroll --provider NAME --policy policy.json --out enrolment.json, signed by the root quorum (or its registry role).',
        )
        .epilogue(
          examples(
            'countersign policy init --threshold 3 --signer a.pub --signer b.pub --signer c.pub --signer d.pub --signer e.pub --out policy.json  # 3-of-5',
            'countersign policy init --provider wordpress.org/plugins/wordfence --threshold 2 --signer ana.pub --signer ben.pub --signer ci.pub --admin ana.pub --admin ben.pub --admin-threshold 2 --release ci.pub --release-threshold 1 --out wordfence-policy.json',
            'countersign policy init --threshold 3 --signer a.pub --signer b.pub --signer c.pub --signer d.pub --activation-delay 24h --registry d.pub --registry-threshold 1 --out root-policy.json  # a root for providers',
          ),
        ),
    handler: (args) => {
      if (!Number.isInteger(args.threshold)) throw new UsageError('USAGE', '--threshold must be a whole number');
      const signers = args.signer.map(readSigner);
      const named = signers.map((s, i) => ({ id: keyId(s.publicKey), name: s.name, file: args.signer[i] }));
      const policy = fromCallersInput(() =>
        createPolicy({
          threshold: args.threshold,
          signers,
          expires: expiryFlag(ctx, args.expires),
          userVerification: args.userVerification,
          ...roleMembers(args, named, args.provider),
        }),
      );
      writePolicy(
        ctx,
        args,
        policy,
        policy.provider === undefined
          ? `Next: at least ${policy.threshold} signers run "countersign sign ${args.out} --key THEIR.key".`
          : `Next: countersign provider enroll --provider ${policy.provider} --policy ${args.out} --out ENROLMENT.json; the root quorum (or its registry role) signs the enrolment.`,
      );
    },
  };
}

interface PolicyRotateArgs extends RoleArgs {
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
        .option('from', {
          type: 'string',
          demandOption: true,
          describe: "The current signed policy (version N); a provider's: its policy file or the enrolment that carries it",
        })
        .option('threshold', { type: 'number', describe: 'The new m (default: unchanged)' })
        .option('add-signer', { type: 'string', array: true, describe: 'A public key file to add, in any --signer format of policy init (repeat)' })
        .option('user-verification', USER_VERIFICATION_OPTION)
        .option('remove-signer', {
          type: 'string',
          array: true,
          describe: 'A signer to remove: key id, a unique prefix of it (8+ hex digits), or exact name (repeat)',
        })
        .options(ROLE_OPTIONS)
        .option('expires', { type: 'string', describe: 'ISO-8601 expiry (default: one year from now)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write policy N+1' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Version N+1 takes effect only when a quorum of N AND a quorum of N+1 sign it: countersign assemble policy-2.json --policy policy.signed.json --out policy-2.signed.json SIG... ' +
            'Sites accept it with countersign trust update --store DIR policy-2.signed.json; from then on a removed key counts for nothing. ' +
            "A provider policy keeps its provider and roles (less removed keys) unless a role flag replaces one; its rotation counts each version's admin role and takes effect through the log (log add).",
        )
        .epilogue(
          examples('countersign policy rotate --from policy.signed.json --remove-signer 43e2adfe --add-signer frank.pub --out policy-2.json  # a lost laptop'),
        ),
    handler: (args) => {
      const current = readPolicyInForce(args.from);
      const removed = new Set((args.removeSigner ?? []).map((r) => findSigner(current.signers, r, '--remove-signer').id));
      const kept = current.signers.filter((s) => !removed.has(s.id));
      const added = (args.addSigner ?? []).map(readSigner);
      const named = [...kept, ...added.map((s, i) => ({ id: keyId(s.publicKey), name: s.name, file: args.addSigner![i] }))];
      const threshold = args.threshold ?? current.threshold;
      if (!Number.isInteger(threshold)) throw new UsageError('USAGE', '--threshold must be a whole number');
      const next = fromCallersInput(() =>
        createPolicy({
          threshold,
          signers: [...kept.map(signerAsNew), ...added],
          expires: expiryFlag(ctx, args.expires),
          version: current.version + 1,
          userVerification: args.userVerification,
          ...roleMembers(args, named, current.provider, current),
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
      ...(policy.provider !== undefined && { provider: policy.provider }),
      threshold: policy.threshold,
      signers: policy.signers.map((s) => ({ id: s.id, name: s.name, kind: signerKind(s), key: signerLabel(s) })),
      ...(policy.roles !== undefined && { roles: policy.roles }),
      ...(policy.providers !== undefined && { providers: policy.providers }),
      ...(current && { changes: policyChanges(current, policy) }),
      warnings,
    },
    [
      `Wrote ${args.out}: ${policy.provider === undefined ? '' : `provider ${policy.provider}, `}policy version ${policy.version}, ${policy.threshold} of ${policy.signers.length} signers, expires ${policy.expires}`,
      ...policy.signers.map((s) => `  ${s.name}  ${s.id}${signerKind(s) === 'countersign' ? '' : `  ${signerLabel(s)}`}`),
      ...roleSummary(policy),
      ...(current ? rotationLines(current, policy) : []),
      next,
    ],
  );
}

/** Each role (or the registry) and the activation delay, as one line each. */
function roleSummary(p: Policy): string[] {
  const names = (ids: string[]) => ids.map((id) => p.signers.find((s) => s.id === id)?.name ?? id).join(', ');
  const rules: Array<[string, { threshold: number; signers: string[] } | undefined]> = [
    ['admin role', p.roles?.admin],
    ['release role', p.roles?.release],
    ['registry role', p.providers?.registry],
  ];
  return [
    ...rules.flatMap(([label, r]) => (r === undefined ? [] : [`  ${label}: ${r.threshold} of ${r.signers.length} (${names(r.signers)})`])),
    ...(p.providers === undefined ? [] : [`  activation delay for keys added to providers: ${p.providers.activationDelay} s`]),
  ];
}
