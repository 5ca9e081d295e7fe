// Which packages a site wants from an index: pure, so the same rule serves push and poll and can be
// tested without a network. The index is unsigned: choosing a package only decides what to download;
// the bundle itself must still pass the site's verification (quorum, target, rollback, expiry).
import type { IndexEntry } from '../distribution/messages.js';
import { meetsRisk, type RiskLevel } from '../core/risk.js';
import { compareVersions } from '../core/version.js';

export interface Installed {
  product: string;
  component: string;
  version: string;
  /** A release applied in part (apply --keep-local): still wanted, but reported rather than asked for again. */
  partial?: { version: string; kept: string[] };
}

export interface ChoiceOptions {
  /** Only packages whose risk level is at least this; a release without a risk score never qualifies unless this is null. */
  minRisk: RiskLevel | null;
  /** Names already asked for in this conversation, never asked for twice. */
  asked: ReadonlySet<string>;
}

/**
 * The next package to ask for, or undefined when the site wants nothing more: among offers for a
 * product/component the site runs, newer than what it runs, that apply to its installed version (a
 * backport names older versions in appliesTo) and meet the risk threshold, the highest version wins.
 */
export function nextWanted(offers: readonly IndexEntry[], installed: readonly Installed[], opts: ChoiceOptions): IndexEntry | undefined {
  let best: IndexEntry | undefined;
  for (const offer of offers) {
    if (opts.asked.has(offer.name) || !meetsRisk(offer, opts.minRisk)) continue;
    const current = installed.find((i) => i.product === offer.product && i.component === offer.component);
    if (!current || !isNewer(offer.version, current.version)) continue;
    if (offer.appliesTo.length > 0 && !offer.appliesTo.some((v) => sameVersion(v, current.version))) continue;
    if (!best || isNewer(offer.version, best.version) || (sameVersion(offer.version, best.version) && offer.name < best.name)) best = offer;
  }
  return best;
}

// An offer with a malformed version is skipped rather than trusted or fatal: the index is unsigned.
function isNewer(a: string, b: string): boolean {
  try {
    return compareVersions(a, b) > 0;
  } catch {
    return false;
  }
}

function sameVersion(a: string, b: string): boolean {
  try {
    return compareVersions(a, b) === 0;
  } catch {
    return false;
  }
}
