// The site endpoint (`countersign site serve`): the HTTP handler the hub pushes to. Every request must
// carry a valid Hawk header for this site's credentials before its body is read; every answer is
// signed back. A package is accepted only when this conversation asked for it, only up to the size the
// index announced, and only when its bytes match the signed payload hash; the SiteAgent's backend then
// verifies it against the trust store. Forged requests cost a header parse and one HMAC.
import { unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CountersignError, DistributionError } from '../core/errors.js';
import { NonceCache, type HawkCredentials } from '../distribution/hawk.js';
import {
  authenticate,
  readAuthenticatedBody,
  replyJson,
  replySignedError,
  replyUnsigned,
  statusFor,
  type Authenticated,
  type HawkServerConfig,
} from '../distribution/hawk-server.js';
import { BUNDLE_TYPE, MAX_MESSAGE_BYTES, parseMessage, type IndexMessage, type SiteReply } from '../distribution/messages.js';
import { AuthLimits } from '../distribution/rate-limit.js';
import type { SiteAgent } from './agent.js';
import { spoolFile } from './spool.js';

export interface SiteEndpointOptions {
  /** The URL registered with the hub: its host and port are pinned, its path is the base of the routes. */
  endpoint: URL;
  /** This site's credentials (looked up per request, so a registration in progress is answered). */
  credentials: () => Promise<HawkCredentials | undefined>;
  agent: SiteAgent;
  /** Where received bundles are written (mode 0700 directory) until the backend is done with them. */
  spoolDir: string;
  /** The largest bundle accepted, whatever the index says. */
  maxBundleBytes: number;
  limits?: AuthLimits;
  nonces?: NonceCache;
  log?: (event: Record<string, unknown>) => void;
}

const MAX_HELLO_BYTES = 16 * 1024;

export function siteRequestHandler(opts: SiteEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const base = opts.endpoint.pathname.replace(/\/+$/, '');
  const config: HawkServerConfig = {
    host: opts.endpoint.hostname,
    port: Number(opts.endpoint.port) || (opts.endpoint.protocol === 'https:' ? 443 : 80),
    nonces: opts.nonces ?? new NonceCache(),
    limits: opts.limits ?? new AuthLimits(),
    lookup: async (id) => {
      const creds = await opts.credentials();
      return creds && creds.id === id ? creds.key : undefined;
    },
    log: opts.log,
  };
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://site.invalid');
    const route = url.pathname.startsWith(`${base}/`) ? url.pathname.slice(base.length) : '';
    if (req.method !== 'POST' || !['/hello', '/index', '/package'].includes(route)) {
      return replyUnsigned(res, 404, 'NOT_FOUND', 'no such endpoint');
    }
    const auth = await authenticate(req, res, config);
    if (!auth) return;
    try {
      if (route === '/hello') return await hello(req, res, auth);
      if (route === '/index') return await index(req, res, auth, opts);
      return await pkg(req, res, auth, url, opts);
    } catch (err) {
      if (!(err instanceof CountersignError)) {
        opts.log?.({ event: 'error', message: (err as Error).message });
        err = new DistributionError('PROTOCOL', 'the site could not handle the request');
      }
      if (res.headersSent) return void res.destroy();
      replySignedError(res, auth, statusFor(err as CountersignError), err as CountersignError);
    }
  };
}

async function hello(req: IncomingMessage, res: ServerResponse, auth: Authenticated): Promise<void> {
  const { body } = await readAuthenticatedBody(req, auth, { max: MAX_HELLO_BYTES });
  const message = parseMessage<SiteReply>('site-reply', body, 'hello');
  if (message.type !== 'hello' || message.site !== auth.creds.id) throw new DistributionError('PROTOCOL', 'hello names another site');
  replyJson(res, auth, 200, { type: 'hello', site: auth.creds.id });
}

async function index(req: IncomingMessage, res: ServerResponse, auth: Authenticated, opts: SiteEndpointOptions): Promise<void> {
  const { body } = await readAuthenticatedBody(req, auth, { max: MAX_MESSAGE_BYTES });
  const message = parseMessage<IndexMessage>('hub-index', body, 'index');
  if (message.campaign === null) throw new DistributionError('PROTOCOL', 'a pushed index names its campaign');
  opts.log?.({ event: 'index', campaign: message.campaign, offers: message.offers.length });
  replyJson(res, auth, 200, await opts.agent.onIndex(message));
}

async function pkg(req: IncomingMessage, res: ServerResponse, auth: Authenticated, url: URL, opts: SiteEndpointOptions): Promise<void> {
  const campaign = url.searchParams.get('campaign') ?? '';
  const name = url.searchParams.get('name') ?? '';
  const entry = opts.agent.claim(campaign, name);
  if (!entry) throw new DistributionError('PROTOCOL', `this site did not ask for ${JSON.stringify(name)} in campaign ${JSON.stringify(campaign)}`);
  if (req.headers['content-type'] !== BUNDLE_TYPE) throw new DistributionError('PROTOCOL', `a package is sent as ${BUNDLE_TYPE}`);
  const file = spoolFile(opts.spoolDir);
  const received = await readAuthenticatedBody(req, auth, { max: Math.min(entry.size, opts.maxBundleBytes), file });
  if (received.sha256 !== entry.sha256) opts.log?.({ event: 'package-differs-from-index', name });
  let reply: SiteReply;
  try {
    reply = await opts.agent.onPackage(campaign, entry, file);
  } finally {
    // unlink, not rm(): a spooled bundle is a plain file, and rm() would lstat it first, once per push. A file left
    // behind must not cost the hub its answer: site serve and site poll clear stale spool files when they start.
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') opts.log?.({ event: 'spool-not-removed', file, code: err.code ?? null });
    });
  }
  replyJson(res, auth, 200, reply);
}
