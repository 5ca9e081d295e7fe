// `hub serve`: the hub's HTTP API. Registration is the one unauthenticated request (rate-limited per
// address and overall, body capped), and the hub accepts an endpoint only after a Hawk-authenticated
// hello to it is answered with the same secret, so nobody can enlist a third party's URL as a push
// target. Everything else (the index, bundle downloads, poll reports) requires Hawk with the site's
// credentials and is answered signed. The hub holds no signing key: what it serves proves itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, join } from 'node:path';
import { fromBase64, utf8 } from '../core/bytes.js';
import { CountersignError, DistributionError } from '../core/errors.js';
import { HAWK_SKEW_SECONDS, NonceCache } from '../distribution/hawk.js';
import { resolvesToPrivate } from '../distribution/address-guard.js';
import { hawkCall } from '../distribution/hawk-client.js';
import {
  addressKey,
  authenticate,
  readAuthenticatedBody,
  replyFile,
  replyJson,
  replySignedError,
  replyUnsigned,
  statusFor,
  type Authenticated,
  type HawkServerConfig,
} from '../distribution/hawk-server.js';
import {
  BUNDLE_TYPE,
  JSON_TYPE,
  MAX_MESSAGE_BYTES,
  parseMessage,
  type IndexEntry,
  type Registration,
  type SiteReply,
  type PackageResult,
} from '../distribution/messages.js';
import { AuthLimits, RateLimiter } from '../distribution/rate-limit.js';
import { withSlash } from '../distribution/url.js';
import type { OfferRecord, Registry } from './registry.js';

export interface HubServerOptions {
  registry: Registry;
  /** Where published bundles are (an offer names its file in here). */
  bundlesDir: string;
  /** The URL sites reach the hub at: its host and port are pinned in every Hawk MAC. */
  publicUrl: URL;
  /** Let sites register endpoints on loopback or private addresses (tests, private networks). */
  allowPrivateEndpoints: boolean;
  limits?: AuthLimits;
  nonces?: NonceCache;
  /** Registrations per source address per minute (default 10) and overall (default 600). */
  registrationsPerAddress?: number;
  registrationsOverall?: number;
  log?: (event: Record<string, unknown>) => void;
}

const MAX_REGISTRATION_BYTES = 16 * 1024;
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Site keys as authentication looks them up: a site's key never changes once registered, so known keys
 * are kept (bounded), and an unknown id is remembered as unknown for a few seconds, so a flood of
 * forged requests costs an HMAC each, not a database query.
 */
function keyLookup(registry: Registry): (id: string) => Promise<Uint8Array | undefined> {
  const known = new Map<string, Uint8Array>();
  const unknown = new Map<string, number>();
  const MAX = 100_000;
  const UNKNOWN_MS = 5_000;
  return async (id) => {
    const key = known.get(id);
    if (key) return key;
    const since = unknown.get(id);
    if (since !== undefined && Date.now() - since < UNKNOWN_MS) return undefined;
    const site = await registry.getSite(id);
    if (!site) {
      unknown.delete(id);
      unknown.set(id, Date.now());
      if (unknown.size > MAX) unknown.delete(unknown.keys().next().value as string);
      return undefined;
    }
    unknown.delete(id);
    known.set(id, site.key);
    if (known.size > MAX) known.delete(known.keys().next().value as string);
    return site.key;
  };
}

/** The index a site sees: every offer, without hub-side paths. */
export function indexEntry(offer: OfferRecord): IndexEntry {
  const { name, product, component, version, appliesTo, risk, advisory, size, sha256 } = offer;
  return { name, product, component, version, appliesTo, risk, advisory, size, sha256 };
}

