// The committed PHP runner fixtures (php/tests/Installer/fixtures/) are exactly what test/php-runner/gen-fixtures.ts
// writes (seeded keys, valid until 2100), so they cannot drift from the TypeScript builder; FixturesTest.php checks
// that they verify far from today, so no runner test depends on the date it runs.
import { expect } from 'chai';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir } from '../installer/support.js';
import { generatePhpFixtures, PHP_FIXTURES_DIR } from './gen-fixtures.js';

function files(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)))
    .sort();
}

describe('php runner fixtures (php/tests/Installer/fixtures/)', () => {
  it('are byte-identical to a fresh run of test/php-runner/gen-fixtures.ts (run it if this fails)', async () => {
    const dir = tempDir('countersign-php-fixtures-fresh-');
    try {
      await generatePhpFixtures(dir);
      const names = files(dir);
      expect(files(PHP_FIXTURES_DIR), 'committed file list').to.deep.equal(names);
      for (const name of names) {
        expect(readFileSync(join(PHP_FIXTURES_DIR, name)).equals(readFileSync(join(dir, name))), `${name} differs from the generator's output`).to.equal(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
