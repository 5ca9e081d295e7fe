import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { readInstallerConfig } from '../lib/installer/daemon/config.js';
import { submitBundle } from '../lib/installer/daemon/client.js';
import { SITE_NAME, type FinalLine, type ProgressLine } from '../lib/installer/daemon/protocol.js';
import { startDaemon } from '../lib/installer/daemon/serve.js';
import { untilSignal, type Context } from './context.js';
import { stringifyForOutput } from '../lib/core/json.js';
import { examples, SUBCOMMAND_NEEDED } from './output.js';
import { withBundlePath } from './documents.js';

const EXIT_CODES =
  'Exit codes of submit: 0 the update was applied; 1 it was rejected (a verification code, NOT_AN_UPDATE) or failed while being applied ' +
  "(the worker's code, e.g. LOCAL_CHANGES, or WORKER_FAILED, WORKER_TIMEOUT); 2 the request was not served: UNKNOWN_SITE, BAD_REQUEST, " +
  'BUNDLE_TOO_LARGE, QUEUE_FULL, TIMEOUT, SHUTTING_DOWN, a STORE_* error, or IO (the installer cannot be reached or gave no answer).';

const HOW =
  "The daemon verifies each bundle itself, as its own user, against the site's trust store, and refuses anything that fails " +
  "without starting a worker. A verified bundle is applied by a worker (countersign apply) running as the site owner's uid/gid, " +
  'with a scrubbed environment, in the site root. One job per site at a time (the rest wait, up to maxQueue); sites run concurrently. ' +
  'A client names only a configured site: paths, users, stores and commands come from the config.';

interface ServeArgs {
  socket: string;
  config: string;
}

interface SubmitArgs {
  socket: string;
  site: string;
  bundle: string;
  json?: boolean;
  progress?: boolean;
}

export function installerCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'installer',
    describe: 'The trusted installer daemon (serve) and its client (submit): apply verified bundles as the site owner',
    builder: (y) =>
      y
        .command(serveCommand(ctx))
        .command(submitCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(`${HOW}\n\n${EXIT_CODES}`)
        .epilogue(
          examples(
            'countersign installer serve --socket /run/countersign/installer.sock --config /etc/countersign/installer.json',
            'countersign installer submit --socket /run/countersign/installer.sock --site example drupal-10.2.4.bundle',
          ),
        ),
    handler: () => undefined,
  };
}

function serveCommand(ctx: Context): CommandModule<object, ServeArgs> {
  return {
    command: 'serve',
    describe: "Run the installer daemon (as root, so that workers can take each site owner's uid/gid)",
    builder: (y) =>
      y
        .option('socket', {
          type: 'string',
          demandOption: true,
          describe: "The Unix socket to listen on (created mode 0660, group: the config's socketGroup or the sites' group)",
        })
        .option('config', {
          type: 'string',
          demandOption: true,
          describe: 'The config (JSON, schemas/installer-config.schema.json): each site name with its root, user, group and trust store',
        })
        .epilogue(
          `${HOW} Refuses to start when the socket is live (another daemon) or the path is not a socket; a stale socket is removed. ` +
            'At start every site is recovered (countersign recover, as its owner) before its first job. Logs one JSON object per line on stderr. ' +
            'SIGTERM or SIGINT: stop accepting, refuse queued jobs (SHUTTING_DOWN), let running workers finish, remove the socket.',
        )
        .epilogue(examples('countersign installer serve --socket /run/countersign/installer.sock --config /etc/countersign/installer.json')),
    handler: async (args) => {
      const config = readInstallerConfig(args.config);
      const daemon = await startDaemon(config, { socket: args.socket });
      await untilSignal();
      await daemon.close();
      ctx.exitCode = 0;
    },
  };
}

