// `site register`: a new id and 32-byte secret, saved in the site's store (0600) before the hub hears
// of them, then sent to the hub. With an endpoint, the hub says a Hawk-signed hello to it before
// accepting, so `site serve` must already be running and reading this store. A refused
// or failed registration removes the file again. The registration itself is
// the one message not under Hawk (there is no shared secret yet): use an https hub URL.
import type https from 'node:https';
import { rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { utf8 } from '../core/bytes.js';
import { DistributionError, UsageError } from '../core/errors.js';
import { unsignedPost } from '../distribution/hawk-client.js';
import { JSON_TYPE } from '../distribution/messages.js';
import { credentialsPath, newCredentials, writeCredentials, type SiteCredentials } from './credentials.js';
import { checkHubAddress } from './hub.js';

export interface RegisterOptions {
  hub: URL;
  endpoint: URL | null;
  storeDir: string;
  /** Allow a hub on a loopback or private address (as poll does). */
  allowPrivate: boolean;
  /** For an https hub: trusts a private CA (lib/site/hub.ts hubHttpsAgent). */
  httpsAgent?: https.Agent;
  timeoutMs?: number;
}

export async function registerSite(opts: RegisterOptions): Promise<SiteCredentials> {
  if (opts.hub.protocol !== 'https:' && !isLoopback(opts.hub.hostname)) {
    throw new UsageError('USAGE', `the hub ${opts.hub.href} is not https: the secret would cross the network in clear (http is allowed on loopback only)`);
  }
  await checkHubAddress(opts.hub, opts.allowPrivate);
  const creds = newCredentials(opts.hub, opts.endpoint);
  writeCredentials(opts.storeDir, creds, false);
  try {
    await sendRegistration(opts, creds);
  } catch (err) {
    // Nothing half-registered stays behind: the next attempt starts with a new id and secret.
    rmSync(credentialsPath(opts.storeDir), { force: true });
    throw err;
  }
  const registered: SiteCredentials = { ...creds, registered: new Date().toISOString() };
  writeCredentials(opts.storeDir, registered, true);
  return registered;
}

async function sendRegistration(opts: RegisterOptions, creds: SiteCredentials): Promise<void> {
  const body = utf8(JSON.stringify({ type: 'register', site: creds.site, key: creds.key, endpoint: creds.endpoint }));
  const url = new URL('v1/sites', opts.hub.href.endsWith('/') ? opts.hub : `${opts.hub.href}/`);
  // A redirect would carry the secret to wherever the hub (or someone in between) says: unsignedPost never follows one.
  const response = await unsignedPost(
    url,
    { contentType: JSON_TYPE, bytes: body },
    {
      allowPrivate: opts.allowPrivate,
      agent: url.protocol === 'https:' ? opts.httpsAgent : undefined,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxResponseBytes: 16 * 1024,
    },
  );
  if (response.status === 201) return;
  const text = Buffer.from(response.body).toString('utf8');
  let hubCode = 'PROTOCOL';
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    hubCode = parsed.error?.code ?? hubCode;
    message = parsed.error?.message ?? message;
  } catch {
    // not JSON: the text is the message
  }
  const code = hubCode === 'ENDPOINT_UNVERIFIED' ? 'ENDPOINT_UNVERIFIED' : 'PROTOCOL';
  throw new DistributionError(code, `the hub refused the registration (${response.status} ${hubCode}): ${message}`, { status: response.status, hubCode });
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}
