// A tar sink that writes to an open file descriptor, synchronously and completely; the caller closes it.
import { writeSync } from 'node:fs';
import type { TarSink } from '../core/tar.js';

export function fdSink(fd: number): TarSink {
  return (bytes) => {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
  };
}
