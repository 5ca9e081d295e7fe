import type { CommandModule } from 'yargs';
import { InstallError, UsageError } from '../lib/core/errors.js';
import { APPLY_PHASES, applyBundle, type ApplyPhase, type ApplyResult } from '../lib/installer/apply.js';
import { hooksFromEnv } from '../lib/installer/hooks.js';
import type { PostStepResult } from '../lib/installer/post.js';
import { loadTrustedPolicy } from '../lib/core/policy.js';
import { parseVersion } from '../lib/core/version.js';
import type { Context } from './context.js';
import { readDocument, withBundlePath } from './documents.js';
import { checkFlag, timeFlag } from './flags.js';
import { stringifyForOutput } from '../lib/core/json.js';
import { examples } from './output.js';

interface ApplyArgs {
  bundle: string;
  site: string;
  store?: string;
  policy?: string;
  phase: ApplyPhase;
  dryRun?: boolean;
  keepLocal?: boolean;
  installed?: string;
  product?: string;
  component?: string;
  keepLocalDespiteRisk?: boolean;
  allowSharedWrite?: boolean;
  postTimeout?: number;
  stateDir?: string;
  progress?: boolean;
  now?: string;
  json?: boolean;
}

export const INTERFACE =
  'For programs (the installer daemon runs `apply /dev/stdin --site ROOT --store STORE --json --progress` as the site owner): ' +
  "BUNDLE may be /dev/stdin when the bundle file is the process's stdin (a regular file: it is opened again through /proc and read twice, once to verify " +
  'and once to install; a pipe is refused). With --json, stdout carries exactly one JSON object: {"ok":true, site, product, component, from, to, bundle, ' +
  'phases, changes:[{op,path}], counts, kept, partial, post:[{argv,exitCode,signal,timedOut,durationMs,stdout,stderr,...}], recovered, timings, ...} or {"ok":false, code, message, details|reasons}. ' +
  'With --progress, stderr carries one JSON object per line per event: {"event":"phase"|"verified"|"plan"|"staged"|"file"|"committed"|"rollback"|"post"|"recover", ...}. ' +
  'Exit codes: 0 done; 1 the update was refused or failed (verification codes such as QUORUM_NOT_MET, WRONG_TARGET or ROLLBACK, and LOCAL_CHANGES, KEEP_LOCAL_REFUSED, PREFLIGHT_FAILED, ' +
  'STAGING_FAILED, COMMIT_FAILED (rolled back: the old release), ROLLBACK_FAILED, FINISH_FAILED, POST_UPDATE_FAILED, NEEDS_ATTENTION, JOURNAL_CORRUPT, SITE_BUSY, PHASE_ORDER); ' +
  '2 usage or I/O error, or a trust store error (STORE_*).';

export const STATE =
  'Work happens in a state directory beside the site, never inside it: PARENT/.countersign-SITENAME (mode 0700, created on first use; --state-dir for ' +
  'another place on the same file system), holding the lock, the write-ahead journal, staging/, backups/, state.json (the last phase completed) and ' +
  'needs-attention.json. The user running apply must be able to create it and write the site (and, with --store, the store).';

