// `hub status`: what a campaign did, from the registry alone: progress, what sites reported for each
// package, and every site that failed with its last error; so an operator (or a script) can see who is
// still exposed after an update event. Sites that poll are not enrolled in campaigns: they count from
// their poll reports (a site that has not polled since the campaign began may still be exposed).
import type { PackageResult } from '../distribution/messages.js';
import type { CampaignProgress, CampaignRecord, PollReport, Registry } from './registry.js';

export interface FailedSite {
  site: string;
  endpoint: string | null;
  attempts: number;
  code: string | null;
  message: string | null;
}

export interface CampaignReport {
  campaign: CampaignRecord;
  progress: CampaignProgress;
  /** Packages the sites reported, by status. */
  packages: Record<PackageResult['status'], number>;
  /** Sites where a package was rejected, failed, or is installed only in part (kept names the files; the conversation itself succeeded). */
  problems: Array<{ site: string; result: PackageResult }>;
  failed: FailedSite[];
  sites: number;
  polling: PollingStatus;
}

export interface PollingStatus {
  /** Sites registered without an endpoint. */
  total: number;
  /** Polled since the campaign began, or reported one of its packages installed or kept. */
  seen: number;
  /** The others: as far as the hub knows, still exposed. */
  unseen: number;
  sites: PollingSiteStatus[];
}

export interface PollingSiteStatus {
  site: string;
  registered: string;
  lastSeen: string | null;
  seen: boolean;
  /** What it last reported about each of the campaign's packages. */
  reports: PollReport[];
}

/** The report of campaign `id`, or of the newest campaign; undefined when there is none. */
export async function campaignReport(registry: Registry, id?: string): Promise<CampaignReport | undefined> {
  const campaign = id === undefined ? (await registry.recentCampaigns(1))[0] : await registry.getCampaign(id);
  if (!campaign) return undefined;
  const packages: CampaignReport['packages'] = { installed: 0, verified: 0, rejected: 0, failed: 0, partial: 0 };
  const problems: CampaignReport['problems'] = [];
  const failed: FailedSite[] = [];
  for (const delivery of await registry.deliveryResults(campaign.id)) {
    if (delivery.state === 'failed') {
      const last = (delivery.result ?? {}) as { code?: string; message?: string };
      const site = await registry.getSite(delivery.siteId);
      failed.push({
        site: delivery.siteId,
        endpoint: site?.endpoint ?? null,
        attempts: delivery.attempts,
        code: last.code ?? null,
        message: last.message ?? null,
      });
      continue;
    }
    for (const result of (delivery.result as { results?: PackageResult[] } | null)?.results ?? []) {
      packages[result.status] += 1;
      if (result.status === 'rejected' || result.status === 'failed' || result.status === 'partial') problems.push({ site: delivery.siteId, result });
    }
  }
  const polling = await pollingStatus(registry, campaign, problems);
  return { campaign, progress: await registry.campaignProgress(campaign.id), packages, problems, failed, sites: await registry.countSites(), polling };
}

async function pollingStatus(registry: Registry, campaign: CampaignRecord, problems: CampaignReport['problems']): Promise<PollingStatus> {
  const offers = new Set(campaign.offers);
  const sites = (await registry.pollingSites()).map((s): PollingSiteStatus => {
    const reports = s.reports.filter((r) => offers.has(r.name));
    const took = reports.some((r) => r.status === 'installed' || r.status === 'verified');
    const seen = took || (s.lastSeen !== null && Date.parse(s.lastSeen) >= Date.parse(campaign.created));
    return { site: s.id, registered: s.registered, lastSeen: s.lastSeen, seen, reports };
  });
  for (const s of sites) {
    for (const r of s.reports) {
      if (r.status === 'rejected' || r.status === 'failed' || r.status === 'partial')
        problems.push({
          site: s.site,
          result: {
            name: r.name,
            status: r.status,
            ...(r.code ? { code: r.code } : {}),
            ...(r.message ? { message: r.message } : {}),
            ...(r.kept ? { kept: r.kept } : {}),
          },
        });
    }
  }
  const seen = sites.filter((s) => s.seen).length;
  return { total: sites.length, seen, unseen: sites.length - seen, sites };
}
