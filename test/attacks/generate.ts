// Deterministic generator of the attack-suite fixtures.
//
//   npx tsx test/attacks/generate.ts      # (re)writes test/attacks/fixtures/
//
// Everything is derived from fixed inputs, so regenerating yields byte-identical files:
// - keys: seed_i = SHA-256("countersign attack fixture signer i") for the security team and
//   SHA-256("countersign attack fixture outsider i") for attackers' keys (TEST-ONLY, never trust them);
// - times: created 2026-01-01, expiries in 2027, tests verify at FIXTURE_NOW = 2026-06-01;
// - archives: mtime 0 (SOURCE_DATE_EPOCH-style), uid/gid 0, sorted entries (the real builder);
// - Ed25519 signatures are deterministic (RFC 8032), and envelopes are serialised by the library.
// test/attacks/fixtures.test.ts regenerates into a temporary directory and compares byte for byte,
// so stale committed fixtures fail CI.
//
// The tests import fixtures() (the same objects, in memory) rather than reading the files.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildRelease } from '../../lib/node/build.js';
import { bundleHeader } from '../../lib/core/bundle.js';
import { concatBytes, toBase64 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { keyId, publicKeyFromSeed, signMessage } from '../../lib/core/ed25519.js';
import { createEnvelope, pae, serializeEnvelope, type Envelope, type EnvelopeSignature } from '../../lib/core/envelope.js';
import type { Manifest } from '../../lib/core/manifest.js';
import { createPolicy, loadTrustedPolicy, type Policy, type TrustedPolicy } from '../../lib/core/policy.js';
import { createRevocation, verifyRevocation, type Revocation } from '../../lib/core/revocation.js';
import { walkPolicyChain } from '../../lib/core/rotation.js';

/** The reference time every attack test verifies at (unless it moves the clock on purpose). */
export const FIXTURE_NOW = new Date('2026-06-01T00:00:00Z');
export const CREATED = new Date('2026-01-01T00:00:00Z');
export const MANIFEST_EXPIRES = new Date('2027-01-01T00:00:00Z');
export const POLICY_V1_EXPIRES = new Date('2027-06-01T00:00:00Z');
export const POLICY_V2_EXPIRES = new Date('2027-12-01T00:00:00Z');
export const REVOKED_AT = new Date('2026-02-01T00:00:00Z');

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

// ---------------------------------------------------------------------------------------------
// Keys and signing

export interface FixtureSigner {
  name: string;
  /** What the seed is the SHA-256 of. */
  seedLabel: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
  id: string;
}

function signerFrom(seedLabel: string, name: string): FixtureSigner {
  const seed = new Uint8Array(createHash('sha256').update(seedLabel, 'utf8').digest());
  const publicKey = publicKeyFromSeed(seed);
  return { name, seedLabel, seed, publicKey, id: keyId(publicKey) };
}

/** Security-team member i (0 alice … 5 frank). */
export function teamSigner(i: number, name: string): FixtureSigner {
  return signerFrom(`countersign attack fixture signer ${i}`, name);
}

/** A key the policy never lists: an attacker's, or a stranger's. */
export function outsider(i: number): FixtureSigner {
  return signerFrom(`countersign attack fixture outsider ${i}`, `outsider-${i} (TEST ONLY)`);
}

export function sign(signer: FixtureSigner, envelope: Pick<Envelope, 'payloadType' | 'payload'>): EnvelopeSignature {
  const payload = Buffer.from(envelope.payload, 'base64');
  return { keyid: signer.id, sig: toBase64(signMessage(pae(envelope.payloadType, payload), signer.seed)) };
}

/** The envelope with one more signature per signer, appended in the order given. */
export function signedBy(envelope: Envelope, signers: readonly FixtureSigner[]): Envelope {
  return { ...envelope, signatures: [...envelope.signatures, ...signers.map((s) => sign(s, envelope))] };
}

export function envelopeBytes(envelope: Envelope): Uint8Array {
  return new TextEncoder().encode(serializeEnvelope(envelope));
}

/** Header line, envelope, archive: the bundle file format (lib/core/bundle.ts). */
export function bundleBytes(envelope: Envelope, archive: Uint8Array): Uint8Array {
  const env = envelopeBytes(envelope);
  return concatBytes(bundleHeader(env.length, archive.length), env, archive);
}

// ---------------------------------------------------------------------------------------------
// Policies

export function makePolicy(version: number, threshold: number, signers: readonly FixtureSigner[], expires: Date): Policy {
  return createPolicy({ version, threshold, expires, signers: signers.map((s) => ({ publicKey: s.publicKey, name: s.name })) });
}

export function policyDocument(policy: Policy, signers: readonly FixtureSigner[]): Envelope {
  return signedBy(createEnvelope('policy', canonicalBytes(policy)), signers);
}

// ---------------------------------------------------------------------------------------------
// Releases, built with the real builder from small trees

export type Tree = Record<string, string | { content: string; mode: 0o644 | 0o755 }>;

function writeTree(root: string, tree: Tree): string {
  for (const [path, spec] of Object.entries(tree)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    const content = typeof spec === 'string' ? spec : spec.content;
    writeFileSync(abs, content);
    chmodSync(abs, typeof spec === 'string' ? 0o644 : spec.mode); // independent of the umask
  }
  return root;
}

export interface ReleaseSpec {
  product: string;
  component: string;
  version: string;
  appliesTo: string[];
  riskVector: string;
  advisory: string;
  postUpdate: string[][];
  policyVersion: number;
  base: Tree;
  source: Tree;
  created?: Date;
  expires?: Date;
}

export interface UnsignedRelease {
  manifest: Manifest;
  /** The manifest envelope without signatures. */
  unsigned: Envelope;
  archive: Uint8Array;
}

export function buildFixtureRelease(spec: ReleaseSpec): UnsignedRelease {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-attack-fixture-'));
  try {
    const chunks: Uint8Array[] = [];
    const built = buildRelease(
      {
        source: writeTree(join(dir, 'new'), spec.source),
        base: writeTree(join(dir, 'old'), spec.base),
        product: spec.product,
        component: spec.component,
        version: spec.version,
        appliesTo: spec.appliesTo,
        riskVector: spec.riskVector,
        advisory: spec.advisory,
        postUpdate: spec.postUpdate,
        created: spec.created ?? CREATED,
        expires: spec.expires ?? MANIFEST_EXPIRES,
        policyVersion: spec.policyVersion,
        mtime: 0,
      },
      (chunk) => chunks.push(new Uint8Array(chunk)),
    );
    return { manifest: built.manifest, unsigned: built.envelope, archive: concatBytes(...chunks) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DRUPAL_10_2_3: Tree = {
  'index.php': '<?php require __DIR__ . "/core/includes/bootstrap.inc";\n',
  'core/lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.3'; }\n",
  'core/includes/bootstrap.inc': '<?php print $_GET["q"];\n',
  'core/includes/legacy.inc': '<?php // removed in 10.2.4\n',
};

const DRUPAL_10_2_4: Tree = {
  'index.php': '<?php require __DIR__ . "/core/includes/bootstrap.inc";\n',
  'core/lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.4'; }\n",
  'core/includes/bootstrap.inc': '<?php print htmlspecialchars($_GET["q"], ENT_QUOTES);\n',
  'core/lib/Sanitizer.php': '<?php final class Sanitizer {}\n',
  'core/scripts/rebuild.sh': { content: '#!/bin/sh\nexec php core/rebuild.php "$@"\n', mode: 0o755 },
};

const DRUPAL_10_2_5: Tree = {
  ...DRUPAL_10_2_4,
  'core/lib/Drupal.php': "<?php class Drupal { const VERSION = '10.2.5'; }\n",
  'core/lib/Sanitizer.php': '<?php final class Sanitizer { public static function clean(string $s): string { return strip_tags($s); } }\n',
  'core/lib/Csrf.php': '<?php final class Csrf {}\n',
};

const WEBFORM_6_2_0: Tree = {
  'webform.info.yml': "name: Webform\ntype: module\nversion: '6.2.0'\n",
  'webform.module': '<?php function webform_help() { return ""; }\n',
};

const WEBFORM_6_2_1: Tree = {
  'webform.info.yml': "name: Webform\ntype: module\nversion: '6.2.1'\n",
  'webform.module': '<?php function webform_help() { return t(""); }\n',
  'src/Access.php': '<?php namespace Drupal\\webform; final class Access {}\n',
};

export const RELEASE_SPECS = {
  /** Release A: drupal core 10.2.4 from 10.2.3, before the rotation. */
  a: {
    product: 'drupal',
    component: 'core',
    version: '10.2.4',
    appliesTo: ['10.2.3'],
    riskVector: 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
    advisory: 'SA-CORE-2026-001',
    postUpdate: [['drush', 'updb', '-y']],
    policyVersion: 1,
    base: DRUPAL_10_2_3,
    source: DRUPAL_10_2_4,
  },
  /** Release B: drupal core 10.2.5 from 10.2.4, before the rotation. */
  b: {
    product: 'drupal',
    component: 'core',
    version: '10.2.5',
    appliesTo: ['10.2.4'],
    riskVector: 'AC:Basic/A:User/CI:Some/II:Some/E:Proof/TD:Default',
    advisory: 'SA-CORE-2026-002',
    postUpdate: [
      ['drush', 'updb', '-y'],
      ['drush', 'cr'],
    ],
    policyVersion: 1,
    base: DRUPAL_10_2_4,
    source: DRUPAL_10_2_5,
  },
  /** Release C: the webform module 6.2.1 (applies to any earlier version), after the rotation. */
  c: {
    product: 'drupal',
    component: 'webform',
    version: '6.2.1',
    appliesTo: [],
    riskVector: 'AC:Complex/A:Admin/CI:Some/II:None/E:Theoretical/TD:Uncommon',
    advisory: 'SA-CONTRIB-2026-001',
    postUpdate: [],
    policyVersion: 2,
    base: WEBFORM_6_2_0,
    source: WEBFORM_6_2_1,
  },
} satisfies Record<string, ReleaseSpec>;

// ---------------------------------------------------------------------------------------------
// The fixture set

export interface PolicyFixture {
  policy: Policy;
  envelope: Envelope;
  bytes: Uint8Array;
}

export interface ReleaseFixture extends UnsignedRelease {
  /** The manifest envelope signed by the quorum the fixture names. */
  envelope: Envelope;
  signers: FixtureSigner[];
  /** The bundle file bytes. */
  bundle: Uint8Array;
  fileName: string;
}

export interface Fixtures {
  team: { alice: FixtureSigner; bob: FixtureSigner; carol: FixtureSigner; dave: FixtureSigner; erin: FixtureSigner; frank: FixtureSigner };
  /** Keys no policy lists. */
  outsiders: FixtureSigner[];
  /** 3-of-5: alice, bob, carol, dave, erin; signed by all five at the founding ceremony. */
  policyV1: PolicyFixture;
  /** 3-of-5 after bob's laptop was lost: bob removed, frank added; signed by alice, carol, dave (quorum of v1 and v2) and frank. */
  policyV2: PolicyFixture;
  /** The pin of a site: v1, self-signed. */
  trustedV1: TrustedPolicy;
  /** v1 walked through the rotation to v2. */
  trustedV2: TrustedPolicy;
  /** drupal core 10.2.4 (from 10.2.3), policy 1, signed by alice, bob, carol (exactly the threshold). */
  releaseA: ReleaseFixture;
  /** drupal core 10.2.5 (from 10.2.4), policy 1, signed by alice, carol, dave, erin (one above the threshold). */
  releaseB: ReleaseFixture;
  /** webform 6.2.1 (from anything earlier), policy 2, signed by alice, dave, frank. */
  releaseC: ReleaseFixture;
  /** Revocation of release A, signed by carol, dave, erin. */
  revocationA: { revocation: Revocation; envelope: Envelope; bytes: Uint8Array };
  /** Every file generateFixtures() writes, by name. */
  files: Map<string, Uint8Array>;
}

function release(spec: ReleaseSpec, signers: FixtureSigner[], fileName: string): ReleaseFixture {
  const built = buildFixtureRelease(spec);
  const envelope = signedBy(built.unsigned, signers);
  return { ...built, envelope, signers, bundle: bundleBytes(envelope, built.archive), fileName };
}

function makeFixtures(): Fixtures {
  const team = {
    alice: teamSigner(0, 'Alice (TEST ONLY)'),
    bob: teamSigner(1, 'Bob (TEST ONLY)'),
    carol: teamSigner(2, 'Carol (TEST ONLY)'),
    dave: teamSigner(3, 'Dave (TEST ONLY)'),
    erin: teamSigner(4, 'Erin (TEST ONLY)'),
    frank: teamSigner(5, 'Frank (TEST ONLY)'),
  };
  const { alice, bob, carol, dave, erin, frank } = team;
  const outsiders = [0, 1, 2, 3, 4].map(outsider);

  const v1 = makePolicy(1, 3, [alice, bob, carol, dave, erin], POLICY_V1_EXPIRES);
  const v1Envelope = policyDocument(v1, [alice, bob, carol, dave, erin]);
  const v2 = makePolicy(2, 3, [alice, carol, dave, erin, frank], POLICY_V2_EXPIRES);
  const v2Envelope = policyDocument(v2, [alice, carol, dave, frank]);
  const policyV1 = { policy: v1, envelope: v1Envelope, bytes: envelopeBytes(v1Envelope) };
  const policyV2 = { policy: v2, envelope: v2Envelope, bytes: envelopeBytes(v2Envelope) };
  const trustedV1 = loadTrustedPolicy(policyV1.bytes);
  const trustedV2 = walkPolicyChain(trustedV1, [policyV2.bytes], FIXTURE_NOW);

  const releaseA = release(RELEASE_SPECS.a, [alice, bob, carol], 'drupal-core-10.2.4.bundle');
  const releaseB = release(RELEASE_SPECS.b, [alice, carol, dave, erin], 'drupal-core-10.2.5.bundle');
  const releaseC = release(RELEASE_SPECS.c, [alice, dave, frank], 'drupal-webform-6.2.1.bundle');

  const revocationEnvelope = signedBy(
    createRevocation({
      product: 'drupal',
      component: 'core',
      version: '10.2.4',
      reason: 'SA-CORE-2026-001 fix is incomplete; install 10.2.5',
      created: REVOKED_AT,
      policyVersion: 1,
    }),
    [carol, dave, erin],
  );
  const revocationBytes = envelopeBytes(revocationEnvelope);
  const revocationA = { revocation: verifyRevocation(revocationBytes, trustedV1), envelope: revocationEnvelope, bytes: revocationBytes };

  const signersJson = {
    note: 'TEST-ONLY keys of the attack suite. seed = SHA-256(seedLabel); never trust these keys anywhere.',
    team: Object.values(team).map(publicInfo),
    outsiders: outsiders.map(publicInfo),
  };
  const files = new Map<string, Uint8Array>([
    ['README.md', new TextEncoder().encode(README)],
    ['signers.json', new TextEncoder().encode(JSON.stringify(signersJson, null, 2) + '\n')],
    ['policy-v1.json', policyV1.bytes],
    ['policy-v2.json', policyV2.bytes],
    [releaseA.fileName, releaseA.bundle],
    [releaseB.fileName, releaseB.bundle],
    [releaseC.fileName, releaseC.bundle],
    ['revocation-drupal-core-10.2.4.json', revocationBytes],
  ]);
  return { team, outsiders, policyV1, policyV2, trustedV1, trustedV2, releaseA, releaseB, releaseC, revocationA, files };
}

function publicInfo(s: FixtureSigner): Record<string, string> {
  return { name: s.name, id: s.id, publicKey: toBase64(s.publicKey), seedLabel: s.seedLabel };
}

const README = `# Attack-suite fixtures (generated — do not edit)

Regenerate with \`npx tsx test/attacks/generate.ts\`; \`test/attacks/fixtures.test.ts\` fails when these
files differ from what the generator produces. All keys are TEST-ONLY (seeds are SHA-256 of public labels).

| file | what |
| --- | --- |
| signers.json | public keys: alice…frank (the team) and outsider-0…4 (keys no policy lists) |
| policy-v1.json | policy 1: 3 of alice, bob, carol, dave, erin; expires 2027-06-01; signed by all five |
| policy-v2.json | policy 2 (bob's laptop lost: bob removed, frank added): 3 of alice, carol, dave, erin, frank; expires 2027-12-01; signed by alice, carol, dave, frank |
| drupal-core-10.2.4.bundle | release A: drupal core 10.2.4 for 10.2.3; policy 1; signed by alice, bob, carol |
| drupal-core-10.2.5.bundle | release B: drupal core 10.2.5 for 10.2.4; policy 1; signed by alice, carol, dave, erin |
| drupal-webform-6.2.1.bundle | release C: webform 6.2.1 for any earlier version; policy 2; signed by alice, dave, frank |
| revocation-drupal-core-10.2.4.json | revocation of release A; signed by carol, dave, erin |

Manifests are created 2026-01-01 and expire 2027-01-01; the tests verify at 2026-06-01.
`;

let cached: Fixtures | undefined;

/** The fixture set, built once per process. */
export function fixtures(): Fixtures {
  cached ??= makeFixtures();
  return cached;
}

/** Writes every fixture file into `dir` (created if needed) and returns their names, sorted. */
export function generateFixtures(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const { files } = fixtures();
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return [...files.keys()].sort();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const written = generateFixtures(FIXTURES_DIR);
  // Files the generator no longer makes would otherwise linger as stale fixtures.
  for (const name of readdirSync(FIXTURES_DIR)) {
    if (!written.includes(name)) rmSync(join(FIXTURES_DIR, name));
  }
  console.log(`wrote ${written.length} files to ${FIXTURES_DIR}:\n  ${written.join('\n  ')}`);
}
