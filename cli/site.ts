import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { stringifyForOutput } from '../lib/core/json.js';
import { RISK_LEVELS } from '../lib/core/risk.js';
import { untilSignal, type Context } from './context.js';
import { readInput } from './files.js';
import { riskFlag } from './flags.js';
import { examples, SUBCOMMAND_NEEDED, succeed } from './output.js';

const HOW =
  "A site registers with a hub once (a random id and 32-byte secret, kept only in the site's trust store, mode 0600). From then " +
  'on every message is Hawk-authenticated both ways. The site decides what it wants from the index (what its trust store says is ' +
  'installed, the risk threshold, backports that apply to its version), verifies every bundle it receives against its own ' +
  'trust store, and only then hands it to the installer: nothing unsigned is ever installed, whatever the hub sends.';

interface StoreArgs {
  store: string;
  json?: boolean;
}

interface HubArgs {
  'allow-private'?: boolean;
  'ca-file'?: string;
}

interface RegisterArgs extends StoreArgs, HubArgs {
  hub: string;
  endpoint?: string;
}

interface TakeArgs extends StoreArgs {
  site?: string;
  'installer-socket'?: string;
  'installer-site'?: string;
  inbox?: string;
  'auto-install-risk'?: string;
  'max-bundle-bytes': number;
}

interface PollArgs extends TakeArgs, HubArgs {}

interface ServeArgs extends TakeArgs {
  listen?: string;
  endpoint?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
}

export function siteCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'site',
    describe: "A site's side of distribution: register with a hub, serve the endpoint the hub pushes to, or poll",
    builder: (y) =>
      y
        .command(registerCommand(ctx))
        .command(serveCommand(ctx))
        .command(pollCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(HOW)
        .epilogue(
          examples(
            'countersign site serve --store /var/lib/countersign/trust --endpoint https://www.example.org:8441/countersign --site /var/www/html',
            'countersign site register --hub https://hub.example.org --endpoint https://www.example.org:8441/countersign --store /var/lib/countersign/trust',
            'countersign site poll --store /var/lib/countersign/trust --site /var/www/html',
          ),
        ),
    handler: () => undefined,
  };
}

const takeOptions = {
  store: { type: 'string', demandOption: true, describe: "The site's trust store (countersign trust init): policy, installed versions, hub credentials" },
  site: { type: 'string', describe: 'Install in process into this site root (countersign apply)' },
  'installer-socket': { type: 'string', describe: 'Install through the installer daemon at this socket (with --installer-site)' },
  'installer-site': { type: 'string', describe: "The site's name in the installer daemon's config" },
  inbox: { type: 'string', describe: 'Install nothing: keep each verified bundle in this directory for an operator' },
  'auto-install-risk': {
    type: 'string',
    describe: `Want only releases at or above this risk level (${RISK_LEVELS.join(', ')}); default: every applicable release`,
  },
  'max-bundle-bytes': { type: 'number', default: 1024 * 1024 * 1024, describe: 'The largest bundle accepted' },
} as const;

const hubOptions = {
  'allow-private': { type: 'boolean', describe: 'Allow a hub on a loopback/private address (refused otherwise, by register and poll alike)' },
  'ca-file': { type: 'string', describe: 'PEM bundle of a private CA to trust, besides the default CAs, for every https call to the hub' },
} as const;

/** The https agent for --ca-file, or undefined for the default CAs. */
async function hubAgent(args: HubArgs) {
  if (args['ca-file'] === undefined) return undefined;
  const { hubHttpsAgent } = await import('../lib/site/hub.js');
  return hubHttpsAgent(Buffer.from(readInput(args['ca-file'], '--ca-file', 1024 * 1024)).toString('utf8'), `--ca-file ${args['ca-file']}`);
}

