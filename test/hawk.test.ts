import { expect } from 'chai';
import { createRequire } from 'node:module';
import { AuthError } from '../lib/core/errors.js';
import {
  HAWK_SKEW_SECONDS,
  NonceCache,
  authenticateRequest,
  authenticateResponse,
  authenticateStaleTimestamp,
  checkPayload,
  clientAuthorization,
  parseHawkHeader,
  payloadHash,
  payloadHasher,
  serverAuthorization,
  staleTimestampHeader,
  type HawkArtifacts,
  type HawkCredentials,
  type HawkRequest,
  type ServerAuthOptions,
} from '../lib/distribution/hawk.js';
import { utf8 } from '../lib/core/bytes.js';
import { codeOf, rejectionOf } from './support/codes.js';

// The reference implementation (CommonJS, untyped): only the parts these tests call.
interface RefCredentials {
  id?: string;
  key: Buffer;
  algorithm: 'sha256';
}
interface RefArtifacts {
  [name: string]: unknown;
}
interface RefResponse {
  headers: Record<string, string>;
}
interface Reference {
  client: {
    header(
      uri: string,
      method: string,
      options: {
        credentials: RefCredentials;
        timestamp?: number;
        nonce?: string;
        payload?: Buffer | string;
        contentType?: string;
        ext?: string;
        app?: string;
        dlg?: string;
      },
    ): { header: string; artifacts: RefArtifacts };
    authenticate(res: RefResponse, credentials: RefCredentials, artifacts: RefArtifacts, options?: { payload?: Buffer | string; required?: boolean }): unknown;
  };
  server: {
    authenticate(
      req: { method: string; url: string; headers: Record<string, string> },
      credentialsFunc: (id: string) => RefCredentials | null,
      options?: { payload?: Buffer | string },
    ): Promise<{ credentials: RefCredentials; artifacts: RefArtifacts }>;
    header(credentials: RefCredentials, artifacts: RefArtifacts, options?: { payload?: Buffer | string; contentType?: string; ext?: string }): string;
  };
  crypto: {
    calculatePayloadHash(payload: Buffer | string, algorithm: 'sha256', contentType?: string): string;
    calculateMac(type: string, credentials: RefCredentials, options: Record<string, unknown>): string;
  };
  utils: { setTimeFunction(fn: () => number): void };
}
const Hawk = createRequire(import.meta.url)('hawk') as Reference;

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210', 'utf8');
const ID = 'site-17';
const CREDS: HawkCredentials = { id: ID, key: new Uint8Array(KEY) };
const REF_CREDS: RefCredentials = { id: ID, key: KEY, algorithm: 'sha256' };
const NOW = 1_767_225_600_123; // ms, 2026-01-01T00:00:00.123Z
const NOW_S = Math.floor(NOW / 1000);
const REQ: HawkRequest = { method: 'POST', resource: '/v1/report?site=17&x=a%20b', host: 'hub.example.org', port: 8443 };
const URI = `https://${REQ.host}:${REQ.port}${REQ.resource}`;
const CT = 'application/json; charset=utf-8';
const BODY = utf8('{"status":"ok","version":"10.2.3"}');
const BODY_HASH = payloadHash(CT, BODY);

function serverOpts(over: Partial<ServerAuthOptions> = {}): ServerAuthOptions {
  return { now: NOW, nonces: new NonceCache(), lookup: (id) => (id === ID ? new Uint8Array(KEY) : undefined), ...over };
}

function sign(over: { now?: number; nonce?: string; ext?: string; payloadHash?: string; req?: HawkRequest } = {}) {
  return clientAuthorization(CREDS, over.req ?? REQ, { payloadHash: over.payloadHash ?? BODY_HASH, now: over.now ?? NOW, nonce: over.nonce, ext: over.ext });
}

async function codeOfRequest(authorization: string | undefined, req: HawkRequest = REQ, opts: ServerAuthOptions = serverOpts()): Promise<string> {
  return (await rejectionOf(authenticateRequest({ ...req, authorization }, opts))).code;
}

// Replaces one attribute's value in a header.
function withAttr(header: string, name: string, value: string): string {
  const out = header.replace(new RegExp(`\\b${name}="[^"]*"`), `${name}="${value}"`);
  expect(out).to.not.equal(header);
  return out;
}

function attr(header: string, name: string): string {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(header)![1]!;
}

// Changes the first character of a base64 MAC or hash, keeping it well-formed.
function flip(b64: string): string {
  return (b64[0] === 'A' ? 'B' : 'A') + b64.slice(1);
}