export function applyCommand(ctx: Context): CommandModule<object, ApplyArgs> {
  return {
    command: 'apply <bundle>',
    describe: 'Verify a release bundle and apply it to a site: check, files (crash-safe, journaled), post-update',
    builder: (y) =>
      y
        .positional('bundle', { type: 'string', demandOption: true, describe: 'The release bundle (a regular file; /dev/stdin when stdin is the bundle file)' })
        .option('site', {
          type: 'string',
          demandOption: true,
          describe: "The site root: the directory the release's paths are relative to (for a module, plugin or theme: its own directory)",
        })
        .option('store', {
          type: 'string',
          describe: "The site's trust store (countersign trust init): policy, revocations, installed version; the install is recorded in it",
        })
        .option('policy', { type: 'string', describe: 'The signed policy the site pins, when it keeps no trust store' })
        .option('installed', {
          type: 'string',
          describe: "With --policy: the version installed now (default: read from the site's version file, e.g. core/lib/Drupal.php)",
        })
        .option('product', {
          type: 'string',
          describe: "The product this site runs, e.g. drupal (a release for another is WRONG_TARGET); default: what the site's version files say",
        })
        .option('component', {
          type: 'string',
          describe: "The component being updated: core, or a module/plugin/theme name; default: what the site's version files say",
        })
        .option('phase', {
          choices: APPLY_PHASES as ApplyPhase[],
          default: 'all' as ApplyPhase,
          describe: 'Run one phase (in order: check, files, post) or all of them',
        })
        .option('dry-run', { type: 'boolean', describe: 'Verify and preflight, report every step that would be taken (op and path), write nothing at all' })
        .option('keep-local', {
          type: 'boolean',
          describe:
            'Keep locally modified files (skip their ops, report them) instead of refusing with LOCAL_CHANGES; never the version file. The release is then only partly installed: the store keeps the old version and records the kept files, so the release is offered again. Refused for releases rated Critical or above (KEEP_LOCAL_REFUSED) without --keep-local-despite-risk',
        })
        .option('keep-local-despite-risk', {
          type: 'boolean',
          describe: 'With --keep-local: keep local files even from a release rated Critical or Highly Critical (they may be where the fix is)',
        })
        .option('allow-shared-write', {
          type: 'boolean',
          describe:
            'Accept code directories that users other than the site owner can write (group/other-writable, or another owner), e.g. when the web server owns the code; without it such a directory is PREFLIGHT_FAILED (SHARED_WRITE). Never waives ROOT_PARENT (a directory above the site root someone else can change)',
        })
        .option('post-timeout', {
          type: 'number',
          describe: 'Seconds each post-update step may run before it is killed (SIGKILL, with its process group); default 300',
        })
        .option('state-dir', {
          type: 'string',
          describe: "The state directory (default PARENT/.countersign-SITENAME); on the site's file system, outside the web root",
        })
        .option('progress', { type: 'boolean', describe: 'Print one JSON object per event on stderr, one per line' })
        .option('now', { type: 'string', describe: 'Reference time (ISO-8601) instead of the clock, for tests and audits' })
        .epilogue(
          [
            'check: verifies the bundle completely before any byte of the archive is written (signatures, quorum, expiry, applicability and rollback against ' +
              "the installed version, archive digests), detects the installed version from the site's version file, and preflights: every modified or deleted " +
              'file still has the hash the release expects (else LOCAL_CHANGES, listing every such file; nothing touched), no added file exists yet, no symbolic ' +
              'link on any path below the site root (the root itself may be given through one: it is resolved once), no case-fold collision, free space, ' +
              "staging on the site's file system. An unfinished journal is recovered first (countersign recover).",
            'files: stages the new files beside the site, fsyncs and re-hashes them from disk, then commits file by file under a write-ahead journal ' +
              '(hard-link backups; rename() into place; new directories 0755; the file carrying the version number last; emptied directories removed). ' +
              'Any failure rolls back automatically (COMMIT_FAILED: the tree is the old release again). Then the install is recorded in the store.',
            'post: runs the post-update steps (argv arrays, no shell) in the site root with a timeout. A failure keeps the new files and marks the site ' +
              '"needs attention" (POST_UPDATE_FAILED); further applies are refused (NEEDS_ATTENTION) until an operator runs ' +
              'countersign recover --site DIR --clear (then apply --phase post runs the steps again).',
            'Phases run one at a time must come in order: files always re-runs check (the site may have changed since); post needs the files phase of the same release.',
            STATE,
            INTERFACE,
          ].join('\n\n'),
        )
        .epilogue(
          examples(
            'countersign apply drupal-10.2.4.bundle --site /var/www/example.org --store /var/lib/countersign/example.org  # all three phases',
            'countersign apply drupal-10.2.4.bundle --site /var/www/example.org --store /var/lib/countersign/example.org --dry-run  # what would change',
            'countersign apply drupal-10.2.4.bundle --site /var/www/example.org --policy policy.signed.json --phase check  # phase 1 only',
          ),
        ),
    handler: async (args) => {
      if (args.now) ctx.now = timeFlag('--now', args.now);
      if ((args.store === undefined) === (args.policy === undefined)) throw new UsageError('USAGE', 'give exactly one of --store or --policy');
      if (args.store !== undefined && args.installed !== undefined)
        throw new UsageError('USAGE', '--installed: with --store, the installed version comes from the store (countersign trust record)');
      if (args.installed !== undefined) checkFlag('--installed', () => parseVersion(args.installed!));
      if (args.postTimeout !== undefined && !(Number.isFinite(args.postTimeout) && args.postTimeout > 0))
        throw new UsageError('USAGE', '--post-timeout must be a positive number of seconds');
      const trusted = args.policy === undefined ? undefined : loadTrustedPolicy(readDocument(args.policy, 'policy'), args.policy);
      const result = await withBundlePath(args.bundle, (bundle) =>
        withPostOutput(
          ctx,
          !args.json,
          applyBundle(bundle, {
            site: args.site,
            store: args.store,
            trusted,
            installed: args.installed,
            product: args.product,
            component: args.component,
            keepLocalDespiteRisk: args.keepLocalDespiteRisk,
            phase: args.phase,
            dryRun: args.dryRun,
            keepLocal: args.keepLocal,
            allowSharedWrite: args.allowSharedWrite,
            postTimeoutMs: args.postTimeout === undefined ? undefined : args.postTimeout * 1000,
            stateDir: args.stateDir,
            now: ctx.now,
            onProgress: args.progress ? (event) => ctx.err(stringifyForOutput(event)) : undefined,
            hooks: hooksFromEnv(ctx.env),
          }),
        ),
      );
      if (args.json) ctx.out(stringifyForOutput({ ok: true, ...result }));
      else ctx.out(humanLines(result).join('\n'));
    },
  };
}