export function hubRequestHandler(opts: HubServerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const config: HawkServerConfig = {
    host: opts.publicUrl.hostname,
    port: Number(opts.publicUrl.port) || (opts.publicUrl.protocol === 'https:' ? 443 : 80),
    nonces: opts.nonces ?? new NonceCache(),
    limits: opts.limits ?? new AuthLimits(),
    lookup: keyLookup(opts.registry),
    log: opts.log,
  };
  const perAddress = new RateLimiter({ burst: opts.registrationsPerAddress ?? 10, windowMs: 60_000 });
  const overall = new RateLimiter({ burst: opts.registrationsOverall ?? 600, windowMs: 60_000 });
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://hub.invalid').pathname;
    try {
      if (req.method === 'POST' && path === '/v1/sites') return await register(req, res, opts, perAddress, overall);
      const route = routeOf(req.method, path);
      if (!route) return replyUnsigned(res, 404, 'NOT_FOUND', 'no such endpoint');
      const auth = await authenticate(req, res, config);
      if (!auth) return;
      if (!(await rememberedOnce(opts.registry, auth))) return replyUnsigned(res, 401, 'UNAUTHORIZED', 'not authenticated');
      try {
        await route(req, res, auth, opts, path);
      } catch (err) {
        if (res.headersSent) return void res.destroy();
        const known = err instanceof CountersignError ? err : internal(opts, err);
        replySignedError(res, auth, statusFor(known), known);
      }
    } catch (err) {
      const known = err instanceof CountersignError ? err : internal(opts, err);
      replyUnsigned(res, statusFor(known), known.code, known.message);
    }
  };
}

/**
 * The nonce also goes to the registry, which every hub process shares: a request replayed to another
 * process behind the same public URL is refused there too (each process's own cache only sees its own).
 */
async function rememberedOnce(registry: Registry, auth: Authenticated): Promise<boolean> {
  const { id, nonce, ts } = auth.artifacts;
  const expires = new Date((ts + HAWK_SKEW_SECONDS + 1) * 1000).toISOString();
  return registry.rememberNonce(id, nonce, ts, expires, new Date().toISOString());
}

type Route = (req: IncomingMessage, res: ServerResponse, auth: Authenticated, opts: HubServerOptions, path: string) => Promise<void>;

function routeOf(method: string | undefined, path: string): Route | undefined {
  if (method === 'GET' && path === '/v1/index') return index;
  if (method === 'GET' && path.startsWith('/v1/bundles/')) return bundle;
  if (method === 'POST' && path === '/v1/report') return report;
  return undefined;
}

async function index(req: IncomingMessage, res: ServerResponse, auth: Authenticated, opts: HubServerOptions): Promise<void> {
  await readAuthenticatedBody(req, auth, { max: 0 });
  const offers = (await opts.registry.listOffers()).map(indexEntry);
  replyJson(res, auth, 200, { type: 'index', campaign: null, offers });
}

async function bundle(req: IncomingMessage, res: ServerResponse, auth: Authenticated, opts: HubServerOptions, path: string): Promise<void> {
  await readAuthenticatedBody(req, auth, { max: 0 });
  const name = decodeURIComponent(path.slice('/v1/bundles/'.length));
  const offer = await opts.registry.getOffer(name);
  if (!offer) throw new DistributionError('UNKNOWN_PACKAGE', `no package ${JSON.stringify(name)} is on offer`);
  opts.log?.({ event: 'download', site: auth.creds.id, name });
  await replyFile(res, auth, BUNDLE_TYPE, { path: bundlePath(opts.bundlesDir, offer), size: offer.size, hawkHash: offer.hawkHash });
}

async function report(req: IncomingMessage, res: ServerResponse, auth: Authenticated, opts: HubServerOptions): Promise<void> {
  const { body } = await readAuthenticatedBody(req, auth, { max: MAX_MESSAGE_BYTES });
  const message = parseMessage<SiteReply>('site-reply', body, 'report');
  if (message.type !== 'done') throw new DistributionError('PROTOCOL', 'a report is a done message');
  opts.log?.({
    event: 'poll-report',
    site: auth.creds.id,
    results: message.results.map((r: PackageResult) => ({ name: r.name, status: r.status, code: r.code ?? null })),
  });
  // What `hub status` shows for sites that are never pushed to.
  await opts.registry.recordPoll(auth.creds.id, message.results, new Date().toISOString());
  replyJson(res, auth, 200, { type: 'done', results: [] });
}

