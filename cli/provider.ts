import type { CommandModule } from 'yargs';
import { createEnrolment } from '../lib/core/enrolment.js';
import { openEnvelope, serializeEnvelope, sha256Hex } from '../lib/core/envelope.js';
import { UsageError } from '../lib/core/errors.js';
import { loadTrustedPolicy, policyFromPayload, policyWarnings } from '../lib/core/policy.js';
import { providerName, registryRing } from '../lib/core/provider-policy.js';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import type { Context } from './context.js';
import { readDocument } from './documents.js';
import { checkFlag, FORCE_OPTION } from './flags.js';
import { examples, SUBCOMMAND_NEEDED, succeed } from './output.js';

interface EnrollArgs {
  provider: string;
  policy: string;
  previous?: number;
  root?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

const ENROLL_EXAMPLE = 'countersign provider enroll --provider wordpress.org/plugins/wordfence --policy wordfence-policy.json --out wordfence-enrolment.json';

export function providerCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'provider',
    describe: "Providers on the log: enrol a provider's policy (signed by the root quorum or its registry role)",
    builder: (y) => y.command(enrollCommand(ctx)).demandCommand(1, SUBCOMMAND_NEEDED).epilogue(examples(ENROLL_EXAMPLE)),
    handler: () => undefined,
  };
}

function enrollCommand(ctx: Context): CommandModule<object, EnrollArgs> {
  return {
    command: 'enroll',
    describe: "Write an unsigned enrolment binding a provider name to its policy (policy init --provider); the root's signers then sign it",
    builder: (y) =>
      y
        .option('provider', {
          type: 'string',
          demandOption: true,
          describe: 'The provider name, e.g. wordpress.org/plugins/wordfence (the policy names it too)',
        })
        .option('policy', {
          type: 'string',
          demandOption: true,
          describe: "The provider's policy from policy init --provider (unsigned; its exact payload bytes are enrolled)",
        })
        .option('previous', {
          type: 'number',
          describe: "Re-enrolment (the super provider, e.g. after lost keys): the version of the provider's policy it replaces; the new policy is version N+1",
        })
        .option('root', { type: 'string', describe: 'The signed root policy: checked to be a root, and named in the next step' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write the enrolment envelope' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Then: the root policy signers sign it (countersign sign ENROLMENT.json --key K.key; or, for a first enrolment, the registry role), ' +
            'countersign assemble ENROLMENT.json --policy root-policy.signed.json --out ENROLMENT.signed.json SIG..., and countersign log add --log DIR ENROLMENT.signed.json. ' +
            'A name already enrolled is refused by the log unless --previous names its current version and the root quorum signed.',
        )
        .epilogue(
          examples(
            ENROLL_EXAMPLE,
            'countersign provider enroll --provider drupal/core --policy core-policy-2.json --previous 1 --root root-policy.signed.json --out core-reenrolment.json  # after lost keys',
          ),
        ),
    handler: (args) => {
      refuseExisting([args.out], args.force);
      checkFlag('--provider', () => providerName(args.provider, '--provider'));
      if (args.previous !== undefined && (!Number.isInteger(args.previous) || args.previous < 1))
        throw new UsageError('USAGE', '--previous must be a policy version (a whole number >= 1)');
      const policyBytes = openEnvelope(readDocument(args.policy, 'policy'), args.policy).payloadBytes;
      const policy = checkFlag('--policy', () => policyFromPayload(policyBytes, args.policy)).policy;
      if (policy.provider !== args.provider) {
        throw new UsageError(
          'USAGE',
          `--policy ${args.policy} is ${policy.provider === undefined ? 'a root policy (write it with policy init --provider)' : `for ${policy.provider}`}, not ${args.provider}`,
        );
      }
      const root = args.root === undefined ? undefined : loadTrustedPolicy(readDocument(args.root, 'policy'), args.root);
      if (root?.policy.provider !== undefined)
        throw new UsageError('USAGE', `--root ${args.root} is the policy of provider ${root.policy.provider}, not a root policy`);
      const envelope = checkFlag('--policy/--previous', () => createEnrolment({ policyBytes, created: ctx.now, previous: args.previous }));
      const warnings = policyWarnings(policy, ctx.now);
      writeFilesAtomically([{ path: args.out, data: serializeEnvelope(envelope) }], { force: args.force });
      for (const w of warnings) ctx.err(`warning: ${w}`);
      const registry = root && args.previous === undefined ? registryRing(root) : undefined;
      const who = root
        ? `${root.threshold} of the ${root.keys.length} root signers${registry ? `, or ${registry.threshold} of the ${registry.keys.length} registry keys` : ''}`
        : 'a quorum of the root policy (or, for a first enrolment, its registry role)';
      succeed(
        ctx,
        args,
        {
          enrolment: args.out,
          provider: args.provider,
          version: policy.version,
          ...(args.previous !== undefined && { previous: args.previous }),
          policySha256: sha256Hex(policyBytes),
          warnings,
        },
        [
          `Wrote ${args.out}: ${args.previous === undefined ? 'enrolment' : `RE-ENROLMENT (replacing version ${args.previous})`} of ${args.provider}, policy version ${policy.version} (unsigned)`,
          `Next: ${who} sign it (countersign sign ${args.out} --key THEIR.key), then countersign assemble ${args.out} --policy ${args.root ?? 'ROOT.signed.json'} --out ENROLMENT.signed.json SIG..., then countersign log add.`,
        ],
      );
    },
  };
}
