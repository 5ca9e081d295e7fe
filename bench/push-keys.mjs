// Site ids and Hawk keys of bench section 6, derived from a seed so the hub side and the site
// simulator (two processes) agree on 10,000 sites without exchanging them.
import { createHmac } from 'node:crypto';

/** The site's 32-byte shared Hawk secret. */
export function siteKey(seedHex, i) {
  return new Uint8Array(createHmac('sha256', Buffer.from(seedHex, 'hex')).update(`key:${i}`).digest());
}

/** The site's id: 16 bytes in hex, as `site register` makes them. */
export function siteId(seedHex, i) {
  return createHmac('sha256', Buffer.from(seedHex, 'hex')).update(`id:${i}`).digest('hex').slice(0, 32);
}

/** Site i's endpoint: the simulator serves site i on ports[i % ports.length]. */
export function siteBase(ports, i, family) {
  const port = ports[i % ports.length];
  return family === 's' ? `http://127.0.0.1:${port}/s/${i}/countersign` : `http://127.0.0.1:${port}/${family}/${i}/`;
}
