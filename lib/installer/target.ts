// What a site is, as far as a release's target goes: the product and component it must be for. Given by
// the operator (--product, --component), or read from the site's own version files (version-file.ts): the
// core version file of a known product at the site root says "PRODUCT core"; else an extension's own
// version file (NAME.info.yml, NAME.php, ...) for the release's component says "PRODUCT NAME". A release
// for anything else is WRONG_TARGET, before anything is staged. With a trust store as without one: a
// site nothing identifies is TARGET_UNKNOWN, and one whose files claim two products is TARGET_AMBIGUOUS,
// unless --product and --component say what it is.
import type { Reason } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { detectInstalledVersion, type SiteRoot } from './inspect.js';
import type { Problem } from './plan.js';

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
export function identifySite(root: SiteRoot, component: string): IdentifiedSite[] {
  const read = (product: string, c: string): IdentifiedSite[] => {
    const found = detectInstalledVersion(root, { product, component: c, versionFile: null });
    return found ? [{ product, component: c, path: found.path }] : [];
  };
  const core = KNOWN_PRODUCTS.flatMap((p) => read(p, 'core'));
  if (core.length > 0 || component === 'core') return core;
  return KNOWN_PRODUCTS.flatMap((p) => read(p, component));
}

/**
 * The target a release must match on this site: each field as given, else as the site's version files
 * say; a problem instead when they say nothing (TARGET_UNKNOWN) or claim more than one product and
 * none was given (TARGET_AMBIGUOUS: the release's own product is never picked from among them).
 */
export function siteTarget(
  root: SiteRoot,
  release: Pick<Manifest, 'product' | 'component'>,
  given: Target,
): { target: Target; identified: IdentifiedSite[]; problem: Problem | null } {
  const identified = given.product !== undefined && given.component !== undefined ? [] : identifySite(root, given.component ?? release.component);
  const claims = given.product === undefined ? identified : identified.filter((s) => s.product === given.product);
  const products = [...new Set(claims.map((s) => s.product))];
  if (products.length > 1) {
    const message = `the site ${root.root} holds version files of ${products.join(' and ')} (${claims.map((s) => s.path).join(', ')}), so it cannot tell which it is; pass --product and --component`;
    return { target: {}, identified, problem: { code: 'TARGET_AMBIGUOUS', path: root.root, message } };
  }
  const target = { product: given.product ?? claims[0]?.product, component: given.component ?? (claims[0] ?? identified[0])?.component };
  if (target.product === undefined || target.component === undefined) {
    const message = `cannot tell which product and component the site ${root.root} is (no version file of a known product, nor of ${given.component ?? release.component}); pass --product and --component`;
    return { target, identified, problem: { code: 'TARGET_UNKNOWN', path: root.root, message } };
  }
  return { target, identified, problem: null };
}

/** WRONG_TARGET for each field the release does not match (the same reason verifyBundle gives). */
export function targetReasons(manifest: Pick<Manifest, 'product' | 'component'>, target: Target): Reason[] {
  const reasons: Reason[] = [];
  for (const field of ['product', 'component'] as const) {
    const want = target[field];
    if (want !== undefined && manifest[field] !== want) {
      reasons.push({
        code: 'WRONG_TARGET',
        message: `this release is for ${field} ${manifest[field]}, not ${want}`,
        details: { field, expected: want, found: manifest[field] },
      });
    }
  }
  return reasons;
}
