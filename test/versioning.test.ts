// spec/versioning.md: bundle v1 and v2, payload `format`, and FORMAT_UNSUPPORTED for anything newer.
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBundleFile } from '../lib/node/bundle-file.js';
import { bundleHeader, parseBundleHeader } from '../lib/core/bundle.js';
import { concatBytes, utf8 } from '../lib/core/bytes.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { createEnvelope } from '../lib/core/envelope.js';
import { CountersignError, VerificationError, type ErrorCode } from '../lib/core/errors.js';
import { createPolicy, policyFromPayload, readPolicyDocument } from '../lib/core/policy.js';
import { createRevocation, revocationFromPayload } from '../lib/core/revocation.js';
import { verifyBundle, type VerifyOptions } from '../lib/core/verify.js';
import { runCli } from './support/cli.js';
import { asFormat1, bundleFileBytes, envelopeBytes, makePolicy, makeRelease, NOW, signedBy, tempDir, type TestPolicy } from './support/fixtures.js';

async function codeOf(promise: Promise<unknown>): Promise<{ code: ErrorCode; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(CountersignError);
    const e = err as CountersignError;
    if (e instanceof VerificationError) return { code: e.reasons[0]!.code, details: e.reasons[0]!.details ?? {} };
    return { code: e.code, details: e.details };
  }
  throw new Error('expected a rejection');
}

const codeOfSync = (f: () => unknown) => codeOf(Promise.resolve().then(f));

