// Starts the hub's or a site's HTTP(S) server on HOST:PORT with the hardened timeouts.
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../core/errors.js';
import { hardenServer } from './hawk-server.js';
import { errnoOf } from '../core/errno.js';

export interface Listening {
  /** The address actually bound (port 0 picks a free one). */
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
}

/** Parses HOST:PORT ([::1]:PORT for IPv6). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError('USAGE', `--listen ${JSON.stringify(text)} is not HOST:PORT`);
  return { host: match[1] ?? match[2]!, port };
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, opts: ListenOptions): Promise<Listening> {
  const serve = (req: IncomingMessage, res: ServerResponse) => void handler(req, res).catch(() => res.destroy());
  let server: http.Server;
  if (opts.tls) {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(opts.tls.cert);
      key = readFileSync(opts.tls.key);
    } catch (err) {
      throw new UsageError('IO', `cannot read the TLS certificate or key: ${errnoOf(err)}`);
    }
    server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, serve);
  } else server = http.createServer(serve);
  hardenServer(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError('IO', `cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`)),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    host: opts.host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
