// The installer's file hashing (lib/installer/fsutil.ts): every size around its 1 MiB read buffer hashes as the
// whole file, through a path or an open descriptor, and a link or a non-file is refused.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFile, hashOpenFile } from '../../lib/installer/fsutil.js';
import { tempDir } from './support.js';

describe('installer: hashing files (fsutil)', () => {
  it('hashes the whole file at every size around the read buffer (0, 1, 1 MiB - 1, 1 MiB, 1 MiB + 1, 3 MiB)', () => {
    const dir = tempDir();
    const MiB = 1 << 20;
    for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB]) {
      const bytes = randomBytes(size);
      const path = join(dir, `f${size}`);
      writeFileSync(path, bytes);
      const want = createHash('sha256').update(bytes).digest('hex');
      expect(hashFile(path), `${size} bytes, by path`).to.include({ sha256: want, size });
      const fd = openSync(path, 'r');
      try {
        expect(hashOpenFile(fd), `${size} bytes, by descriptor`).to.deep.equal({ sha256: want, size });
      } finally {
        closeSync(fd);
      }
    }
  });

  it('refuses a symbolic link (ELOOP) and a directory (EINVAL)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    symlinkSync(join(dir, 'file'), join(dir, 'link'));
    mkdirSync(join(dir, 'sub'));
    expect(() => hashFile(join(dir, 'link')))
      .to.throw()
      .with.property('code', 'ELOOP');
    expect(() => hashFile(join(dir, 'sub')))
      .to.throw()
      .with.property('code', 'EINVAL');
  });
});
