import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { describeStore, parseInstalledSpec, type StoreSummary, type UpdateOutcome } from '../lib/core/trust-state.js';
import { parseDuration, storeLogCheck } from '../lib/log/check-logged.js';
import { openLogSource } from '../lib/log/tile-reader.js';
import { parseTlogPolicy } from '../lib/log/tlog-policy.js';
import { initStore, openStore, recordInstall, updateStore } from '../lib/node/trust-store.js';
import type { Context } from './context.js';
import { readDocument } from './documents.js';
import { readInput } from './files.js';
import { examples, SUBCOMMAND_NEEDED, succeed } from './output.js';

const EXIT_CODES =
  'Exit codes: 0 success; 1 a file given to update was rejected (the accepted ones are kept); 2 usage or I/O error, and every store error: ' +
  'STORE_MISSING (no store at DIR), STORE_EXISTS (init over an existing store), STORE_LOCKED (another writer held the lock for 5 s; ' +
  'a lock whose process is gone is taken over), STORE_CORRUPT (state.json unreadable, not matching its schema, or its signed documents ' +
  'no longer verify). A store error is never a verdict on a bundle, and a corrupt store is never reset or overwritten: restore it from a backup or init a new one.';

const LAYOUT =
  'The store is DIR/state.json (mode 0644, in DIR 0755: it holds no secret, and the web server user must read it to verify; only its owner may write it) ' +
  'and DIR/lock while a writer holds it. Every write goes to a temporary file, is fsynced and renamed into place.';

interface StoreArgs {
  store: string;
  json?: boolean;
}

interface InitArgs extends StoreArgs {
  policy: string;
  installed?: string[];
  'log-policy'?: string;
}

interface UpdateArgs extends StoreArgs {
  file: string[];
  'log-proof'?: string[];
  'max-age'?: string;
  log?: string;
}

interface RecordArgs extends StoreArgs {
  release: string[];
}

export function trustCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'trust',
    describe: "Keep a site's trust store: the pinned policy, accepted rotations and revocations, and what is installed",
    builder: (y) =>
      y
        .command(initCommand(ctx))
        .command(updateCommand(ctx))
        .command(showCommand(ctx))
        .command(recordCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(`${LAYOUT}\n\n${EXIT_CODES}`)
        .epilogue(
          examples(
            'countersign trust init --policy policy.signed.json --store /var/lib/countersign/example.org --installed drupal/core=10.2.3',
            'countersign trust update --store /var/lib/countersign/example.org policy-2.signed.json revoke-10.2.4.signed.json',
            'countersign verify drupal-10.2.5.bundle --store /var/lib/countersign/example.org',
          ),
        ),
    handler: () => undefined,
  };
}

function storeOption<T>(y: import('yargs').Argv<T>) {
  return y.option('store', { type: 'string', demandOption: true, describe: 'The trust store directory' });
}

function initCommand(ctx: Context): CommandModule<object, InitArgs> {
  return {
    command: 'init',
    describe: 'Create a trust store pinning a signed policy (it must be signed by a quorum of its own keys)',
    builder: (y) =>
      storeOption(y)
        .option('policy', { type: 'string', demandOption: true, describe: 'The signed policy to pin' })
        .option('installed', {
          type: 'string',
          array: true,
          describe: 'What the site runs now, PRODUCT/COMPONENT=VERSION (repeat); PRODUCT=VERSION means its core',
        })
        .option('log-policy', {
          type: 'string',
          describe:
            'A C2SP tlog-policy file (log, witnesses, quorum): every bundle verified against this store, and every rotation and revocation trust update accepts, must then be logged (spec/log.md); quorum none warns LOG_NO_WITNESS_QUORUM (nothing detects forks)',
        })
        .epilogue(`Refuses a directory that already holds a store (STORE_EXISTS). ${LAYOUT}\n\n${EXIT_CODES}`)
        .epilogue(
          examples('countersign trust init --policy policy.signed.json --store DIR --installed drupal/core=10.2.3 --installed drupal/pathauto=8.x-1.12'),
        ),
    handler: async (args) => {
      const installed = (args.installed ?? []).map((text) => parseInstalledSpec(text));
      const bytes = readDocument(args.policy, 'policy');
      const logPolicy = args['log-policy'] === undefined ? undefined : Buffer.from(readInput(args['log-policy'], 'log policy', 256 * 1024)).toString('utf8');
      const store = await initStore(args.store, bytes, { now: ctx.now, installed, ...(logPolicy === undefined ? {} : { logPolicy }) });
      const summary = describeStore(store, ctx.now);
      // Not refused (a private log may have no witnesses yet), but nothing then detects a fork shown to this site alone.
      const warnings =
        logPolicy !== undefined && parseTlogPolicy(logPolicy).quorum === 'none'
          ? [
              {
                code: 'LOG_NO_WITNESS_QUORUM',
                message:
                  'the log policy has quorum none: a checkpoint signed by the log key alone is accepted, so nothing detects a log that shows this site a forked tree; name witnesses and a quorum',
              },
            ]
          : [];
      for (const w of warnings) ctx.err(`warning: ${w.code}: ${w.message}`);
      succeed(ctx, args, { store: args.store, ...summary, ...(logPolicy !== undefined ? { warnings } : {}) }, [
        `Created the trust store ${args.store}`,
        ...summaryLines(summary),
      ]);
    },
  };
}

