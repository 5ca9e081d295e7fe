import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';

// test/vectors is a whole copy of the shared public vectors; where the shared copy is present, prove it unmodified.
const vendored = fileURLToPath(new URL('./vectors/', import.meta.url));
const shared = fileURLToPath(new URL('../../shared/vectors/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
}

describe('vendored vectors', () => {
  it('are byte-identical to ../shared/vectors (SOURCES.md aside)', function () {
    if (!existsSync(shared)) this.skip();
    for (const file of files(shared)) {
      const rel = relative(shared, file);
      if (rel === 'SOURCES.md') continue;
      expect(readFileSync(join(vendored, rel)).equals(readFileSync(file)), rel).to.equal(true);
    }
  });
});
