// test/vectors/shared/log/ is what test/log-vectors/generate.ts writes from lib/log; this fails when the committed
// files are stale.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMMITTED = join(ROOT, 'test/vectors/shared/log');

describe('test/vectors/shared/log (the PHP verifier runs them: php/tests/Log/)', () => {
  it('is byte-identical to a fresh run of test/log-vectors/generate.ts', function () {
    this.timeout(300000);
    const out = mkdtempSync(join(tmpdir(), 'log-vectors-'));
    try {
      execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/log-vectors/generate.ts'), out], { cwd: ROOT, stdio: 'pipe' });
      const fresh = readdirSync(out).sort();
      expect(
        readdirSync(COMMITTED)
          .filter((n) => n !== 'README.md')
          .sort(),
      ).to.deep.equal(fresh);
      for (const name of fresh) expect(readFileSync(join(COMMITTED, name)).equals(readFileSync(join(out, name))), `${name} is stale`).to.equal(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