describe('versioning (spec/versioning.md)', () => {
  let dir: string;
  let p: TestPolicy;
  let opts: VerifyOptions;
  const release = makeRelease();
  let env: Uint8Array;
  let n = 0;

  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    p = makePolicy(5, 3);
    opts = { trusted: p.trusted, now: NOW, site: { product: 'drupal', component: 'core', installed: '10.2.3' } };
    env = envelopeBytes(signedBy(release.envelope, p.signers.slice(0, 3)));
  });

  /** Writes `bytes` to a new file, opens it as openBundleFile does, verifies it, and closes it. */
  async function verifyFile(bytes: Uint8Array) {
    const path = join(dir, `b${n++}.bundle`);
    writeFileSync(path, bytes);
    const input = await openBundleFile(path);
    try {
      return { layout: input.layout, verified: await verifyBundle(input, opts) };
    } finally {
      await input.close();
    }
  }

  /** A v2 bundle with the given section lines (name, length) and bytes. */
  function v2(lines: Array<[string, number]>, ...bytes: Uint8Array[]): Uint8Array {
    return concatBytes(utf8(`countersign-bundle v2 ${lines.length}\n${lines.map(([name, length]) => `${name} ${length}\n`).join('')}`), ...bytes);
  }

  describe('bundles', () => {
    it('a v1 bundle (envelope, then the archive as the rest of the file) is accepted', async () => {
      const { layout, verified } = await verifyFile(concatBytes(utf8(`countersign-bundle v1 ${env.length}\n`), env, release.archive));
      expect(layout?.version).to.equal(1);
      expect(verified.document.kind).to.equal('manifest');
    });

    it('a v2 bundle (envelope and archive sections), as assemble writes it, is accepted', async () => {
      const bytes = bundleFileBytes(signedBy(release.envelope, p.signers.slice(0, 3)), release.archive);
      expect(Buffer.from(bytes.subarray(0, 24)).toString('latin1')).to.equal('countersign-bundle v2 2\n');
      const { layout, verified } = await verifyFile(bytes);
      expect(layout?.sections.map((s) => [s.name, s.length])).to.deep.equal([
        ['envelope', env.length],
        ['archive', release.archive.length],
      ]);
      expect(verified.document.kind).to.equal('manifest');
    });

    it('a v2 bundle with an unknown section: FORMAT_UNSUPPORTED', async () => {
      const extra = utf8('{}');
      const r = await codeOf(
        verifyFile(
          v2(
            [
              ['envelope', env.length],
              ['signatures', extra.length],
              ['archive', release.archive.length],
            ],
            env,
            extra,
            release.archive,
          ),
        ),
      );
      expect(r.code).to.equal('FORMAT_UNSUPPORTED');
      expect(r.details).to.deep.include({ document: 'bundle', format: 2 });
    });

    it('a v2 bundle with a duplicated section (a second envelope, or a second archive): FORMAT_UNSUPPORTED', async () => {
      const twoEnvelopes = v2(
        [
          ['envelope', env.length],
          ['envelope', env.length],
          ['archive', release.archive.length],
        ],
        env,
        env,
        release.archive,
      );
      expect((await codeOf(verifyFile(twoEnvelopes))).code).to.equal('FORMAT_UNSUPPORTED');
      const twoArchives = v2(
        [
          ['envelope', env.length],
          ['archive', 0],
          ['archive', release.archive.length],
        ],
        env,
        release.archive,
      );
      expect((await codeOf(verifyFile(twoArchives))).code).to.equal('FORMAT_UNSUPPORTED');
    });

    it('a proof section (between envelope and archive) is read; it is checked only where a log policy requires it (test/log/verify-log.test.ts)', async () => {
      const proof = utf8('c2sp.org/tlog-proof@v1\nindex 0\n\n');
      const { layout } = await verifyFile(
        v2(
          [
            ['envelope', env.length],
            ['proof', proof.length],
            ['archive', release.archive.length],
          ],
          env,
          proof,
          release.archive,
        ),
      );
      expect(layout!.proof).to.deep.include({ name: 'proof', length: proof.length });
      // Out of place: after the archive.
      const late = v2(
        [
          ['envelope', env.length],
          ['archive', release.archive.length],
          ['proof', proof.length],
        ],
        env,
        release.archive,
        proof,
      );
      expect((await codeOf(verifyFile(late))).code).to.equal('MALFORMED');
    });

    it('a state section is read right after the proof section; anywhere else, without a proof, or over 64 KiB it is refused', async () => {
      const proof = utf8('c2sp.org/tlog-proof@v1\nindex 0\n\n');
      const state = utf8('countersign-state v1\n');
      const lines = (...names: string[]): Array<[string, number]> =>
        names.map((n) => [n, n === 'envelope' ? env.length : n === 'proof' ? proof.length : n === 'state' ? state.length : release.archive.length]);
      const bytesOf = (n: string) => (n === 'envelope' ? env : n === 'proof' ? proof : n === 'state' ? state : release.archive);
      const file = (...names: string[]) => v2(lines(...names), ...names.map(bytesOf));
      const { layout } = await verifyFile(file('envelope', 'proof', 'state', 'archive'));
      expect(layout!.state).to.deep.include({ name: 'state', length: state.length });
      expect(bundleHeader(env.length, release.archive.length, proof.length, state.length)).to.deep.equal(
        utf8(`countersign-bundle v2 4\nenvelope ${env.length}\nproof ${proof.length}\nstate ${state.length}\narchive ${release.archive.length}\n`),
      );
      // Without a state section the header is byte for byte what 0.3.0 wrote.
      expect(bundleHeader(env.length, release.archive.length)).to.deep.equal(
        utf8(`countersign-bundle v2 2\nenvelope ${env.length}\narchive ${release.archive.length}\n`),
      );
      expect(bundleHeader(env.length, release.archive.length, proof.length)).to.deep.equal(
        utf8(`countersign-bundle v2 3\nenvelope ${env.length}\nproof ${proof.length}\narchive ${release.archive.length}\n`),
      );
      for (const order of [
        ['envelope', 'state', 'archive'],
        ['envelope', 'state', 'proof', 'archive'],
        ['envelope', 'proof', 'archive', 'state'],
      ]) {
        expect((await codeOf(verifyFile(file(...order)))).code, order.join()).to.equal('MALFORMED');
      }
      const big = utf8(`countersign-bundle v2 4\nenvelope ${env.length}\nproof ${proof.length}\nstate ${64 * 1024 + 1}\narchive 0\n`);
      expect((await codeOf(verifyFile(concatBytes(big, env, proof, new Uint8Array(64 * 1024 + 1))))).code).to.equal('SIZE_LIMIT');
    });

    it('a v3 header: FORMAT_UNSUPPORTED with the versions this release reads', async () => {
      const r = await codeOf(verifyFile(concatBytes(utf8(`countersign-bundle v3 1\nenvelope ${env.length}\n`), env)));
      expect(r.code).to.equal('FORMAT_UNSUPPORTED');
      expect(r.details).to.deep.equal({ document: 'bundle', format: 3, supported: [1, 2] });
    });

    it('v2 section lengths that do not add up to the file size (one byte short or over): MALFORMED', async () => {
      const lines = (archive: number): Array<[string, number]> => [
        ['envelope', env.length],
        ['archive', archive],
      ];
      expect((await codeOf(verifyFile(v2(lines(release.archive.length + 1), env, release.archive)))).code).to.equal('MALFORMED');
      expect((await codeOf(verifyFile(v2(lines(release.archive.length - 1), env, release.archive)))).code).to.equal('MALFORMED');
      expect((await codeOf(verifyFile(v2([['envelope', env.length + 1]], env)))).code).to.equal('MALFORMED');
    });

    it('a v2 section length of 16 digits is MALFORMED: above 2^53 it would round, and a rounded sum could match the file size', () => {
      const header = utf8('countersign-bundle v2 2\nenvelope 10\narchive 9007199254740993\n');
      // 9007199254740993 reads as 9007199254740992: with 15 digits at most, no length can round.
      const roundedSize = header.length + 10 + 9007199254740992;
      let code: string | undefined;
      try {
        parseBundleHeader(header, 1 << 20, roundedSize);
      } catch (err) {
        code = (err as CountersignError).code;
      }
      expect(code).to.equal('MALFORMED');
    });

    it('v2 sections out of order (the envelope not first, the archive not last): MALFORMED', async () => {
      expect(
        (
          await codeOf(
            verifyFile(
              v2(
                [
                  ['archive', release.archive.length],
                  ['envelope', env.length],
                ],
                release.archive,
                env,
              ),
            ),
          )
        ).code,
      ).to.equal('MALFORMED');
    });

    it('inspect shows the bundle version and its sections; a v3 bundle is FORMAT_UNSUPPORTED, exit 1', async () => {
      const path = join(dir, 'inspect.bundle');
      writeFileSync(path, bundleFileBytes(signedBy(release.envelope, p.signers.slice(0, 3)), release.archive));
      const r = await runCli(['inspect', path, '--json'], { now: NOW });
      expect(r.json).to.deep.include({
        bundleFormat: 2,
        payloadFormat: 2,
        sections: [
          { name: 'envelope', length: env.length },
          { name: 'archive', length: release.archive.length },
        ],
      });
      writeFileSync(path, concatBytes(utf8(`countersign-bundle v3 1\nenvelope ${env.length}\n`), env));
      const v3 = await runCli(['inspect', path, '--json'], { now: NOW });
      expect(v3.code).to.equal(1);
      expect(v3.json).to.include({ ok: false, code: 'FORMAT_UNSUPPORTED' });
    });
  });

  describe('payload format', () => {
    const resigned = (payload: Record<string, unknown>, archive = release.archive) => ({
      envelopeBytes: envelopeBytes(signedBy(createEnvelope('manifest', canonicalBytes(payload)), p.signers.slice(0, 3))),
      archive: {
        size: archive.length,
        chunks: async function* () {
          yield archive;
        },
      },
    });
    const format1 = () => asFormat1(release.manifest, release.archive);

    it('writers emit manifest format 2 (build) and policy and revocation format 1 (policy init/rotate, revoke)', () => {
      expect(release.manifest.format).to.equal(2);
      expect(release.manifest.archive).to.have.keys(['name', 'size', 'sha256', 'mtime']);
      expect(
        createPolicy({ threshold: 1, signers: [{ name: 'a', publicKey: p.signers[0]!.publicKey }], expires: new Date('2027-01-01T00:00:00Z') }).format,
      ).to.equal(1);
      const revocation = createRevocation({ product: 'drupal', component: 'core', version: '10.2.4', reason: 'r', created: NOW, policyVersion: 1 });
      expect(revocationFromPayload(Buffer.from(revocation.payload, 'base64')).format).to.equal(1);
    });

    it('a manifest with format 1 (archive sha512, no mtime) is accepted', async () => {
      const v = await verifyBundle(resigned(format1()), opts);
      expect(v.document.kind === 'manifest' && v.document.manifest.format).to.equal(1);
    });

    it('format 1: the archive SHA-256 and SHA-512 are checked (they bind the unsigned mtime), each alone is enough', async () => {
      // The same entries at another mtime: every header differs, the contents do not.
      const other = makeRelease({ mtime: 1 }).archive;
      expect(other.length).to.equal(release.archive.length);
      expect((await codeOf(verifyBundle(resigned(format1(), other), opts))).code).to.equal('DIGEST_MISMATCH');
      const m = format1();
      for (const archive of [
        { ...m.archive, sha512: '0'.repeat(128) },
        { ...m.archive, sha256: '0'.repeat(64) },
      ]) {
        expect((await codeOf(verifyBundle(resigned({ ...m, archive }), opts))).code).to.equal('DIGEST_MISMATCH');
      }
    });

    it('format 2: the entries must have the signed mtime; the archive SHA-256 is implied, not recomputed', async () => {
      const other = makeRelease({ mtime: 1 }).archive;
      expect((await codeOf(verifyBundle(resigned(release.manifest, other), opts))).code).to.equal('ENTRY_MISMATCH');
      // A quorum that signs a wrong archive SHA-256 misleads mirrors, not sites: every byte is checked without it.
      const v = await verifyBundle(resigned({ ...release.manifest, archive: { ...release.manifest.archive, sha256: '0'.repeat(64) } }), opts);
      expect(v.document.kind).to.equal('manifest');
    });

    it('the archive member must have the shape of the format: SCHEMA_INVALID', async () => {
      const { mtime: _, ...noMtime } = release.manifest.archive as { mtime: number };
      for (const payload of [
        { ...format1(), archive: release.manifest.archive },
        { ...release.manifest, archive: format1().archive },
        { ...release.manifest, archive: { ...release.manifest.archive, sha512: '0'.repeat(128) } },
        { ...release.manifest, archive: noMtime },
      ]) {
        expect((await codeOf(verifyBundle(resigned(payload), opts))).code).to.equal('SCHEMA_INVALID');
      }
    });

    it('a payload without format is format 1 and accepted (documents written before 0.2.0)', async () => {
      const { format: _, ...old } = format1();
      const v = await verifyBundle(resigned(old), opts);
      expect(v.document.kind).to.equal('manifest');
      // keys-example/policy.signed.json predates the member and still reads.
      const policy = readPolicyDocument(readFileSync('keys-example/policy.signed.json'));
      expect(policy.policy).to.not.have.property('format');
    });

    it('a manifest with format 4: FORMAT_UNSUPPORTED, not SCHEMA_INVALID, even with a member the schema does not know', async () => {
      for (const payload of [
        { ...release.manifest, format: 4 },
        { ...release.manifest, format: 4, log: 'x' },
        { ...release.manifest, format: '2' },
      ]) {
        const r = await codeOf(verifyBundle(resigned(payload), opts));
        expect(r.code).to.equal('FORMAT_UNSUPPORTED');
        expect(r.details).to.deep.include({ document: 'manifest', supported: [1, 2, 3] });
      }
    });

    it('policy payloads with format 4 and revocation payloads with format 3 (trust store, rotation, revoke): FORMAT_UNSUPPORTED', async () => {
      const policy = { ...p.trusted.policy, format: 4 }; // format 2 is read since 0.3.0 (signer kinds), 3 since 0.4.0 (providers)
      expect((await codeOfSync(() => policyFromPayload(canonicalBytes(policy)))).code).to.equal('FORMAT_UNSUPPORTED');
      const revocation = { product: 'drupal', component: 'core', version: '10.2.4', reason: 'r', created: '2026-11-23T12:00:00Z', policyVersion: 1, format: 3 };
      expect((await codeOfSync(() => revocationFromPayload(canonicalBytes(revocation)))).code).to.equal('FORMAT_UNSUPPORTED');
    });
  });
});
