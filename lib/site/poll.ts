// `site poll`: the conversation started by the site, for sites that cannot accept inbound connections.
// The site fetches the index, downloads each package it wants (the response must be signed by the hub
// and match its signed payload hash), hands it to the same agent and backend as a push would, and
// reports what happened.
import { rm } from 'node:fs/promises';
import type https from 'node:https';
import { utf8 } from '../core/bytes.js';
import { DistributionError } from '../core/errors.js';
import { hawkCall, type Peer } from '../distribution/hawk-client.js';
import { JSON_TYPE, MAX_MESSAGE_BYTES, parseMessage, type IndexMessage, type PackageResult } from '../distribution/messages.js';
import { withSlash } from '../distribution/url.js';
import type { SiteAgent } from './agent.js';
import { hawkCredentials, type SiteCredentials } from './credentials.js';
import { checkHubAddress } from './hub.js';
import { spoolFile } from './spool.js';

export interface PollOptions {
  credentials: SiteCredentials;
  agent: SiteAgent;
  spoolDir: string;
  maxBundleBytes: number;
  /** Allow a hub on a loopback or private address (as register does). */
  allowPrivate: boolean;
  /** For an https hub: trusts a private CA (lib/site/hub.ts hubHttpsAgent). */
  httpsAgent?: https.Agent;
  timeoutMs?: number;
}

export interface PollResult {
  offers: number;
  results: PackageResult[];
}

export async function pollHub(opts: PollOptions): Promise<PollResult> {
  const base = withSlash(new URL(`${opts.credentials.hub.replace(/\/+$/, '')}/v1`));
  await checkHubAddress(base, opts.allowPrivate);
  const peer: Peer = {
    base,
    creds: hawkCredentials(opts.credentials),
    allowPrivate: opts.allowPrivate,
    agents: { https: opts.httpsAgent },
    timeoutMs: opts.timeoutMs,
  };
  const index = parseMessage<IndexMessage>(
    'hub-index',
    (await hawkCall(peer, 'GET', 'index', undefined, { maxResponseBytes: MAX_MESSAGE_BYTES })).body,
    'index',
  );
  let reply = await opts.agent.onIndex(index, 'poll');
  while (reply.type === 'want') {
    const entry = opts.agent.claim('poll', reply.name);
    if (!entry) throw new DistributionError('PROTOCOL', `the agent asked for ${reply.name} and forgot it`);
    const file = spoolFile(opts.spoolDir);
    try {
      await hawkCall(peer, 'GET', `bundles/${encodeURIComponent(entry.name)}`, undefined, {
        maxResponseBytes: Math.min(entry.size, opts.maxBundleBytes),
        responseFile: file,
      });
      reply = await opts.agent.onPackage('poll', entry, file);
    } finally {
      await rm(file, { force: true });
    }
  }
  if (reply.type !== 'done') throw new DistributionError('PROTOCOL', 'unexpected reply');
  await hawkCall(
    peer,
    'POST',
    'report',
    { contentType: JSON_TYPE, bytes: utf8(JSON.stringify({ type: 'done', results: reply.results })) },
    { maxResponseBytes: 64 * 1024 },
  );
  return { offers: index.offers.length, results: reply.results };
}
