// Hawk-authenticated HTTP for the hub/site conversation, both sides of it: a client call that signs its
// request and accepts only a response signed with the same secret (Server-Authorization, payload hash
// required), and the server-side steps (authenticate before reading the body, read a capped body and
// check its hash, answer signed). Hub and site use the same functions in both directions.
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants } from 'node:fs';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { utf8 } from '../core/bytes.js';
import { AuthError, CountersignError, DistributionError } from '../core/errors.js';
import {
  authenticateRequest,
  authenticateResponse,
  authenticateStaleTimestamp,
  checkPayload,
  clientAuthorization,
  payloadHash,
  payloadHasher,
  serverAuthorization,
  type HawkArtifacts,
  type HawkCredentials,
  type NonceCache,
} from '../hawk.js';
import { stringifyForOutput } from '../core/json.js';
import { JSON_TYPE } from './messages.js';
import type { AuthLimits } from './rate-limit.js';

// ---------------------------------------------------------------------------------------------
// Client

export interface Peer {
  /** The peer's base URL (hub: https://hub.example; site: its registered endpoint). */
  base: URL;
  creds: HawkCredentials;
  /** Allow loopback, private and link-local addresses (tests, a hub on a private network). */
  allowPrivate: boolean;
  /** Keep-alive agents, one per protocol (an http.Agent cannot carry https). */
  agents?: { http?: http.Agent; https?: https.Agent };
  /** The whole call's deadline, sending and receiving included; files add a second per MiB. Default 30 s. */
  timeoutMs?: number;
  /** Added to the local clock when signing; learnt from a peer's signed stale-timestamp answer. */
  clockOffsetMs?: number;
}

export interface CallBody {
  contentType: string;
  bytes?: Uint8Array;
  /** A file sent as the body, with its Hawk payload hash computed beforehand. */
  file?: { path: string; size: number; hawkHash: string };
}

export interface CallOptions {
  maxResponseBytes: number;
  /** Stream the response body into this new file (mode 0600) instead of memory. */
  responseFile?: string;
}

