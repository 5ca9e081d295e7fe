// Addresses a hub must not be talked into calling (SSRF through a registered endpoint) unless allowed.
import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
// NAT64 and 6to4 embed IPv4 addresses, private ones included.
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family === 0 || PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether `host` (a name or a literal) resolves to any loopback or private address; unresolvable counts as private. */
export async function resolvesToPrivate(host: string): Promise<boolean> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return isPrivateAddress(bare);
  try {
    return (await dnsPromises.lookup(bare, { all: true })).some((a) => isPrivateAddress(a.address));
  } catch {
    return true;
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup that refuses private addresses unless allowed; applied to the address actually connected to. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, options, (err, address, family) => {
      if (err || allowPrivate) return (callback as (...a: unknown[]) => void)(err, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const bad = addresses.find((a) => isPrivateAddress(a));
      if (bad) return callback(Object.assign(new Error(`${hostname} resolves to a private address (${bad})`), { code: 'EPRIVATE' }), '', 0);
      (callback as (...a: unknown[]) => void)(null, address, family);
    });
  };
}