/** A failed post-update step's output is part of what went wrong: shown (on stderr) before the error. With --json it is in the error's details. */
async function withPostOutput(ctx: Context, human: boolean, run: Promise<ApplyResult>): Promise<ApplyResult> {
  try {
    return await run;
  } catch (err) {
    if (human && err instanceof InstallError && err.code === 'POST_UPDATE_FAILED') {
      for (const p of (err.details.post as PostStepResult[] | undefined) ?? []) ctx.err(postLines(p).join('\n'));
    }
    throw err;
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function humanLines(r: ApplyResult): string[] {
  const release = `${r.product} ${r.component} ${r.from ?? '?'} → ${r.to}`;
  const c = r.counts;
  const files = `${c.add} added, ${c.modify} modified, ${c.delete} deleted; ${plural(c.mkdir, 'directory', 'directories')} created, ${c.rmdir} removed`;
  const lines: string[] = [];
  if (r.recovered) lines.push(`Recovered first: ${r.recovered.action} (${plural(r.recovered.steps, 'journal step')})`);
  if (r.dryRun) {
    lines.push(`Dry run, nothing was written. Applying ${release} to ${r.site} would take these steps:`);
    for (const s of r.changes) lines.push(`  ${s.op.padEnd(6)} ${s.path}`);
    if (r.changes.length === 0) lines.push('  (no file steps)');
    lines.push(`  (${files}${r.versionFile ? `; ${r.versionFile} last` : ''})`);
    for (const p of r.post) lines.push(`  post   ${JSON.stringify(p.argv)}`);
  } else {
    const postOnly = r.phases.length === 1 && r.phases[0] === 'post';
    lines.push(
      postOnly
        ? `Ran the post-update steps of ${r.product} ${r.component} ${r.to} in ${r.site}${r.post.length === 0 ? ' (the release has none)' : ''}`
        : `${r.phases.includes('files') ? (r.partial ? 'Applied in part' : 'Applied') : 'Checked'} ${release} in ${r.site} (phases: ${r.phases.join(', ')})`,
    );
    lines.push(`  signed by ${r.signedBy.map((s) => s.name).join(', ')}`);
    if (r.phases.includes('check'))
      lines.push(`  ${r.phases.includes('files') ? '' : 'would be: '}${files}${r.versionFile ? `; ${r.versionFile} written last` : ''}`);
    for (const p of r.post) lines.push(...postLines(p));
  }
  if (r.detected) lines.push(`  before the update, the site's ${r.detected.path} said ${r.detected.version}`);
  for (const k of r.kept) lines.push(`  kept (locally ${k.found === null ? 'deleted' : 'modified'}): ${k.path}`);
  if (r.partial && !r.dryRun && r.phases.includes('files')) {
    lines.push(
      `  NOT INSTALLED IN FULL: the files kept may be where the fix is, so the trust store keeps ${r.from ?? 'the version before'} and ${r.to} stays on offer. ` +
        `Merge them, then record it: countersign trust record --store STORE ${r.product}/${r.component}=${r.to}`,
    );
  }
  return lines;
}

/** Lines of a step's output shown per stream: the end, each line cut at a width (the JSON result has the whole capture). */
const SHOWN_LINES = 20;
const SHOWN_WIDTH = 300;

/** What a post-update step did: its argv, how it ended, how long it took, and the end of its output (already escaped). */
export function postLines(p: PostStepResult): string[] {
  const ended = p.spawnError
    ? `could not be started (${p.spawnError})`
    : p.timedOut
      ? 'ran past the timeout and was killed'
      : p.signal
        ? `ended by ${p.signal}`
        : `exit ${p.exitCode}`;
  const stream = (name: string, text: string): string[] => {
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    if (all.length === 0) return [];
    const shown = all.slice(-SHOWN_LINES);
    return [
      `    ${name}${shown.length < all.length ? ` (last ${shown.length} of ${all.length} lines)` : ''}:`,
      ...shown.map((l) => `    | ${l.length > SHOWN_WIDTH ? `${l.slice(0, SHOWN_WIDTH)}...` : l}`),
    ];
  };
  return [
    `  post-update ${JSON.stringify(p.argv)}: ${ended} (${(p.durationMs / 1000).toFixed(1)} s)`,
    ...stream('stdout', p.stdout),
    ...stream('stderr', p.stderr),
  ];
}
