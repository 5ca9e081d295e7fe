// TUF: extraneous dependencies / content. The archive carries more (or other) than the signed manifest
// lists: extra files, missing files, duplicate entries that a lax extractor would let overwrite each
// other, unsafe paths, and links or devices. In every case below the quorum has (really) signed the
// tampered archive's size and digests, so only the entry checks stand between the archive and the site.
import { expect } from 'chai';
import { fixtures, RELEASE_SPECS } from './generate.js';
import { hostileTar, input, rejection, releaseEntries, resigned, siteOptions, tarOf, withArchive, type HostileEntry, type PlainEntry } from './support.js';

describe('Extraneous content attack (archive entries the manifest does not sign for)', () => {
  const f = fixtures();
  const { alice, carol, dave } = f.team;
  const entries = releaseEntries(f.releaseA, RELEASE_SPECS.a);
  const byPath = (path: string) => entries.find((e) => e.path === path)!;

  /** Verifies release A's signed operations with `archive` in place of its own, digests re-signed by the quorum. */
  const verifyWith = (archive: Uint8Array) =>
    rejection(input(resigned(withArchive(f.releaseA.manifest, archive), [alice, carol, dave]), archive), siteOptions());

  it("release A's entries, written again by hand, are its archive byte for byte (control)", () => {
    expect(Buffer.from(tarOf(entries)).equals(Buffer.from(f.releaseA.archive))).to.equal(true);
    expect(Buffer.from(hostileTar(entries)).equals(Buffer.from(f.releaseA.archive))).to.equal(true);
  });

  it('an extra entry (a backdoor nobody reviewed): ENTRY_EXTRA', async () => {
    const extra = [...entries, { path: 'modules/backdoor.php', content: '<?php eval($_POST["x"]);\n' }];
    expect(await verifyWith(tarOf(extra))).to.deep.equal(['ENTRY_EXTRA']);
  });

  it('an extra entry bringing back a file the manifest deletes: ENTRY_EXTRA', async () => {
    const legacy = { path: 'core/includes/legacy.inc', content: '<?php // removed in 10.2.4\n' };
    const extra = [entries[0]!, legacy, ...entries.slice(1)];
    expect(extra.map((e) => e.path)).to.deep.equal([...extra.map((e) => e.path)].sort());
    expect(await verifyWith(tarOf(extra))).to.deep.equal(['ENTRY_EXTRA']);
  });

  it('an entry missing: ENTRY_MISSING', async () => {
    expect(await verifyWith(tarOf(entries.filter((e) => e.path !== 'core/lib/Sanitizer.php')))).to.deep.equal(['ENTRY_MISSING']);
  });

  it('an entry with other content: ENTRY_MISMATCH', async () => {
    const swapped = entries.map((e) => (e.path === 'core/lib/Drupal.php' ? { ...e, content: '<?php eval($_GET["x"]);\n' } : e));
    expect(await verifyWith(tarOf(swapped))).to.deep.equal(['ENTRY_MISMATCH']);
  });

  it('an entry made executable: ENTRY_MISMATCH', async () => {
    const executable = entries.map((e): PlainEntry => (e.path === 'core/lib/Sanitizer.php' ? { ...e, mode: '0755' } : e));
    expect(await verifyWith(tarOf(executable))).to.deep.equal(['ENTRY_MISMATCH']);
  });

  it('the same path twice (the second copy would overwrite the reviewed one): UNSAFE_PATH', async () => {
    const drupal = byPath('core/lib/Drupal.php');
    const dup = [entries[0]!, drupal, { ...drupal, content: '<?php eval($_GET["x"]);\n' }, ...entries.slice(2)];
    expect(dup[1]!.path).to.equal(dup[2]!.path);
    expect(await verifyWith(hostileTar(dup))).to.deep.equal(['UNSAFE_PATH']);
  });

  it('the same path twice with identical content: UNSAFE_PATH', async () => {
    const dup = [entries[0]!, entries[1]!, entries[1]!, ...entries.slice(2)];
    expect(await verifyWith(hostileTar(dup))).to.deep.equal(['UNSAFE_PATH']);
  });

  it('two paths equal after case folding (core/lib/Drupal.php and core/lib/drupal.php): UNSAFE_PATH', async () => {
    const folded = [entries[0]!, entries[1]!, { path: 'core/lib/drupal.php', content: '<?php evil();\n' }, ...entries.slice(2)];
    expect(await verifyWith(hostileTar(folded))).to.deep.equal(['UNSAFE_PATH']);
  });

  it('a file where the manifest needs a directory (core/lib/Drupal.php/x.php): UNSAFE_PATH', async () => {
    const clash = [entries[0]!, entries[1]!, { path: 'core/lib/Drupal.php/x.php', content: 'x' }, ...entries.slice(2)];
    expect(await verifyWith(hostileTar(clash))).to.deep.equal(['UNSAFE_PATH']);
  });

  for (const [what, path] of [
    ['a parent-directory escape', '../../etc/cron.d/countersign'],
    ['an absolute path', '/etc/cron.d/countersign'],
    ['a "." segment', 'core/./x.php'],
    ['an empty segment', 'core//x.php'],
    ['a backslash', 'core\\..\\..\\x.php'],
    ['a Windows device name', 'core/CON.php'],
    ['a name ending in a dot (a Windows alias)', 'core/lib/Drupal.php.'],
    ['a non-NFC name', 'core/cafe\u0301.php'],
    ['a bidi control character', 'core/\u202ephp.txt'],
    ['a colon (an NTFS alternate data stream)', 'core/lib/Drupal.php:evil'],
  ] as const) {
    it(`an extra entry with ${what} (${JSON.stringify(path)}): UNSAFE_PATH`, async () => {
      expect(await verifyWith(hostileTar([...entries, { path, content: '<?php evil();\n' }]))).to.deep.equal(['UNSAFE_PATH']);
    });
  }

  for (const [what, entry] of [
    ['a symbolic link', { typeflag: '2', linkname: '../../../etc/passwd', content: '' }],
    ['a hard link', { typeflag: '1', linkname: 'core/lib/Drupal.php', content: '' }],
    ['a character device', { typeflag: '3', content: '' }],
    ['a block device', { typeflag: '4', content: '' }],
    ['a FIFO', { typeflag: '6', content: '' }],
    ['a setuid file', { modeBits: 0o4755, content: '#!/bin/sh\n' }],
    ['a setgid file', { modeBits: 0o2755, content: '#!/bin/sh\n' }],
    ['a sticky file', { modeBits: 0o1644, content: 'x' }],
  ] as const) {
    it(`${what} entry: UNSAFE_PATH`, async () => {
      const hostile: HostileEntry = { path: 'modules/evil', ...entry };
      expect(await verifyWith(hostileTar([...entries, hostile]))).to.deep.equal(['UNSAFE_PATH']);
    });
    it(`${what} entry in place of a signed file: UNSAFE_PATH`, async () => {
      const replaced = entries.map((e): HostileEntry => (e.path === 'core/lib/Sanitizer.php' ? { ...e, ...entry } : e));
      expect(await verifyWith(hostileTar(replaced))).to.deep.equal(['UNSAFE_PATH']);
    });
  }

  it('a pax extended header (which would rename the next entry in other extractors): ARCHIVE_MALFORMED', async () => {
    const pax = { path: 'core/lib/PaxHeader', typeflag: 'x', content: '30 path=core/lib/Drupal.php\n' };
    expect(await verifyWith(hostileTar([entries[0]!, pax, ...entries.slice(1)]))).to.deep.equal(['ARCHIVE_MALFORMED']);
  });

  it('a directory entry: ARCHIVE_MALFORMED', async () => {
    expect(await verifyWith(hostileTar([{ path: 'aaa', typeflag: '5', content: '' }, ...entries]))).to.deep.equal(['ARCHIVE_MALFORMED']);
  });

  it('content smuggled after the end-of-archive marker: ARCHIVE_MALFORMED', async () => {
    const smuggled = new Uint8Array([...f.releaseA.archive, ...tarOf([{ path: 'modules/backdoor.php', content: '<?php evil();\n' }])]);
    expect(await verifyWith(smuggled)).to.deep.equal(['ARCHIVE_MALFORMED']);
  });
});
