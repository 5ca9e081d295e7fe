// Writes the PHP runner's PHPUnit fixtures (php/tests/Installer/fixtures/) with the TypeScript builder and signer:
// the installer tests' drupal core update OLD → NEW (test/installer/support.ts), signed 3-of-5, and variants with
// post-update steps; the policy; a trust store recording 10.2.3; the two trees as JSON. Run: npx tsx test/php-runner/gen-fixtures.ts
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePolicy } from '../support/fixtures.js';
import { makeBundle, makeStore, NEW, OLD, REPO, tempDir } from '../installer/support.js';

const out = join(REPO, 'php', 'tests', 'Installer', 'fixtures');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const work = tempDir('countersign-php-fixtures-');
const policy = makePolicy(5, 3);
const release = makeBundle(out, { policy });
makeBundle(out, { policy, name: 'post-fail.bundle', request: { postUpdate: [['false']] } });
makeBundle(out, { policy, name: 'post-ok.bundle', request: { postUpdate: [['true'], ['sh', '-c', 'echo ran > post-ran.txt']] } });
makeBundle(out, { policy, name: 'moderate.bundle', request: { riskVector: 'AC:Basic/A:User/CI:Some/II:Some/E:Theoretical/TD:Uncommon' } });
const store = await makeStore(work, release);
cpSync(store, join(out, 'store'), { recursive: true });
writeFileSync(join(out, 'old.json'), JSON.stringify(OLD, null, 2) + '\n');
writeFileSync(join(out, 'new.json'), JSON.stringify(NEW, null, 2) + '\n');
rmSync(work, { recursive: true, force: true });
for (const name of readdirSync(out)) if (name.startsWith('build-')) rmSync(join(out, name), { recursive: true, force: true });
console.log(`wrote ${out}`);
