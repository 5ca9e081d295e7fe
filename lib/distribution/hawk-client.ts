// The Hawk client side of the hub/site conversation: a call that signs its request and accepts only a
// response signed with the same secret (Server-Authorization, payload hash required). Hub and site both call
// with it (spec/hawk.md).
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { errnoOf } from '../core/errno.js';
import { AuthError, CountersignError, DistributionError } from '../core/errors.js';
import {
  authenticateResponse,
  authenticateStaleTimestamp,
  clientAuthorization,
  headerValue,
  payloadHash,
  payloadHasher,
  type HawkArtifacts,
  type HawkCredentials,
} from './hawk.js';
import { guardedLookup, isPrivateAddress } from './address-guard.js';

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
  /** The Hawk payload hash of `bytes`, when computed beforehand (the same body sent to many peers). */
  hawkHash?: string;
  /** A file sent as the body, with its Hawk payload hash computed beforehand. */
  file?: { path: string; size: number; hawkHash: string };
}

export interface CallOptions {
  maxResponseBytes: number;
  /** Stream the response body into this new file (mode 0600) instead of memory; not fsynced (see BodyOptions.file). */
  responseFile?: string;
}

export interface CallResult {
  status: number;
  contentType: string;
  /** The body (empty when it went to responseFile). */
  body: Uint8Array;
  size: number;
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
  const hash = body?.file ? body.file.hawkHash : (body?.hawkHash ?? payloadHash(contentType, body?.bytes ?? new Uint8Array()));
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

async function exchange(
  request: http.ClientRequest,
  url: URL,
  peer: Peer,
  artifacts: HawkArtifacts,
  body: CallBody | undefined,
  opts: CallOptions,
): Promise<CallResult> {
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
  return { status, contentType: received.contentType, body: received.body, size: received.size };
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
      if (fh) await fh.write(chunk);
      else chunks.push(chunk);
    }
  } catch (err) {
    if (fh) await rm(opts.responseFile!, { force: true });
    if (err instanceof CountersignError) throw err;
    throw unreachable(url, err);
  } finally {
    await fh?.close();
  }
  return { contentType, body: Buffer.concat(chunks), size, hawkHash: hawk.digest() };
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
  return new DistributionError('UNREACHABLE', `cannot reach ${url.host}: ${errnoOf(err)}`);
}