export interface CallResult {
  status: number;
  contentType: string;
  /** The body (empty when it went to responseFile). */
  body: Uint8Array;
  size: number;
  /** SHA-256 (hex) of the body. */
  sha256: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MIB = 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_CLOCK_OFFSET_MS = 24 * 3600_000;

/**
 * Sends one Hawk-signed request and returns the response only when its Server-Authorization verifies
 * over the exact bytes received. A peer's signed "stale timestamp" answer corrects the clock offset and
 * the call is retried once. Failures: UNREACHABLE (network), TOO_LARGE, AuthError (401/429, bad
 * server signature), PROTOCOL or UNKNOWN_PACKAGE for a signed error answer.
 */
export async function hawkCall(peer: Peer, method: 'GET' | 'POST', path: string, body: CallBody | undefined, opts: CallOptions): Promise<CallResult> {
  try {
    return await callOnce(peer, method, path, body, opts);
  } catch (err) {
    const stale = err instanceof AuthError && err.code === 'STALE_TIMESTAMP' ? (err.details.serverTs as number) : undefined;
    if (stale === undefined) throw err;
    const offset = stale * 1000 - Date.now();
    // A signed timestamp can be replayed from long ago: never follow it further than a day.
    if (Math.abs(offset) > MAX_CLOCK_OFFSET_MS) throw err;
    peer.clockOffsetMs = offset;
    return await callOnce(peer, method, path, body, opts);
  }
}

async function callOnce(peer: Peer, method: 'GET' | 'POST', path: string, body: CallBody | undefined, opts: CallOptions): Promise<CallResult> {
  const url = new URL(path, peer.base);
  // A literal address is connected to without a DNS lookup, so the lookup guard never sees it.
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!peer.allowPrivate && isIP(literal) !== 0 && isPrivateAddress(literal)) {
    throw new DistributionError('UNREACHABLE', `${url.host} is a private address; not allowed here`);
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const contentType = body?.contentType ?? '';
  const hash = body?.file ? body.file.hawkHash : payloadHash(contentType, body?.bytes ?? new Uint8Array());
  const { header, artifacts } = clientAuthorization(
    peer.creds,
    { method, resource: url.pathname + url.search, host: url.hostname, port },
    { payloadHash: hash, now: Date.now() + (peer.clockOffsetMs ?? 0) },
  );
  const headers: Record<string, string | number> = { authorization: header, 'content-length': body?.file?.size ?? body?.bytes?.length ?? 0 };
  if (body) headers['content-type'] = contentType;
  const secure = url.protocol === 'https:';
  // One deadline for the whole exchange: a peer trickling bytes cannot hold the call open.
  const sizeBytes = Math.max(body?.file?.size ?? 0, opts.responseFile ? opts.maxResponseBytes : 0);
  const deadlineMs = (peer.timeoutMs ?? DEFAULT_TIMEOUT_MS) + Math.ceil(sizeBytes / MIB) * 1000;
  let request: http.ClientRequest;
  try {
    request = (secure ? https : http).request(url, {
      method,
      headers,
      agent: secure ? peer.agents?.https : peer.agents?.http,
      lookup: guardedLookup(peer.allowPrivate),
      timeout: peer.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  } catch (err) {
    throw unreachable(url, err);
  }
  const deadline = setTimeout(() => request.destroy(new Error(`no complete answer within ${deadlineMs} ms`)), deadlineMs);
  try {
    return await exchange(request, url, peer, artifacts, body, opts);
  } finally {
    clearTimeout(deadline);
  }
}

async function exchange(request: http.ClientRequest, url: URL, peer: Peer, artifacts: HawkArtifacts, body: CallBody | undefined, opts: CallOptions): Promise<CallResult> {
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('timeout', () => request.destroy(new Error('timed out')));
    request.once('error', reject);
  });
  sendBody(request, body);
  let res: IncomingMessage;
  try {
    res = await response;
  } catch (err) {
    throw unreachable(url, err);
  }
  // A connection lost mid-answer ends the read; one closed after the whole answer arrived (no keep-alive) does not.
  request.once('close', () => {
    if (!res.complete) res.destroy();
  });
  const received = await readResponse(res, opts, url);
  const serverAuth = headerValue(res.headers['server-authorization']);
  if (res.statusCode === 401 && !serverAuth) {
    const wwwAuth = headerValue(res.headers['www-authenticate']);
    if (wwwAuth?.includes('tsm=')) {
      throw new AuthError('STALE_TIMESTAMP', `${url.host} says our clock is off`, { serverTs: authenticateStaleTimestamp(peer.creds, wwwAuth) });
    }
    throw new AuthError('UNAUTHORIZED', `${url.host} did not accept our credentials`);
  }
  if (res.statusCode === 429) throw new AuthError('RATE_LIMITED', `${url.host} is limiting us; retry after ${res.headers['retry-after'] ?? '?'} s`);
  try {
    authenticateResponse(peer.creds, artifacts, serverAuth, received.hawkHash);
  } catch (err) {
    if (opts.responseFile) await rm(opts.responseFile, { force: true });
    throw err;
  }
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    if (opts.responseFile) await rm(opts.responseFile, { force: true });
    throw signedFailure(status, received.body, url);
  }
  return { status, contentType: received.contentType, body: received.body, size: received.size, sha256: received.sha256 };
}

/**
 * One request without Hawk (registration: there is no shared secret yet). Same address guard and total
 * deadline as hawkCall; a redirect is never followed (UNREACHABLE), and the answer is read up to
 * maxResponseBytes. Any status comes back: the caller decides what it means.
 */