describe('hawk: interoperability with the reference package', () => {
  before(() => Hawk.utils.setTimeFunction(() => NOW));
  after(() => Hawk.utils.setTimeFunction(Date.now));

  it('their client.header is accepted by our authenticateRequest, and the body by checkPayload', async () => {
    const { header } = Hawk.client.header(URI, REQ.method, {
      credentials: REF_CREDS,
      timestamp: NOW_S,
      nonce: 'Ab3-x_',
      payload: Buffer.from(BODY),
      contentType: CT,
      ext: 'build 42; ok',
    });
    const { credentials, artifacts } = await authenticateRequest({ ...REQ, authorization: header }, serverOpts());
    expect(credentials).to.deep.equal(CREDS);
    expect(artifacts).to.include({ ...REQ, ts: NOW_S, nonce: 'Ab3-x_', hash: BODY_HASH, ext: 'build 42; ok', id: ID });
    checkPayload(artifacts, BODY_HASH);
  });

  it('our clientAuthorization is accepted by their server.authenticate, which checks the payload', async () => {
    const { header, artifacts } = sign({ ext: 'hello world' });
    const req = { method: REQ.method, url: REQ.resource, headers: { host: `${REQ.host}:${REQ.port}`, authorization: header, 'content-type': CT } };
    const result = await Hawk.server.authenticate(req, (id) => (id === ID ? REF_CREDS : null), { payload: Buffer.from(BODY) });
    expect(result.artifacts).to.include({ id: ID, mac: artifacts.mac, hash: BODY_HASH, ext: 'hello world', nonce: artifacts.nonce });
    // The reference really does check the payload: a different body fails there too.
    const refused = await Hawk.server
      .authenticate(req, () => REF_CREDS, { payload: Buffer.from('{}') })
      .then(
        () => 'accepted',
        (err: Error) => err.message,
      );
    expect(refused).to.equal('Bad payload hash');
  });

  it('their server.header is accepted by our authenticateResponse', async () => {
    const { header, artifacts } = sign();
    const req = { method: REQ.method, url: REQ.resource, headers: { host: `${REQ.host}:${REQ.port}`, authorization: header, 'content-type': CT } };
    const result = await Hawk.server.authenticate(req, () => REF_CREDS, { payload: Buffer.from(BODY) });
    const reply = utf8('{"accepted":true}');
    const serverAuth = Hawk.server.header(result.credentials, result.artifacts, { payload: Buffer.from(reply), contentType: 'application/json', ext: 'r1' });
    authenticateResponse(CREDS, artifacts, serverAuth, payloadHash('application/json', reply));
  });

  it('our serverAuthorization is accepted by their client.authenticate, which checks the payload', async () => {
    const ref = Hawk.client.header(URI, REQ.method, { credentials: REF_CREDS, timestamp: NOW_S, payload: Buffer.from(BODY), contentType: CT });
    const { credentials, artifacts } = await authenticateRequest({ ...REQ, authorization: ref.header }, serverOpts());
    const reply = new Uint8Array([0, 1, 2, 250, 255]);
    const header = serverAuthorization(credentials, artifacts, { payloadHash: payloadHash('application/octet-stream', reply), ext: 'r2' });
    const res = { headers: { 'server-authorization': header, 'content-type': 'application/octet-stream' } };
    Hawk.client.authenticate(res, REF_CREDS, ref.artifacts, { payload: Buffer.from(reply), required: true });
    expect(() => Hawk.client.authenticate(res, REF_CREDS, ref.artifacts, { payload: Buffer.from('other'), required: true })).to.throw(
      'Bad response payload mac',
    );
  });

  const bodies: [string, string, Uint8Array][] = [
    ['JSON with parameters', 'application/json; charset=utf-8', BODY],
    ['upper-case type with spaces', '  Application/JSON ;charset=UTF-8', BODY],
    ['no content type, empty body', '', new Uint8Array()],
    ['text, empty body', 'text/plain', new Uint8Array()],
    ['binary body', 'application/octet-stream', new Uint8Array([0, 10, 13, 92, 128, 255, 0])],
    ['non-ASCII UTF-8 body', 'text/plain; charset=utf-8', utf8('mañana ✓\nzweite Zeile')],
  ];
  for (const [what, contentType, body] of bodies) {
    it(`payloadHash matches the reference and the streaming hasher: ${what}`, () => {
      const expected = Hawk.crypto.calculatePayloadHash(Buffer.from(body), 'sha256', contentType);
      expect(payloadHash(contentType, body)).to.equal(expected);
      const hasher = payloadHasher(contentType);
      for (let i = 0; i < body.length; i += 3) hasher.update(body.subarray(i, i + 3));
      expect(hasher.digest()).to.equal(expected);
    });
  }
});

