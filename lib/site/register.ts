// `site register`: a new id and 32-byte secret, saved in the site's store (0600) before the hub hears
// of them, then sent to the hub. With an endpoint, the hub says a Hawk-signed hello to it before
// accepting, so `site serve` must already be running and reading this store. A refused
// or failed registration removes the file again. The registration itself is
// the one message not under Hawk (there is no shared secret yet): use an https hub URL.
import { rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { DistributionError, UsageError } from '../errors.js';
import { JSON_TYPE } from '../distribution/messages.js';
import { credentialsPath, newCredentials, writeCredentials, type SiteCredentials } from './credentials.js';

export interface RegisterOptions {
  hub: URL;
  endpoint: URL | null;
  storeDir: string;
  timeoutMs?: number;
}

export async function registerSite(opts: RegisterOptions): Promise<SiteCredentials> {
  if (opts.hub.protocol !== 'https:' && !isLoopback(opts.hub.hostname)) {
    throw new UsageError('USAGE', `the hub ${opts.hub.href} is not https: the secret would cross the network in clear (http is allowed on loopback only)`);
  }
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
  const body = JSON.stringify({ type: 'register', site: creds.site, key: creds.key, endpoint: creds.endpoint });
  let response: Response;
  try {
    response = await fetch(new URL('v1/sites', opts.hub.href.endsWith('/') ? opts.hub : `${opts.hub.href}/`), {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body,
      // A redirect would carry the secret to wherever the hub (or someone in between) says.
      redirect: 'error',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new DistributionError('UNREACHABLE', `cannot reach ${opts.hub.host}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
  }
  const text = (await response.text()).slice(0, 4096);
  if (response.status === 201) return;
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