function updateCommand(ctx: Context): CommandModule<object, UpdateArgs> {
  return {
    command: 'update <file..>',
    describe: 'Accept signed policy rotations (N+1) and revocations, in the order given, each only if it verifies',
    builder: (y) =>
      storeOption(y)
        .positional('file', { type: 'string', array: true, demandOption: true, describe: 'Signed policies (version N+1, N+2, ...) and signed revocations' })
        .option('log-proof', {
          type: 'string',
          array: true,
          describe: 'With a store made with --log-policy: a detached C2SP tlog-proof (log prove --out) per file, in the order of the files',
        })
        .option('max-age', { type: 'string', describe: "With a log policy: the oldest the witness quorum's cosignatures may be (default 7d)" })
        .option('log', { type: 'string', describe: 'With a log policy: the log (URL or tiles DIR) to fetch missing proofs and consistency proofs from' })
        .epilogue(
          'A rotation needs version exactly N+1, a quorum of the current policy and of itself, and must be unexpired; an older or equal version is POLICY_ROLLBACK, a skipped one POLICY_VERSION_GAP. ' +
            'A revocation needs a quorum of the current (unexpired) policy. Each file is reported accepted, unchanged (a revocation already held) or rejected with its code. ' +
            'In a store made with --log-policy every rotation and revocation must also be in the log (spec/log.md), checked like a bundle: ' +
            "by its --log-proof, else a proof fetched from --log or from the log policy's URL; one that is not is rejected NOT_LOGGED. " +
            `Nothing is written unless something was accepted or a log fork was found (its two checkpoints are kept).\n\n${EXIT_CODES}`,
        )
        .epilogue(
          examples(
            'countersign trust update --store DIR policy-2.signed.json policy-3.signed.json revoke-10.2.4.signed.json',
            'countersign trust update --store DIR policy-2.signed.json --log-proof policy-2.tlog-proof',
          ),
        ),
    handler: async (args) => {
      // Every file is read first: an unreadable one stops the run (exit 2) before anything changes. One too
      // large to be a policy or revocation is rejected by updateStore (SIZE_LIMIT) like any other bad file.
      const proofs = (args['log-proof'] ?? []).map((name) => readInput(name, 'log proof', 256 * 1024));
      if (proofs.length > 0 && proofs.length !== args.file.length)
        throw new UsageError('USAGE', `${proofs.length} --log-proof for ${args.file.length} files: give one per file, in the same order`);
      const maxAgeSeconds = args['max-age'] === undefined ? undefined : parseDuration(args['max-age']);
      if (args['max-age'] !== undefined && maxAgeSeconds === undefined)
        throw new UsageError('USAGE', `--max-age ${args['max-age']} is not a duration such as 3600, 90m, 36h or 7d`);
      const files = args.file.map((name, i) => ({ name, bytes: readDocument(name, 'update'), ...(proofs[i] ? { proof: proofs[i] } : {}) }));
      const source = args.log === undefined ? undefined : openLogSource(args.log);
      // Only called when the store has a log policy; record: false because updateStore holds the lock and writes the largest itself.
      const checkLog = storeLogCheck(args.store, { now: ctx.now, record: false, ...(maxAgeSeconds ? { maxAgeSeconds } : {}), ...(source ? { source } : {}) });
      const result = await updateStore(args.store, files, { now: ctx.now, checkLog });
      const summary = describeStore(result.store, ctx.now);
      const firstRejected = result.results.find((r) => r.status === 'rejected');
      if (firstRejected) ctx.exitCode = 1;
      const body = {
        ok: !firstRejected,
        ...(firstRejected && { code: firstRejected.code, message: `${result.rejected} of ${result.results.length} files rejected` }),
        store: args.store,
        accepted: result.accepted,
        unchanged: result.unchanged,
        rejected: result.rejected,
        written: result.written,
        results: result.results,
        policy: summary.policy,
        revocations: summary.revocations.length,
      };
      if (args.json) {
        ctx.out(JSON.stringify(body));
        return;
      }
      const lines = [
        ...result.results.map(outcomeLine),
        result.accepted > 0
          ? `Updated ${args.store}: policy version ${summary.policy.version}, ${summary.revocations.length} revocation${summary.revocations.length === 1 ? '' : 's'}`
          : result.written
            ? `Nothing accepted; the LOG FORK found was recorded in ${args.store} (state.json log.forks)`
            : `Nothing accepted; ${args.store} is unchanged`,
      ];
      if (firstRejected) ctx.err(lines.join('\n'));
      else ctx.out(lines.join('\n'));
    },
  };
}