async function register(req: IncomingMessage, res: ServerResponse, opts: HubServerOptions, perAddress: RateLimiter, overall: RateLimiter): Promise<void> {
  const now = Date.now();
  const address = addressKey(req.socket.remoteAddress ?? 'unknown');
  if (!perAddress.hit(address, now) || !overall.hit('*', now)) {
    return replyUnsigned(res, 429, 'RATE_LIMITED', 'too many registrations; try again later', { 'retry-after': '60' });
  }
  const body = await readCapped(req, MAX_REGISTRATION_BYTES);
  const registration = parseMessage<Registration>('site-registration', body, 'registration');
  const endpoint = registration.endpoint === null ? null : checkEndpoint(registration.endpoint);
  const creds = { id: registration.site, key: fromBase64(registration.key) };
  if (await opts.registry.getSite(creds.id)) throw new DistributionError('PROTOCOL', 'that site id is taken; register with a new one');
  // Where the endpoint points now is recorded: push follows a private address only for a site registered on one.
  const privateEndpoint = endpoint !== null && (await resolvesToPrivate(endpoint.hostname));
  if (endpoint) {
    if (privateEndpoint && !opts.allowPrivateEndpoints) {
      opts.log?.({ event: 'hello-failed', endpoint: endpoint.href, why: 'private address' });
      throw new DistributionError('ENDPOINT_UNVERIFIED', `the endpoint ${endpoint.href} did not answer the hub's hello with this site's secret`);
    }
    await sayHello(endpoint, creds, privateEndpoint, opts.log);
  }
  await opts.registry.addSite({
    id: creds.id,
    endpoint: endpoint?.href ?? null,
    key: creds.key,
    registered: new Date(now).toISOString(),
    address,
    privateEndpoint,
  });
  opts.log?.({ event: 'registered', site: creds.id, endpoint: endpoint?.href ?? null, address });
  const answer = utf8(JSON.stringify({ type: 'registered', site: creds.id, endpoint: endpoint?.href ?? null }));
  res.writeHead(201, { 'content-type': JSON_TYPE, 'content-length': answer.length });
  res.end(answer);
}

/** The endpoint must answer a Hawk-signed hello, signed back with the same secret. */
async function sayHello(endpoint: URL, creds: { id: string; key: Uint8Array }, allowPrivate: boolean, log: HubServerOptions['log']): Promise<void> {
  try {
    const answer = await hawkCall(
      { base: withSlash(endpoint), creds, allowPrivate, timeoutMs: HELLO_TIMEOUT_MS },
      'POST',
      'hello',
      { contentType: JSON_TYPE, bytes: utf8(JSON.stringify({ type: 'hello', site: creds.id })) },
      { maxResponseBytes: 16 * 1024 },
    );
    const reply = parseMessage<SiteReply>('site-reply', answer.body, 'hello answer');
    if (reply.type !== 'hello' || reply.site !== creds.id) throw new DistributionError('PROTOCOL', 'the endpoint answered for another site');
  } catch (err) {
    // The caller is unauthenticated: the reason stays in the hub's log, so registration cannot probe networks.
    log?.({ event: 'hello-failed', endpoint: endpoint.href, why: err instanceof CountersignError ? `${err.code}: ${err.message}` : (err as Error).message });
    throw new DistributionError('ENDPOINT_UNVERIFIED', `the endpoint ${endpoint.href} did not answer the hub's hello with this site's secret`);
  }
}

/** An offer's file inside the bundles directory (the registry stores the name only, so hubs may mount it anywhere). */
export function bundlePath(bundlesDir: string, offer: OfferRecord): string {
  return join(bundlesDir, basename(offer.file));
}

function checkEndpoint(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.hash || url.search) {
    throw new DistributionError('PROTOCOL', 'the endpoint must be an http(s) URL without credentials, query or fragment');
  }
  return url;
}

async function readCapped(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (!(declared <= max)) throw new DistributionError('TOO_LARGE', `a registration is at most ${max} bytes, with a Content-Length`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new DistributionError('TOO_LARGE', `a registration is at most ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function internal(opts: HubServerOptions, err: unknown): CountersignError {
  opts.log?.({ event: 'error', message: (err as Error).message });
  return new DistributionError('PROTOCOL', 'the hub could not handle the request');
}
