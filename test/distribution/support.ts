// Fixtures of the distribution tests: a hub (SQLite registry, published release, real HTTP on loopback)
// and sites (trust store, site tree, endpoint on loopback), wired with the same library calls the CLI uses.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type Listening } from '../../lib/distribution/listen.js';
import { publishBundle } from '../../lib/hub/publish.js';
import { openRegistry } from '../../lib/hub/open-registry.js';
import type { Registry } from '../../lib/hub/registry.js';
import { hubRequestHandler } from '../../lib/hub/server.js';
import { SiteAgent } from '../../lib/site/agent.js';
import { siteRequestHandler } from '../../lib/site/endpoint.js';
import { credentialsLookup } from '../../lib/site/credentials.js';
import { storeBackend, type SiteInstaller } from '../../lib/site/site-backend.js';
import { initStore } from '../../lib/node/trust-store.js';
import type { RiskLevel } from '../../lib/core/risk.js';
import { makeBundle, OLD, tempDir, writeSite, type Release } from '../installer/support.js';

const DAY = 86_400_000;

/** Built for the real clock: Hawk and the site's verification both use it. */
export function liveRelease(dir: string, opts: Parameters<typeof makeBundle>[1] = {}): Release {
  return makeBundle(dir, {
    ...opts,
    request: { created: new Date(Date.now() - DAY), expires: new Date(Date.now() + 30 * DAY), ...opts.request },
  });
}

export interface Hub {
  dir: string;
  url: URL;
  registry: Registry;
  bundles: string;
  store: string;
  server: Listening;
  events: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startHub(
  release: Pick<Release, 'policyBytes' | 'bundle'>,
  opts: { db?: string; allowPrivate?: boolean; registrationsPerAddress?: number } = {},
): Promise<Hub> {
  const dir = tempDir('countersign-hub-');
  const store = join(dir, 'trust');
  await initStore(store, release.policyBytes, { now: new Date() });
  const registry = await openRegistry(opts.db ?? `sqlite:${join(dir, 'hub.db')}`);
  const bundles = join(dir, 'bundles');
  await publishBundle(registry, { bundlePath: release.bundle, bundlesDir: bundles, storeDir: store, now: new Date() });
  const events: Array<Record<string, unknown>> = [];
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = await listen((req, res) => handler!(req, res), { host: '127.0.0.1', port: 0 });
  const url = new URL(`http://127.0.0.1:${server.port}/`);
  handler = hubRequestHandler({
    registry,
    bundlesDir: bundles,
    publicUrl: url,
    allowPrivateEndpoints: opts.allowPrivate ?? true,
    registrationsPerAddress: opts.registrationsPerAddress ?? 1000,
    log: (e) => events.push(e),
  });
  return {
    dir,
    url,
    registry,
    bundles,
    store,
    server,
    events,
    close: async () => {
      await server.close();
      await registry.close();
    },
  };
}

export interface Site {
  dir: string;
  root: string;
  store: string;
  spool: string;
  endpoint: URL;
  agent: SiteAgent;
  server: Listening;
  events: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A drupal 10.2.3 site with a trust store and a running endpoint (not yet registered). */
export async function startSite(
  release: Release,
  opts: { installer?: 'in-process' | 'inbox'; minRisk?: RiskLevel | null; installed?: string } = {},
): Promise<Site> {
  const dir = tempDir('countersign-site-');
  const root = writeSite(join(dir, 'www', 'site'), OLD);
  const store = join(dir, 'trust');
  await initStore(store, release.policyBytes, { now: new Date(), installed: [{ product: 'drupal', component: 'core', version: opts.installed ?? '10.2.3' }] });
  const spool = join(store, 'spool');
  mkdirSync(spool, { mode: 0o700 });
  const installer: SiteInstaller = opts.installer === 'inbox' ? { kind: 'inbox', dir: join(dir, 'inbox') } : { kind: 'in-process', site: root };
  const events: Array<Record<string, unknown>> = [];
  const agent = new SiteAgent(storeBackend({ storeDir: store, installer, minRisk: opts.minRisk ?? null, log: (e) => events.push(e) }), {
    minRisk: opts.minRisk ?? null,
  });
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = await listen((req, res) => handler!(req, res), { host: '127.0.0.1', port: 0 });
  const endpoint = new URL(`http://127.0.0.1:${server.port}/countersign`);
  handler = siteRequestHandler({
    endpoint,
    credentials: credentialsLookup(store),
    agent,
    spoolDir: spool,
    maxBundleBytes: 64 * 1024 * 1024,
    log: (e) => events.push(e),
  });
  return { dir, root, store, spool, endpoint, agent, server, events, close: () => server.close() };
}

export function inboxHas(site: Site, name: string): boolean {
  return existsSync(join(site.dir, 'inbox', `${name}.bundle`));
}
