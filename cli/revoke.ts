import type { CommandModule } from 'yargs';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import { serializeEnvelope } from '../lib/core/envelope.js';
import { readPolicyDocument } from '../lib/core/policy.js';
import { createRevocation } from '../lib/core/revocation.js';
import { parseVersion } from '../lib/core/version.js';
import type { Context } from './context.js';
import { readDocument } from './documents.js';
import { checkFlag, FORCE_OPTION } from './flags.js';
import { examples, succeed } from './output.js';

interface RevokeArgs {
  product: string;
  component: string;
  version: string;
  reason: string;
  policy?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

export function revokeCommand(ctx: Context): CommandModule<object, RevokeArgs> {
  return {
    command: 'revoke',
    describe: 'Write an unsigned revocation of a release; once a quorum signs it, sites refuse that release (REVOKED)',
    builder: (y) =>
      y
        .option('product', { type: 'string', demandOption: true, describe: 'Product machine name, e.g. drupal' })
        .option('component', { type: 'string', default: 'core', describe: 'core, or a module/plugin/theme machine name' })
        .option('version', { type: 'string', demandOption: true, describe: 'The release to revoke' })
        .option('reason', { type: 'string', default: 'revoked by the security team', describe: 'Why: shown to signers and to sites' })
        .option('policy', { type: 'string', describe: 'The signed policy whose quorum will sign (its version is recorded; default 1)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write the revocation envelope' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Then: countersign sign revoke-10.2.4.json --key K.key (a quorum), countersign assemble revoke-10.2.4.json --policy policy.signed.json --out revoke-10.2.4.signed.json SIG..., and sites run countersign trust update --store DIR revoke-10.2.4.signed.json.',
        )
        .epilogue(
          examples(
            'countersign revoke --product drupal --version 10.2.4 --reason "breaks multilingual sites" --policy policy.signed.json --out revoke-10.2.4.json',
          ),
        ),
    handler: (args) => {
      refuseExisting([args.out], args.force);
      checkFlag('--version', () => parseVersion(args.version));
      const policyVersion = args.policy ? readPolicyDocument(readDocument(args.policy, 'policy'), args.policy).policy.version : 1;
      const envelope = checkFlag('--product/--component/--reason', () =>
        createRevocation({ product: args.product, component: args.component, version: args.version, reason: args.reason, created: ctx.now, policyVersion }),
      );
      writeFilesAtomically([{ path: args.out, data: serializeEnvelope(envelope) }], { force: args.force });
      succeed(ctx, args, { revocation: args.out, product: args.product, component: args.component, version: args.version }, [
        `Wrote ${args.out}: revocation of ${args.product} ${args.component} ${args.version} (unsigned)`,
        `Next: a quorum signs it (countersign sign ${args.out} --key THEIR.key), then assemble it against the signed policy.`,
      ]);
    },
  };
}
