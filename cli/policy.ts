import type { CommandModule } from 'yargs';
import { KeyError, UsageError } from '../lib/errors.js';
import { parsePublicKeyFile } from '../lib/keyfile.js';
import { createPolicy, policyEnvelope } from '../lib/policy.js';
import { serializeEnvelope } from '../lib/envelope.js';
import { writeFilesAtomically } from '../lib/durable.js';
import { fromUtf8 } from '../lib/bytes.js';
import { addDays } from '../lib/time.js';
import { timeFlag } from './flags.js';
import type { Context } from './context.js';
import { readInput } from './files.js';
import { succeed } from './output.js';

interface PolicyInitArgs {
  threshold: number;
  signer: string[];
  expires?: string;
  out: string;
  json?: boolean;
}

export function policyCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'policy <action>',
    describe: 'Create trust policies (who may sign, and how many must)',
    builder: (y) =>
      y
        .command(policyInitCommand(ctx))
        .demandCommand(1, 'Name a policy action; see --help.')
        .example('$0 policy init --threshold 3 --signer a.pub --signer b.pub --signer c.pub --signer d.pub --signer e.pub --out policy.json', '3-of-5'),
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
        .option('signer', { type: 'string', array: true, demandOption: true, describe: 'A public key file (repeat for each signer)' })
        .option('expires', { type: 'string', describe: 'ISO-8601 expiry (default: one year from now)' })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write the policy envelope' })
        .example('$0 policy init --threshold 3 --signer a.pub --signer b.pub --signer c.pub --signer d.pub --signer e.pub --out policy.json', '3-of-5')
        .epilogue('Then: countersign sign policy.json --key K.key (by at least m signers) and countersign assemble policy.json --policy policy.json --out policy.signed.json SIG...'),
    handler: (args) => {
      if (!Number.isInteger(args.threshold)) throw new UsageError('USAGE', '--threshold must be a whole number');
      const signers = args.signer.map((file) => {
        try {
          const pub = parsePublicKeyFile(fromUtf8(readInput(file, 'public key file', 64 * 1024)));
          return { publicKey: pub.publicKey, name: pub.name };
        } catch (err) {
          if (err instanceof KeyError) throw new KeyError(err.code, `${file}: ${err.message}`);
          throw err;
        }
      });
      const expires = args.expires ? timeFlag('--expires', args.expires) : addDays(ctx.now, 365);
      if (expires.getTime() <= ctx.now.getTime()) throw new UsageError('USAGE', `--expires ${args.expires} is in the past`);
      const policy = createPolicy({ threshold: args.threshold, signers, expires });
      writeFilesAtomically([{ path: args.out, data: serializeEnvelope(policyEnvelope(policy)) }]);
      succeed(ctx, args, { policy: args.out, version: policy.version, threshold: policy.threshold, signers: policy.signers.map(({ id, name }) => ({ id, name })) }, [
        `Wrote ${args.out}: policy version ${policy.version}, ${policy.threshold} of ${policy.signers.length} signers, expires ${policy.expires}`,
        ...policy.signers.map((s) => `  ${s.name}  ${s.id}`),
        `Next: at least ${policy.threshold} signers run "countersign sign ${args.out} --key THEIR.key".`,
      ]);
    },
  };
}