export async function unsignedPost(
  url: URL,
  body: { contentType: string; bytes: Uint8Array },
  opts: { allowPrivate: boolean; agent?: http.Agent | https.Agent; timeoutMs?: number; maxResponseBytes: number },
): Promise<{ status: number; body: Uint8Array }> {
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivate && isIP(literal) !== 0 && isPrivateAddress(literal)) {
    throw new DistributionError('UNREACHABLE', `${url.host} is a private address; not allowed here`);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let request: http.ClientRequest;
  try {
    request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { 'content-type': body.contentType, 'content-length': body.bytes.length },
      agent: opts.agent,
      lookup: guardedLookup(opts.allowPrivate),
      timeout: timeoutMs,
    });
  } catch (err) {
    throw unreachable(url, err);
  }
  const deadline = setTimeout(() => request.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('timeout', () => request.destroy(new Error('timed out')));
      request.once('error', reject);
      request.end(body.bytes);
    }).catch((err: unknown) => {
      throw unreachable(url, err);
    });
    const status = res.statusCode ?? 0;
    if (status >= 300 && status <= 399) {
      res.destroy();
      throw new DistributionError('UNREACHABLE', `${url.host} answered with a redirect (${status}); it is not followed`);
    }
    const received = await readResponse(res, { maxResponseBytes: opts.maxResponseBytes }, url);
    return { status, body: received.body };
  } finally {
    clearTimeout(deadline);
  }
}

function sendBody(request: http.ClientRequest, body: CallBody | undefined): void {
  if (body?.file) {
    // pipeline closes the file when the request ends or fails, however early.
    pipeline(createReadStream(body.file.path), request).catch((err: Error) => request.destroy(err));
    return;
  }
  request.end(body?.bytes ?? undefined);
}

interface Received {
  contentType: string;
  body: Uint8Array;
  size: number;
  hawkHash: string;
  sha256: string;
}

async function readResponse(res: IncomingMessage, opts: CallOptions, url: URL): Promise<Received> {
  const contentType = headerValue(res.headers['content-type']) ?? '';
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > opts.maxResponseBytes) {
    res.destroy();
    throw new DistributionError('TOO_LARGE', `${url.host} answered with ${declared} bytes; at most ${opts.maxResponseBytes} are accepted`);
  }
  const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) <= 299;
  // An error answer is read before it is authenticated: it gets no more than an error needs.
  const max = ok ? opts.maxResponseBytes : Math.min(opts.maxResponseBytes, MAX_ERROR_BYTES);
  const toFile = ok && opts.responseFile !== undefined;
  const hawk = payloadHasher(contentType);
  const sha = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  const fh = toFile ? await open(opts.responseFile!, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) : undefined;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        res.destroy();
        throw new DistributionError('TOO_LARGE', `${url.host} sent more than ${max} bytes`);
      }
      hawk.update(chunk);
      sha.update(chunk);
      if (fh) await fh.write(chunk);
      else chunks.push(chunk);
    }
    if (fh) await fh.sync();
  } catch (err) {
    if (fh) await rm(opts.responseFile!, { force: true });
    if (err instanceof CountersignError) throw err;
    throw unreachable(url, err);
  } finally {
    await fh?.close();
  }
  return { contentType, body: Buffer.concat(chunks), size, hawkHash: hawk.digest(), sha256: sha.digest('hex') };
}

function signedFailure(status: number, body: Uint8Array, url: URL): CountersignError {
  let code = '';
  let message = `${url.host} answered ${status}`;
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    if (typeof parsed.error?.message === 'string') message = `${url.host}: ${parsed.error.message}`;
  } catch {
    // not JSON: the status says enough
  }
  if (status === 404 || code === 'UNKNOWN_PACKAGE') return new DistributionError('UNKNOWN_PACKAGE', message, { status });
  if (status === 413 || code === 'TOO_LARGE') return new DistributionError('TOO_LARGE', message, { status });
  if (code === 'NOT_REGISTERED') return new DistributionError('NOT_REGISTERED', message, { status });
  return new DistributionError('PROTOCOL', message, { status, peerCode: code || null });
}

