// The shared vector suite (test/vectors/shared/): committed files equal a fresh run of the generator, and the
// TypeScript verifier gives every case its verdict and codes. php/tests/ConformanceTest.php runs the same files.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isStrongPublicKey, verifyStrict } from '../../lib/core/ed25519.js';
import { CountersignError, VerificationError } from '../../lib/core/errors.js';
import { verifyWithStore } from '../../lib/core/trust-state.js';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import { openStore } from '../../lib/node/trust-store.js';
import { listFiles } from './generate.js';
import { SHARED_DIR, sharedVectorFiles } from './shared.js';

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

type Case = { id: string; description: string; op: string; expect: 'ok' | string[]; result?: unknown; [input: string]: unknown };

const OPS: Record<string, (c: Case) => unknown> = {
  verifyStrict: (c) => verifyStrict(hex(c.signature as string), hex(c.message as string), hex(c.publicKey as string)),
  isStrongPublicKey: (c) => isStrongPublicKey(hex(c.publicKey as string)),
  verifyWithStore: async (c) => {
    const store = await openStore(join(SHARED_DIR, c.store as string));
    const bundle = await openBundleFile(join(SHARED_DIR, c.bundle as string));
    try {
      await verifyWithStore(store, bundle, { now: new Date(c.now as string) });
    } finally {
      await bundle.close();
    }
    return undefined;
  },
};

describe('shared vector suite (test/vectors/shared/)', () => {
  const fresh = sharedVectorFiles();

  it('is byte-identical to a fresh run of the generator (run `npm run vectors` if this fails)', () => {
    expect(
      // log/ has its own generator (test/log-vectors/generate.ts) and staleness test.
      listFiles(SHARED_DIR).filter((n) => n !== 'README.md' && !n.startsWith('log/')),
      'committed file list',
    ).to.deep.equal([...fresh.keys()]);
    for (const [name, bytes] of fresh) {
      expect(Buffer.from(readFileSync(join(SHARED_DIR, name))).equals(Buffer.from(bytes)), `${name} differs from the generator's output`).to.equal(true);
    }
  });

  for (const name of [...fresh.keys()].filter((n) => !n.includes('/'))) {
    const family = JSON.parse(Buffer.from(fresh.get(name)!).toString('utf8')) as { family: string; cases: Case[] };
    describe(`shared: ${family.family}`, () => {
      for (const c of family.cases) {
        it(`${c.id}: ${c.description}`, async () => {
          let got: { expect: 'ok' | string[]; result?: unknown };
          try {
            got = { expect: 'ok', result: await OPS[c.op]!(c) };
          } catch (err) {
            if (err instanceof VerificationError) got = { expect: err.reasons.map((r) => r.code) };
            else if (err instanceof CountersignError) got = { expect: [err.code] };
            else throw err;
          }
          expect(got.expect, 'verdict').to.deep.equal(c.expect);
          if ('result' in c) expect(got.result, 'result').to.deep.equal(c.result);
        });
      }
    });
  }
});
