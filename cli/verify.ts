import type { CommandModule } from 'yargs';
import { CountersignError, VerificationError, toReason } from '../lib/core/errors.js';
import { loadTrustedPolicy } from '../lib/core/policy.js';
import { describeSigners, publicSigner, type QuorumResult } from '../lib/core/quorum.js';
import { describeSignatureInfo } from '../lib/core/signer-kinds.js';
import { verifyBundle, type VerifiedDocument } from '../lib/core/verify.js';
import { walkPolicyChain } from '../lib/core/rotation.js';
import { verifyRevocation } from '../lib/core/revocation.js';
import type { Context } from './context.js';
import { checkFlag, timeFlag } from './flags.js';
import { readDocument, withDocument } from './documents.js';
import { parseVersion } from '../lib/core/version.js';
import { examples, exitCodeFor, fail, succeed } from './output.js';
import { verifyWithStore } from '../lib/core/trust-state.js';
import { openStore } from '../lib/node/trust-store.js';
import { checkTrustSource } from './trust.js';

interface VerifyArgs {
  bundle: string;
  policy?: string;
  store?: string;
  archive?: string;
  product?: string;
  component?: string;
  installed?: string;
  chain?: string[];
  revocation?: string[];
  now?: string;
  json?: boolean;
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
        .option('archive', { type: 'string', describe: 'The archive, when BUNDLE is a bare signed manifest' })
        .option('product', { type: 'string', describe: 'The product this site runs, e.g. drupal (a release for another is WRONG_TARGET)' })
        .option('component', { type: 'string', describe: 'The component being updated: core, or a module/plugin/theme name' })
        .option('installed', { type: 'string', describe: 'The version installed on the site (enables applicability and rollback checks)' })
        .option('chain', { type: 'string', array: true, describe: 'Signed policy rotations to walk from --policy (version N+1, N+2, ... in order)' })
        .option('revocation', { type: 'string', array: true, describe: 'A signed revocation to honour (repeat); it must verify against the policy' })
        .option('now', { type: 'string', describe: 'Reference time (ISO-8601) instead of the clock, for tests and audits' })
        .epilogue(
          'Checks, in order: sizes, strict parsing and canonical bytes, the policy, every signature, the quorum, expiry/applicability/rollback, then the archive streamed against the signed digests. Every reason found is reported with its code.',
        )
        .epilogue(examples('countersign verify drupal-10.2.4.bundle --policy policy.signed.json --product drupal --component core --installed 10.2.3')),
    handler: async (args) => {
      if (args.now) ctx.now = timeFlag('--now', args.now);
      if (args.installed !== undefined) checkFlag('--installed', () => parseVersion(args.installed!));
      const now = ctx.now;
      const site = { product: args.product, component: args.component, installed: args.installed };
      checkTrustSource(args);
      const store = args.store === undefined ? undefined : await openStore(args.store); // a store error exits 2, never a rejection
      try {
        const pinned = store ? store.trusted : loadTrustedPolicy(readDocument(args.policy!, 'policy'), args.policy!);
        const trusted = walkPolicyChain(
          pinned,
          (args.chain ?? []).map((f) => readDocument(f, 'policy rotation')),
        );
        const revocations = (args.revocation ?? []).map((f) => verifyRevocation(readDocument(f, 'revocation'), trusted, f));
        const verified = await withDocument(args.bundle, args.archive, ({ envelopeBytes, archive }) =>
          store
            ? verifyWithStore(store, { envelopeBytes, archive }, { now, revocations })
            : verifyBundle({ envelopeBytes, archive }, { trusted, now, site, revocations }),
        );
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
          },
          [
            `OK: ${what}`,
            `Signed by ${describeSigners(q)}: ${q.signedBy.map((s) => s.name).join(', ')}`,
            ...toolLines(q),
            ...verified.warnings.map((w) => `  note ${w.code}: ${w.message}`),
            ...(doc.kind === 'manifest' && verified.notChecked.length > 0
              ? [`  not checked against a site: ${verified.notChecked.join(', ')} (pass --${verified.notChecked.join(', --')})`]
              : []),
          ],
        );
      } catch (err) {
        // The caller's own mistakes (a file of the wrong kind, I/O, a store error) are not a verdict on the bundle.
        if (!(err instanceof CountersignError) || exitCodeFor(err) === 2) throw err;
        const reasons = err instanceof VerificationError ? err.reasons : [toReason(err)];
        fail(ctx, args, err instanceof VerificationError ? err : new VerificationError(reasons), [
          `REJECTED: ${args.bundle}`,
          ...reasons.map((r) => `  ${r.code}: ${r.message}`),
        ]);
      }
    },
  };
}

/** Signatures made with another tool than countersign: which, and what they said (a security key's counter). */
function toolLines(q: QuorumResult): string[] {
  return q.signedBy.flatMap((s, i) => {
    const info = q.signedWith[i]!;
    if (info.kind === 'countersign') return [];
    const extra = describeSignatureInfo(info);
    return [`  ${s.name}: ${info.kind}${extra ? `, ${extra}` : ''}`];
  });
}

function describeVerified(doc: VerifiedDocument): string {
  switch (doc.kind) {
    case 'manifest': {
      const m = doc.manifest;
      return `${m.product} ${m.component} ${m.version} (risk: ${m.risk?.level ?? 'not rated'}; expires ${m.expires})`;
    }
    case 'policy':
      return `policy version ${doc.policy.version} (expires ${doc.policy.expires})`;
    case 'revocation': {
      const r = doc.revocation;
      return `revocation of ${r.product} ${r.component} ${r.version} (${r.reason})`;
    }
  }
}
