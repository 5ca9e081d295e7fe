// Reading the files a command is given, with clear I/O errors.
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/errors.js';

export function readInput(path: string, what: string, maxBytes = 64 * 1024 * 1024): Uint8Array {
  try {
    const bytes = readFileSync(path);
    if (bytes.length > maxBytes) throw new UsageError('IO', `${what} ${path} is larger than ${maxBytes} bytes`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
