// `verify BUNDLE --root ROOT --log-policy FILE --provider NAME`: a provider's release checked offline from the
// bundle's own proofs (lib/log/verify-provider.ts). Loaded by cli/verify.ts only when --root is given.
import { UsageError } from '../lib/core/errors.js';
import { loadTrustedPolicy } from '../lib/core/policy.js';
import { providerName } from '../lib/core/provider-policy.js';
import { describeSigners, publicSigner } from '../lib/core/quorum.js';
import { describeLogged, parseDuration } from '../lib/log/check-logged.js';
import { parseTlogPolicy } from '../lib/log/tlog-policy.js';
import { verifyProviderBundle } from '../lib/log/verify-provider.js';
import type { Context } from './context.js';
import { readDocument, withDocument } from './documents.js';
import { readInput } from './files.js';
import { fromCallersInput, succeed } from './output.js';
import { describeLog, describeVerified, rejectBundle, toolLines } from './verify-output.js';

/** The verify flags this form reads (cli/verify.ts VerifyArgs). */
interface RootArgs {
  bundle: string;
  root?: string;
  provider?: string;
  product?: string;
  component?: string;
  installed?: string;
  json?: boolean;
  'log-policy'?: string;
  'max-age'?: string;
  policy?: string;
  store?: string;
  chain?: string[];
  revocation?: string[];
  archive?: string;
  'log-proof'?: string;
  log?: string;
}

/** Flags that mean another kind of verification: each is a usage error beside --root. */
const OTHER_TRUST = ['policy', 'store', 'chain', 'revocation', 'archive', 'log-proof', 'log'] as const;

export async function verifyWithRoot(ctx: Context, args: RootArgs): Promise<void> {
  const other = OTHER_TRUST.filter((f) => args[f] !== undefined);
  if (other.length > 0)
    throw new UsageError('USAGE', `--${other.join(', --')}: with --root the bundle is checked offline from its own proof and state sections`);
  if (args.provider === undefined || args['log-policy'] === undefined) throw new UsageError('USAGE', '--root needs --provider NAME and --log-policy FILE');
  const provider = fromCallersInput(() => providerName(args.provider!, '--provider'));
  const maxAgeSeconds = args['max-age'] === undefined ? undefined : parseDuration(args['max-age']);
  if (args['max-age'] !== undefined && maxAgeSeconds === undefined)
    throw new UsageError('USAGE', `--max-age ${args['max-age']} is not a duration such as 3600, 90m, 36h or 7d`);
  const logPolicy = parseTlogPolicy(readInput(args['log-policy'], 'log policy', 256 * 1024));
  const now = ctx.now;
  try {
    const root = loadTrustedPolicy(readDocument(args.root!, 'policy'), args.root!);
    const site = { product: args.product, component: args.component, installed: args.installed };
    const v = await withDocument(args.bundle, undefined, async ({ envelopeBytes, archive, proof, state }) =>
      verifyProviderBundle(
        { envelopeBytes, ...(archive ? { archive } : {}), ...(proof ? { proof } : {}), ...(state ? { state } : {}) },
        { root, logPolicy, provider, now, site, ...(maxAgeSeconds ? { maxAgeSeconds } : {}) },
      ),
    );
    const q = v.quorum;
    const doc = v.document;
    const log = describeLogged(v.log);
    const s = v.state;
    const revoked = [...s.revokedKeys].map(([keyid, from]) => ({ keyid, from }));
    const stateSummary = {
      index: s.state.size,
      time: s.state.time,
      map: s.state.map,
      root: s.rootRecord,
      provider: { name: provider, version: s.providerRecord.version, policy: s.providerRecord.policy, index: s.providerRecord.index, revokedKeys: revoked },
      release: s.releaseRecord,
    };
    succeed(
      ctx,
      args,
      {
        kind: doc.kind,
        document: doc.kind === 'manifest' ? doc.manifest : undefined,
        payloadSha256: v.payloadSha256,
        provider,
        quorum: v.quorumName,
        superProvider: v.superProvider,
        signedBy: q.signedBy.map(publicSigner),
        signedWith: q.signedWith,
        threshold: q.threshold,
        warnings: v.warnings,
        notChecked: v.notChecked,
        log,
        state: stateSummary,
      },
      [
        `OK: ${describeVerified(doc)}`,
        `Signed by ${describeSigners(q)} of ${v.superProvider ? '' : 'the '}${v.quorumName}: ${q.signedBy.map((x) => x.name).join(', ')}`,
        ...(v.superProvider ? [`  note: signed by the super provider, not by ${provider}'s release keys (an emergency action; monitors flag it)`] : []),
        ...toolLines(q),
        describeLog(log),
        `State: entry ${s.state.size} (log time ${new Date(s.state.time * 1000).toISOString()}): root policy ${s.rootRecord.version} is the pinned one; ${provider} policy ${s.providerRecord.version} (entry ${s.providerRecord.index}), ${revoked.length} key(s) revoked; the release is entry ${s.releaseRecord.index}, not revoked`,
        ...v.warnings.map((w) => `  note ${w.code}: ${w.message}`),
        ...(v.notChecked.length > 0 ? [`  not checked against a site: ${v.notChecked.join(', ')} (pass --${v.notChecked.join(', --')})`] : []),
      ],
    );
  } catch (err) {
    rejectBundle(ctx, args, args.bundle, err);
  }
}
