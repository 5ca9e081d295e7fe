// How a site reaches its hub, the same for `site register` and `site poll`: a hub on a loopback or
// private address only with --allow-private (checked before anything is sent, and again at connect
// time by the address guard of lib/distribution/address-guard.ts), and a private CA's PEM bundle, when given,
// trusted in addition to the default CAs for every https call to the hub.
import { X509Certificate } from 'node:crypto';
import { promises as dns } from 'node:dns';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { UsageError } from '../core/errors.js';
import { isPrivateAddress } from '../distribution/address-guard.js';

/** The flag that lets a site talk to a hub on a loopback or private address. */
export const ALLOW_PRIVATE_FLAG = '--allow-private';

/** Refuses a hub whose name is or resolves to a loopback or private address, unless allowed; USAGE names the flag. */
export async function checkHubAddress(hub: URL, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = hub.hostname.replace(/^\[|\]$/g, '');
  // A name that does not resolve is left to the call, which reports it UNREACHABLE.
  const addresses =
    isIP(host) !== 0
      ? [host]
      : await dns.lookup(host, { all: true }).then(
          (a) => a.map((x) => x.address),
          () => [],
        );
  if (!addresses.some(isPrivateAddress)) return;
  throw new UsageError('USAGE', `the hub ${hub.host} is on a loopback or private address; pass ${ALLOW_PRIVATE_FLAG} to use it`, { flag: ALLOW_PRIVATE_FLAG });
}

/**
 * Checks that `pem` (the text of --ca-file) holds at least one certificate and returns an https agent
 * that trusts it and the default CAs.
 */
export function hubHttpsAgent(pem: string, where: string): https.Agent {
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length === 0) throw new UsageError('USAGE', `${where} holds no PEM certificate`);
  for (const cert of certs) {
    try {
      new X509Certificate(cert);
    } catch (err) {
      throw new UsageError('USAGE', `${where}: a certificate does not parse (${(err as Error).message})`);
    }
  }
  return new https.Agent({ keepAlive: true, ca: [...rootCertificates, ...certs] });
}
