// The hub/site conversation's messages (schemas/hub-index, site-reply, site-registration) and the
// paths they travel on. Every message is JSON in a Hawk-authenticated request or response
// (lib/distribution/hawk-client.ts, hawk-server.ts); bundles travel as raw bytes with their own content type.
//
// Push (the hub calls the site's registered endpoint):
//   POST {endpoint}/hello                          {type:hello, site}         → {type:hello, site}
//   POST {endpoint}/index                          {type:index, campaign, offers} → want | done
//   POST {endpoint}/package?campaign=C&name=N      bundle bytes                → want | done
// Poll (the site calls the hub), and registration:
//   GET  {hub}/v1/index                            → {type:index, campaign:null, offers}
//   GET  {hub}/v1/bundles/NAME                     → bundle bytes
//   POST {hub}/v1/report                           {type:done, results}       → {type:done, results:[]}
//   POST {hub}/v1/sites                            registration (unauthenticated; the hub then says hello to the endpoint)
import type * as generated from '../core/generated/types.js';
import { fromUtf8 } from '../core/bytes.js';
import { DistributionError } from '../core/errors.js';
import { parseStrictJson } from '../core/json.js';
import { validateService } from '../core/service-schema.js';

export const JSON_TYPE = 'application/json';
export const BUNDLE_TYPE = 'application/vnd.countersign.bundle';
/** Largest JSON message either side reads; an index of 10,000 offers fits. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** `campaign` is the push event this index belongs to; null when a site polled. */
export type IndexMessage = generated.HubIndex;
/** One package on offer, as sites see it: no hub-side paths. */
export type IndexEntry = IndexMessage['offers'][number];

export type SiteReply = generated.SiteReply;
/** What happened to one package a site received (or, when partial, what the site did with it before). */
export type PackageResult = Extract<SiteReply, { type: 'done' }>['results'][number];
/** partial: applied earlier with locally modified files kept (apply --keep-local); the site still runs the version before. */
export type ResultStatus = PackageResult['status'];

export type Registration = generated.SiteRegistration;

/** Parses a message body of the given schema; anything else is DistributionError('PROTOCOL'). */
export function parseMessage<T>(schema: 'hub-index' | 'site-reply' | 'site-registration', body: Uint8Array, what: string): T {
  if (body.length > MAX_MESSAGE_BYTES) throw new DistributionError('TOO_LARGE', `${what} is larger than ${MAX_MESSAGE_BYTES} bytes`);
  try {
    return validateService<T>(schema, parseStrictJson(fromUtf8(body, what), what), what);
  } catch (err) {
    throw new DistributionError('PROTOCOL', `${what}: ${(err as Error).message}`);
  }
}

/** The name an offer goes by on a hub: product-component-version. */
export function offerName(product: string, component: string, version: string): string {
  return `${product}-${component}-${version}`.toLowerCase();
}
