import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBundleFile } from '../lib/node/bundle-file.js';
import { UsageError } from '../lib/core/errors.js';
import { bundleFileBytes, makePolicy, makeRelease, signedBy, tempDir } from './support/fixtures.js';

async function digest(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of chunks) h.update(c);
  return h.digest('hex');
}

describe('bundle files', () => {
  const release = makeRelease();
  const p = makePolicy(3, 2);
  const bytes = bundleFileBytes(signedBy(release.envelope, p.signers.slice(0, 2)), release.archive);

  it('streams the archive through the file it opened, even after the path is replaced', async () => {
    const dir = tempDir();
    const path = join(dir, 'r.bundle');
    writeFileSync(path, bytes);
    const input = await openBundleFile(path);
    try {
      const first = await digest(input.archive!.chunks());
      writeFileSync(join(dir, 'evil.bundle'), Buffer.concat([Buffer.from(bytes.subarray(0, bytes.length - 1)), Buffer.from([1])]));
      renameSync(join(dir, 'evil.bundle'), path);
      expect(await digest(input.archive!.chunks())).to.equal(first);
      expect(first).to.equal(createHash('sha256').update(release.archive).digest('hex'));
    } finally {
      await input.close();
    }
  });

  it('refuses what is not a regular file (a FIFO, a directory) with IO', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    for (const path of [fifo, dir]) {
      await openBundleFile(path).then(
        () => expect.fail(`${path} accepted`),
        (err: unknown) => {
          expect(err).to.be.instanceOf(UsageError);
          expect((err as UsageError).code).to.equal('IO');
        },
      );
    }
  });
});
