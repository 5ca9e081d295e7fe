// The daemon's socket: listening with mode 0660 and the clients' group, and each client connection (progress
// lines, then exactly one final line, then the end; protocol.ts).
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, type Server, type Socket } from 'node:net';
import { UsageError } from '../../core/errors.js';
import { errnoOf } from '../../core/errno.js';
import { encodeLine, MAX_PROGRESS_LINE_BYTES, type FinalLine } from './protocol.js';

const SOCKET_MODE = 0o660;
/** After the final line, how long a client gets to read it before the connection is cut. */
const LINGER_MS = 2000;

/** A client connection: progress lines, then exactly one final line, then the end. */
export class Connection {
  ended = false;
  /** The whole bundle is in; the client is waiting for its job. */
  waiting = false;
  private readonly endHooks: Array<() => void> = [];
  constructor(
    private readonly socket: Socket,
    private readonly log: (e: Record<string, unknown>) => void,
  ) {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') log({ event: 'socket-error', error: err.code ?? err.message });
    });
    socket.on('close', () => this.end());
  }

  onEnd(hook: () => void): void {
    if (this.ended) hook();
    else this.endHooks.push(hook);
  }

  progress(event: Record<string, unknown>, source: 'daemon' | 'worker' = 'daemon'): void {
    if (this.ended || this.socket.destroyed) return;
    this.socket.write(
      encodeLine(
        { progress: event, source },
        () => ({ progress: { event: 'cut', note: 'a progress event longer than the line limit was left out' }, source }),
        MAX_PROGRESS_LINE_BYTES,
      ),
    );
  }

  answer(final: FinalLine): void {
    if (this.ended) return;
    if (!this.socket.destroyed) {
      this.socket.write(
        encodeLine(final, () => ({
          ok: final.ok,
          code: final.code,
          message: final.message ?? 'the full answer was longer than the line limit; see the log',
          exit: final.exit,
          site: final.site,
          job: final.job,
        })),
      );
      this.socket.end();
      this.socket.pause();
      setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    }
    if (final.ok === false && !this.waiting) this.log({ event: 'refused', code: final.code, message: final.message, site: final.site });
    this.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const hook of this.endHooks.splice(0)) hook();
  }
}

/** Removes a socket nobody listens on; refuses a live one, or anything that is not a socket. */
export async function clearStaleSocket(path: string): Promise<void> {
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket()) throw new UsageError('USAGE', `${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((done) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
  if (live) throw new UsageError('USAGE', `another installer is listening on ${path}`);
  unlinkSync(path);
}

/** Listens with the socket created 0660 (umask, so it is never more open), then gives it its group. */
export async function listen(server: Server, path: string, gid: number): Promise<void> {
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      // listen() binds a Unix socket synchronously, so the umask is restored before anything else runs.
      const umask = process.umask(0o117);
      try {
        server.listen(path, () => {
          server.removeListener('error', fail);
          done();
        });
      } finally {
        process.umask(umask);
      }
    });
  } catch (err) {
    throw new UsageError('IO', `cannot listen on ${path}: ${errnoOf(err)}`);
  }
  try {
    chownSync(path, process.getuid!(), gid);
    chmodSync(path, SOCKET_MODE);
  } catch (err) {
    server.close();
    throw new UsageError('IO', `cannot give ${path} group ${gid}: ${errnoOf(err)}`);
  }
}
