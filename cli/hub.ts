import type { CommandModule } from 'yargs';
import { UsageError } from '../lib/core/errors.js';
import { stringifyForOutput } from '../lib/core/json.js';
import type { FailedSite } from '../lib/hub/status.js';
import { RISK_LEVELS } from '../lib/core/risk.js';
import { untilSignal, type Context } from './context.js';
import { riskFlag } from './flags.js';
import { examples, SUBCOMMAND_NEEDED, succeed } from './output.js';
import { withBundlePath } from './documents.js';

const HOW =
  'The hub holds no signing key: it offers bundles that prove themselves by their quorum, so a hub, mirror or CDN can delay ' +
  'an update but never forge one. Every message between hub and site is Hawk-authenticated both ways (payload hash required, ' +
  'nonces remembered, host and port pinned). The registry is SQLite (--db sqlite:PATH) for one hub, or PostgreSQL ' +
  '(--db postgres://USER@HOST/DB) so several hub processes on several machines share one registry and one campaign queue. ' +
  'Give the URL in COUNTERSIGN_HUB_DB instead of --db to keep a database password out of the process list (or use PGPASSWORD).';

interface DbArgs {
  db?: string;
  bundles: string;
  json?: boolean;
}

interface ServeArgs extends DbArgs {
  listen: string;
  'public-url'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'allow-private-endpoints'?: boolean;
}

interface PublishArgs extends DbArgs {
  bundle: string;
  store: string;
}

interface StatusArgs {
  db?: string;
  campaign?: string;
  json?: boolean;
}

interface PushArgs extends DbArgs {
  concurrency: number;
  'only-risk-at-least'?: string;
  'max-attempts': number;
  'retry-base-ms': number;
  'allow-private-endpoints'?: boolean;
  progress?: boolean;
}

export function hubCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'hub',
    describe: 'The distribution hub: serve the index and bundles, publish verified bundles, push an update event to registered sites',
    builder: (y) =>
      y
        .command(serveCommand(ctx))
        .command(publishCommand(ctx))
        .command(pushCommand(ctx))
        .command(statusCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(HOW)
        .epilogue(
          examples(
            'countersign hub serve --db sqlite:/var/lib/countersign/hub.db --bundles /var/lib/countersign/bundles --listen 0.0.0.0:8443 --tls-cert c.pem --tls-key k.pem',
            'countersign hub publish drupal-core-10.2.4.bundle --db sqlite:hub.db --bundles bundles --store hub-trust',
            'countersign hub push --db sqlite:hub.db --bundles bundles --only-risk-at-least Critical',
          ),
        ),
    handler: () => undefined,
  };
}

const dbOptions = {
  db: { type: 'string', describe: 'The registry: sqlite:PATH or postgres://… (default: $COUNTERSIGN_HUB_DB)' },
  bundles: { type: 'string', demandOption: true, describe: 'The directory of published bundles (shared by every hub process)' },
} as const;

function dbUrl(ctx: Context, args: DbArgs): string {
  const url = args.db ?? ctx.env.COUNTERSIGN_HUB_DB;
  if (!url) throw new UsageError('USAGE', 'name the registry with --db sqlite:PATH or postgres://…, or set COUNTERSIGN_HUB_DB');
  return url;
}

