// `hub status`: what a campaign did, from the registry alone: progress, what sites reported for each
// package, and every site that failed with its last error; so an operator (or a script) can see who is
// still exposed after an update event.
import type { PackageResult } from '../distribution/messages.js';
import type { CampaignProgress, CampaignRecord, Registry } from './registry.js';

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
      failed.push({ site: delivery.siteId, endpoint: site?.endpoint ?? null, attempts: delivery.attempts, code: last.code ?? null, message: last.message ?? null });
      continue;
    }
    for (const result of (delivery.result as { results?: PackageResult[] } | null)?.results ?? []) {
      packages[result.status] += 1;
      if (result.status === 'rejected' || result.status === 'failed' || result.status === 'partial') problems.push({ site: delivery.siteId, result });
    }
  }
  return { campaign, progress: await registry.campaignProgress(campaign.id), packages, problems, failed, sites: await registry.countSites() };
}