function outcomeLine(r: UpdateOutcome): string {
  switch (r.status) {
    case 'rejected':
      return `rejected  ${r.file}: ${r.code}: ${r.message}`;
    case 'unchanged':
      return `unchanged ${r.file}: revocation of ${r.revocation.product} ${r.revocation.component} ${r.revocation.version} is already held`;
    case 'accepted':
      return r.kind === 'policy'
        ? `accepted  ${r.file}: policy version ${r.policyVersion} (expires ${r.expires})`
        : `accepted  ${r.file}: revocation of ${r.revocation.product} ${r.revocation.component} ${r.revocation.version} (${r.revocation.reason})`;
  }
}

function showCommand(ctx: Context): CommandModule<object, StoreArgs> {
  return {
    command: 'show',
    describe: 'Show the trusted policy, the highest policy version seen, installed releases and revocations',
    builder: (y) =>
      storeOption(y)
        .epilogue(`The store is re-verified as it is read.\n\n${EXIT_CODES}`)
        .epilogue(examples('countersign trust show --store /var/lib/countersign/example.org')),
    handler: async (args) => {
      const summary = describeStore(await openStore(args.store), ctx.now);
      succeed(ctx, args, { ...summary }, [`Trust store ${args.store}`, ...summaryLines(summary)]);
    },
  };
}

function recordCommand(ctx: Context): CommandModule<object, RecordArgs> {
  return {
    command: 'record <release..>',
    describe: 'Record what is installed after a change made outside countersign (PRODUCT/COMPONENT=VERSION); the highest version ever installed is kept',
    builder: (y) =>
      storeOption(y)
        .positional('release', { type: 'string', array: true, demandOption: true, describe: 'PRODUCT/COMPONENT=VERSION, or PRODUCT=VERSION for its core' })
        .epilogue(EXIT_CODES)
        .epilogue(
          examples(
            'countersign trust record --store DIR drupal/core=10.2.3  # after a manual downgrade: 10.2.4 stays the highest, so releases up to 10.2.4 remain ROLLBACK',
          ),
        ),
    handler: async (args) => {
      const specs = args.release.map((text) => parseInstalledSpec(text));
      const keys = specs.map((s) => `${s.product}/${s.component}`);
      if (new Set(keys).size !== keys.length) throw new UsageError('USAGE', 'a product/component is given twice');
      const recorded = [];
      for (const s of specs) recorded.push(await recordInstall(args.store, s.product, s.component, s.version, { now: ctx.now }));
      succeed(
        ctx,
        args,
        { store: args.store, recorded },
        recorded.map((r) => `Recorded ${r.product}/${r.component} ${r.version} (highest ever ${r.highest})`),
      );
    },
  };
}

function summaryLines(s: StoreSummary): string[] {
  const p = s.policy;
  return [
    `Policy version ${p.version} (pinned ${s.pinnedVersion}, ${s.rotations} rotation${s.rotations === 1 ? '' : 's'} accepted; highest seen ${s.highestPolicyVersion}): ` +
      `${p.threshold} of ${p.signers.length} signers, expires ${p.expires}${p.expired ? ' (EXPIRED: nothing verifies until a rotation is accepted)' : ''}`,
    ...p.signers.map((x) => `  ${x.name}  ${x.id}`),
    s.installed.length > 0 ? 'Installed:' : 'Installed: nothing recorded (every release is WRONG_TARGET until one is)',
    ...s.installed.flatMap((i) => [
      `  ${i.product}/${i.component}  ${i.version}  (highest ever ${i.highest}; recorded ${i.updated})`,
      ...(i.partial
        ? [
            `    ${i.partial.version} PARTLY INSTALLED (${i.partial.recorded}): ${i.partial.kept.length} file${i.partial.kept.length === 1 ? '' : 's'} it changes kept as the site had them, so it is not installed and stays on offer:`,
            ...i.partial.kept.map((k) => `      ${k}`),
          ]
        : []),
    ]),
    `Revocations: ${s.revocations.length}`,
    ...s.revocations.map(
      (r) => `  ${r.product} ${r.component} ${r.version}: ${r.reason} (created ${r.created}; accepted ${r.accepted} under policy ${r.acceptedUnder})`,
    ),
    ...(s.log
      ? [
          `Transparency log: required (log policy); largest checkpoint seen ${s.log.largest ? `${s.log.largest.origin} size ${s.log.largest.size}` : 'none yet'}` +
            (s.log.forks > 0 ? `; ${s.log.forks} FORK${s.log.forks === 1 ? '' : 'S'} DETECTED (evidence in state.json log.forks)` : ''),
        ]
      : []),
  ];
}