function unreachable(url: URL, err: unknown): DistributionError {
  const e = err as NodeJS.ErrnoException;
  return new DistributionError('UNREACHABLE', `cannot reach ${url.host}: ${e.code ?? e.message}`);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

// Addresses a hub must not be talked into calling (SSRF through a registered endpoint) unless allowed.
const PRIVATE = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
// NAT64 and 6to4 embed IPv4 addresses, private ones included.
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2002::', 16]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family === 0 || PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether `host` (a name or a literal) resolves to any loopback or private address; unresolvable counts as private. */
export async function resolvesToPrivate(host: string): Promise<boolean> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return isPrivateAddress(bare);
  try {
    return (await dnsPromises.lookup(bare, { all: true })).some((a) => isPrivateAddress(a.address));
  } catch {
    return true;
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup that refuses private addresses unless allowed; applied to the address actually connected to. */
function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, options, (err, address, family) => {
      if (err || allowPrivate) return (callback as (...a: unknown[]) => void)(err, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const bad = addresses.find((a) => isPrivateAddress(a));
      if (bad) return callback(Object.assign(new Error(`${hostname} resolves to a private address (${bad})`), { code: 'EPRIVATE' }), '', 0);
      (callback as (...a: unknown[]) => void)(null, address, family);
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Server

export interface HawkServerConfig {
  /** The host and port this server is reached at (its public URL), pinned: never read from the request. */
  host: string;
  port: number;
  nonces: NonceCache;
  limits: AuthLimits;
  lookup: (id: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  log?: (event: Record<string, unknown>) => void;
}

export interface Authenticated {
  creds: HawkCredentials;
  artifacts: HawkArtifacts;
}

/**
 * Authenticates a request from its headers alone (the body is not read yet). On failure it answers
 * (401, the same for unknown and wrong credentials; 429 past a limit; 401 with a signed timestamp when
 * the client's clock is off) and returns undefined.
 */
export async function authenticate(req: IncomingMessage, res: ServerResponse, cfg: HawkServerConfig): Promise<Authenticated | undefined> {
  const now = Date.now();
  const address = addressKey(req.socket.remoteAddress ?? 'unknown');
  if (cfg.limits.refuseAddress(address, now)) {
    replyUnsigned(res, 429, 'RATE_LIMITED', 'too many failed attempts', { 'retry-after': String(cfg.limits.retryAfterSeconds(address, now)) });
    return undefined;
  }
  try {
    const { credentials, artifacts } = await authenticateRequest(
      { method: req.method ?? '', resource: req.url ?? '', host: cfg.host, port: cfg.port, authorization: headerValue(req.headers.authorization) },
      { now, nonces: cfg.nonces, lookup: cfg.lookup },
    );
    cfg.limits.succeeded(address, now);
    return { creds: credentials, artifacts };
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    // A stale clock or a replay comes after a MAC that verified: the key holder's problem, not a guess at the key.
    if (err.code === 'STALE_TIMESTAMP' && typeof err.details.wwwAuthenticate === 'string') {
      replyUnsigned(res, 401, 'UNAUTHORIZED', 'not authenticated', { 'www-authenticate': err.details.wwwAuthenticate });
      return undefined;
    }
    if (err.code === 'REPLAYED') {
      replyUnsigned(res, 401, 'UNAUTHORIZED', 'not authenticated');
      return undefined;
    }
    // Only ids shaped like ours get a counter, so made-up ids cannot crowd out real ones.
    const credential = typeof err.details.id === 'string' && SITE_ID.test(err.details.id) ? err.details.id : undefined;
    const limited = cfg.limits.failed(address, credential, now);
    if (limited) replyUnsigned(res, 429, 'RATE_LIMITED', 'too many failed attempts', { 'retry-after': String(cfg.limits.retryAfterSeconds(address, now)) });
    else {
      cfg.log?.({ event: 'auth-failed', code: err.code, address, credential: credential ?? null });
      replyUnsigned(res, 401, 'UNAUTHORIZED', 'not authenticated');
    }
    return undefined;
  }
}

const SITE_ID = /^[0-9a-f]{32}$/;

/** The key a source address is limited under: IPv6 by its /64 (one host usually holds a whole /64). */
export function addressKey(address: string): string {
  if (isIP(address) !== 6 || address.startsWith('::ffff:')) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface BodyOptions {
  max: number;
  /** Stream the body into this new file (mode 0600) instead of memory. */
  file?: string;
}

export interface ReceivedBody {
  body: Uint8Array;
  size: number;
  sha256: string;
}

/**
 * Reads an authenticated request's body (capped: a larger declared or actual size is TOO_LARGE) and
 * checks it against the payload hash the client signed: PAYLOAD_MISMATCH otherwise (a written file is
 * removed). Nothing in it is acted on before this returns.
 */
export async function readAuthenticatedBody(req: IncomingMessage, auth: Authenticated, opts: BodyOptions): Promise<ReceivedBody> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (!Number.isSafeInteger(declared)) throw new DistributionError('PROTOCOL', 'a request body needs a Content-Length');
  if (declared > opts.max) throw new DistributionError('TOO_LARGE', `the body is ${declared} bytes; at most ${opts.max} are accepted`);
  const hawk = payloadHasher(headerValue(req.headers['content-type']) ?? '');
  const sha = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  const fh = opts.file ? await open(opts.file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) : undefined;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > declared) throw new DistributionError('PROTOCOL', 'the body is longer than its Content-Length');
      hawk.update(chunk);
      sha.update(chunk);
      if (fh) await fh.write(chunk);
      else chunks.push(chunk);
    }
    if (size !== declared) throw new DistributionError('PROTOCOL', 'the body ended before its Content-Length');
    if (fh) await fh.sync();
    checkPayload(auth.artifacts, hawk.digest());
  } catch (err) {
    if (fh) await rm(opts.file!, { force: true });
    throw err;
  } finally {
    await fh?.close();
  }
  return { body: Buffer.concat(chunks), size, sha256: sha.digest('hex') };
}

/** Answers with a signed JSON body. */
export function replyJson(res: ServerResponse, auth: Authenticated, status: number, value: unknown): void {
  const body = utf8(stringifyForOutput(value));
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': body.length,
    'server-authorization': serverAuthorization(auth.creds, auth.artifacts, { payloadHash: payloadHash(JSON_TYPE, body) }),
  });
  res.end(body);
}

