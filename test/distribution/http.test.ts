// The Hawk HTTP client's own rules, against small hand-made peers: it corrects its clock from a signed
// stale-timestamp answer but never by more than a day, one deadline bounds a whole call however slowly a
// peer trickles bytes, an unauthenticated error answer is read only up to 64 KiB, and registration never
// follows a redirect (the secret would go wherever it points); a download over a connection without
// keep-alive is read whole.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { hawkCall, type Peer } from '../../lib/distribution/hawk-client.js';
import { listen, type Listening } from '../../lib/distribution/listen.js';
import { NonceCache, staleTimestampHeader } from '../../lib/distribution/hawk.js';
import { JSON_TYPE } from '../../lib/distribution/messages.js';
import { siteRequestHandler } from '../../lib/site/endpoint.js';
import { credentialsPath, hawkCredentials } from '../../lib/site/credentials.js';
import { registerSite } from '../../lib/site/register.js';
import { initStore } from '../../lib/node/trust-store.js';
import { tempDir } from '../installer/support.js';
import { rejectionCode } from '../support/codes.js';
import { makePolicy, envelopeBytes } from '../support/fixtures.js';
import type { SiteAgent } from '../../lib/site/agent.js';
import type { CountersignError } from '../../lib/core/errors.js';
import { liveRelease, startHub, startSite } from './support.js';

const creds = { id: randomBytes(16).toString('hex'), key: randomBytes(32) };
const HELLO = { contentType: JSON_TYPE, bytes: Buffer.from(JSON.stringify({ type: 'hello', site: creds.id })) };

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<Listening> {
  return listen(async (req, res) => void (await handler(req, res)), { host: '127.0.0.1', port: 0 });
}

/** A real site endpoint (it answers hello) for `creds`. */
async function siteEndpoint(): Promise<{ server: Listening; base: URL }> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = await listen((req, res) => handler!(req, res), { host: '127.0.0.1', port: 0 });
  const endpoint = new URL(`http://127.0.0.1:${server.port}/countersign`);
  handler = siteRequestHandler({
    endpoint,
    credentials: async () => creds,
    agent: {} as SiteAgent,
    spoolDir: tempDir(),
    maxBundleBytes: 1024,
    nonces: new NonceCache(),
  });
  return { server, base: new URL(`${endpoint.href}/`) };
}

describe('distribution: the Hawk HTTP client', function () {
  this.timeout(20_000);
  const servers: Listening[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it("corrects its clock from the peer's signed stale-timestamp answer and retries once", async () => {
    const { server, base } = await siteEndpoint();
    servers.push(server);
    const peer: Peer = { base, creds, allowPrivate: true, clockOffsetMs: -10 * 60_000 };
    const answer = await hawkCall(peer, 'POST', 'hello', HELLO, { maxResponseBytes: 1024 });
    expect(JSON.parse(Buffer.from(answer.body).toString())).to.deep.equal({ type: 'hello', site: creds.id });
    expect(Math.abs(peer.clockOffsetMs!)).to.be.lessThan(5_000);
  });

  it('never moves its clock by more than a day, whatever a signed timestamp says (STALE_TIMESTAMP)', async () => {
    // A captured (or ancient) signed stale-timestamp answer, two days old.
    const replayed = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': staleTimestampHeader(creds, Date.now() - 2 * 86_400_000), 'content-type': JSON_TYPE }).end('{}');
    });
    servers.push(replayed);
    const peer: Peer = { base: new URL(`http://127.0.0.1:${replayed.port}/`), creds, allowPrivate: true };
    expect(await rejectionCode(hawkCall(peer, 'POST', 'hello', HELLO, { maxResponseBytes: 1024 }))).to.equal('STALE_TIMESTAMP');
    expect(peer.clockOffsetMs ?? 0).to.equal(0);
  });

  it("gives up on a peer that trickles its answer, at the call's deadline (UNREACHABLE)", async () => {
    const timers: NodeJS.Timeout[] = [];
    const slow = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': 1000 });
      // One byte every 100 ms: never idle long enough for an idle timeout.
      timers.push(setInterval(() => res.write('x'), 100));
    });
    servers.push(slow);
    const started = Date.now();
    const code = await rejectionCode(
      hawkCall({ base: new URL(`http://127.0.0.1:${slow.port}/`), creds, allowPrivate: true, timeoutMs: 600 }, 'POST', 'x', HELLO, { maxResponseBytes: 4096 }),
    );
    for (const t of timers) clearInterval(t);
    expect(code).to.equal('UNREACHABLE');
    expect(Date.now() - started).to.be.lessThan(3_000);
  });

  it('reads an unauthenticated error answer only up to 64 KiB (TOO_LARGE), whatever the call allows', async () => {
    const big = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': JSON_TYPE });
      res.end(Buffer.alloc(200 * 1024, 0x20));
    });
    servers.push(big);
    const code = await rejectionCode(
      hawkCall({ base: new URL(`http://127.0.0.1:${big.port}/`), creds, allowPrivate: true }, 'GET', 'x', undefined, { maxResponseBytes: 1 << 26 }),
    );
    expect(code).to.equal('TOO_LARGE');
  });

  it('a download over a connection without keep-alive is read whole: the socket closing after the answer does not cut it off', async () => {
    const release = liveRelease(tempDir());
    const hub = await startHub(release);
    const s = await startSite(release);
    try {
      const site = hawkCredentials(await registerSite({ hub: hub.url, endpoint: null, storeDir: s.store, allowPrivate: true }));
      const agent = new http.Agent({ keepAlive: false });
      const dir = tempDir();
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        const call = hawkCall(
          { base: new URL(`${hub.url.href}v1/`), creds: site, allowPrivate: true, agents: { http: agent } },
          'GET',
          'bundles/drupal-core-10.2.4',
          undefined,
          {
            maxResponseBytes: 1 << 26,
            responseFile: join(dir, `${i}.bundle`),
          },
        );
        outcomes.push(
          await call.then(
            () => 'ok',
            (err: CountersignError) => err.code,
          ),
        );
      }
      expect(outcomes.filter((o) => o !== 'ok')).to.deep.equal([]);
    } finally {
      await s.close();
      await hub.close();
    }
  });

  it('registration never follows a redirect, and leaves no credentials behind', async () => {
    const seen: string[] = [];
    const elsewhere = await serve((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(201).end('{}');
    });
    const redirecting = await serve((_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${elsewhere.port}/v1/sites` }).end();
    });
    servers.push(elsewhere, redirecting);
    const store = join(tempDir(), 'trust');
    await initStore(store, envelopeBytes(makePolicy().signed), { now: new Date() });
    const code = await rejectionCode(
      registerSite({ hub: new URL(`http://127.0.0.1:${redirecting.port}/`), endpoint: null, storeDir: store, allowPrivate: true }),
    );
    expect(code).to.equal('UNREACHABLE');
    expect(seen).to.deep.equal([]);
    expect(existsSync(credentialsPath(store))).to.equal(false);
  });
});
