// `hub push`: one update event (a campaign). The campaign row fixes which offers it carries and enrols
// every site with an endpoint; runners (one or several processes, even on several machines with
// PostgreSQL) lease deliveries from the registry, hold each site's conversation, and record its
// outcome. A failure is retried with exponential backoff up to maxAttempts. A runner that crashes
// leaves its leases to expire and be taken again; a resumed runner never re-creates the campaign, and a
// site that already finished a campaign answers "done" again without receiving anything twice.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Agent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { utf8 } from '../core/bytes.js';
import { CountersignError, DistributionError, UsageError } from '../core/errors.js';
import { hawkCall, type Peer } from '../distribution/hawk-client.js';
import { payloadHash } from '../distribution/hawk.js';
import { BUNDLE_TYPE, JSON_TYPE, parseMessage, type IndexMessage, type PackageResult, type SiteReply } from '../distribution/messages.js';
import { meetsRisk, type RiskLevel } from '../core/risk.js';
import type { CampaignRecord, DeliveryOutcome, OfferRecord, Registry, SiteRecord } from './registry.js';
import { withSlash } from '../distribution/url.js';
import { bundlePath, indexEntry } from './server.js';
import { campaignReport, type FailedSite } from './status.js';

export interface PushOptions {
  registry: Registry;
  /** Where published bundles are. */
  bundlesDir: string;
  /** Conversations held at once by this runner. */
  concurrency: number;
  /** Offers below this risk level stay out of a new campaign (null: all). */
  minRisk: RiskLevel | null;
  /** Allow endpoints on loopback or private addresses, for sites that registered on one (privateEndpoint). */
  allowPrivate: boolean;
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, with jitter, capped at 10 minutes. */
  retryBaseMs?: number;
  /** How long a delivery stays leased to this runner; another runner may take it after. */
  leaseMs?: number;
  timeoutMs?: number;
  /** Keep-alive agents for http and https endpoints. */
  agent?: Agent;
  httpsAgent?: HttpsAgent;
  onProgress?: (progress: PushProgress) => void;
  log?: (event: Record<string, unknown>) => void;
}

export interface PushProgress {
  campaign: string;
  total: number;
  done: number;
  failed: number;
  pending: number;
  /** Sites finished (done or failed) per second by this runner. */
  rate: number;
}

export interface PushSummary extends PushProgress {
  resumed: boolean;
  offers: string[];
  elapsedMs: number;
  /** Conversation time of each site this runner finished successfully. */
  conversationMs: { p50: number; p99: number; max: number } | null;
  /** Packages each site reported, by status, over the whole campaign. */
  packages: Record<PackageResult['status'], number>;
  /** Every site that failed after its last attempt, with its last error. */
  failedSites: FailedSite[];
}

