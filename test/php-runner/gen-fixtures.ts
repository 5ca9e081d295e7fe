// Writes the PHP runner's PHPUnit fixtures (php/tests/Installer/fixtures/) with the TypeScript builder and signer:
// the installer tests' drupal core update OLD → NEW (test/installer/support.ts), signed 3-of-5, and variants with
// post-update steps; the policy; a trust store recording 10.2.3; the two trees as JSON. Deterministic (seeded TEST-ONLY
// keys) and valid until 2100, so the committed files never expire under the tests and stale.test.ts can compare them
// with a fresh run. Run: npx tsx test/php-runner/gen-fixtures.ts
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePolicy } from '../support/fixtures.js';
import { makeBundle, makeStore, NEW, OLD, REPO, tempDir } from '../installer/support.js';

export const PHP_FIXTURES_DIR = join(REPO, 'php', 'tests', 'Installer', 'fixtures');
export const FIXTURES_EXPIRE = new Date('2100-01-01T00:00:00Z');

export async function generatePhpFixtures(out: string): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const work = tempDir('countersign-php-fixtures-');
  const policy = makePolicy(5, 3, { expires: FIXTURES_EXPIRE, seedLabel: 'countersign php runner fixture signer' });
  const expires = FIXTURES_EXPIRE;
  const release = makeBundle(out, { policy, request: { expires } });
  makeBundle(out, { policy, name: 'post-fail.bundle', request: { expires, postUpdate: [['false']] } });
  makeBundle(out, { policy, name: 'post-ok.bundle', request: { expires, postUpdate: [['true'], ['sh', '-c', 'echo ran > post-ran.txt']] } });
  makeBundle(out, { policy, name: 'moderate.bundle', request: { expires, riskVector: 'AC:Basic/A:User/CI:Some/II:Some/E:Theoretical/TD:Uncommon' } });
  const store = await makeStore(work, release);
  cpSync(store, join(out, 'store'), { recursive: true });
  writeFileSync(join(out, 'old.json'), JSON.stringify(OLD, null, 2) + '\n');
  writeFileSync(join(out, 'new.json'), JSON.stringify(NEW, null, 2) + '\n');
  rmSync(work, { recursive: true, force: true });
  for (const name of readdirSync(out)) if (name.startsWith('build-')) rmSync(join(out, name), { recursive: true, force: true });
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  await generatePhpFixtures(PHP_FIXTURES_DIR);
  console.log(`wrote ${PHP_FIXTURES_DIR}`);
}
