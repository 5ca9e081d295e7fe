// Release versions of PHP CMS packages, and the order a site moves through them.
//
// Drupal core: 7.99, 10.2.3, 10.3.0-beta2, 11.0.0-rc1. Drupal contrib: legacy 8.x-1.2 (core
// prefix, then the module's own version) and semantic 2.0.5. WordPress: 6.4.2, 6.5, 6.5-RC1.
// Branch snapshots such as 8.x-1.x-dev or 11.x-dev are not releases and are refused.
//
// Two schemes, never compared with each other (VERSION_SCHEME_MISMATCH):
// - legacy (`N.x-…`): the prefix is part of the version. It names the Drupal core major the
//   release line is built for, so 7.x-1.2 and 8.x-1.2 are different releases of different code
//   lines, and neither is the plain 1.2. Legacy versions order by the prefix, then by what follows.
// - numeric (everything else): segments as numbers, then the pre-release tag.
// Each scheme alone is a total order (a lexicographic order on numbers). Across schemes no order
// is safe: the old mixed rule (by prefix when both had one, else by what follows) was not
// transitive (7.x-5.0 < 8.x-1.0 < 4.0.0 < 7.x-5.0), which let a store accept a replayed release.
// Ordering one scheme wholly above the other would be total, but it would be a guess about a
// module's history that nobody signed. So a comparison across schemes is refused and every caller
// fails closed: not applicable, not newer, never "not a rollback". Moving a site from one scheme
// to the other (8.x-3.5 to 4.0.0) is an operator's decision: countersign trust record.
import { ReleaseError } from './errors.js';

export type PreReleaseTag = 'dev' | 'alpha' | 'beta' | 'rc';

/** Pre-release tags from lowest to highest; a plain release sorts above all of them. */
export const PRE_RELEASE_ORDER: readonly PreReleaseTag[] = ['dev', 'alpha', 'beta', 'rc'];

export interface Version {
  /** The text as given. */
  text: string;
  /** The Drupal core prefix of a legacy contrib version: 8 for `8.x-1.2`; null when there is none. */
  core: number | null;
  /** The numeric segments after any core prefix: [1, 2] for `8.x-1.2`, [6, 5] for `6.5`. */
  release: number[];
  /** The pre-release tag and its number: `rc1` → { tag: 'rc', n: 1 }; `dev` (never numbered) → { tag: 'dev', n: 0 }. */
  pre: { tag: PreReleaseTag; n: number } | null;
  /** SemVer build metadata after `+`; kept, but ignored in ordering (SemVer 2.0.0 §10). */
  build: string | null;
}

export const MAX_VERSION_LENGTH = 64;
const MAX_SEGMENTS = 4;

// Numbers without leading zeros and small enough to stay exact: one spelling per number.
const NUM = '(?:0|[1-9][0-9]{0,8})';
const VERSION = new RegExp(
  `^(?:(${NUM})\\.x-)?` + // legacy contrib core prefix
    `(${NUM}(?:\\.${NUM}){0,${MAX_SEGMENTS - 1}})` + // release segments
    `(?:-(?:(dev)|(alpha|beta|rc)(${NUM})))?` + // pre-release: -dev, or a numbered tag (WordPress writes RC1)
    `(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`, // build metadata
  'i',
);
const ALLOWED = /^[0-9A-Za-z.+-]+$/;

/** Parses a release version; anything else is ReleaseError('BAD_VERSION'). */
export function parseVersion(text: string): Version {
  if (typeof text !== 'string') throw new ReleaseError('BAD_VERSION', 'version is not a string');
  if (text.length === 0 || text.length > MAX_VERSION_LENGTH) {
    throw new ReleaseError('BAD_VERSION', `version must be 1 to ${MAX_VERSION_LENGTH} characters long`);
  }
  if (!ALLOWED.test(text)) throw new ReleaseError('BAD_VERSION', `version ${JSON.stringify(text)} has characters other than 0-9 A-Z a-z . + -`);
  const m = VERSION.exec(text);
  if (!m) throw new ReleaseError('BAD_VERSION', `${JSON.stringify(text)} is not a release version such as 10.2.3, 11.0.0-rc1, 8.x-1.2 or 6.5`);
  const [, core, release, dev, tag, n, build] = m;
  return {
    text,
    core: core === undefined ? null : Number(core),
    release: release!.split('.').map(Number),
    pre: dev !== undefined ? { tag: 'dev', n: 0 } : tag !== undefined ? { tag: tag.toLowerCase() as PreReleaseTag, n: Number(n) } : null,
    build: build ?? null,
  };
}