const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** Resumes the unfinished campaign if there is one, else starts one; returns when every delivery is done or failed. */
export async function runPush(opts: PushOptions): Promise<PushSummary> {
  const started = Date.now();
  const { campaign, resumed } = await openCampaign(opts);
  const offers = new Map<string, OfferRecord>();
  for (const name of campaign.offers) {
    const offer = await opts.registry.getOffer(name);
    if (!offer) throw new DistributionError('REGISTRY', `campaign ${campaign.id} names ${name}, which is no longer on offer`);
    offers.set(name, offer);
  }
  const index: IndexMessage = { type: 'index', campaign: campaign.id, offers: [...offers.values()].map(indexEntry) };
  const indexBytes = utf8(JSON.stringify(index));
  // Computed once for every site of the campaign: the index's payload hash, and the bytes of small bundles.
  const shared = { indexHawkHash: payloadHash(JSON_TYPE, indexBytes), bundleBytes: await smallBundles(offers, opts.bundlesDir) };
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const leaseMs = opts.leaseMs ?? 300_000;
  const durations: number[] = [];
  let finishedHere = 0;

  const report = async () => {
    if (!opts.onProgress) return;
    const p = await opts.registry.campaignProgress(campaign.id);
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    opts.onProgress({ campaign: campaign.id, total: p.total, done: p.done, failed: p.failed, pending: p.pending + p.running, rate: finishedHere / seconds });
  };

  // The sites of the deliveries claimed and not yet started, read with their claim (sites never change once added).
  const claimedSites = new Map<string, SiteRecord>();
  const deliver = async (siteId: string, attempts: number) => {
    const site = claimedSites.get(siteId);
    claimedSites.delete(siteId);
    const t0 = Date.now();
    let outcome: DeliveryOutcome;
    try {
      if (!site?.endpoint) throw new DistributionError('NOT_REGISTERED', `site ${siteId} has no endpoint`);
      const results = await converse(site, campaign.id, indexBytes, offers, { ...opts, ...shared });
      durations.push(Date.now() - t0);
      outcome = { state: 'done', result: { results, ms: Date.now() - t0 } };
    } catch (err) {
      const e = err instanceof CountersignError ? err : new DistributionError('PROTOCOL', (err as Error).message);
      const last = attempts >= (opts.maxAttempts ?? 5);
      const delay = Math.min((opts.retryBaseMs ?? 2000) * 2 ** (attempts - 1) * (0.5 + Math.random()), MAX_RETRY_DELAY_MS);
      outcome = last
        ? { state: 'failed', result: { code: e.code, message: e.message, attempts } }
        : { state: 'retry', nextAttemptAt: new Date(Date.now() + delay).toISOString(), result: { code: e.code, message: e.message, attempts } };
      opts.log?.({ event: 'delivery-failed', site: siteId, attempts, code: e.code, message: e.message, final: last });
    }
    // Written with the other outcomes of the moment, in one transaction; the worker moves on meanwhile.
    outcomes.add(siteId, outcome, (held) => {
      if (held && outcome.state !== 'retry') finishedHere += 1;
    });
  };
  const outcomes = new OutcomeBatch(opts.registry, campaign.id, owner);

  const queue: Array<{ siteId: string; attempts: number }> = [];
  let inFlight = 0;
  // Resolved each time a delivery of this runner finishes: idle workers wait for it instead of polling.
  let wake: () => void = () => undefined;
  let finished = new Promise<void>((resolve) => (wake = resolve));
  const signalFinished = () => {
    const resolve = wake;
    finished = new Promise<void>((r) => (wake = r));
    resolve();
  };
  let refilling: Promise<boolean> | undefined;
  // Refills the local queue from the registry, never beyond twice `concurrency` held at once (one round in
  // flight, the next queued, so a claim takes many deliveries rather than one per finished site); false
  // when the campaign has nothing left for anyone.
  const refill = async (): Promise<boolean> => {
    for (;;) {
      const room = 2 * opts.concurrency - inFlight - queue.length;
      if (room > 0) {
        const claims = await opts.registry.claimDeliveries(campaign.id, owner, room, new Date().toISOString(), leaseMs);
        if (claims.length > 0) {
          for (const site of await opts.registry.getSites(claims.map((c) => c.siteId))) claimedSites.set(site.id, site);
          queue.push(...claims);
          return true;
        }
      }
      if (inFlight > 0) {
        // What is in flight may come back as a retry, or free room: look again when one finishes.
        await finished;
        continue;
      }
      await outcomes.flush(); // our own finished deliveries must not count as running
      const p = await opts.registry.campaignProgress(campaign.id);
      if (p.pending === 0 && p.running === 0) return false;
      // Retries not yet due, or deliveries leased by another runner (taken over when the lease ends).
      const due = await opts.registry.nextDue(campaign.id);
      const wait = due === null ? Math.min(1000, leaseMs) : Math.min(Math.max(Date.parse(due) - Date.now(), 10), 1000);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  let progressTimer: NodeJS.Timeout | undefined;
  if (opts.onProgress) progressTimer = setInterval(() => void report().catch(() => undefined), 250);
  const worker = async () => {
    for (;;) {
      let next = queue.shift();
      while (!next) {
        refilling ??= refill().finally(() => (refilling = undefined));
        if (!(await refilling)) return;
        next = queue.shift();
      }
      inFlight += 1;
      try {
        await deliver(next.siteId, next.attempts);
      } finally {
        inFlight -= 1;
        signalFinished();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
    await outcomes.flush();
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    await outcomes.settle();
  }
  await opts.registry.finishCampaign(campaign.id, new Date().toISOString());
  await report();
  return summarize(opts.registry, campaign, resumed, Date.now() - started, finishedHere, durations);
}

/** Bundles up to this size are read once per campaign and sent from memory; larger ones are streamed from their file to each site. */
const IN_MEMORY_BUNDLE_BYTES = 8 * 1024 * 1024;

/** The small published bundles of a campaign, read once; one whose bytes no longer match its offer is left to be sent from its file (and refused by the site). */
async function smallBundles(offers: ReadonlyMap<string, OfferRecord>, bundlesDir: string): Promise<Map<string, Uint8Array>> {
  const bytes = new Map<string, Uint8Array>();
  for (const offer of offers.values()) {
    if (offer.size > IN_MEMORY_BUNDLE_BYTES) continue;
    const data = await readFile(bundlePath(bundlesDir, offer)).catch(() => null);
    if (data && data.length === offer.size && payloadHash(BUNDLE_TYPE, data) === offer.hawkHash) bytes.set(offer.name, data);
  }
  return bytes;
}

/**
 * Outcomes of finished deliveries, written to the registry together: at most FLUSH_MS after the first
 * one waiting, or once MAX_BATCH wait. Delaying the record is safe: until it is written the delivery is
 * still leased to this runner, and a site that finished a campaign answers "done" again if a resumed
 * runner calls it. A failed write fails the next add() or flush(), as a failed finishDelivery did.
 */
class OutcomeBatch {
  // Each write is one commit (one fsync of the WAL, ~0.7 ms here): at 20 ms a batch held ~14 outcomes at c=64, at 100 ms ~50.
  private static readonly FLUSH_MS = 100;
  private static readonly MAX_BATCH = 256;
  private waiting: Array<{ siteId: string; outcome: DeliveryOutcome; then: (held: boolean) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly registry: Registry,
    private readonly campaign: string,
    private readonly owner: string,
  ) {}

  add(siteId: string, outcome: DeliveryOutcome, then: (held: boolean) => void): void {
    if (this.failure !== null) throw this.failure;
    this.waiting.push({ siteId, outcome, then });
    if (this.waiting.length >= OutcomeBatch.MAX_BATCH) void this.flush().catch(() => undefined);
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), OutcomeBatch.FLUSH_MS);
  }

  /** Writes everything waiting (after any write under way); rethrows a failed write. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length > 0) {
      this.writing = this.writing.then(async () => {
        if (this.failure !== null) return;
        try {
          const held = await this.registry.finishDeliveries(this.campaign, this.owner, batch, new Date().toISOString());
          batch.forEach((item, i) => item.then(held[i] === true));
        } catch (err) {
          this.failure = err;
        }
      });
    }
    await this.writing;
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for writes under way (after a failure elsewhere), without throwing. */
  async settle(): Promise<void> {
    clearTimeout(this.timer);
    await this.writing;
  }
}

async function openCampaign(opts: PushOptions): Promise<{ campaign: CampaignRecord; resumed: boolean }> {
  const open = await opts.registry.unfinishedCampaign();
  if (open) {
    opts.log?.({ event: 'campaign-resumed', campaign: open.id });
    return { campaign: open, resumed: true };
  }
  const offers = (await opts.registry.listOffers()).filter((o) => meetsRisk(o, opts.minRisk)).map((o) => o.name);
  if (offers.length === 0) {
    throw new UsageError('USAGE', opts.minRisk ? `nothing on offer is rated ${opts.minRisk} or higher` : 'nothing is on offer: hub publish a bundle first');
  }
  const id = randomBytes(16).toString('hex');
  const created = new Date().toISOString();
  try {
    await opts.registry.createCampaign({ id, created, offers, minRisk: opts.minRisk, unlessUnfinished: true });
  } catch (err) {
    // Another runner created one between our look and our insert: resume it, so no site is notified twice.
    if (!(err instanceof DistributionError && err.details.conflict === 'unfinished')) throw err;
    const other = (await opts.registry.getCampaign(String(err.details.campaign)))!;
    opts.log?.({ event: 'campaign-resumed', campaign: other.id });
    return { campaign: other, resumed: true };
  }
  opts.log?.({ event: 'campaign-created', campaign: id, offers });
  return { campaign: (await opts.registry.getCampaign(id))!, resumed: false };
}

/** One site's conversation: the index, then each package it asks for, until it says done. */
export async function converse(
  site: SiteRecord,
  campaign: string,
  indexBytes: Uint8Array,
  offers: ReadonlyMap<string, OfferRecord>,
  opts: Pick<PushOptions, 'allowPrivate' | 'agent' | 'httpsAgent' | 'timeoutMs' | 'bundlesDir'> & {
    /** payloadHash of indexBytes, when computed beforehand. */
    indexHawkHash?: string;
    /** Bundles already read, by offer name (smallBundles); the others are streamed from bundlesDir. */
    bundleBytes?: ReadonlyMap<string, Uint8Array>;
  },
): Promise<PackageResult[]> {
  const peer: Peer = {
    base: withSlash(new URL(site.endpoint!)),
    creds: { id: site.id, key: site.key },
    allowPrivate: opts.allowPrivate && site.privateEndpoint,
    agents: { http: opts.agent, https: opts.httpsAgent },
    timeoutMs: opts.timeoutMs,
  };
  const answer = async (path: string, body: Parameters<typeof hawkCall>[3]) =>
    parseMessage<SiteReply>('site-reply', (await hawkCall(peer, 'POST', path, body, { maxResponseBytes: 4 * 1024 * 1024 })).body, `${site.id}'s answer`);
  let reply = await answer('index', { contentType: JSON_TYPE, bytes: indexBytes, hawkHash: opts.indexHawkHash });
  const sent = new Set<string>();
  while (reply.type === 'want') {
    const offer = offers.get(reply.name);
    if (!offer || sent.has(offer.name))
      throw new DistributionError('PROTOCOL', `site asked for ${JSON.stringify(reply.name)}, which this campaign does not offer or already sent`);
    sent.add(offer.name);
    const query = new URLSearchParams({ campaign, name: offer.name });
    const bytes = opts.bundleBytes?.get(offer.name);
    reply = await answer(
      `package?${query}`,
      bytes
        ? { contentType: BUNDLE_TYPE, bytes, hawkHash: offer.hawkHash }
        : { contentType: BUNDLE_TYPE, file: { path: bundlePath(opts.bundlesDir, offer), size: offer.size, hawkHash: offer.hawkHash } },
    );
  }
  if (reply.type !== 'done') throw new DistributionError('PROTOCOL', 'site answered hello inside a conversation');
  return reply.results;
}

async function summarize(
  registry: Registry,
  campaign: CampaignRecord,
  resumed: boolean,
  elapsedMs: number,
  finishedHere: number,
  durations: number[],
): Promise<PushSummary> {
  const report = (await campaignReport(registry, campaign.id))!;
  const p = report.progress;
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!;
  return {
    campaign: campaign.id,
    resumed,
    offers: campaign.offers,
    total: p.total,
    done: p.done,
    failed: p.failed,
    pending: p.pending + p.running,
    rate: finishedHere / Math.max(elapsedMs / 1000, 0.001),
    elapsedMs,
    conversationMs: durations.length > 0 ? { p50: at(0.5), p99: at(0.99), max: durations.at(-1)! } : null,
    packages: report.packages,
    failedSites: report.failed,
  };
}
