import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { loadTrustedPolicy } from '../lib/core/policy.js';
import { describeSigners, publicSigner } from '../lib/core/quorum.js';
import { verifyBundle } from '../lib/core/verify.js';
import { walkPolicyChain } from '../lib/core/rotation.js';
import { verifyRevocation } from '../lib/core/revocation.js';
import type { Context } from './context.js';
import { checkFlag, checkTrustSource, timeFlag } from './flags.js';
import { readDocument, withDocument } from './documents.js';
import { parseVersion } from '../lib/core/version.js';
import { examples, succeed } from './output.js';
import type { StoreLogCheck, StoreLogVerdict, TrustStore } from '../lib/core/trust-state.js';
import { readInput } from './files.js';
import { describeLog, describeVerified, rejectBundle, toolLines } from './verify-output.js';
import { lazyImport } from './lazy-import.js';

// A plain --policy verify loads neither the store nor the transparency log's code: each is imported when asked for.
const storeCode = async () => ({
  ...(await lazyImport('../lib/node/trust-store.js', () => import('../lib/node/trust-store.js'))),
  ...(await lazyImport('../lib/core/trust-state.js', () => import('../lib/core/trust-state.js'))),
});
const logCode = async () => ({
  ...(await lazyImport('../lib/log/check-logged.js', () => import('../lib/log/check-logged.js'))),
  ...(await lazyImport('../lib/log/tlog-policy.js', () => import('../lib/log/tlog-policy.js'))),
  ...(await lazyImport('../lib/log/tile-reader.js', () => import('../lib/log/tile-reader.js'))),
});

interface VerifyArgs {
  bundle: string;
  policy?: string;
  root?: string;
  provider?: string;
  store?: string;
  archive?: string;
  product?: string;
  component?: string;
  installed?: string;
  chain?: string[];
  revocation?: string[];
  now?: string;
  json?: boolean;
  'log-policy'?: string;
  'log-proof'?: string;
  'max-age'?: string;
  log?: string;
}