function serveCommand(ctx: Context): CommandModule<object, ServeArgs> {
  return {
    command: 'serve',
    describe: 'Run the hub: site registration, the index, bundle downloads (for polling sites and mirrors)',
    builder: (y) =>
      y
        .options(dbOptions)
        .option('listen', { type: 'string', default: '127.0.0.1:8440', describe: 'HOST:PORT to listen on' })
        .option('public-url', {
          type: 'string',
          describe: 'The URL sites reach the hub at (default: from --listen); its host and port are pinned in every Hawk MAC',
        })
        .option('tls-cert', { type: 'string', describe: 'PEM certificate: serve HTTPS (registration sends the shared secret, so use TLS beyond loopback)' })
        .option('tls-key', { type: 'string', describe: 'PEM private key for --tls-cert' })
        .option('allow-private-endpoints', {
          type: 'boolean',
          describe: 'Accept site endpoints on loopback/private addresses (refused by default: the hub must not be aimed at internal services)',
        })
        .epilogue(
          `${HOW}\n\nLogs one JSON object per line on stderr. Failed authentication is limited per source address and per credential ` +
            '(429 past the limit; a valid request is never locked out), registration per address and overall; bodies are capped. ' +
            'SIGTERM or SIGINT stops it.',
        )
        .epilogue(examples('countersign hub serve --db sqlite:hub.db --bundles bundles --listen 0.0.0.0:8443 --tls-cert hub.pem --tls-key hub-key.pem')),
    handler: async (args) => {
      if (Boolean(args['tls-cert']) !== Boolean(args['tls-key'])) throw new UsageError('USAGE', '--tls-cert and --tls-key go together');
      const { openRegistry } = await import('../lib/hub/open-registry.js');
      const { hubRequestHandler } = await import('../lib/hub/server.js');
      const { listen, parseListen } = await import('../lib/distribution/listen.js');
      const address = parseListen(args.listen);
      const tls = args['tls-cert'] ? { cert: args['tls-cert'], key: args['tls-key']! } : undefined;
      const registry = await openRegistry(dbUrl(ctx, args));
      const log = (event: Record<string, unknown>) => ctx.err(stringifyForOutput({ time: new Date().toISOString(), ...event }));
      // Bound first so that port 0 works: the public URL (pinned in every MAC) needs the real port.
      let handler: ReturnType<typeof hubRequestHandler> | undefined;
      const server = await listen((req, res) => handler!(req, res), { ...address, tls });
      const publicUrl = new URL(
        args['public-url'] ?? `${tls ? 'https' : 'http'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${server.port}/`,
      );
      handler = hubRequestHandler({ registry, bundlesDir: args.bundles, publicUrl, allowPrivateEndpoints: Boolean(args['allow-private-endpoints']), log });
      log({ event: 'listening', url: publicUrl.href, registry: registry.kind });
      await untilSignal();
      await server.close();
      await registry.close();
    },
  };
}

function publishCommand(ctx: Context): CommandModule<object, PublishArgs> {
  return {
    command: 'publish <bundle>',
    describe: "Verify a bundle against the hub's own trust store and add it to the index",
    builder: (y) =>
      y
        .positional('bundle', { type: 'string', demandOption: true, describe: 'The assembled bundle' })
        .options(dbOptions)
        .option('store', { type: 'string', demandOption: true, describe: "The hub's trust store (countersign trust init): the policy bundles must meet" })
        .epilogue(
          'The bundle is copied into --bundles, the copy is verified (quorum, digests, expiry, revocations) and hashed, and only then ' +
            'offered, under PRODUCT-COMPONENT-VERSION with its applies-to versions and risk. Publishing the same bundle again changes nothing; ' +
            'another bundle under a name already offered is refused (REGISTRY). Exit 0 published, 1 rejected, 2 usage, I/O or registry error.',
        )
        .epilogue(examples('countersign hub publish drupal-10.2.4.bundle --db sqlite:hub.db --bundles bundles --store hub-trust')),
    handler: async (args) => {
      const { openRegistry } = await import('../lib/hub/open-registry.js');
      const { publishBundle } = await import('../lib/hub/publish.js');
      const url = dbUrl(ctx, args);
      let registry: Awaited<ReturnType<typeof openRegistry>> | undefined;
      try {
        // Opened only once the bundle has verified: a rejected bundle creates no database.
        const r = await withBundlePath(args.bundle, (bundlePath) =>
          publishBundle(async () => (registry = await openRegistry(url)), { bundlePath, bundlesDir: args.bundles, storeDir: args.store, now: ctx.now }),
        );
        const m = r.manifest;
        const risk = m.risk ? `${m.risk.level} (${m.risk.score}/25)` : 'no risk score';
        succeed(ctx, args, { published: r.outcome === 'added', offer: { ...r.offer }, signedBy: r.signedBy }, [
          `${r.outcome === 'added' ? 'Published' : 'Already published'}: ${r.offer.name} (${m.product} ${m.component} ${m.version}, ${risk})`,
          `  applies to: ${m.appliesTo.length > 0 ? m.appliesTo.join(', ') : 'any version'}`,
          `  signed by: ${r.signedBy.map((s) => s.name).join(', ')}`,
          `  ${r.offer.size} bytes, sha256 ${r.offer.sha256}`,
        ]);
      } finally {
        await registry?.close();
      }
    },
  };
}