async function agentFor(ctx: Context, args: TakeArgs, logging: boolean) {
  const { SiteAgent } = await import('../lib/site/agent.js');
  const { storeBackend } = await import('../lib/site/site-backend.js');
  const chosen = [args.site, args['installer-socket'], args.inbox].filter((x) => x !== undefined);
  if (chosen.length !== 1)
    throw new UsageError('USAGE', 'say where updates go: exactly one of --site DIR, --installer-socket PATH (with --installer-site NAME), --inbox DIR');
  if (args['installer-socket'] && !args['installer-site']) throw new UsageError('USAGE', '--installer-socket needs --installer-site NAME');
  const installer = args.site
    ? ({ kind: 'in-process', site: args.site } as const)
    : args['installer-socket']
      ? ({ kind: 'daemon', socket: args['installer-socket'], site: args['installer-site']! } as const)
      : ({ kind: 'inbox', dir: args.inbox! } as const);
  if (!Number.isSafeInteger(args['max-bundle-bytes']) || args['max-bundle-bytes'] < 1)
    throw new UsageError('USAGE', '--max-bundle-bytes must be a positive integer');
  const { openSpool } = await import('../lib/site/spool.js');
  const spoolDir = openSpool(args.store);
  const log = (event: Record<string, unknown>) => ctx.err(stringifyForOutput({ time: new Date().toISOString(), ...event }));
  const minRisk = riskFlag('--auto-install-risk', args['auto-install-risk']);
  const agent = new SiteAgent(storeBackend({ storeDir: args.store, installer, minRisk, log: logging ? log : undefined }), { minRisk });
  return { agent, spoolDir, log };
}

function registerCommand(ctx: Context): CommandModule<object, RegisterArgs> {
  return {
    command: 'register',
    describe: 'Register this site with a hub: a new id and secret, kept in the trust store',
    builder: (y) =>
      y
        .option('hub', { type: 'string', demandOption: true, describe: "The hub's URL (https://… beyond loopback: the secret travels in this one request)" })
        .option('endpoint', { type: 'string', describe: 'The URL the hub pushes to (site serve must already be running there); omit for a site that polls' })
        .option('store', { type: 'string', demandOption: true, describe: "The site's trust store; the credentials go to STORE/hub-credentials.json (0600)" })
        .options(hubOptions)
        .epilogue(
          'The hub accepts an endpoint only after a Hawk-authenticated hello to it is answered with the same secret. A site already ' +
            'registered (the credentials file exists) is refused: remove the file to register again. A refused registration leaves nothing behind. ' +
            'Exit 0 registered; 2 usage, I/O, or the hub refused or could not be reached.',
        )
        .epilogue(
          examples(
            'countersign site register --hub https://hub.example.org:8443 --endpoint https://www.example.org:8441/countersign --store /var/lib/countersign/trust',
          ),
        ),
    handler: async (args) => {
      const { registerSite } = await import('../lib/site/register.js');
      const { openStore } = await import('../lib/node/trust-store.js');
      await openStore(args.store);
      const hub = urlFlag('--hub', args.hub);
      const endpoint = args.endpoint === undefined ? null : urlFlag('--endpoint', args.endpoint);
      const httpsAgent = await hubAgent(args);
      try {
        const creds = await registerSite({ hub, endpoint, storeDir: args.store, allowPrivate: Boolean(args['allow-private']), httpsAgent });
        succeed(ctx, args, { site: creds.site, hub: creds.hub, endpoint: creds.endpoint }, [
          `Registered with ${creds.hub} as site ${creds.site}`,
          creds.endpoint ? `  the hub pushes to ${creds.endpoint}` : '  no endpoint: run countersign site poll to fetch updates',
        ]);
      } finally {
        httpsAgent?.destroy();
      }
    },
  };
}