export function verifyCommand(ctx: Context): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify <bundle>',
    describe: 'Check a bundle (or signed document) against the policy a site trusts; exit 0 only if every check passes',
    builder: (y) =>
      y
        .positional('bundle', { type: 'string', demandOption: true, describe: 'A bundle, or a signed envelope' })
        .option('policy', { type: 'string', describe: 'The signed policy this site pins (or --store)' })
        .option('store', {
          type: 'string',
          describe:
            "A site trust store (countersign trust init) instead of --policy: its policy and revocations, and the release's product/component as installed (rollback: below the highest ever installed); a store error (STORE_*) exits 2",
        })
        .option('root', {
          type: 'string',
          describe:
            "The signed root policy this site pins, for a provider's release checked offline from its bundle (with --provider and --log-policy): logged, its state section current (ROOT_NOT_CURRENT: update the pin), not revoked, signed by the provider's unrevoked release keys or the super provider",
        })
        .option('provider', {
          type: 'string',
          describe:
            "The provider the release must be from, e.g. wordpress.org/plugins/wordfence (PROVIDER_MISMATCH otherwise). With --root: checked offline from the bundle's state section. With --store: from the store's replayed log (log sync): in the log with this entry, never revoked, signed by the provider's current release keys (less any revoked at or before its index) or the root quorum",
        })
        .option('archive', { type: 'string', describe: 'The archive, when BUNDLE is a bare signed manifest' })
        .option('product', { type: 'string', describe: 'The product this site runs, e.g. drupal (a release for another is WRONG_TARGET)' })
        .option('component', { type: 'string', describe: 'The component being updated: core, or a module/plugin/theme name' })
        .option('installed', { type: 'string', describe: 'The version installed on the site (enables applicability and rollback checks)' })
        .option('chain', { type: 'string', array: true, describe: 'Signed policy rotations to walk from --policy (version N+1, N+2, ... in order)' })
        .option('revocation', { type: 'string', array: true, describe: 'A signed revocation to honour (repeat); it must verify against the policy' })
        .option('now', { type: 'string', describe: 'Reference time (ISO-8601) instead of the clock, for tests and audits' })
        .option('log-policy', {
          type: 'string',
          describe:
            'A C2SP tlog-policy file: the document must be in the transparency log, cosigned by the witness quorum (NOT_LOGGED, BAD_PROOF, WITNESS_QUORUM_NOT_MET, CHECKPOINT_STALE, LOG_INCONSISTENT); a --store made with trust init --log-policy requires it anyway',
        })
        .option('log-proof', {
          type: 'string',
          describe: 'A detached C2SP tlog-proof (log prove --out), for a bare signed document or a bundle without a proof section',
        })
        .option('max-age', { type: 'string', describe: 'The oldest witness cosignature counted, e.g. 36h or 7d (default 7d): older is CHECKPOINT_STALE' })
        .option('log', {
          type: 'string',
          describe: "The log (URL or DIR): fetch a missing proof, and the consistency proof from the store's largest checkpoint",
        })
        .epilogue(
          'Checks, in order: sizes, strict parsing and canonical bytes, the policy, every signature, the quorum, expiry/applicability/rollback, then the archive streamed against the signed digests. Every reason found is reported with its code.',
        )
        .epilogue(
          examples(
            'countersign verify drupal-10.2.4.bundle --policy policy.signed.json --product drupal --component core --installed 10.2.3',
            'countersign verify drupal-10.2.4.bundle --policy policy.signed.json --log-policy log.policy --max-age 36h',
            'countersign verify wordfence-8.1.0.bundle --root root.signed.json --log-policy log.policy --provider wordpress.org/plugins/wordfence --product wordpress --component wordfence --installed 8.0.4',
            'countersign verify wordfence-8.1.0.bundle --store /etc/countersign/site --provider wordpress.org/plugins/wordfence',
          ),
        ),
    handler: async (args) => {
      if (args.now) ctx.now = timeFlag('--now', args.now);
      if (args.installed !== undefined) checkFlag('--installed', () => parseVersion(args.installed!));
      if (args.root !== undefined) return (await lazyImport('./verify-provider.js', () => import('./verify-provider.js'))).verifyWithRoot(ctx, args);
      if (args.provider !== undefined && args.store === undefined)
        throw new UsageError('USAGE', '--provider needs --root ROOT_POLICY (offline, from the bundle) or --store DIR (after countersign log sync)');
      const now = ctx.now;
      const site = { product: args.product, component: args.component, installed: args.installed };
      const local = args.provider !== undefined && args.store !== undefined;
      // Local trust checks --product and --component against the release; the store still says what is installed.
      checkTrustSource(local ? { ...args, product: undefined, component: undefined } : args);
      if (local && (args['log-policy'] ?? args['log-proof'] ?? args['max-age'] ?? args.log) !== undefined)
        throw new UsageError('USAGE', '--provider with --store verifies from the replayed log (log sync): drop --log-policy, --log-proof, --max-age and --log');
      const stored = args.store === undefined ? undefined : await storeCode();
      const store = stored ? await stored.openStore(args.store!) : undefined; // a store error exits 2, never a rejection
      const replayed = local ? await replayedStateOf(store!) : undefined;
      const logged = local ? {} : await logOptions(args, store, now);
      try {
        const pinned = store ? store.trusted : loadTrustedPolicy(readDocument(args.policy!, 'policy'), args.policy!);
        const trusted = walkPolicyChain(
          pinned,
          (args.chain ?? []).map((f) => readDocument(f, 'policy rotation')),
        );
        const revocations = (args.revocation ?? []).map((f) => verifyRevocation(readDocument(f, 'revocation'), trusted, f));
        let carriesProof = false;
        const verified = await withDocument(args.bundle, args.archive, async ({ envelopeBytes, archive, proof: section }) => {
          const proof = logged.detached ?? section;
          carriesProof = proof !== undefined;
          // The log is checked first: it reads no archive, and an unlogged bundle is refused before one is streamed.
          // With a store of no log policy of its own, --log-policy is still required of this bundle (never ignored).
          const log = logged.check ? await logged.check(envelopeBytes, proof) : undefined;
          const fromReplay = replayed ? (await localTrustCode()).localTrust(replayed, envelopeBytes, args.provider!, site) : undefined;
          const result = store
            ? await stored!.verifyWithStore(
                store,
                { envelopeBytes, archive, proof },
                { now, revocations, ...(fromReplay ?? (logged.checkLog ? { checkLog: logged.checkLog } : {})) },
              )
            : await verifyBundle({ envelopeBytes, archive }, { trusted, now, site, revocations });
          const replayLog = 'log' in result ? (result.log as StoreLogVerdict | undefined) : undefined;
          if (fromReplay && replayLog && (await localTrustCode()).bySuperProvider(result)) replayLog.summary.superProvider = true;
          return { ...result, ...(log ? { log } : {}) };
        });
        const q = verified.quorum;
        const doc = verified.document;
        const what = describeVerified(doc);
        succeed(
          ctx,
          args,
          {
            kind: doc.kind,
            document: doc.kind === 'manifest' ? doc.manifest : doc.kind === 'policy' ? doc.policy : doc.revocation,
            payloadSha256: verified.payloadSha256,
            signedBy: q.signedBy.map(publicSigner),
            signedWith: q.signedWith,
            threshold: q.threshold,
            warnings: verified.warnings,
            notChecked: doc.kind === 'manifest' ? verified.notChecked : [],
            ...(verified.log ? { log: verified.log.summary } : carriesProof ? { log: 'carried, not checked (no log policy)' } : {}),
          },
          [
            `OK: ${what}`,
            `Signed by ${describeSigners(q)}: ${q.signedBy.map((s) => s.name).join(', ')}`,
            ...toolLines(q),
            ...(verified.log ? [describeLog(verified.log.summary)] : carriesProof ? ['  note: it carries a log proof, not checked (no --log-policy)'] : []),
            ...verified.warnings.map((w) => `  note ${w.code}: ${w.message}`),
            ...(doc.kind === 'manifest' && verified.notChecked.length > 0
              ? [`  not checked against a site: ${verified.notChecked.join(', ')} (pass --${verified.notChecked.join(', --')})`]
              : []),
          ],
        );
      } catch (err) {
        rejectBundle(ctx, args, args.bundle, err);
      }
    },
  };
}

