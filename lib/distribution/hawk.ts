// Hawk HTTP authentication (github.com/mozilla/hawk, header version 1), the subset the hub and its
// sites speak: sha256 only, the payload hash always required, no bewits, no app/dlg (Oz) attributes.
// The wire format matches the reference `hawk` package byte for byte; test/hawk.test.ts cross-checks
// both directions. Requests are MAC'd over the method, path and query, host and port, timestamp,
// nonce, payload hash and ext; responses over the same request fields with their own payload hash.
//
// Host pinning: the host and port in every MAC are the ones the client dialled. A server must pass
// the host/port it is configured to be reached at, never the request's Host header, so a request
// signed for one site or port cannot be replayed against another.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, UsageError, type AuthCode } from '../core/errors.js';

export interface HawkCredentials {
  id: string;
  key: Uint8Array;
}

export interface HawkRequest {
  method: string;
  /** Path and query exactly as sent on the request line (origin form, starts with '/'). */
  resource: string;
  /** The pinned host name: on the server, the one it is configured to be reached at, not the Host header. */
  host: string;
  /** The pinned port, likewise. */
  port: number;
}

export interface HawkArtifacts extends HawkRequest {
  /** Seconds since the epoch, as the client claimed it. */
  ts: number;
  nonce: string;
  hash: string;
  /** '' when absent. */
  ext: string;
  mac: string;
  id: string;
}

/** Accepted clock difference either way between client and server. */
export const HAWK_SKEW_SECONDS = 60;

/** Attributes of each header we read, in the order we write them. */
export const REQUEST_ATTRIBUTES = ['id', 'ts', 'nonce', 'hash', 'ext', 'mac'] as const;
export const RESPONSE_ATTRIBUTES = ['mac', 'hash', 'ext'] as const;
export const STALE_ATTRIBUTES = ['ts', 'tsm', 'error'] as const;

// The reference package's limit on header length.
const MAX_HEADER_LENGTH = 4096;
// The value characters the reference package accepts: printable ASCII and space, minus '"' and '\'.
// Neither newline nor backslash can occur, so the normalized string's ext escaping never applies.
const ATTRIBUTE_VALUE = /^[ \w!#$%&'()*+,\-./:;<=>?@[\]^`{|}~]+$/;
const ATTRIBUTE = /([a-z]+)="([^"\\]*)"/y;
const SEPARATOR = /[ \t]*,[ \t]*/y;
// Canonical decimal only: the MAC covers the text, and one number must have one spelling.
const TIMESTAMP = /^(?:0|[1-9][0-9]{0,11})$/;
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const METHOD = /^[A-Za-z]+$/;
const RESOURCE = /^\/[\x21-\x7e]*$/;
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/;
const MIN_KEY_BYTES = 16;
const MAX_NONCE_LENGTH = 64;
const MAX_ID_LENGTH = 128;
// Stands in for the key of an unknown id, so that an unknown id costs the same MAC as a wrong one.
const DUMMY_KEY = new Uint8Array(32);
const BAD_CREDENTIALS = 'Hawk credentials or MAC do not match';

/**
 * Base64 SHA-256 of `hawk.1.payload\n{type}\n{payload}\n`, where type is the content type lowered
 * and without parameters (`application/json; charset=utf-8` hashes as `application/json`).
 */
export function payloadHash(contentType: string, payload: Uint8Array): string {
  const hasher = payloadHasher(contentType);
  hasher.update(payload);
  return hasher.digest();
}

/** The same hash as payloadHash, fed a chunk at a time. */
export function payloadHasher(contentType: string): { update(chunk: Uint8Array): void; digest(): string } {
  if (/[\r\n]/.test(contentType)) throw new UsageError('USAGE', 'content type contains a line break');
  const hash = createHash('sha256').update(`hawk.1.payload\n${contentType.split(';')[0]!.trim().toLowerCase()}\n`);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.update('\n').digest('base64'),
  };
}

/**
 * The Authorization header for a request. `opts.payloadHash` is required (payloadHash of the body,
 * or of an empty body); `opts.now` is the client's clock in ms, corrected by any offset learned
 * from authenticateStaleTimestamp. Keep the artifacts to check the response with authenticateResponse.
 */