function submitCommand(ctx: Context): CommandModule<object, SubmitArgs> {
  return {
    command: 'submit <bundle>',
    describe: 'Send a bundle to the installer daemon for a site, and wait for the result',
    builder: (y) =>
      y
        .positional('bundle', { type: 'string', demandOption: true, describe: 'The bundle file' })
        .option('socket', { type: 'string', demandOption: true, describe: "The installer's socket" })
        .option('site', { type: 'string', demandOption: true, describe: 'The site name, as configured in the installer' })
        .option('progress', { type: 'boolean', describe: 'Print each progress event as one JSON object per line on stderr' })
        .epilogue(
          `Progress goes to stderr (human lines, or JSON with --progress); the result to stdout (one JSON object with --json: the daemon's answer).\n\n${EXIT_CODES}`,
        )
        .epilogue(examples('countersign installer submit --socket /run/countersign/installer.sock --site example drupal-10.2.4.bundle --json')),
    handler: async (args) => {
      if (!SITE_NAME.test(args.site)) throw new UsageError('USAGE', `--site ${JSON.stringify(args.site)} is not a site name (a-z, 0-9, ., _, -)`);
      const facts: Facts = {};
      const final = await withBundlePath(args.bundle, (bundle) =>
        submitBundle({
          socket: args.socket,
          site: args.site,
          bundle,
          onProgress: (line) => {
            remember(facts, line);
            if (args.progress) ctx.err(stringifyForOutput(line));
            else if (!args.json) ctx.err(describeProgress(line));
          },
        }),
      );
      ctx.exitCode = final.exit === 0 || final.exit === 1 || final.exit === 2 ? final.exit : final.ok ? 0 : 1;
      if (final.ok && ctx.exitCode !== 0) ctx.exitCode = 1;
      if (args.json) {
        ctx.out(stringifyForOutput(final));
        return;
      }
      if (final.ok) ctx.out(`OK: site ${args.site}: applied ${facts.release ?? 'the bundle'}${final.job ? ` (job ${final.job})` : ''}`);
      else ctx.err(refusalLines(args.site, final).join('\n'));
    },
  };
}

interface Facts {
  release?: string;
}

function remember(facts: Facts, line: ProgressLine): void {
  const p = line.progress;
  if (line.source === 'daemon' && p.event === 'verified') facts.release = `${String(p.product)} ${String(p.component)} ${String(p.version)}`;
}

function describeProgress(line: ProgressLine): string {
  const p = line.progress;
  if (line.source === 'daemon') {
    switch (p.event) {
      case 'accepted':
        return `installer: accepted (job ${String(p.job)}, ${String(p.size)} bytes)`;
      case 'received':
        return typeof p.queued === 'number'
          ? `installer: received; waiting behind ${p.queued} job${p.queued === 1 ? '' : 's'} for this site`
          : 'installer: received';
      case 'waiting':
        return `installer: still waiting behind ${String(p.ahead)} job${p.ahead === 1 ? '' : 's'}`;
      case 'started':
        return 'installer: started';
      case 'verified':
        return `installer: verified ${String(p.product)} ${String(p.component)} ${String(p.version)}${Array.isArray(p.signedBy) ? `, signed by ${p.signedBy.join(', ')}` : ''}`;
      case 'worker':
        return `installer: applying as uid ${String(p.uid)}, gid ${String(p.gid)}`;
    }
  }
  const text =
    describeWorkerEvent(p) ??
    (typeof p.message === 'string'
      ? p.message
      : Object.entries(p)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' '));
  return `${line.source}: ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
}

/** The events of `countersign apply --progress` a person most wants to read; anything else is shown as key=value. */
function describeWorkerEvent(p: Record<string, unknown>): string | undefined {
  const s = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
  switch (p.event) {
    case 'phase':
      return `${s(p.phase)} ${p.status === 'start' ? 'started' : s(p.status)}`;
    case 'verified':
      return `verified ${s(p.product)} ${s(p.component)} ${s(p.from ?? '?')} -> ${s(p.to)}`;
    case 'file':
      return `[${s(p.n)}/${s(p.total)}] ${s(p.op)} ${s(p.path)}`;
    case 'committed':
      return `committed (${s(p.steps)} steps)`;
    case 'post':
      return `post-update ${s(p.argv)} ${p.status === 'start' ? 'started' : `${s(p.status)}${p.exitCode !== undefined ? `, exit ${s(p.exitCode)}` : ''}`}`;
    default:
      return undefined;
  }
}

function refusalLines(site: string, final: FinalLine): string[] {
  const reasons = (Array.isArray(final.reasons) ? final.reasons : []) as Array<{ code?: unknown; message?: unknown }>;
  const verdict = final.exit === 2 ? 'NOT SERVED' : reasons.length > 0 ? 'REJECTED' : 'FAILED';
  const lines = [`${verdict}: site ${site}: ${final.code ?? 'error'}: ${final.message ?? ''}`.trimEnd()];
  for (const r of reasons) lines.push(`  ${String(r.code)}: ${String(r.message)}`);
  if (Array.isArray(final.stderr)) for (const l of final.stderr) lines.push(`  worker: ${String(l)}`);
  return lines;
}
