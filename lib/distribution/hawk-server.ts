// The Hawk server-side steps of the hub/site conversation: authenticate before reading the body, read a
// capped body and check its hash, answer signed. Hub and site serve with the same functions (spec/hawk.md).
import { open, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { constants } from 'node:fs';
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { utf8 } from '../core/bytes.js';
import { AuthError, CountersignError, DistributionError } from '../core/errors.js';
import {
  authenticateRequest,
  checkPayload,
  headerValue,
  payloadHash,
  payloadHasher,
  serverAuthorization,
  type HawkArtifacts,
  type HawkCredentials,
  type NonceCache,
} from './hawk.js';
import { stringifyForOutput } from '../core/json.js';
import { JSON_TYPE } from './messages.js';
import type { AuthLimits } from './rate-limit.js';

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
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export interface BodyOptions {
  max: number;
  /** Stream the body into this new file (mode 0600) instead of memory. It is not fsynced: a spool is scratch, and whoever keeps the file makes it durable. */
  file?: string;
}

export interface ReceivedBody {
  body: Uint8Array;
  size: number;
  /** SHA-256 (hex) of a body written to a file (the site compares it with the index), else undefined. */
  sha256: string | undefined;
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
  const sha = opts.file ? createHash('sha256') : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  const fh = opts.file ? await open(opts.file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) : undefined;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > declared) throw new DistributionError('PROTOCOL', 'the body is longer than its Content-Length');
      hawk.update(chunk);
      sha?.update(chunk);
      if (fh) await fh.write(chunk);
      else chunks.push(chunk);
    }
    if (size !== declared) throw new DistributionError('PROTOCOL', 'the body ended before its Content-Length');
    checkPayload(auth.artifacts, hawk.digest());
  } catch (err) {
    if (fh) await rm(opts.file!, { force: true });
    throw err;
  } finally {
    await fh?.close();
  }
  return { body: Buffer.concat(chunks), size, sha256: sha?.digest('hex') };
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
export async function replyFile(
  res: ServerResponse,
  auth: Authenticated,
  contentType: string,
  file: { path: string; size: number; hawkHash: string },
): Promise<void> {
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