const localTrustCode = () => lazyImport('../lib/log/local-trust.js', () => import('../lib/log/local-trust.js'));

/** The store's replayed log (log sync), re-checked; a store that has none is a usage error. */
async function replayedStateOf(store: TrustStore) {
  if (!store.state.log) throw new UsageError('USAGE', `--provider: the store ${store.dir} has no log policy (trust init --log-policy FILE, then log sync)`);
  const { loadReplayedState } = await lazyImport('../lib/node/replayed-state.js', () => import('../lib/node/replayed-state.js'));
  const replayed = await loadReplayedState(store);
  if (!replayed)
    throw new UsageError('USAGE', `--provider: the store ${store.dir} has replayed no log yet (countersign log sync --store ${store.dir} --log URL)`);
  return replayed;
}

interface LogOptions {
  /** A detached proof given with --log-proof. */
  detached?: Uint8Array;
  /** Without a store: the check --log-policy asks for. */
  check?: (envelopeBytes: Uint8Array, proof: Uint8Array | undefined) => Promise<StoreLogVerdict>;
  /** With a store that has a log policy: its check. */
  checkLog?: StoreLogCheck;
}

/** The log flags: a check when --log-policy is given or the store has a log policy, else none. */
async function logOptions(args: VerifyArgs, store: TrustStore | undefined, now: Date): Promise<LogOptions> {
  const wanted = args['log-policy'] ?? args['log-proof'] ?? args['max-age'] ?? args.log;
  if (wanted === undefined && !store?.state.log) return {};
  const { checkLogged, describeLogged, openLogSource, parseDuration, parseTlogPolicy, storeLogCheck } = await logCode();
  const maxAgeSeconds = args['max-age'] === undefined ? undefined : parseDuration(args['max-age']);
  if (args['max-age'] !== undefined && maxAgeSeconds === undefined)
    throw new UsageError('USAGE', `--max-age ${args['max-age']} is not a duration such as 3600, 90m, 36h or 7d`);
  if (!args['log-policy'] && !store?.state.log)
    throw new UsageError('USAGE', '--log-proof, --max-age and --log need --log-policy (or a --store made with trust init --log-policy)');
  if (args['log-policy'] && store?.state.log) throw new UsageError('USAGE', 'this store has its own log policy (trust init --log-policy); drop --log-policy');
  const source = args.log === undefined ? undefined : openLogSource(args.log);
  const detached = args['log-proof'] === undefined ? undefined : readInput(args['log-proof'], 'log proof', 256 * 1024);
  const opts = { now, ...(maxAgeSeconds ? { maxAgeSeconds } : {}), ...(source ? { source } : {}) };
  const base: LogOptions = detached ? { detached } : {};
  if (store?.state.log) return { ...base, checkLog: storeLogCheck(store.dir, opts) };
  const policy = parseTlogPolicy(readInput(args['log-policy']!, 'log policy', 256 * 1024));
  return {
    ...base,
    check: async (envelopeBytes, proof) => {
      const r = await checkLogged({ envelopeBytes, proof, policy, ...opts });
      return { summary: describeLogged(r) };
    },
  };
}
