import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// spec/log.md documents every LogCode: a code added to lib/core/errors.ts without a row in its table fails here.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('spec/log.md', () => {
  it('has a row for every LogCode, and no row for a code that does not exist', () => {
    const errors = readFileSync(`${ROOT}lib/core/errors.ts`, 'utf8');
    const union = /export type LogCode =([^;]+);/.exec(errors)![1]!;
    const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!).sort();
    expect(codes).to.include.members(['NOT_LOGGED', 'BAD_PROOF', 'WITNESS_QUORUM_NOT_MET', 'CHECKPOINT_STALE', 'LOG_INCONSISTENT']);
    const spec = readFileSync(`${ROOT}spec/log.md`, 'utf8');
    const table = spec.slice(spec.indexOf('## Codes'), spec.indexOf('## Merkle tree'));
    const rows = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!).sort();
    expect(rows).to.deep.equal(codes);
  });
});
