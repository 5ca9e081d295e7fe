// The committed conformance vectors are exactly what the generator writes, and each file has the documented shape.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateService } from '../../lib/core/service-schema.js';
import { listFiles, vectorFiles, VECTORS_DIR } from './generate.js';

describe('conformance vectors (spec/vectors/conformance/)', () => {
  const fresh = vectorFiles();

  it('are byte-identical to a fresh run of the generator (run `npm run vectors` if this fails)', () => {
    expect(listFiles(VECTORS_DIR), 'committed file list').to.deep.equal([...fresh.keys()]);
    for (const [name, bytes] of fresh) {
      expect(Buffer.from(readFileSync(join(VECTORS_DIR, name))).equals(Buffer.from(bytes)), `${name} differs from the generator's output`).to.equal(true);
    }
  });

  it('every family file matches schemas/conformance-vectors.schema.json, and case ids are unique', () => {
    const ids = new Set<string>();
    for (const name of [...fresh.keys()].filter((n) => !n.includes('/'))) {
      const family = validateService<{ cases: Array<{ id: string }> }>('conformance-vectors', JSON.parse(readFileSync(join(VECTORS_DIR, name), 'utf8')), name);
      for (const c of family.cases) {
        expect(ids.has(c.id), `duplicate id ${c.id}`).to.equal(false);
        ids.add(c.id);
      }
    }
    expect(ids.size).to.be.greaterThan(100);
  });
});