describe('hawk: authenticateRequest', () => {
  it('accepts a request signed by our client and returns its artifacts', async () => {
    const { header, artifacts } = sign({ nonce: 'n-1', ext: 'e' });
    const result = await authenticateRequest({ ...REQ, authorization: header }, serverOpts());
    expect(result.artifacts).to.deep.equal(artifacts);
    expect(result.credentials).to.deep.equal(CREDS);
  });

  it('refuses the same header twice: REPLAYED', async () => {
    const { header } = sign();
    const opts = serverOpts();
    await authenticateRequest({ ...REQ, authorization: header }, opts);
    expect(await codeOfRequest(header, REQ, opts)).to.equal('REPLAYED');
  });

  it('accepts timestamps up to the skew either way', async () => {
    await authenticateRequest({ ...REQ, authorization: sign({ now: NOW - HAWK_SKEW_SECONDS * 1000 + 1000 }).header }, serverOpts());
    await authenticateRequest({ ...REQ, authorization: sign({ now: NOW + HAWK_SKEW_SECONDS * 1000 }).header }, serverOpts());
  });

  for (const [what, offset] of [
    ['past', -(HAWK_SKEW_SECONDS + 1) * 1000],
    ['future', (HAWK_SKEW_SECONDS + 2) * 1000],
  ] as const) {
    it(`refuses a timestamp beyond the skew in the ${what}: STALE_TIMESTAMP with a verifiable WWW-Authenticate`, async () => {
      const { header, artifacts } = sign({ now: NOW + offset });
      const err = await rejectionOf(authenticateRequest({ ...REQ, authorization: header }, serverOpts()));
      expect(err.code).to.equal('STALE_TIMESTAMP');
      const www = err.details.wwwAuthenticate as string;
      expect(www).to.equal(staleTimestampHeader(CREDS, NOW));
      expect(authenticateStaleTimestamp(CREDS, www)).to.equal(NOW_S);
      const refArtifacts = { ...artifacts, port: String(artifacts.port) };
      Hawk.client.authenticate({ headers: { 'www-authenticate': www } }, REF_CREDS, refArtifacts);
      expect(() => Hawk.client.authenticate({ headers: { 'www-authenticate': www } }, { ...REF_CREDS, key: OTHER_KEY }, refArtifacts)).to.throw(
        'Invalid server timestamp hash',
      );
    });
  }

  it('honours skewSeconds', async () => {
    const { header } = sign({ now: NOW - 20_000 });
    expect(await codeOfRequest(header, REQ, serverOpts({ skewSeconds: 10 }))).to.equal('STALE_TIMESTAMP');
  });

  const tampered: [string, Partial<HawkRequest>][] = [
    ['method', { method: 'PUT' }],
    ['path', { resource: '/v1/reports?site=17&x=a%20b' }],
    ['query', { resource: '/v1/report?site=18&x=a%20b' }],
    ['host (pinned host differs from the one signed for)', { host: 'other.example.org' }],
    ['port (pinned port differs from the one signed for)', { port: 443 }],
  ];
  for (const [what, change] of tampered) {
    it(`refuses a request whose ${what} differs from the signed one: UNAUTHORIZED`, async () => {
      const { header } = sign();
      expect(await codeOfRequest(header, { ...REQ, ...change })).to.equal('UNAUTHORIZED');
    });
  }

  it('treats host names case-insensitively, as Hawk does', async () => {
    const { header } = sign();
    await authenticateRequest({ ...REQ, host: 'HUB.Example.org', authorization: header }, serverOpts());
  });

  const edits: [string, (header: string) => string][] = [
    ['ts', (h) => withAttr(h, 'ts', String(NOW_S - 1))],
    ['nonce', (h) => withAttr(h, 'nonce', 'another-nonce')],
    ['ext', (h) => withAttr(h, 'ext', 'other ext')],
    ['hash', (h) => withAttr(h, 'hash', payloadHash(CT, utf8('{}')))],
    ['mac', (h) => withAttr(h, 'mac', flip(attr(h, 'mac')))],
  ];
  for (const [what, edit] of edits) {
    it(`refuses a header whose ${what} was changed: UNAUTHORIZED`, async () => {
      const { header } = sign({ ext: 'signed ext' });
      await authenticateRequest({ ...REQ, authorization: header }, serverOpts());
      expect(await codeOfRequest(edit(header))).to.equal('UNAUTHORIZED');
    });
  }

  it('refuses a request without Authorization: UNAUTHORIZED', async () => {
    expect(await codeOfRequest(undefined)).to.equal('UNAUTHORIZED');
  });

  it('refuses a body other than the signed one: PAYLOAD_MISMATCH', async () => {
    const { artifacts } = await authenticateRequest({ ...REQ, authorization: sign().header }, serverOpts());
    checkPayload(artifacts, BODY_HASH);
    expect(codeOf(() => checkPayload(artifacts, payloadHash(CT, utf8('{"status":"ok","version":"10.2.4"}'))))).to.equal('PAYLOAD_MISMATCH');
    expect(codeOf(() => checkPayload(artifacts, payloadHash('text/plain', BODY)))).to.equal('PAYLOAD_MISMATCH');
  });

  it('refuses a wrong key, and an unknown id with the very same error', async () => {
    const { header } = sign();
    const wrong = await rejectionOf(authenticateRequest({ ...REQ, authorization: header }, serverOpts({ lookup: () => new Uint8Array(OTHER_KEY) })));
    let looked = 0;
    const unknown = await rejectionOf(
      authenticateRequest(
        { ...REQ, authorization: header },
        serverOpts({
          lookup: async () => {
            looked++;
            return undefined;
          },
        }),
      ),
    );
    expect(wrong).to.be.instanceOf(AuthError);
    expect(wrong.code).to.equal('UNAUTHORIZED');
    expect(unknown.code).to.equal('UNAUTHORIZED');
    expect(unknown.message).to.equal(wrong.message);
    expect(unknown.details).to.deep.equal(wrong.details);
    expect(looked).to.equal(1);
  });

  it('refuses a header without the payload hash even though its MAC is good: UNAUTHORIZED', async () => {
    const { header } = Hawk.client.header(URI, REQ.method, { credentials: REF_CREDS, timestamp: NOW_S, nonce: 'nohash' });
    expect(header).to.not.include('hash=');
    expect(await codeOfRequest(header)).to.equal('UNAUTHORIZED');
  });

  // Each malformed header still carries a MAC that is right for its fields, so only the syntax rule refuses it.
  function refMac(fields: { nonce: string; ext?: string; app?: string; dlg?: string }): string {
    return Hawk.crypto.calculateMac('header', REF_CREDS, { ...REQ, ts: NOW_S, hash: BODY_HASH, ...fields });
  }
  const malformed: [string, () => string][] = [
    ['a duplicate attribute', () => sign().header.replace(`id="${ID}"`, `id="${ID}", id="${ID}"`)],
    ['an unknown attribute', () => `${sign().header}, foo="bar"`],
    ['an app attribute', () => `${sign().header}, app="some-app"`],
    ['a dlg attribute', () => `${sign().header}, dlg="some-app"`],
    [
      'app and dlg signed as the reference does',
      () =>
        Hawk.client.header(URI, REQ.method, {
          credentials: REF_CREDS,
          timestamp: NOW_S,
          nonce: 'oz',
          payload: Buffer.from(BODY),
          contentType: CT,
          app: 'a1',
          dlg: 'd1',
        }).header,
    ],
    [
      'a character outside Hawk’s set',
      () => `Hawk id="${ID}", ts="${NOW_S}", nonce="n1", hash="${BODY_HASH}", ext="café", mac="${refMac({ nonce: 'n1', ext: 'café' })}"`,
    ],
    ['an empty value', () => sign().header.replace('", mac=', '", ext="", mac=')],
    ['more than 4 KiB', () => sign({ ext: 'x'.repeat(4096) }).header],
    ['another scheme', () => sign().header.replace(/^Hawk/, 'Bearer')],
    ['no separator between attributes', () => sign().header.replace(', mac=', ' mac=')],
    ['a trailing comma', () => `${sign().header},`],
    ['a ts that is not canonical decimal', () => `Hawk id="${ID}", ts="0${NOW_S}", nonce="n2", hash="${BODY_HASH}", mac="${refMac({ nonce: 'n2' })}"`],
  ];
  for (const [what, make] of malformed) {
    it(`refuses a header with ${what}: UNAUTHORIZED`, async () => {
      expect(await codeOfRequest(make())).to.equal('UNAUTHORIZED');
    });
  }

  it('refuses a nonce cache whose window is shorter than the skew', async () => {
    const opts = serverOpts({ nonces: new NonceCache({ windowSeconds: 30 }) });
    expect(await codeOfRequest(sign().header, REQ, opts)).to.equal('USAGE');
  });
});

