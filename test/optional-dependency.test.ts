// Optional packages (lib/node/optional-dependency.ts): a missing one is a coded error naming the package
// to install (exit 2), and the hub's registry drivers are loaded through it.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/core/errors.js';
import { importOptional } from '../lib/node/optional-dependency.js';
import { exitCodeFor } from '../cli/output.js';

describe('optional dependencies', () => {
  it('a package that is not installed: UsageError DEPENDENCY_MISSING (exit 2) naming it and how to install it', async () => {
    const err = await importOptional('countersign-no-such-package', 'a test').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UsageError);
    expect((err as UsageError).code).to.equal('DEPENDENCY_MISSING');
    expect((err as UsageError).message)
      .to.contain('a test needs the package countersign-no-such-package')
      .and.to.contain('npm install countersign-no-such-package');
    expect((err as UsageError).details).to.deep.equal({ package: 'countersign-no-such-package' });
    expect(exitCodeFor(err as UsageError)).to.equal(2);
  });

  it('an installed package is returned as imported', async () => {
    const mod = await importOptional<{ default: unknown }>('better-sqlite3', 'a test');
    expect(mod.default).to.be.a('function');
  });

  it('a module missing inside an installed package is not reported as that package missing', async () => {
    const err = await importOptional('ajv/no-such-file.js', 'a test').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.not.equal(null);
    expect((err as { code?: string }).code).to.not.equal('DEPENDENCY_MISSING');
  });

  it('better-sqlite3 and pg are optionalDependencies, loaded only through importOptional', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(pkg.optionalDependencies ?? {})).to.have.members(['better-sqlite3', 'pg']);
    expect(pkg.dependencies).to.not.have.any.keys('better-sqlite3', 'pg');
    for (const [file, name] of [
      ['registry-sqlite.ts', 'better-sqlite3'],
      ['registry-postgres.ts', 'pg'],
    ]) {
      const text = readFileSync(new URL(`../lib/hub/${file}`, import.meta.url), 'utf8');
      expect(text, file).to.contain(`importOptional<`);
      expect(text, file).not.to.match(new RegExp(`await import\\(\\s*'${name}'|^import (?!type )[^;]*'${name}'`, 'm'));
    }
  });
});