export function clientAuthorization(
  creds: HawkCredentials,
  req: HawkRequest,
  opts: { payloadHash: string; now: number; nonce?: string; ext?: string },
): { header: string; artifacts: HawkArtifacts } {
  checkRequest(req, (why) => new UsageError('USAGE', `cannot sign request: ${why}`));
  checkKey(creds.key);
  if (!ATTRIBUTE_VALUE.test(creds.id)) throw new UsageError('USAGE', 'Hawk id is empty or has characters a header cannot carry');
  if (!SHA256_BASE64.test(opts.payloadHash)) throw new UsageError('USAGE', 'payloadHash is not a base64 SHA-256 digest');
  if (!Number.isFinite(opts.now) || opts.now < 0) throw new UsageError('USAGE', 'now is not a time in ms');
  const nonce = opts.nonce ?? freshNonce();
  if (!ATTRIBUTE_VALUE.test(nonce)) throw new UsageError('USAGE', 'nonce is empty or has characters a header cannot carry');
  const ext = opts.ext ?? '';
  if (ext !== '' && !ATTRIBUTE_VALUE.test(ext)) throw new UsageError('USAGE', 'ext has characters a header cannot carry');
  const fields = { ...pick(req), ts: Math.floor(opts.now / 1000), nonce, hash: opts.payloadHash, ext };
  const mac = calculateMac('header', creds.key, fields);
  const header = `Hawk id="${creds.id}", ts="${fields.ts}", nonce="${nonce}", hash="${fields.hash}"` + (ext !== '' ? `, ext="${ext}"` : '') + `, mac="${mac}"`;
  return { header, artifacts: { ...fields, mac, id: creds.id } };
}

/**
 * Parses `Hawk name="value", name="value"` strictly: the scheme spelled `Hawk`, names from `allowed`
 * only and each at most once, values non-empty and from Hawk's character set, at most 4 KiB in all.
 * Names present are returned; which are required is the caller's business.
 */
export function parseHawkHeader(header: string, allowed: readonly string[]): Record<string, string> {
  return parse(header, allowed, 'UNAUTHORIZED');
}

/**
 * Remembers (id, nonce, ts) for as long as a request carrying them could still pass the timestamp
 * check, so each one is accepted once.
 *
 * Entries expire `windowSeconds` after their ts. A ts already outside the window is not stored
 * (and not refused here): such a request fails the timestamp check, which is why the window must be
 * at least the skew authenticateRequest allows (it refuses a cache whose window is shorter).
 *
 * Memory is bounded by `maxEntries`. When full of live entries the cache refuses new ones (remember
 * returns false, so the request is turned away as a replay) rather than forget a live one: forgetting
 * would reopen the replay it guards against, refusing only costs the sender a retry.
 */
export class NonceCache {
  readonly windowSeconds: number;
  readonly maxEntries: number;
  /** Live entries one credential may hold, so that one site (registration is open) cannot fill the cache for all. */
  readonly maxPerId: number;
  private readonly perId = new Map<string, number>();
  // Entry key → expiry second, and expiry second → entry keys, so expiring needs no scan of entries.
  private readonly expiries = new Map<string, number>();
  private readonly byExpiry = new Map<number, string[]>();

  constructor(opts: { windowSeconds?: number; maxEntries?: number; maxPerId?: number } = {}) {
    this.windowSeconds = opts.windowSeconds ?? HAWK_SKEW_SECONDS;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.maxPerId = opts.maxPerId ?? 1000;
    if (!Number.isInteger(this.windowSeconds) || this.windowSeconds <= 0) {
      throw new UsageError('USAGE', 'NonceCache windowSeconds must be a positive integer');
    }
    if (!Number.isInteger(this.maxEntries) || this.maxEntries <= 0) {
      throw new UsageError('USAGE', 'NonceCache maxEntries must be a positive integer');
    }
  }

  get size(): number {
    return this.expiries.size;
  }

