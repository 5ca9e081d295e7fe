// The hub's registry: the sites that registered with it, the signed bundles it offers, and each campaign
// (one push of new offers to every site with an endpoint) with one delivery row per site, which push
// runners lease, attempt, and finish or put back for a retry.
//
// Two backends behind one interface: SQLite (`sqlite:PATH`, one hub on one machine) and PostgreSQL
// (`postgres://…`, several hub processes on several machines sharing one registry). Each driver is
// imported only when a registry is opened, so commands that never touch the hub never load native code.
// This module holds what both share (the interface, records and helpers); open-registry.ts opens one.
//
// Times are ISO-8601 strings given by the caller; the registry never reads the clock. They come back
// spelled as Date.prototype.toISOString does (`2026-11-23T12:00:00.000Z`), whatever spelling went in.
// Every failure of the database is DistributionError REGISTRY, carrying the driver's message but never
// the URL's password.
import { CountersignError, DistributionError } from '../core/errors.js';
import type { IndexEntry, PackageResult, ResultStatus } from '../distribution/messages.js';

export interface SiteRecord {
  id: string;
  /** null: a poll-only site, never pushed to. */
  endpoint: string | null;
  /** The 32-byte shared Hawk secret. */
  key: Uint8Array;
  registered: string;
  /** The source address that registered it. */
  address: string;
  /**
   * The endpoint resolved to a loopback or private address when it registered (allowed only by a hub run
   * with --allow-private-endpoints). Push calls a site not so recorded only on public addresses, so a
   * public name re-pointed at an internal address later (DNS rebinding) is not followed.
   */
  privateEndpoint: boolean;
}

/** An offer as the hub keeps it: what sites see (IndexEntry) and where and how to serve it. */
export interface OfferRecord extends IndexEntry {
  /** Hawk payload hash of the bundle bytes, computed once at publish. */
  hawkHash: string;
  /** The bundle's file name inside the bundles directory. */
  file: string;
  published: string;
  manifestSha256: string;
}

export type DeliveryState = 'pending' | 'running' | 'done' | 'failed';

export interface CampaignRecord {
  id: string;
  created: string;
  /** Names of the offers in this event, fixed at creation. */
  offers: string[];
  minRisk: string | null;
  finished: string | null;
}

export interface DeliveryClaim {
  siteId: string;
  attempts: number;
}

export interface DeliveryOutcome {
  /** retry: back to pending, due again at nextAttemptAt (default: now). */
  state: 'done' | 'failed' | 'retry';
  nextAttemptAt?: string;
  /** Any JSON value, stored as is. */
  result: unknown;
}

export interface CampaignProgress {
  pending: number;
  running: number;
  done: number;
  failed: number;
  total: number;
}

export interface DeliveryResult {
  siteId: string;
  state: DeliveryState;
  attempts: number;
  result: unknown;
}

/** The last thing a site reported about one package after a poll. */
export interface PollReport {
  name: string;
  status: ResultStatus;
  code: string | null;
  message: string | null;
  /** With partial: the files the site kept as they were. */
  kept: string[] | null;
  reported: string;
}

/** A site registered without an endpoint: never pushed to, seen only when it polls. */
export interface PollingSite {
  id: string;
  registered: string;
  /** When it last reported the end of a poll; null: never. */
  lastSeen: string | null;
  /** The last report per package, ordered by name. */
  reports: PollReport[];
}

export interface OpenOptions {
  /** Refuse a registry that does not exist yet instead of creating it (read-only commands). */
  mustExist?: boolean;
}

export interface NewCampaign {
  id: string;
  created: string;
  offers: string[];
  minRisk: string | null;
  /** Refuse (conflict 'unfinished', naming it) when a campaign is unfinished, checked in the same transaction as the insert. */
  unlessUnfinished?: boolean;
}