function pushCommand(ctx: Context): CommandModule<object, PushArgs> {
  return {
    command: 'push',
    describe: "Run one update event: push the index to every registered site and hold each site's conversation",
    builder: (y) =>
      y
        .options(dbOptions)
        .option('concurrency', { type: 'number', default: 64, describe: 'Sites talked to at once by this process' })
        .option('only-risk-at-least', { type: 'string', describe: `Offer only releases at or above this risk level (${RISK_LEVELS.join(', ')})` })
        .option('max-attempts', { type: 'number', default: 5, describe: 'Attempts per site before it is recorded as failed' })
        .option('retry-base-ms', { type: 'number', default: 2000, describe: 'First retry delay (doubles per attempt, with jitter, at most 10 minutes)' })
        .option('allow-private-endpoints', { type: 'boolean', describe: 'Talk to endpoints on loopback/private addresses' })
        .option('progress', { type: 'boolean', describe: 'Show the progress bar even when stderr is not a terminal' })
        .epilogue(
          'A campaign fixes its offers and enrols every site with an endpoint when it starts. Each delivery is leased from the registry, ' +
            'so several `hub push` processes (on several machines, with PostgreSQL) share one campaign. After a crash, run `hub push` again: ' +
            'it resumes the unfinished campaign; sites already done are not contacted again, and a site that finished a campaign answers ' +
            '"done" without receiving anything twice. Exit 0 when every site is done, 1 when some failed, 2 usage, I/O or registry error.',
        )
        .epilogue(examples('countersign hub push --db sqlite:hub.db --bundles bundles --only-risk-at-least "Highly Critical"')),
    handler: async (args) => {
      const minRisk = riskFlag('--only-risk-at-least', args['only-risk-at-least']);
      for (const flag of ['concurrency', 'max-attempts', 'retry-base-ms'] as const) {
        if (!Number.isInteger(args[flag]) || args[flag] < (flag === 'retry-base-ms' ? 0 : 1))
          throw new UsageError('USAGE', `--${flag} must be a positive integer`);
      }
      const { openRegistry } = await import('../lib/hub/open-registry.js');
      const { runPush } = await import('../lib/hub/push.js');
      const { Agent } = await import('node:http');
      const https = await import('node:https');
      const registry = await openRegistry(dbUrl(ctx, args));
      const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
      const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: args.concurrency });
      const bar = args.progress || (!args.json && process.stderr.isTTY);
      try {
        const summary = await runPush({
          registry,
          bundlesDir: args.bundles,
          concurrency: args.concurrency,
          minRisk,
          allowPrivate: Boolean(args['allow-private-endpoints']),
          maxAttempts: args['max-attempts'],
          retryBaseMs: args['retry-base-ms'],
          agent,
          httpsAgent,
          onProgress: bar ? (p) => process.stderr.write(`\r${progressBar(p)}`) : undefined,
        });
        if (bar) process.stderr.write('\n');
        ctx.exitCode = summary.failed > 0 ? 1 : 0;
        const c = summary.conversationMs;
        const human = [
          `Campaign ${summary.campaign}${summary.resumed ? ' (resumed)' : ''}: ${summary.offers.join(', ')}`,
          `  sites: ${summary.total} (done ${summary.done}, failed ${summary.failed}) in ${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.rate.toFixed(1)} sites/s`,
          `  packages: installed ${summary.packages.installed}, verified ${summary.packages.verified}, rejected ${summary.packages.rejected}, failed ${summary.packages.failed}, partly installed ${summary.packages.partial}`,
        ];
        if (c) human.push(`  conversation: p50 ${c.p50} ms, p99 ${c.p99} ms, max ${c.max} ms`);
        for (const f of summary.failedSites) human.push(failedLine(f));
        if (args.json) ctx.out(stringifyForOutput({ ok: summary.failed === 0, ...summary }));
        else ctx.out(human.join('\n'));
      } finally {
        agent.destroy();
        httpsAgent.destroy();
        await registry.close();
      }
    },
  };
}

