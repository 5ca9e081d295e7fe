// What a site is, as far as a release's target goes: the product and component it must be for. Given by
// the operator (--product, --component), or read from the site's own version files (version-file.ts): the
// core version file of a known product at the site root says "PRODUCT core"; else an extension's own
// version file (NAME.info.yml, NAME.php, ...) for the release's component says "PRODUCT NAME". A release
// for anything else is WRONG_TARGET, before anything is staged.
import type { Reason } from '../errors.js';
import type { Manifest } from '../manifest.js';
import { detectInstalledVersion } from './inspect.js';

/** The products whose version files version-file.ts knows. */
const KNOWN_PRODUCTS = ['drupal', 'backdrop', 'wordpress'] as const;

export interface Target {
  product?: string;
  component?: string;
}

export interface IdentifiedSite {
  product: string;
  component: string;
  /** The version file that says so, relative to the root. */
  path: string;
}

/**
 * Every product/component the site root's version files claim: core of each known product whose core
 * version file states a version; when there is none, each known product whose version file for
 * `component` (an extension's own directory) does.
 */
export function identifySite(root: string, component: string): IdentifiedSite[] {
  const read = (product: string, c: string): IdentifiedSite[] => {
    const found = detectInstalledVersion(root, { product, component: c, versionFile: null });
    return found ? [{ product, component: c, path: found.path }] : [];
  };
  const core = KNOWN_PRODUCTS.flatMap((p) => read(p, 'core'));
  if (core.length > 0 || component === 'core') return core;
  return KNOWN_PRODUCTS.flatMap((p) => read(p, component));
}

/**
 * The target a release must match on this site: each field as given, else as the site's version files say
 * (the release's own product and component when they are among what the files claim, else the first claim).
 */
export function siteTarget(root: string, release: Pick<Manifest, 'product' | 'component'>, given: Target): Target & { identified: IdentifiedSite[] } {
  const identified = given.product !== undefined && given.component !== undefined ? [] : identifySite(root, given.component ?? release.component);
  const pick = identified.find((s) => s.product === release.product && s.component === release.component) ?? identified[0];
  return { product: given.product ?? pick?.product, component: given.component ?? pick?.component, identified };
}

/** WRONG_TARGET for each field the release does not match (the same reason verifyBundle gives). */
export function targetReasons(manifest: Pick<Manifest, 'product' | 'component'>, target: Target): Reason[] {
  const reasons: Reason[] = [];
  for (const field of ['product', 'component'] as const) {
    const want = target[field];
    if (want !== undefined && manifest[field] !== want) {
      reasons.push({ code: 'WRONG_TARGET', message: `this release is for ${field} ${manifest[field]}, not ${want}`, details: { field, expected: want, found: manifest[field] } });
    }
  }
  return reasons;
}