  /** False when (id, nonce, ts) was seen inside the window, or when the cache (or this id's share of it) is full. */
  remember(id: string, nonce: string, ts: number, nowSeconds: number): boolean {
    this.expire(nowSeconds);
    if (Math.abs(ts - nowSeconds) > this.windowSeconds) return true;
    const key = JSON.stringify([id, nonce, ts]);
    if (this.expiries.has(key)) return false;
    if (this.expiries.size >= this.maxEntries) return false;
    const held = this.perId.get(id) ?? 0;
    if (held >= this.maxPerId) return false;
    this.perId.set(id, held + 1);
    const expiry = ts + this.windowSeconds;
    this.expiries.set(key, expiry);
    const bucket = this.byExpiry.get(expiry);
    if (bucket) bucket.push(key);
    else this.byExpiry.set(expiry, [key]);
    return true;
  }

  private expire(nowSeconds: number): void {
    // Live expiries lie within twice the window of now, so this loop is short.
    for (const [expiry, keys] of this.byExpiry) {
      if (expiry >= nowSeconds) continue;
      for (const key of keys) {
        this.expiries.delete(key);
        const id = (JSON.parse(key) as [string])[0];
        const held = (this.perId.get(id) ?? 1) - 1;
        if (held > 0) this.perId.set(id, held);
        else this.perId.delete(id);
      }
      this.byExpiry.delete(expiry);
    }
  }
}

