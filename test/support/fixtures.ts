// Test fixtures built with the library itself: signers, policies, releases and bundles, all in memory or in temp dirs.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildRelease, type ReleaseRequest } from '../../lib/node/build.js';
import { bundleHeader } from '../../lib/core/bundle.js';
import { concatBytes, toBase64 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { generateSeed, publicKeyFromSeed, signMessage, keyId } from '../../lib/core/ed25519.js';
import { createEnvelope, pae, serializeEnvelope, type Envelope, type EnvelopeSignature } from '../../lib/core/envelope.js';
import { createPolicy, loadTrustedPolicy, policyFromPayload, type CheckedPolicy, type Policy, type TrustedPolicy } from '../../lib/core/policy.js';
import type { Manifest } from '../../lib/core/manifest.js';
import type { BundleInput } from '../../lib/core/verify.js';
import { tempDir } from './tmp.js';

export const NOW = new Date('2026-11-23T12:00:00Z');

export interface TestSigner {
  name: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
  id: string;
}

/** n fresh signers; with seedLabel, seed_i = SHA-256("seedLabel i") (TEST-ONLY keys, for fixtures that must regenerate byte for byte). */
export function makeSigners(n: number, seedLabel?: string): TestSigner[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = seedLabel === undefined ? generateSeed() : new Uint8Array(createHash('sha256').update(`${seedLabel} ${i}`, 'utf8').digest());
    const publicKey = publicKeyFromSeed(seed);
    return { name: `signer-${i}`, seed, publicKey, id: keyId(publicKey) };
  });
}

export function sign(signer: TestSigner, envelope: Pick<Envelope, 'payloadType' | 'payload'>): EnvelopeSignature {
  const payload = Buffer.from(envelope.payload, 'base64');
  return { keyid: signer.id, sig: toBase64(signMessage(pae(envelope.payloadType, payload), signer.seed)) };
}

export function signedBy(envelope: Envelope, signers: TestSigner[]): Envelope {
  return { ...envelope, signatures: [...envelope.signatures, ...signers.map((s) => sign(s, envelope))] };
}

export function envelopeBytes(envelope: Envelope): Uint8Array {
  return new TextEncoder().encode(serializeEnvelope(envelope));
}

export interface TestPolicy {
  signers: TestSigner[];
  policy: Policy;
  checked: CheckedPolicy;
  /** The policy envelope, self-signed by its first `threshold` signers. */
  signed: Envelope;
  /** The same policy loaded as a site would pin it. */
  trusted: TrustedPolicy;
}

export function makePolicy(n = 5, threshold = 3, opts: { expires?: Date; version?: number; seedLabel?: string } = {}): TestPolicy {
  const signers = makeSigners(n, opts.seedLabel);
  const policy = createPolicy({
    threshold,
    signers: signers.map((s) => ({ publicKey: s.publicKey, name: s.name })),
    expires: opts.expires ?? new Date('2030-01-01T00:00:00Z'),
    version: opts.version,
  });
  const unsigned = createEnvelope('policy', canonicalBytes(policy));
  const signed = signedBy(unsigned, signers.slice(0, threshold));
  return { signers, policy, checked: policyFromPayload(canonicalBytes(policy)), signed, trusted: loadTrustedPolicy(envelopeBytes(signed)) };
}

export { tempDir };

export function writeTree(root: string, files: Record<string, string | { content: string; mode: number }>): string {
  for (const [path, spec] of Object.entries(files)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof spec === 'string') writeFileSync(abs, spec);
    else writeFileSync(abs, spec.content, { mode: spec.mode });
  }
  return root;
}

export const BASE_TREE = {
  'index.php': '<?php require "core/bootstrap.inc";\n',
  'core/lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.3'; }\n",
  'core/bootstrap.inc': '<?php print $_GET["q"];\n',
  'core/legacy.inc': '<?php // removed in 10.2.4\n',
};

export const NEW_TREE = {
  'index.php': '<?php require "core/bootstrap.inc";\n',
  'core/lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.4'; }\n",
  'core/bootstrap.inc': '<?php print htmlspecialchars($_GET["q"]);\n',
  'core/lib/Sanitizer.php': { content: '<?php // new\n', mode: 0o755 },
};

export interface TestRelease {
  manifest: Manifest;
  envelope: Envelope;
  archive: Uint8Array;
}

/** Builds drupal 10.2.4 from 10.2.3 with the real builder, into memory. */
export function makeRelease(overrides: Partial<ReleaseRequest> = {}, trees = { base: BASE_TREE, source: NEW_TREE }): TestRelease {
  const dir = tempDir();
  const chunks: Uint8Array[] = [];
  const built = buildRelease(
    {
      source: writeTree(join(dir, 'new'), trees.source),
      base: writeTree(join(dir, 'old'), trees.base),
      product: 'drupal',
      component: 'core',
      version: '10.2.4',
      appliesTo: ['10.2.3'],
      riskVector: 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
      postUpdate: [['drush', 'updb', '-y']],
      created: new Date('2026-11-20T00:00:00Z'),
      expires: new Date('2026-12-20T00:00:00Z'),
      policyVersion: 1,
      mtime: 0,
      ...overrides,
    },
    (chunk) => chunks.push(new Uint8Array(chunk)),
  );
  return { manifest: built.manifest, envelope: built.envelope, archive: concatBytes(...chunks) };
}

/** A manifest envelope with a hand-made payload (re-signed by whoever the test chooses). */
export function manifestEnvelope(manifest: Manifest): Envelope {
  return createEnvelope('manifest', canonicalBytes(manifest));
}

export function bundleInput(envelope: Envelope, archive?: Uint8Array): BundleInput {
  return {
    envelopeBytes: envelopeBytes(envelope),
    archive: archive && { size: archive.length, chunks: () => chunked(archive) },
  };
}

export async function* chunked(bytes: Uint8Array, size = 1000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

export function bundleFileBytes(envelope: Envelope, archive: Uint8Array): Uint8Array {
  const env = envelopeBytes(envelope);
  return concatBytes(bundleHeader(env.length, archive.length), env, archive);
}

/** The manifest as release 0.2.0 wrote it (format 1): the archive's SHA-512 instead of its entries' mtime. */
export function asFormat1(manifest: Manifest, archive: Uint8Array): Manifest {
  const { name, size, sha256 } = manifest.archive;
  return { ...manifest, format: 1, archive: { name, size, sha256, sha512: createHash('sha512').update(archive).digest('hex') } };
}

/** The manifest with its archive size and digests (SHA-512 too in format 1) replaced by those of `archive`. */
export function withArchive(manifest: Manifest, archive: Uint8Array): Manifest {
  const size = archive.length;
  const sha256 = createHash('sha256').update(archive).digest('hex');
  if ('mtime' in manifest.archive) return { ...manifest, archive: { ...manifest.archive, size, sha256 } };
  return { ...manifest, archive: { ...manifest.archive, size, sha256, sha512: createHash('sha512').update(archive).digest('hex') } };
}