describe('hawk: parseHawkHeader', () => {
  it('returns the attributes, tolerating spaces around commas', () => {
    expect(parseHawkHeader('Hawk a="1,2 = x" ,b="y",  c="z"', ['a', 'b', 'c'])).to.deep.equal({ a: '1,2 = x', b: 'y', c: 'z' });
  });

  it('refuses a quote or backslash inside a value', () => {
    expect(codeOf(() => parseHawkHeader('Hawk a="x\\"y"', ['a']))).to.equal('UNAUTHORIZED');
    expect(codeOf(() => parseHawkHeader('Hawk a="x\\y"', ['a']))).to.equal('UNAUTHORIZED');
  });
});

describe('hawk: responses', () => {
  async function exchange(): Promise<{ artifacts: HawkArtifacts; reply: Uint8Array; replyHash: string; header: string }> {
    const signed = sign();
    const { credentials, artifacts } = await authenticateRequest({ ...REQ, authorization: signed.header }, serverOpts());
    const reply = utf8('{"ok":true}');
    const replyHash = payloadHash('application/json', reply);
    return { artifacts: signed.artifacts, reply, replyHash, header: serverAuthorization(credentials, artifacts, { payloadHash: replyHash }) };
  }

  it('accepts our own Server-Authorization', async () => {
    const { artifacts, replyHash, header } = await exchange();
    authenticateResponse(CREDS, artifacts, header, replyHash);
  });

  it('requires the Server-Authorization header: BAD_SERVER_AUTH', async () => {
    const { artifacts, replyHash } = await exchange();
    expect(codeOf(() => authenticateResponse(CREDS, artifacts, undefined, replyHash))).to.equal('BAD_SERVER_AUTH');
  });

  it('refuses a wrong response MAC: BAD_SERVER_AUTH', async () => {
    const { artifacts, replyHash, header } = await exchange();
    expect(codeOf(() => authenticateResponse(CREDS, artifacts, withAttr(header, 'mac', flip(attr(header, 'mac'))), replyHash))).to.equal('BAD_SERVER_AUTH');
  });

  it('refuses a response MAC made for another request: BAD_SERVER_AUTH', async () => {
    const { artifacts, replyHash, header } = await exchange();
    expect(codeOf(() => authenticateResponse(CREDS, { ...artifacts, nonce: 'other' }, header, replyHash))).to.equal('BAD_SERVER_AUTH');
  });

  it('refuses a tampered response body: BAD_SERVER_AUTH', async () => {
    const { artifacts, header } = await exchange();
    expect(codeOf(() => authenticateResponse(CREDS, artifacts, header, payloadHash('application/json', utf8('{"ok":false}'))))).to.equal('BAD_SERVER_AUTH');
  });

  it('refuses a Server-Authorization without hash even though its MAC is good: BAD_SERVER_AUTH', async () => {
    const { artifacts, replyHash } = await exchange();
    const header = Hawk.server.header(REF_CREDS, { ...artifacts }, {});
    expect(header).to.not.include('hash=');
    expect(codeOf(() => authenticateResponse(CREDS, artifacts, header, replyHash))).to.equal('BAD_SERVER_AUTH');
  });

  it('refuses a malformed Server-Authorization with BAD_SERVER_AUTH, not UNAUTHORIZED', async () => {
    const { artifacts, replyHash, header } = await exchange();
    expect(codeOf(() => authenticateResponse(CREDS, artifacts, `${header}, id="x"`, replyHash))).to.equal('BAD_SERVER_AUTH');
  });

  it('refuses a stale-timestamp header with a wrong tsm: BAD_SERVER_AUTH', () => {
    const www = staleTimestampHeader(CREDS, NOW);
    expect(codeOf(() => authenticateStaleTimestamp({ id: ID, key: new Uint8Array(OTHER_KEY) }, www))).to.equal('BAD_SERVER_AUTH');
    expect(codeOf(() => authenticateStaleTimestamp(CREDS, withAttr(www, 'ts', String(NOW_S + 1))))).to.equal('BAD_SERVER_AUTH');
  });
});