/** Answers a signed error: the client can tell a real refusal from a forged one. */
export function replySignedError(res: ServerResponse, auth: Authenticated, status: number, err: CountersignError): void {
  replyJson(res, auth, status, { error: { code: err.code, message: err.message } });
}

/** Streams a file as a signed body whose Hawk payload hash was computed beforehand. */
export async function replyFile(res: ServerResponse, auth: Authenticated, contentType: string, file: { path: string; size: number; hawkHash: string }): Promise<void> {
  const stream = createReadStream(file.path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': file.size,
    'server-authorization': serverAuthorization(auth.creds, auth.artifacts, { payloadHash: file.hawkHash }),
  });
  // pipeline closes the file when the client goes away mid-download.
  await pipeline(stream, res).catch(() => undefined);
}

/** An unauthenticated answer; the connection is closed after it so an unread body is never consumed. */
export function replyUnsigned(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const body = utf8(JSON.stringify({ error: { code, message } }));
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': body.length, connection: 'close' });
  res.end(body);
}

/** HTTP status for a failure while serving an authenticated request. */
export function statusFor(err: CountersignError): number {
  switch (err.code) {
    case 'TOO_LARGE':
      return 413;
    case 'UNKNOWN_PACKAGE':
      return 404;
    case 'PAYLOAD_MISMATCH':
      return 401;
    default:
      return 400;
  }
}

/** Conservative server timeouts: a slow or silent client cannot hold connections open. */
export function hardenServer(server: http.Server): void {
  server.headersTimeout = 10_000;
  server.requestTimeout = 300_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  server.maxRequestsPerSocket = 1000;
}