export interface Registry {
  readonly kind: 'sqlite' | 'postgres';
  close(): Promise<void>;
  /** A second site with the same id is REGISTRY with details {conflict: 'id'}. */
  addSite(site: SiteRecord): Promise<void>;
  getSite(id: string): Promise<SiteRecord | undefined>;
  /** The sites of these ids that exist, in any order: one read for a batch of claimed deliveries. */
  getSites(ids: readonly string[]): Promise<SiteRecord[]>;
  countSites(): Promise<number>;
  /** The same name and sha256 again is 'exists'; the same name with another sha256 is REGISTRY {conflict: 'name'}. */
  putOffer(offer: OfferRecord): Promise<'added' | 'exists'>;
  getOffer(name: string): Promise<OfferRecord | undefined>;
  /** Ordered by product, component, version (as strings, by code point), name. */
  listOffers(): Promise<OfferRecord[]>;
  /**
   * In one transaction: the campaign and one pending delivery, due at `created`, for every site
   * registered with an endpoint. Returns how many deliveries. A duplicate id is REGISTRY {conflict: 'id'}.
   */
  createCampaign(c: NewCampaign): Promise<number>;
  getCampaign(id: string): Promise<CampaignRecord | undefined>;
  /** The newest campaign not yet finished. */
  unfinishedCampaign(): Promise<CampaignRecord | undefined>;
  /** The newest campaigns, finished or not, newest first. */
  recentCampaigns(limit: number): Promise<CampaignRecord[]>;
  /**
   * Atomically takes up to `limit` deliveries that are pending and due, or running with a lease that
   * has expired, and leases them to `owner` until now + leaseMs, counting one more attempt. No two
   * callers, in any process, ever hold the same delivery at once.
   */
  claimDeliveries(campaignId: string, owner: string, limit: number, now: string, leaseMs: number): Promise<DeliveryClaim[]>;
  /** false when `owner` no longer holds the delivery (someone else took it after the lease expired). */
  finishDelivery(campaignId: string, siteId: string, owner: string, outcome: DeliveryOutcome, now: string): Promise<boolean>;
  /** finishDelivery for several deliveries, in one transaction (one commit, one flush); a result per item, in order. */
  finishDeliveries(campaignId: string, owner: string, items: ReadonlyArray<{ siteId: string; outcome: DeliveryOutcome }>, now: string): Promise<boolean[]>;
  campaignProgress(campaignId: string): Promise<CampaignProgress>;
  /** Ordered by site id. */
  deliveryResults(campaignId: string): Promise<DeliveryResult[]>;
  /** Finishing a finished campaign keeps the first time; an unknown id is REGISTRY. */
  finishCampaign(id: string, now: string): Promise<void>;
  /** The earliest due time among pending deliveries (how long a runner may sleep), null if none is pending. */
  nextDue(campaignId: string): Promise<string | null>;
  /**
   * Records a Hawk nonce seen from `credential`, remembered until `expires`; false when it was already
   * recorded. Shared by every hub process on the registry, so a request replayed to another process is
   * refused too. Expired nonces are purged as new ones arrive.
   */
  rememberNonce(credential: string, nonce: string, ts: number, expires: string, now: string): Promise<boolean>;
  /** Records that `siteId` finished a poll at `now`, and what it reported per package (the last report per name is kept). */
  recordPoll(siteId: string, results: PackageResult[], now: string): Promise<void>;
  /** Every site registered without an endpoint, with its polls, ordered by id. */
  pollingSites(): Promise<PollingSite[]>;
}

/** How many nonces a registry records between purges of expired ones. */
export const NONCE_PURGE_EVERY = 1000;

/** The schema this code creates and reads; a registry with a newer one was written by a newer countersign. */
export const SCHEMA_VERSION = 1;

/** The URL without its password, fit for messages. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url.replace(/\/\/[^/@]*@/, '//***@');
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** Wraps a driver failure as REGISTRY; countersign errors pass through unchanged. */
export function registryError(err: unknown, doing: string): CountersignError {
  if (err instanceof CountersignError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const driverCode = (err as { code?: unknown } | null)?.code;
  return new DistributionError('REGISTRY', `registry: ${doing} failed: ${message}`, typeof driverCode === 'string' ? { driverCode } : {});
}

export function conflict(what: string, key: 'id' | 'name', value: string): DistributionError {
  return new DistributionError('REGISTRY', `registry: ${what} ${JSON.stringify(value)} already exists`, { conflict: key, [key]: value });
}

export function unfinishedConflict(campaign: string): DistributionError {
  return new DistributionError('REGISTRY', `registry: campaign ${JSON.stringify(campaign)} is unfinished`, { conflict: 'unfinished', campaign });
}

export function unknownCampaign(id: string): DistributionError {
  return new DistributionError('REGISTRY', `registry: no campaign ${JSON.stringify(id)}`, { campaign: id });
}

export function missingRegistry(where: string): DistributionError {
  return new DistributionError('REGISTRY', `registry ${where} does not exist (hub publish or hub serve creates it)`, { missing: where });
}

/** Refuses a registry written by a newer countersign; `found` is null for a new one. */
export function checkSchemaVersion(found: number | null): void {
  if (found !== null && found > SCHEMA_VERSION) {
    throw new DistributionError(
      'REGISTRY',
      `registry: schema version ${found} is newer than this countersign supports (${SCHEMA_VERSION}); upgrade countersign`,
      {
        schemaVersion: found,
      },
    );
  }
}

/** Polling sites with their reports (both ordered by site id) attached. */
export function groupReports(
  sites: Array<{ id: string; registered: string; lastSeen: string | null }>,
  reports: Array<PollReport & { siteId: string }>,
): PollingSite[] {
  const bySite = new Map<string, PollReport[]>();
  for (const { siteId, ...report } of reports) {
    const list = bySite.get(siteId) ?? [];
    list.push(report);
    bySite.set(siteId, list);
  }
  return sites.map((s) => ({ ...s, reports: bySite.get(s.id) ?? [] }));
}

/** One spelling for every stored time, so that SQLite can compare them as strings. */
export function isoTime(time: string, what: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new DistributionError('REGISTRY', `registry: ${what} ${JSON.stringify(time)} is not an ISO-8601 time`);
  return new Date(ms).toISOString();
}

export function addMs(time: string, ms: number): string {
  return new Date(Date.parse(isoTime(time, 'time')) + ms).toISOString();
}

/** The stored state a delivery takes for an outcome, and when it is due again (null: unchanged). */
export function outcomeRow(outcome: DeliveryOutcome, now: string): { state: DeliveryState; due: string | null; result: string | null } {
  const result = JSON.stringify(outcome.result) ?? null;
  if (outcome.state === 'retry') return { state: 'pending', due: isoTime(outcome.nextAttemptAt ?? now, 'nextAttemptAt'), result };
  return { state: outcome.state, due: null, result };
}
