// Runs every conformance vector (spec/vectors/conformance/*.json) against the public API, one test per
// case id: the files a second implementation (the PHP verifier) runs too. See spec/vectors/README.md.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import { canonicalBytes, parseCanonical } from '../../lib/core/canonical.js';
import { isStrongPublicKey, verifyStrict } from '../../lib/core/ed25519.js';
import { CountersignError, VerificationError } from '../../lib/core/errors.js';
import { parseStrictJson } from '../../lib/core/json.js';
import type { SiteState } from '../../lib/core/manifest.js';
import { checkPath, checkPathSet } from '../../lib/core/paths.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import { verifyRevocation } from '../../lib/core/revocation.js';
import { walkPolicyChain } from '../../lib/core/rotation.js';
import { TarReader, type TarHeader } from '../../lib/core/tar.js';
import { verifyBundle, type BundleInput } from '../../lib/core/verify.js';
import { compareVersions, parseVersion } from '../../lib/core/version.js';
import { parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { verifyLogProof } from '../../lib/log/verify-proof.js';
import { VECTORS_DIR } from './generate.js';
import type { ConformanceVectors, ConformanceVectorsCase } from '../../lib/core/generated/types.js';

type Case = ConformanceVectorsCase;

type Outcome = { expect: 'ok' | string[]; result?: unknown; problems?: string[] };

const file = (name: string) => new Uint8Array(readFileSync(join(VECTORS_DIR, name)));
const b64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

/** The verdict of `fn`: ok with its result, or the codes of the countersign error it throws. */
async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    const result = await fn();
    return { expect: 'ok', result };
  } catch (err) {
    if (err instanceof VerificationError) return { expect: err.reasons.map((r) => r.code), problems: quorumProblems(err) };
    if (err instanceof CountersignError) return { expect: [err.code] };
    throw err;
  }
}

/** The codes of the signatures a failed quorum reported and did not count. */
function quorumProblems(err: VerificationError): string[] | undefined {
  const quorum = err.reasons.find((r) => r.code === 'QUORUM_NOT_MET');
  return (quorum?.details?.problems as Array<{ code: string }> | undefined)?.map((p) => p.code);
}

async function verifyCase(c: Case): Promise<unknown> {
  const now = new Date(c.now as string);
  const trustedSpec = c.trusted as { pin: string; rotations: string[] };
  const pinned = loadTrustedPolicy(file(trustedSpec.pin));
  const trusted = trustedSpec.rotations.length === 0 ? pinned : walkPolicyChain(pinned, trustedSpec.rotations.map(file), now);
  const revocations = (c.revocations as string[]).map((r) => verifyRevocation(file(r), trusted));
  const opts = { trusted, now, site: c.site as SiteState, revocations };
  if (typeof c.bundle === 'string') {
    const bundle = await openBundleFile(join(VECTORS_DIR, c.bundle));
    try {
      return problemsOf(await verifyBundle(bundle, opts));
    } finally {
      await bundle.close();
    }
  } else {
    const archive = typeof c.archive === 'string' ? file(c.archive) : undefined;
    const input: BundleInput = {
      envelopeBytes: file(c.envelope as string),
      ...(archive && {
        archive: {
          size: archive.length,
          chunks: async function* () {
            yield archive;
          },
        },
      }),
    };
    return problemsOf(await verifyBundle(input, opts));
  }
}

const problemsOf = (v: { warnings: Array<{ code: string }> }) => ({ problems: v.warnings.map((w) => w.code) });

function readTar(c: Case): Array<{ path: string; mode: string; size: number; sha256: string }> {
  const entries: Array<{ path: string; mode: string; size: number; sha256: string }> = [];
  let hash = createHash('sha256');
  const reader = new TarReader(
    {
      onEntryStart: () => {
        hash = createHash('sha256');
      },
      onEntryData: (data) => {
        hash.update(data);
      },
      onEntryEnd: (h: TarHeader) => {
        entries.push({ path: h.path, mode: h.mode, size: h.size, sha256: hash.digest('hex') });
      },
    },
    typeof c.maxEntries === 'number' ? { maxEntries: c.maxEntries } : {},
  );
  reader.push(b64(c.archive as string));
  reader.end();
  return entries;
}

const OPS: Record<string, (c: Case) => unknown> = {
  verifyBundle: verifyCase,
  parseVersion: (c) => void parseVersion(c.input as string),
  compareVersions: (c) => compareVersions(c.a as string, c.b as string),
  checkPath: (c) => checkPath(c.path as string),
  checkPathSet: (c) => checkPathSet(c.paths as string[]),
  readTar,
  canonicalize: (c) => Buffer.from(canonicalBytes(JSON.parse(Buffer.from(b64(c.input as string)).toString('utf8')))).toString('base64'),
  parseCanonical: (c) => void parseCanonical(b64(c.input as string), 'the vector'),
  parseStrictJson: (c) => void parseStrictJson(Buffer.from(b64(c.input as string)).toString('utf8'), 'the vector'),
  verifyStrict: (c) => verifyStrict(hex(c.signature as string), hex(c.message as string), hex(c.publicKey as string)),
  isStrongPublicKey: (c) => isStrongPublicKey(hex(c.publicKey as string)),
  verifyLogProof: (c) => {
    const r = verifyLogProof({
      envelopeBytes: file(c.envelope as string),
      proof: typeof c.proof === 'string' ? file(c.proof) : undefined,
      policy: parseTlogPolicy(file(c.logPolicy as string)),
      now: new Date(c.now as string),
      ...(typeof c.maxAgeSeconds === 'number' ? { maxAgeSeconds: c.maxAgeSeconds } : {}),
      ...(typeof c.largestSeen === 'string' ? { largestSeen: Buffer.from(file(c.largestSeen)).toString('utf8') } : {}),
      ...(Array.isArray(c.consistency) ? { consistency: (c.consistency as string[]).map(b64) } : {}),
    });
    return { index: r.index, witnesses: r.witnesses, consistency: r.consistency };
  },
};

for (const name of readdirSync(VECTORS_DIR)
  .filter((n) => n.endsWith('.json'))
  .sort()) {
  const family = JSON.parse(readFileSync(join(VECTORS_DIR, name), 'utf8')) as ConformanceVectors;
  describe(`conformance: ${family.family} (${name})`, () => {
    for (const c of family.cases) {
      it(`${c.id}: ${c.description}`, async () => {
        const op = OPS[c.op];
        if (op === undefined) throw new Error(`unknown op ${c.op}`);
        const got = await outcome(() => op(c));
        expect(got.expect, 'verdict').to.deep.equal(c.expect);
        if ('result' in c) expect(got.result, 'result').to.deep.equal(c.result);
        if ('problems' in c) expect(got.problems ?? (got.result as { problems?: string[] } | undefined)?.problems, 'problems').to.deep.equal(c.problems);
      });
    }
  });
}
