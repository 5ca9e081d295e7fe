import type { CommandModule } from 'yargs';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import { keyId } from '../lib/core/ed25519.js';
import { serializeEnvelope, type Envelope } from '../lib/core/envelope.js';
import { UsageError } from '../lib/core/errors.js';
import { createKeyRevocation, type RevokedFrom } from '../lib/core/key-revocation.js';
import { readPolicyDocument, type Policy } from '../lib/core/policy.js';
import { providerName } from '../lib/core/provider-policy.js';
import { createRevocation } from '../lib/core/revocation.js';
import { parseVersion } from '../lib/core/version.js';
import type { Context } from './context.js';
import { readDocument } from './documents.js';
import { checkFlag, FORCE_OPTION } from './flags.js';
import { examples, succeed } from './output.js';
import { readSigner } from './signer-file.js';

interface RevokeArgs {
  provider?: string;
  key?: string;
  from?: string;
  product?: string;
  component: string;
  version?: string;
  reason?: string;
  policy?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

export function revokeCommand(ctx: Context): CommandModule<object, RevokeArgs> {
  return {
    command: 'revoke',
    describe: "Write an unsigned revocation of a release, or of a provider's key; once a quorum signs it, sites refuse what it names",
    builder: (y) =>
      y
        .option('provider', { type: 'string', describe: "A provider's release (revocation format 2) or, with --key, one of its keys" })
        .option('key', { type: 'string', describe: 'With --provider: the key to revoke, as its key id (64 hex digits) or its public key file' })
        .option('from', {
          type: 'string',
          describe:
            'With --key: all (every release it signed), now (releases from this log entry on), or a log index: the first entry whose signatures by it stop counting',
        })
        .option('product', { type: 'string', describe: 'Product machine name, e.g. drupal' })
        .option('component', { type: 'string', default: 'core', describe: 'core, or a module/plugin/theme machine name' })
        .option('version', { type: 'string', describe: 'The release to revoke' })
        .option('reason', { type: 'string', describe: 'Why: shown to signers and to sites (default: revoked by the security team, or key revoked)' })
        .option('policy', {
          type: 'string',
          describe:
            "The signed policy whose quorum will sign (a provider's, with --provider): its version is recorded (default 1), and a revoked key's holder named",
        })
        .option('out', { type: 'string', demandOption: true, describe: 'Where to write the revocation envelope' })
        .option('force', FORCE_OPTION)
        .epilogue(
          'Then: countersign sign revoke-10.2.4.json --key K.key (a quorum), countersign assemble revoke-10.2.4.json --policy policy.signed.json --out revoke-10.2.4.signed.json SIG..., and sites run countersign trust update --store DIR revoke-10.2.4.signed.json. ' +
            "A provider's revocation is assembled against its policy (admin role for a key, release or admin role for a release; or the root policy: the super provider) and logged with countersign log add.",
        )
        .epilogue(
          examples(
            'countersign revoke --product drupal --version 10.2.4 --reason "breaks multilingual sites" --policy policy.signed.json --out revoke-10.2.4.json',
            'countersign revoke --provider wordpress.org/plugins/wordfence --key ci.pub --from all --reason "laptop stolen" --policy wordfence-policy.signed.json --out revoke-ci.json',
            'countersign revoke --provider wordpress.org/plugins/wordfence --product wordpress --component wordfence --version 7.11.0 --out revoke-7.11.0.json',
          ),
        ),
    handler: (args) => {
      refuseExisting([args.out], args.force);
      if (args.provider !== undefined) checkFlag('--provider', () => providerName(args.provider!, '--provider'));
      const policy = args.policy ? readPolicyDocument(readDocument(args.policy, 'policy'), args.policy).policy : undefined;
      if (policy && args.provider !== undefined && policy.provider !== undefined && policy.provider !== args.provider) {
        throw new UsageError('USAGE', `--policy ${args.policy} is the policy of ${policy.provider}, not of ${args.provider}`);
      }
      if (args.key !== undefined) return keyRevocation(ctx, args, policy);
      for (const flag of ['from'] as const) if (args[flag] !== undefined) throw new UsageError('USAGE', `--${flag} is for a key revocation: give --key too`);
      if (args.product === undefined || args.version === undefined) {
        throw new UsageError('USAGE', 'name the release to revoke (--product and --version), or a key (--provider, --key and --from)');
      }
      const { product, version } = args;
      checkFlag('--version', () => parseVersion(version));
      const envelope = checkFlag('--product/--component/--reason', () =>
        createRevocation({
          ...(args.provider !== undefined && { provider: args.provider }),
          product,
          component: args.component,
          version,
          reason: args.reason ?? 'revoked by the security team',
          created: ctx.now,
          policyVersion: policy?.version ?? 1,
        }),
      );
      write(args, envelope);
      const of = args.provider === undefined ? '' : ` of provider ${args.provider}`;
      succeed(
        ctx,
        args,
        { revocation: args.out, ...(args.provider !== undefined && { provider: args.provider }), product, component: args.component, version },
        [
          `Wrote ${args.out}: revocation of ${product} ${args.component} ${version}${of} (unsigned)`,
          `Next: a quorum signs it (countersign sign ${args.out} --key THEIR.key), then assemble it against the signed policy${args.provider === undefined ? '' : " (the provider's release or admin role, or the root)"}.`,
        ],
      );
    },
  };
}

function write(args: RevokeArgs, envelope: Envelope): void {
  writeFilesAtomically([{ path: args.out, data: serializeEnvelope(envelope) }], { force: args.force });
}

function keyRevocation(ctx: Context, args: RevokeArgs, policy: Policy | undefined): void {
  if (args.provider === undefined) throw new UsageError('USAGE', '--key names a provider key: give --provider too');
  if (args.from === undefined) throw new UsageError('USAGE', '--key needs --from: all, now, or a log index');
  for (const flag of ['product', 'version'] as const)
    if (args[flag] !== undefined) throw new UsageError('USAGE', `--${flag} is for a release revocation, not with --key`);
  const keyid = /^[0-9a-f]{64}$/.test(args.key!) ? args.key! : keyId(readSigner(args.key!).publicKey);
  const from = fromFlag(args.from);
  const provider = args.provider;
  const envelope = checkFlag('--reason', () => createKeyRevocation({ provider, keyid, from, reason: args.reason ?? 'key revoked', created: ctx.now }));
  const holder = policy?.signers.find((s) => s.id === keyid);
  if (policy?.provider === provider && holder === undefined) ctx.err(`warning: key ${keyid} is not a signer of ${args.policy}`);
  write(args, envelope);
  succeed(ctx, args, { revocation: args.out, provider, keyid, from, ...(holder && { holder: holder.name }) }, [
    `Wrote ${args.out}: revocation of ${holder ? `${holder.name}'s key` : 'key'} ${keyid} of ${provider}, from ${from} (unsigned)`,
    `Next: the provider's admin quorum (or the root quorum) signs it (countersign sign ${args.out} --key THEIR.key --policy PROVIDER.signed.json), then assemble it against that policy and log add it.`,
  ]);
}

function fromFlag(text: string): RevokedFrom {
  if (text === 'all' || text === 'now') return text;
  if (/^(0|[1-9][0-9]{0,15})$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  throw new UsageError('USAGE', `--from ${JSON.stringify(text)} is not all, now or a log index`);
}
