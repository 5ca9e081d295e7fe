// Reading the files a command is given, with clear I/O errors; `-` is standard input (a pipe or a file).
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../lib/core/errors.js';
import { errnoOf } from '../lib/core/errno.js';
import { isatty } from './context.js';

/**
 * `-` on the command line, as commands see it: yargs would turn a bare `-` into an empty string, so run()
 * maps it to this name, which no real path can be (paths cannot hold NUL).
 */
export const STDIN = '\u0000stdin';

/** How a path is named in messages: `-` is "standard input". */
export function displayName(path: string): string {
  return path === STDIN ? 'standard input' : path;
}

export function readInput(path: string, what: string, maxBytes = 64 * 1024 * 1024): Uint8Array {
  if (path === STDIN) {
    const chunks: Buffer[] = [];
    readStdin(maxBytes, what, (chunk) => chunks.push(Buffer.from(chunk)));
    const bytes = Buffer.concat(chunks);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    const bytes = readFileSync(path);
    if (bytes.length > maxBytes) throw new UsageError('IO', `${what} ${path} is larger than ${maxBytes} bytes`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot read ${what} ${path}: ${errnoOf(err)}`);
  }
}

/**
 * Copies standard input (at most `maxBytes`) into a private temporary file, for readers that need a file
 * (a bundle's archive is streamed, perhaps twice). The caller removes it with `remove()`.
 */
export function spoolStdin(maxBytes: number, what: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-stdin-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'input');
    const fd = openSync(path, 'wx', 0o600);
    try {
      readStdin(maxBytes, what, (chunk) => writeSync(fd, chunk));
    } finally {
      closeSync(fd);
    }
    return { path, remove };
  } catch (err) {
    remove();
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot keep ${what} from standard input: ${errnoOf(err)}`);
  }
}

let stdinRead = false;

/** Reads fd 0 synchronously to its end, refusing more than `maxBytes`. */
function readStdin(maxBytes: number, what: string, onChunk: (chunk: Uint8Array) => void): void {
  if (stdinRead) throw new UsageError('USAGE', 'standard input (-) can be given only once');
  stdinRead = true;
  if (isatty(0)) throw new UsageError('USAGE', `${what} - reads standard input, which is a terminal: pipe the file in (countersign ... - < FILE)`);
  const buf = Buffer.alloc(256 * 1024);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = errnoOf(err);
      // A pipe someone else made non-blocking: wait for the writer.
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw new UsageError('IO', `cannot read ${what} from standard input: ${code ?? (err as Error).message}`);
    }
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new UsageError('IO', `${what} on standard input is larger than ${maxBytes} bytes`);
    onChunk(buf.subarray(0, n));
  }
}