function serveCommand(ctx: Context): CommandModule<object, ServeArgs> {
  return {
    command: 'serve',
    describe: 'Run the site endpoint the hub pushes update events to',
    builder: (y) =>
      y
        .options(takeOptions)
        .option('endpoint', {
          type: 'string',
          describe: 'The endpoint URL as the hub reaches it (default: the registered one); its host and port are pinned in every Hawk MAC',
        })
        .option('listen', { type: 'string', describe: "HOST:PORT to listen on (default: the endpoint's host and port)" })
        .option('tls-cert', { type: 'string', describe: 'PEM certificate: serve HTTPS' })
        .option('tls-key', { type: 'string', describe: 'PEM private key for --tls-cert' })
        .epilogue(
          `${HOW}\n\nStart it before site register (the hub's hello must be answered). Requests are authenticated before their body is ` +
            'read; a package is accepted only when this site asked for it in that campaign and up to the size the index announced. ' +
            'Logs one JSON object per line on stderr. SIGTERM or SIGINT stops it.',
        )
        .epilogue(
          examples(
            'countersign site serve --store /var/lib/countersign/trust --endpoint https://www.example.org:8441/countersign --site /var/www/html --auto-install-risk Critical',
          ),
        ),
    handler: async (args) => {
      if (Boolean(args['tls-cert']) !== Boolean(args['tls-key'])) throw new UsageError('USAGE', '--tls-cert and --tls-key go together');
      const { siteRequestHandler } = await import('../lib/site/endpoint.js');
      const { readCredentials, hasCredentials, credentialsLookup } = await import('../lib/site/credentials.js');
      const { listen, parseListen } = await import('../lib/distribution/listen.js');
      const { openStore } = await import('../lib/node/trust-store.js');
      await openStore(args.store);
      const registered = hasCredentials(args.store) ? await readCredentials(args.store) : undefined;
      const endpointText = args.endpoint ?? registered?.endpoint ?? undefined;
      if (!endpointText) throw new UsageError('USAGE', 'name the endpoint with --endpoint URL (this site is not registered with one yet)');
      const endpoint = urlFlag('--endpoint', endpointText);
      const { agent, spoolDir, log } = await agentFor(ctx, args, true);
      const handler = siteRequestHandler({
        endpoint,
        credentials: credentialsLookup(args.store),
        agent,
        spoolDir,
        maxBundleBytes: args['max-bundle-bytes'],
        log,
      });
      const address = parseListen(args.listen ?? `${endpoint.hostname}:${Number(endpoint.port) || (endpoint.protocol === 'https:' ? 443 : 80)}`);
      const tls = args['tls-cert'] ? { cert: args['tls-cert'], key: args['tls-key']! } : undefined;
      const server = await listen(handler, { ...address, tls });
      log({ event: 'listening', endpoint: endpoint.href, port: server.port });
      await untilSignal();
      await server.close();
    },
  };
}

function pollCommand(ctx: Context): CommandModule<object, PollArgs> {
  return {
    command: 'poll',
    describe: 'Ask the hub for its index, fetch and install what this site wants, and report back',
    builder: (y) =>
      y
        .options(takeOptions)
        .options(hubOptions)
        .epilogue(
          `${HOW}\n\nFor sites that cannot accept inbound connections: run it from cron. Every download must be signed by the hub with ` +
            "this site's secret and match its signed payload hash before it is verified. Exit 0 when every package received was " +
            'installed or kept, 1 when one was rejected or failed, 2 usage, I/O, or the hub could not be reached.',
        )
        .epilogue(examples('countersign site poll --store /var/lib/countersign/trust --site /var/www/html')),
    handler: async (args) => {
      const { pollHub } = await import('../lib/site/poll.js');
      const { readCredentials } = await import('../lib/site/credentials.js');
      const { openStore } = await import('../lib/node/trust-store.js');
      await openStore(args.store);
      const credentials = await readCredentials(args.store);
      const { agent, spoolDir } = await agentFor(ctx, args, false);
      const httpsAgent = await hubAgent(args);
      const result = await pollHub({
        credentials,
        agent,
        spoolDir,
        maxBundleBytes: args['max-bundle-bytes'],
        allowPrivate: Boolean(args['allow-private']),
        httpsAgent,
      }).finally(() => httpsAgent?.destroy());
      const bad = result.results.filter((r) => r.status === 'rejected' || r.status === 'failed');
      ctx.exitCode = bad.length > 0 ? 1 : 0;
      const lines = [`Polled ${credentials.hub}: ${result.offers} on offer, ${result.results.length} received`];
      for (const r of result.results) lines.push(`  ${r.name}: ${r.status}${r.code ? ` (${r.code}: ${r.message ?? ''})` : ''}`);
      if (args.json) ctx.out(stringifyForOutput({ ok: bad.length === 0, ...result }));
      else ctx.out(lines.join('\n'));
    },
  };
}

function urlFlag(flag: string, text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError('USAGE', `${flag} ${JSON.stringify(text)} is not an http(s) URL`);
  return url;
}
