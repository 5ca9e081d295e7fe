// The installer daemon's client (`countersign installer submit`): sends a header and a bundle file over the
// socket (protocol.ts), passes each progress event on, and resolves with the daemon's final answer.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createConnection } from 'node:net';
import { UsageError } from '../../core/errors.js';
import { encodeHeader, isFinalLine, LineSplitter, MAX_LINE_BYTES, type FinalLine, type ProgressLine } from './protocol.js';

export interface SubmitOptions {
  socket: string;
  site: string;
  /** The bundle file. */
  bundle: string;
  onProgress?: (line: ProgressLine) => void;
}

/** Resolves with the daemon's answer (ok or not); throws UsageError('IO') when there is no answer to give. */
export async function submitBundle(opts: SubmitOptions): Promise<FinalLine> {
  const fh = await open(opts.bundle, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError('IO', `cannot read ${opts.bundle}: ${err.code ?? err.message}`);
  });
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new UsageError('IO', `${opts.bundle} is not a regular file`);
    if (info.size === 0) throw new UsageError('IO', `${opts.bundle} is empty`);
    const header = encodeHeader({ site: opts.site, size: info.size });
    return await exchange(opts, header, () => createReadStream('', { fd: fh, start: 0, end: info.size - 1, autoClose: false }));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function exchange(opts: SubmitOptions, header: Buffer, body: () => NodeJS.ReadableStream & { destroy(): void }): Promise<FinalLine> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(opts.socket);
    let final: FinalLine | undefined;
    let stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
    const settle = (err?: Error) => {
      stream?.destroy();
      socket.destroy();
      if (final) resolve(final);
      else reject(err ?? new UsageError('IO', `the installer at ${opts.socket} closed the connection without an answer`));
    };
    const lines = new LineSplitter(
      MAX_LINE_BYTES,
      (line) => {
        if (final || line.trim() === '') return;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          return settle(new UsageError('IO', `the installer at ${opts.socket} answered something that is not JSON`));
        }
        if (isFinalLine(value)) {
          final = value;
          return settle();
        }
        if (typeof value === 'object' && value !== null && 'progress' in value) opts.onProgress?.(value as ProgressLine);
      },
      () => settle(new UsageError('IO', `the installer at ${opts.socket} answered a line longer than ${MAX_LINE_BYTES} bytes`)),
    );
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (final) return;
      // Refused early, the daemon stops reading and may reset the connection while the bundle is still
      // being sent; its answer, if one came, was read before the error.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return settle();
      settle(new UsageError('IO', `cannot reach the installer at ${opts.socket}: ${err.code ?? err.message}`));
    });
    socket.on('close', () => settle());
    socket.on('connect', () => {
      socket.write(header);
      stream = body();
      stream.on('error', (err: NodeJS.ErrnoException) => settle(new UsageError('IO', `cannot read ${opts.bundle}: ${err.code ?? err.message}`)));
      stream.pipe(socket, { end: true });
    });
  });
}