function sign(d: number): -1 | 0 | 1 {
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

function preRank(v: Version): number {
  return v.pre === null ? PRE_RELEASE_ORDER.length : PRE_RELEASE_ORDER.indexOf(v.pre.tag);
}

export type VersionScheme = 'legacy' | 'numeric';

/** `legacy` for a Drupal legacy contrib version (`8.x-1.2`), `numeric` for every other release version. */
export function versionScheme(v: string | Version): VersionScheme {
  return (typeof v === 'string' ? parseVersion(v) : v).core === null ? 'numeric' : 'legacy';
}

/** True when `a` and `b` can be compared: both legacy, or both numeric. */
export function sameScheme(a: string | Version, b: string | Version): boolean {
  return versionScheme(a) === versionScheme(b);
}

/** Release segments (missing ones are 0), then dev < alpha < beta < rc < the release, then the tag's number. */
function compareAfterPrefix(va: Version, vb: Version): -1 | 0 | 1 {
  const len = Math.max(va.release.length, vb.release.length);
  for (let i = 0; i < len; i++) {
    const d = (va.release[i] ?? 0) - (vb.release[i] ?? 0);
    if (d !== 0) return sign(d);
  }
  const r = preRank(va) - preRank(vb);
  if (r !== 0) return sign(r);
  return sign((va.pre?.n ?? 0) - (vb.pre?.n ?? 0));
}

/**
 * -1, 0 or 1 as `a` is older than, the same release as, or newer than `b`, both of one scheme;
 * ReleaseError VERSION_SCHEME_MISMATCH when one is legacy and the other numeric (see the top of this file).
 *
 * - Legacy versions order by the core prefix (7.x-3.9 < 8.x-1.0), then by what follows it.
 * - Numeric segments compare as numbers; missing trailing segments are 0 (6.5 = 6.5.0).
 * - dev < alpha < beta < rc < the release itself; the same tag orders by its number (rc1 < rc2).
 * - Build metadata is ignored.
 */
export function compareVersions(a: string | Version, b: string | Version): -1 | 0 | 1 {
  const va = typeof a === 'string' ? parseVersion(a) : a;
  const vb = typeof b === 'string' ? parseVersion(b) : b;
  if ((va.core === null) !== (vb.core === null)) {
    throw new ReleaseError(
      'VERSION_SCHEME_MISMATCH',
      `${va.text} and ${vb.text} are of different version schemes (legacy N.x- and numeric) and cannot be compared`,
      {
        versions: [va.text, vb.text],
      },
    );
  }
  if (va.core !== null && vb.core !== null && va.core !== vb.core) return sign(va.core - vb.core);
  return compareAfterPrefix(va, vb);
}

/** The same release: same scheme and equal; false across schemes (nothing is "the same" as an incomparable version). */
export function isSameRelease(a: string | Version, b: string | Version): boolean {
  return sameScheme(a, b) && compareVersions(a, b) === 0;
}

/**
 * Equal, or across schemes equal after the legacy prefix (8.x-1.2 and 1.2.0, as Drupal's Composer
 * repository names them alike). For revocations only, which must err towards refusing.
 */
export function mayBeSameRelease(a: string | Version, b: string | Version): boolean {
  const va = typeof a === 'string' ? parseVersion(a) : a;
  const vb = typeof b === 'string' ? parseVersion(b) : b;
  return sameScheme(va, vb) ? compareVersions(va, vb) === 0 : compareAfterPrefix(va, vb) === 0;
}