function statusCommand(ctx: Context): CommandModule<object, StatusArgs> {
  return {
    command: 'status',
    describe: 'Show what an update event did: progress, packages per status, and every site that failed',
    builder: (y) =>
      y
        .option('db', dbOptions.db)
        .option('campaign', { type: 'string', describe: 'The campaign id (default: the newest)' })
        .epilogue(
          'Reads the registry only. Exit 0 when every site of the campaign is done, 1 when some failed or are still pending, 2 usage or registry error.',
        )
        .epilogue(examples('countersign hub status --db sqlite:hub.db')),
    handler: async (args) => {
      const { openRegistry } = await import('../lib/hub/open-registry.js');
      const { campaignReport } = await import('../lib/hub/status.js');
      const registry = await openRegistry(dbUrl(ctx, { ...args, bundles: '' }), { mustExist: true });
      try {
        const report = await campaignReport(registry, args.campaign);
        if (!report) throw new UsageError('USAGE', args.campaign ? `no campaign ${args.campaign}` : 'no campaign yet: run hub push');
        const { campaign: c, progress: p, packages: k } = report;
        const complete = p.failed === 0 && p.pending === 0 && p.running === 0 && report.polling.unseen === 0;
        ctx.exitCode = complete ? 0 : 1;
        if (args.json) return void ctx.out(stringifyForOutput({ ok: complete, ...report }));
        const lines = [
          `Campaign ${c.id}: ${c.offers.join(', ')}${c.minRisk ? ` (at least ${c.minRisk})` : ''}`,
          `  created ${c.created}, ${c.finished ? `finished ${c.finished}` : 'not finished'}; ${report.sites} sites registered`,
          `  sites: ${p.total} (done ${p.done}, failed ${p.failed}, pending ${p.pending}, in progress ${p.running})`,
          `  packages: installed ${k.installed}, verified ${k.verified}, rejected ${k.rejected}, failed ${k.failed}, partly installed ${k.partial}`,
        ];
        const q = report.polling;
        lines.push(`  polling sites: ${q.total} (seen since the campaign began ${q.seen}, not yet ${q.unseen})`);
        for (const f of report.failed) lines.push(failedLine(f));
        for (const s of q.sites.filter((x) => !x.seen)) lines.push(`  NOT SEEN ${s.site} (polls; last seen ${s.lastSeen ?? 'never'})`);
        for (const q of report.problems)
          lines.push(`  ${q.result.status.toUpperCase()} ${q.site}: ${q.result.name} ${q.result.code ?? ''} ${q.result.message ?? ''}`);
        ctx.out(lines.join('\n'));
      } finally {
        await registry.close();
      }
    },
  };
}

function failedLine(f: FailedSite): string {
  return `  FAILED ${f.site} ${f.endpoint ?? ''} after ${f.attempts} attempts: ${f.code ?? '?'} ${f.message ?? ''}`;
}

function progressBar(p: { total: number; done: number; failed: number; pending: number; rate: number }): string {
  const width = 30;
  const finished = p.done + p.failed;
  const filled = p.total === 0 ? width : Math.round((finished / p.total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${p.total} done ${p.done} failed ${p.failed} pending ${p.pending} ${p.rate.toFixed(0)} sites/s `;
}