describe('hawk: NonceCache', () => {
  it('refuses a repeat inside the window and forgets it after', () => {
    const cache = new NonceCache({ windowSeconds: 60 });
    expect(cache.remember(ID, 'n', NOW_S, NOW_S)).to.equal(true);
    expect(cache.remember(ID, 'n', NOW_S, NOW_S + 60)).to.equal(false);
    expect(cache.remember('other-id', 'n', NOW_S, NOW_S)).to.equal(true);
    expect(cache.remember(ID, 'n', NOW_S + 1, NOW_S)).to.equal(true);
    expect(cache.size).to.equal(3);
    // A second later the two entries with ts NOW_S have expired; the one with ts NOW_S + 1 has not.
    expect(cache.remember(ID, 'z', NOW_S + 61, NOW_S + 61)).to.equal(true);
    expect(cache.size).to.equal(2);
    expect(cache.remember(ID, 'n', NOW_S + 1, NOW_S + 61)).to.equal(false);
    expect(cache.remember(ID, 'y', NOW_S + 200, NOW_S + 200)).to.equal(true);
    expect(cache.size).to.equal(1);
  });

  it('stores nothing for a ts outside the window', () => {
    const cache = new NonceCache({ windowSeconds: 60 });
    expect(cache.remember(ID, 'n', NOW_S - 61, NOW_S)).to.equal(true);
    expect(cache.remember(ID, 'n', NOW_S + 1000, NOW_S)).to.equal(true);
    expect(cache.size).to.equal(0);
  });

  it('when full, refuses new entries instead of forgetting live ones, until they expire', () => {
    const cache = new NonceCache({ windowSeconds: 60, maxEntries: 2 });
    expect(cache.remember(ID, 'a', NOW_S, NOW_S)).to.equal(true);
    expect(cache.remember(ID, 'b', NOW_S, NOW_S)).to.equal(true);
    expect(cache.remember(ID, 'c', NOW_S, NOW_S)).to.equal(false);
    expect(cache.remember(ID, 'a', NOW_S, NOW_S + 1)).to.equal(false);
    expect(cache.size).to.equal(2);
    expect(cache.remember(ID, 'c', NOW_S + 61, NOW_S + 61)).to.equal(true);
    expect(cache.size).to.equal(1);
  });

  it('a full cache turns requests away as REPLAYED', async () => {
    const opts = serverOpts({ nonces: new NonceCache({ maxEntries: 1 }) });
    await authenticateRequest({ ...REQ, authorization: sign({ nonce: 'first' }).header }, opts);
    expect(await codeOfRequest(sign({ nonce: 'second' }).header, REQ, opts)).to.equal('REPLAYED');
  });
});