export interface ServerAuthOptions {
  /** Server clock, ms. */
  now: number;
  skewSeconds?: number;
  nonces: NonceCache;
  lookup: (id: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
}

/**
 * Authenticates a request's Authorization header. `req.host`/`req.port` must be the server's own
 * pinned host and port (see the header comment), `req.resource` the request target as received.
 * Checks, in order: syntax, credentials and MAC (an unknown id and a wrong key fail alike, in answer
 * and in time), the hash attribute's presence, the nonce, the timestamp. STALE_TIMESTAMP carries
 * `details.wwwAuthenticate`, the header to send back so the client can correct its clock. The body
 * is not read here: hash it as it streams in, then call checkPayload before acting on it.
 */
export async function authenticateRequest(
  req: HawkRequest & { authorization: string | undefined },
  opts: ServerAuthOptions,
): Promise<{ credentials: HawkCredentials; artifacts: HawkArtifacts }> {
  checkAddress(req, (why) => new UsageError('USAGE', `server's pinned address is unusable: ${why}`));
  const skew = opts.skewSeconds ?? HAWK_SKEW_SECONDS;
  if (!Number.isFinite(opts.now)) throw new UsageError('USAGE', 'now is not a time in ms');
  if (!(skew > 0) || skew > opts.nonces.windowSeconds) {
    throw new UsageError('USAGE', 'skewSeconds must be positive and within the nonce cache window');
  }
  const unauthorized = (why: string, details?: Record<string, unknown>) => new AuthError('UNAUTHORIZED', why, details);
  checkRequestLine(req, unauthorized);
  if (req.authorization === undefined) throw unauthorized('no Authorization header');
  const attrs = parseHawkHeader(req.authorization, REQUEST_ATTRIBUTES);
  const { id, ts, nonce, mac } = attrs;
  if (id === undefined || ts === undefined || nonce === undefined || mac === undefined) {
    throw unauthorized('Hawk header lacks id, ts, nonce or mac');
  }
  if (!TIMESTAMP.test(ts)) throw unauthorized('Hawk ts is not a decimal number of seconds');
  // Every remembered nonce costs memory until its window ends; real clients send a few bytes.
  if (nonce.length > MAX_NONCE_LENGTH || id.length > MAX_ID_LENGTH) throw unauthorized('Hawk id or nonce is too long');
  const artifacts: HawkArtifacts = {
    ...pick(req),
    ts: Number(ts),
    nonce,
    hash: attrs.hash ?? '',
    ext: attrs.ext ?? '',
    mac,
    id,
  };
  const key = await opts.lookup(id);
  if (key !== undefined) checkKey(key);
  const macOk = safeEqual(calculateMac('header', key ?? DUMMY_KEY, artifacts), mac);
  if (key === undefined || !macOk) throw unauthorized(BAD_CREDENTIALS, { id });
  if (attrs.hash === undefined) throw unauthorized('Hawk header lacks the payload hash', { id });
  const nowSeconds = Math.floor(opts.now / 1000);
  if (!opts.nonces.remember(id, nonce, artifacts.ts, nowSeconds)) {
    throw new AuthError('REPLAYED', 'Hawk nonce was already used (or the nonce cache is full)', { id });
  }
  const credentials = { id, key };
  if (Math.abs(artifacts.ts * 1000 - opts.now) > skew * 1000) {
    throw new AuthError('STALE_TIMESTAMP', `Hawk timestamp is more than ${skew}s from the server clock`, {
      id,
      wwwAuthenticate: staleTimestampHeader(credentials, opts.now),
    });
  }
  return { credentials, artifacts };
}

/** Compares the hash of the body actually received with the one the request's MAC covers. */
export function checkPayload(artifacts: HawkArtifacts, actualHash: string): void {
  if (artifacts.hash === '' || !safeEqual(artifacts.hash, actualHash)) {
    throw new AuthError('PAYLOAD_MISMATCH', 'request body does not match its Hawk payload hash', { id: artifacts.id });
  }
}

/** The Server-Authorization header for a response to the request `artifacts` authenticated. */
export function serverAuthorization(creds: HawkCredentials, artifacts: HawkArtifacts, opts: { payloadHash: string; ext?: string }): string {
  checkKey(creds.key);
  if (!SHA256_BASE64.test(opts.payloadHash)) throw new UsageError('USAGE', 'payloadHash is not a base64 SHA-256 digest');
  const ext = opts.ext ?? '';
  if (ext !== '' && !ATTRIBUTE_VALUE.test(ext)) throw new UsageError('USAGE', 'ext has characters a header cannot carry');
  const mac = calculateMac('response', creds.key, { ...artifacts, hash: opts.payloadHash, ext });
  return `Hawk mac="${mac}", hash="${opts.payloadHash}"` + (ext !== '' ? `, ext="${ext}"` : '');
}

/**
 * Client side: the response to the request `artifacts` describes must carry a Server-Authorization
 * header with a valid MAC and a hash equal to that of the body received; otherwise BAD_SERVER_AUTH.
 */
export function authenticateResponse(
  creds: HawkCredentials,
  artifacts: HawkArtifacts,
  serverAuthorization: string | undefined,
  actualPayloadHash: string,
): void {
  checkKey(creds.key);
  const bad = (why: string) => new AuthError('BAD_SERVER_AUTH', why);
  if (serverAuthorization === undefined) throw bad('response has no Server-Authorization header');
  const attrs = parse(serverAuthorization, RESPONSE_ATTRIBUTES, 'BAD_SERVER_AUTH');
  if (attrs.mac === undefined || attrs.hash === undefined) throw bad('Server-Authorization lacks mac or hash');
  const mac = calculateMac('response', creds.key, { ...artifacts, hash: attrs.hash, ext: attrs.ext ?? '' });
  if (!safeEqual(mac, attrs.mac)) throw bad('Server-Authorization MAC does not match');
  if (!safeEqual(attrs.hash, actualPayloadHash)) throw bad('response body does not match its Hawk payload hash');
}

/** The WWW-Authenticate header that tells a client its timestamp is stale, with the server's time. */
export function staleTimestampHeader(creds: HawkCredentials, nowMs: number): string {
  checkKey(creds.key);
  const ts = Math.floor(nowMs / 1000);
  return `Hawk ts="${ts}", tsm="${timestampMac(creds.key, ts)}", error="Stale timestamp"`;
}

/** Client side: checks a stale-timestamp header's tsm and returns the server's time in seconds. */
export function authenticateStaleTimestamp(creds: HawkCredentials, header: string): number {
  checkKey(creds.key);
  const attrs = parse(header, STALE_ATTRIBUTES, 'BAD_SERVER_AUTH');
  if (attrs.ts === undefined || attrs.tsm === undefined || !TIMESTAMP.test(attrs.ts)) {
    throw new AuthError('BAD_SERVER_AUTH', 'stale-timestamp header lacks a valid ts or tsm');
  }
  const ts = Number(attrs.ts);
  if (!safeEqual(timestampMac(creds.key, ts), attrs.tsm)) throw new AuthError('BAD_SERVER_AUTH', 'stale-timestamp tsm does not match');
  return ts;
}

type MacFields = HawkRequest & { ts: number; nonce: string; hash: string; ext: string };

function calculateMac(type: 'header' | 'response', key: Uint8Array, f: MacFields): string {
  const normalized =
    `hawk.1.${type}\n${f.ts}\n${f.nonce}\n${f.method.toUpperCase()}\n${f.resource}\n` + `${f.host.toLowerCase()}\n${f.port}\n${f.hash}\n${f.ext}\n`;
  // The key bytes as they are: making a KeyObject per key costs more than it saves over the few MACs each site's key makes.
  return createHmac('sha256', key).update(normalized).digest('base64');
}

// Nonces come from a pool of random bytes refilled 256 nonces at a time: one call into the CSPRNG, not one per request.
const NONCE_BYTES = 12;
let noncePool = Buffer.alloc(0);
let nonceAt = 0;

function freshNonce(): string {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 256);
    nonceAt = 0;
  }
  nonceAt += NONCE_BYTES;
  return noncePool.toString('base64url', nonceAt - NONCE_BYTES, nonceAt);
}

