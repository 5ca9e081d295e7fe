// Receiving one submission: the header line, then exactly `size` bytes into the spool, within the deadlines
// (protocol.ts "Bounds"). The socket's chunks flow through one pipeline: framing (header, then the bundle's
// bytes and nothing after them) into the spooled file, one chunk at a time, so the client's end counts only
// once every byte before it is written.
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { InstallerConfig, SiteConfig } from './config.js';
import type { Submission } from './job.js';
import { internal, MAX_HEADER_BYTES, parseHeader, refusal } from './protocol.js';
import type { Connection } from './socket.js';
import { Spooled } from './spool.js';

/** Per site, the connections that named it and are still sending their bundle (maxConnectionsPerSite). */
export class Uploads {
  private readonly counts = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Counts one more upload for `site`, or refuses (undefined) when it has `max`; the function returned ends it, once. */
  begin(site: string): (() => void) | undefined {
    const n = this.counts.get(site) ?? 0;
    if (n >= this.max) return undefined;
    this.counts.set(site, n + 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      const left = this.counts.get(site)! - 1;
      if (left === 0) this.counts.delete(site);
      else this.counts.set(site, left);
    };
  }
}

/**
 * Receives one submission on `socket`. Resolves with it once the whole bundle is spooled (the socket then
 * paused: anything after the bundle is never read), or undefined when the connection was answered (a refusal,
 * a timeout) or went away; until the client waits for its job (conn.waiting), the spooled file goes with it.
 */
export async function receive(
  socket: Socket,
  conn: Connection,
  config: InstallerConfig,
  uploads: Uploads,
  job: string,
  log: (e: Record<string, unknown>) => void,
): Promise<Submission | undefined> {
  socket.setTimeout(config.idleTimeoutMs, () => conn.answer(refusal('TIMEOUT', `nothing received for ${config.idleTimeoutMs} ms`)));
  const headerDeadline = setTimeout(() => conn.answer(refusal('TIMEOUT', `no header line within ${config.headerTimeoutMs} ms`)), config.headerTimeoutMs);
  headerDeadline.unref();
  const deadline = setTimeout(() => conn.answer(refusal('TIMEOUT', `the bundle did not arrive within ${config.receiveTimeoutMs} ms`)), config.receiveTimeoutMs);
  deadline.unref();
  conn.onEnd(() => {
    clearTimeout(headerDeadline);
    clearTimeout(deadline);
  });

  let site: SiteConfig | undefined;
  let size: number | undefined;
  let spool: Spooled | undefined;
  let received = 0;
  let uploadDone: (() => void) | undefined;

  /** Checks the header line and opens the spool: the bundle's size, or undefined when answered. */
  const accept = async (line: string): Promise<number | undefined> => {
    let header;
    try {
      header = parseHeader(line);
    } catch (err) {
      conn.answer(refusal('BAD_REQUEST', (err as Error).message));
      return undefined;
    }
    site = config.sites.get(header.site);
    if (!site) {
      conn.answer(refusal('UNKNOWN_SITE', `no site ${JSON.stringify(header.site)} is configured here`));
      return undefined;
    }
    if (header.size > config.maxBundleBytes) {
      conn.answer(refusal('BUNDLE_TOO_LARGE', `the bundle is ${header.size} bytes; this installer takes at most ${config.maxBundleBytes}`, site.name));
      return undefined;
    }
    uploadDone = uploads.begin(site.name);
    if (!uploadDone) {
      conn.answer(
        refusal('TOO_MANY_CONNECTIONS', `site ${site.name} already has ${config.maxConnectionsPerSite} bundles arriving; try again later`, site.name),
      );
      return undefined;
    }
    conn.onEnd(uploadDone);
    clearTimeout(headerDeadline);
    log({ event: 'accepted', site: site.name, job, size: header.size });
    conn.progress({ event: 'accepted', site: site.name, job, size: header.size });
    try {
      spool = await Spooled.create(config.spool, site.name, job);
    } catch (err) {
      log({ event: 'spool-error', site: site.name, job, error: (err as Error).message });
      conn.answer(refusal('IO', 'the installer cannot write its spool; see its log', site.name));
      return undefined;
    }
    const spooled = spool;
    // Once the whole bundle is in, the job owns the spooled file (and removes it).
    conn.onEnd(() => {
      if (!conn.waiting) spooled.discard();
    });
    return conn.ended ? undefined : header.size;
  };

  /** The header line, then the bundle's bytes: exactly `size` of them. */
  async function* frame(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let head = Buffer.alloc(0);
    for await (let chunk of chunks) {
      if (conn.ended) return;
      if (size === undefined) {
        const nl = chunk.indexOf(0x0a);
        const upto = nl === -1 ? chunk.length : nl;
        if (head.length + upto + 1 > MAX_HEADER_BYTES) return conn.answer(refusal('BAD_REQUEST', `the header line is longer than ${MAX_HEADER_BYTES} bytes`));
        head = Buffer.concat([head, chunk.subarray(0, upto)]);
        if (nl === -1) continue;
        size = await accept(head.toString('utf8'));
        if (size === undefined) return;
        chunk = chunk.subarray(nl + 1);
      }
      const take = chunk.subarray(0, size - received);
      if (take.length > 0) {
        yield take;
        received += take.length;
      }
      if (received === size) return;
    }
  }

  const write = async (bytes: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of bytes) {
      try {
        await spool!.write(chunk);
      } catch (err) {
        log({ event: 'spool-error', site: site!.name, job, error: (err as Error).message });
        return conn.answer(refusal('IO', 'the installer cannot write its spool; see its log', site!.name));
      }
    }
  };

  try {
    // destroyOnReturn: false: the socket stays open for the answer once the bundle's last byte is read.
    await pipeline(socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>, frame, write);
  } catch (err) {
    // A connection answered, reset or closed meanwhile ends the read with an error: nothing more to say.
    if (conn.ended || socket.destroyed) return undefined;
    conn.answer(internal(err, log, site?.name));
    return undefined;
  }
  if (conn.ended) return undefined;
  if (size === undefined || received < size) {
    conn.answer(
      refusal('BAD_REQUEST', size !== undefined ? `the connection ended after ${received} of ${size} bytes` : 'the connection ended before a header line'),
    );
    return undefined;
  }
  socket.pause(); // anything after the bundle is never read
  socket.setTimeout(0);
  clearTimeout(deadline);
  uploadDone!();
  return { site: site!, job, spool: spool!, bytes: received };
}