describe('hawk: one credential cannot fill the nonce cache for all', () => {
  it('refuses a credential past its share while others are still remembered', () => {
    const cache = new NonceCache({ windowSeconds: 60, maxPerId: 3 });
    for (const n of ['a', 'b', 'c']) expect(cache.remember(ID, n, NOW_S, NOW_S)).to.equal(true);
    expect(cache.remember(ID, 'd', NOW_S, NOW_S)).to.equal(false);
    expect(cache.remember('other-id', 'd', NOW_S, NOW_S)).to.equal(true);
    // Once its entries expire, the credential has its share back.
    expect(cache.remember(ID, 'e', NOW_S + 61, NOW_S + 61)).to.equal(true);
  });
});

describe('distribution: source addresses are limited by host, IPv6 by its /64', () => {
  it('keys IPv4 by address and IPv6 by prefix', async () => {
    const { addressKey } = await import('../lib/distribution/hawk-server.js');
    expect(addressKey('192.0.2.7')).to.equal('192.0.2.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).to.equal(addressKey('2001:db8:1:2:ffff::1'));
    expect(addressKey('2001:db8:1:2::1')).to.not.equal(addressKey('2001:db8:1:3::1'));
  });
});

describe('hawk: caller mistakes', () => {
  it('refuses to sign with a short key, an unusable request or an ext a header cannot carry', () => {
    expect(codeOf(() => clientAuthorization({ id: ID, key: new Uint8Array(8) }, REQ, { payloadHash: BODY_HASH, now: NOW }))).to.equal('USAGE');
    expect(codeOf(() => sign({ req: { ...REQ, resource: '/a\nb' } }))).to.equal('USAGE');
    expect(codeOf(() => sign({ req: { ...REQ, port: 0 } }))).to.equal('USAGE');
    expect(codeOf(() => sign({ ext: 'say "hi"' }))).to.equal('USAGE');
    expect(codeOf(() => sign({ payloadHash: 'not a hash' }))).to.equal('USAGE');
  });
});