function timestampMac(key: Uint8Array, ts: number): string {
  return createHmac('sha256', key).update(`hawk.1.ts\n${ts}\n`).digest('base64');
}

function pick(req: HawkRequest): HawkRequest {
  return { method: req.method, resource: req.resource, host: req.host, port: req.port };
}

// Each field ends up on its own line of the normalized string, so none may hold a line break.
function checkRequest(req: HawkRequest, fail: (why: string) => Error): void {
  checkRequestLine(req, fail);
  checkAddress(req, fail);
}

function checkRequestLine(req: HawkRequest, fail: (why: string) => Error): void {
  if (!METHOD.test(req.method)) throw fail(`method ${JSON.stringify(req.method)} is not an HTTP method`);
  if (!RESOURCE.test(req.resource)) throw fail(`resource ${JSON.stringify(req.resource)} is not a path and query`);
}

function checkAddress(req: HawkRequest, fail: (why: string) => Error): void {
  if (!HOST.test(req.host)) throw fail(`host ${JSON.stringify(req.host)} is not a host name`);
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) throw fail(`port ${req.port} is not a TCP port`);
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length < MIN_KEY_BYTES) {
    throw new UsageError('USAGE', `a Hawk key must be at least ${MIN_KEY_BYTES} bytes`);
  }
}

// Constant time for equal lengths; the expected values' lengths are public.
function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

function parse(header: string, allowed: readonly string[], code: AuthCode): Record<string, string> {
  const bad = (why: string) => new AuthError(code, `malformed Hawk header: ${why}`);
  if (typeof header !== 'string') throw bad('not a string');
  if (header.length > MAX_HEADER_LENGTH) throw bad(`longer than ${MAX_HEADER_LENGTH} characters`);
  const scheme = /^Hawk[ \t]+/.exec(header);
  if (!scheme) throw bad('scheme is not Hawk');
  const attrs = new Map<string, string>();
  let at = scheme[0].length;
  for (;;) {
    ATTRIBUTE.lastIndex = at;
    const m = ATTRIBUTE.exec(header);
    if (!m) throw bad(`expected name="value" at offset ${at}`);
    const [, name, value] = m as unknown as [string, string, string];
    if (!allowed.includes(name)) throw bad(`unknown attribute ${name}`);
    if (attrs.has(name)) throw bad(`duplicate attribute ${name}`);
    if (!ATTRIBUTE_VALUE.test(value)) throw bad(`attribute ${name} is empty or has characters Hawk does not allow`);
    attrs.set(name, value);
    at = ATTRIBUTE.lastIndex;
    if (at === header.length) return Object.fromEntries(attrs);
    SEPARATOR.lastIndex = at;
    if (!SEPARATOR.exec(header)) throw bad(`expected ',' at offset ${at}`);
    at = SEPARATOR.lastIndex;
  }
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
