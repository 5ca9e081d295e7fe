import type { CommandModule } from 'yargs';
import { hooksFromEnv } from '../lib/installer/hooks.js';
import { recoverSite, type RecoverResult } from '../lib/installer/recover.js';
import { STATE } from './apply.js';
import { stringifyForOutput } from '../lib/core/json.js';
import type { Context } from './context.js';
import { examples } from './output.js';

interface RecoverArgs {
  site: string;
  stateDir?: string;
  store?: string;
  clear?: boolean;
  progress?: boolean;
  json?: boolean;
}

export function recoverCommand(ctx: Context): CommandModule<object, RecoverArgs> {
  return {
    command: 'recover',
    describe: 'Finish what an interrupted apply left: roll an uncommitted update back, or complete a committed one; --clear lifts "needs attention"',
    builder: (y) =>
      y
        .option('site', { type: 'string', demandOption: true, describe: 'The site root, as given to apply' })
        .option('state-dir', { type: 'string', describe: 'The state directory, when apply was given one' })
        .option('store', {
          type: 'string',
          describe: "The site's trust store, as given to apply: a committed update is recorded there (a journal naming another store is refused)",
        })
        .option('clear', { type: 'boolean', describe: 'Also remove the "needs attention" marker a failed post-update step left (after checking the site)' })
        .option('progress', { type: 'boolean', describe: 'Print one JSON object per event on stderr, one per line' })
        .epilogue(
          [
            'An unfinished journal without its commit record is rolled back step by step, last first (each undo checks what is on disk, so running recover ' +
              'again after another crash is safe): the site is the old release again. A journal with its commit record is completed (the install recorded, ' +
              'the work files removed): the new release. Left-over staging is removed. Without a journal there is nothing to do. An unreadable journal is ' +
              'JOURNAL_CORRUPT (exit 1) and nothing is touched; a rollback that cannot finish (e.g. a link planted on the way) is ROLLBACK_FAILED and the journal is kept.',
            'With --json, one object: {"ok":true, site, stateDir, action: "none"|"rolled-back"|"completed"|"cleaned", steps, update, warnings, cleared, needsAttention}.',
            STATE,
          ].join('\n\n'),
        )
        .epilogue(
          examples(
            'countersign recover --site /var/www/example.org  # after a crash or a killed worker (apply also does this first, every time)',
            'countersign recover --site /var/www/example.org --clear  # after fixing what a failed post-update step (e.g. drush updb) left',
          ),
        ),
    handler: async (args) => {
      const result = await recoverSite(args.site, {
        stateDir: args.stateDir,
        store: args.store,
        clear: args.clear,
        now: ctx.now,
        onProgress: args.progress ? (event) => ctx.err(stringifyForOutput(event)) : undefined,
        hooks: hooksFromEnv(ctx.env),
      });
      if (args.json) ctx.out(stringifyForOutput({ ok: true, ...result }));
      else ctx.out(humanLines(result).join('\n'));
    },
  };
}

function humanLines(r: RecoverResult): string[] {
  const what = r.update ? `${r.update.product} ${r.update.component} ${r.update.from ?? '?'} → ${r.update.to}` : '';
  const lines = [
    r.action === 'none'
      ? `Nothing to recover in ${r.site}`
      : r.action === 'rolled-back'
        ? `Rolled back the interrupted update ${what} in ${r.site} (${r.steps} journal steps undone): the old release is in place`
        : r.action === 'completed'
          ? `Completed the committed update ${what} in ${r.site}: the new release is in place`
          : `Removed left-over staging in ${r.site} (no step had been taken)`,
    ...r.warnings.map((w) => `  warning: ${w}`),
  ];
  if (r.cleared) lines.push('Cleared the "needs attention" marker: updates are accepted again');
  if (r.needsAttention)
    lines.push(
      `The site needs attention (${r.needsAttention.code}): ${r.needsAttention.message}. After checking it, run countersign recover --site ${r.site} --clear`,
    );
  return lines;
}
