// Hostile ustar archives, crafted byte by byte (the library's writer refuses to make them): shared by
// test/tar.test.ts and the conformance vectors (test/conformance/generate.ts), so a second
// implementation reads the very same bytes.
import type { ArchiveCode } from '../../lib/core/errors.js';
import type { FileMode } from '../../lib/core/paths.js';
import { BLOCK_SIZE, encodeHeader, headerChecksum } from '../../lib/core/tar.js';

export const MTIME = 1_700_000_000; // 2023-11-14 22:13:20 UTC

// ---- hostile archive crafting --------------------------------------------------------------

export interface Craft {
  path?: string;
  mode?: FileMode;
  size?: number;
  /** Raw field overrides: [offset, bytes]. */
  set?: Array<[number, string | number[]]>;
  /** Leave the checksum as it was computed before the overrides. */
  keepChecksum?: boolean;
}

export const FIELD = {
  name: 0,
  mode: 100,
  uid: 108,
  gid: 116,
  size: 124,
  mtime: 136,
  chksum: 148,
  typeflag: 156,
  linkname: 157,
  magic: 257,
  uname: 265,
  gname: 297,
  devmajor: 329,
  prefix: 345,
} as const;

export function header(craft: Craft = {}): Buffer {
  const block = Buffer.from(encodeHeader({ path: craft.path ?? 'x.php', mode: craft.mode ?? '0644', size: craft.size ?? 0, mtime: MTIME }));
  for (const [offset, value] of craft.set ?? []) {
    if (typeof value === 'string') block.write(value, offset, 'latin1');
    else block.set(value, offset);
  }
  if (!craft.keepChecksum) {
    block.write(headerChecksum(block).toString(8).padStart(6, '0') + '\0 ', FIELD.chksum, 'latin1');
  }
  return block;
}

export function content(bytes: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil(bytes.length / BLOCK_SIZE) * BLOCK_SIZE);
  padded.set(bytes);
  return padded;
}

export const END = Buffer.alloc(2 * BLOCK_SIZE);

export function archive(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END]);
}
/** One entry, 'ok.php' holding 'abc': the baseline every hostile case departs from. */
export const GOOD_TAR = archive(header({ path: 'ok.php', size: 3 }), content(Buffer.from('abc')));

/** [what, archive bytes, the code TarReader refuses it with]. */
export function hostileTarCases(): Array<[string, Buffer, ArchiveCode]> {
  const good = GOOD_TAR;
  const cases: Array<[string, () => Buffer, ArchiveCode]> = [
    [
      'a symbolic link',
      () =>
        archive(
          header({
            path: 'ok.php',
            set: [
              [FIELD.typeflag, '2'],
              [FIELD.linkname, '/etc/passwd'],
            ],
          }),
        ),
      'UNSAFE_PATH',
    ],
    [
      'a hard link',
      () =>
        archive(
          header({
            path: 'ok.php',
            set: [
              [FIELD.typeflag, '1'],
              [FIELD.linkname, 'other.php'],
            ],
          }),
        ),
      'UNSAFE_PATH',
    ],
    ['a character device', () => archive(header({ set: [[FIELD.typeflag, '3']] })), 'UNSAFE_PATH'],
    ['a block device', () => archive(header({ set: [[FIELD.typeflag, '4']] })), 'UNSAFE_PATH'],
    ['a FIFO', () => archive(header({ set: [[FIELD.typeflag, '6']] })), 'UNSAFE_PATH'],
    ['a contiguous file', () => archive(header({ set: [[FIELD.typeflag, '7']] })), 'ARCHIVE_MALFORMED'],
    ['a directory entry', () => archive(header({ path: 'core', set: [[FIELD.typeflag, '5']] })), 'ARCHIVE_MALFORMED'],
    [
      'a pax extended header',
      () => {
        const pax = Buffer.from('30 path=../../etc/passwd.php\n');
        return archive(header({ path: 'PaxHeaders/x', size: pax.length, set: [[FIELD.typeflag, 'x']] }), content(pax), header());
      },
      'ARCHIVE_MALFORMED',
    ],
    ['a pax global header', () => archive(header({ set: [[FIELD.typeflag, 'g']] })), 'ARCHIVE_MALFORMED'],
    [
      'a GNU long name',
      () => archive(header({ path: '././@LongLink', size: 4, set: [[FIELD.typeflag, 'L']] }), content(Buffer.from('abc\0')), header()),
      'ARCHIVE_MALFORMED',
    ],
    ['an old-style NUL typeflag', () => archive(header({ set: [[FIELD.typeflag, [0]]] })), 'ARCHIVE_MALFORMED'],
    ['setuid', () => archive(header({ set: [[FIELD.mode, '0004755\0']] })), 'UNSAFE_PATH'],
    ['setgid', () => archive(header({ set: [[FIELD.mode, '0002755\0']] })), 'UNSAFE_PATH'],
    ['sticky', () => archive(header({ set: [[FIELD.mode, '0001644\0']] })), 'UNSAFE_PATH'],
    ['mode 0777', () => archive(header({ set: [[FIELD.mode, '0000777\0']] })), 'ARCHIVE_MALFORMED'],
    ['mode 0600', () => archive(header({ set: [[FIELD.mode, '0000600\0']] })), 'ARCHIVE_MALFORMED'],
    ['a bad checksum', () => archive(header({ set: [[FIELD.name, 'y']], keepChecksum: true })), 'ARCHIVE_MALFORMED'],
    [
      'a checksum in another spelling',
      () => {
        const block = header();
        const sum = headerChecksum(block);
        block.write(sum.toString(8).padStart(7, '0') + '\0', FIELD.chksum, 'latin1');
        return archive(block);
      },
      'ARCHIVE_MALFORMED',
    ],
    ['old GNU magic', () => archive(header({ set: [[FIELD.magic, 'ustar  \0']] })), 'ARCHIVE_MALFORMED'],
    ['uid 1000', () => archive(header({ set: [[FIELD.uid, '0001750\0']] })), 'ARCHIVE_MALFORMED'],
    ['gid 33', () => archive(header({ set: [[FIELD.gid, '0000041\0']] })), 'ARCHIVE_MALFORMED'],
    ['a user name', () => archive(header({ set: [[FIELD.uname, 'root']] })), 'ARCHIVE_MALFORMED'],
    ['a group name', () => archive(header({ set: [[FIELD.gname, 'www-data']] })), 'ARCHIVE_MALFORMED'],
    ['a link name on a regular file', () => archive(header({ set: [[FIELD.linkname, 'x']] })), 'ARCHIVE_MALFORMED'],
    ['a non-octal size', () => archive(header({ set: [[FIELD.size, '0000000000x\0']] })), 'ARCHIVE_MALFORMED'],
    ['a base-256 size', () => archive(header({ set: [[FIELD.size, [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]] })), 'ARCHIVE_MALFORMED'],
    ['a space-padded mode', () => archive(header({ set: [[FIELD.mode, '   644 \0']] })), 'ARCHIVE_MALFORMED'],
    ['non-zero devmajor', () => archive(header({ set: [[FIELD.devmajor, '0000001\0']] })), 'ARCHIVE_MALFORMED'],
    ['bytes after the name terminator', () => archive(header({ path: 'a.php', set: [[FIELD.name + 10, 'zz']] })), 'ARCHIVE_MALFORMED'],
    ['a short path stored with a prefix', () => archive(header({ path: 'b.php', set: [[FIELD.prefix, 'a']] })), 'ARCHIVE_MALFORMED'],
    ['an absolute path', () => archive(header({ path: '/etc/cron.d/x' })), 'UNSAFE_PATH'],
    ["a '..' path", () => archive(header({ path: '../../index.php' })), 'UNSAFE_PATH'],
    ['a NUL inside the name', () => archive(header({ path: 'a.php.x', set: [[FIELD.name + 5, [0]]] })), 'ARCHIVE_MALFORMED'],
    ['a path that is not UTF-8', () => archive(header({ path: 'ab.php', set: [[FIELD.name, [0xc3, 0x28]]] })), 'UNSAFE_PATH'],
    ['a non-NFC path', () => archive(header({ path: 'cafe\u0301.php' })), 'UNSAFE_PATH'],
    ['the same path twice', () => archive(header({ path: 'a.php' }), header({ path: 'a.php' })), 'UNSAFE_PATH'],
    ['a case-fold duplicate', () => archive(header({ path: 'A.php' }), header({ path: 'a.php' })), 'UNSAFE_PATH'],
    ['a file that is also a directory', () => archive(header({ path: 'a' }), header({ path: 'a/b.php' })), 'UNSAFE_PATH'],
    ['entries out of byte order', () => archive(header({ path: 'b.php' }), header({ path: 'a.php' })), 'ARCHIVE_MALFORMED'],
    [
      'non-zero padding',
      () => {
        const padded = content(Buffer.from('abc'));
        padded[100] = 1;
        return archive(header({ size: 3 }), padded);
      },
      'ARCHIVE_MALFORMED',
    ],
    ['trailing garbage after the end marker', () => Buffer.concat([good, Buffer.from('x')]), 'ARCHIVE_MALFORMED'],
    ['a third zero block (record padding)', () => Buffer.concat([good, Buffer.alloc(BLOCK_SIZE)]), 'ARCHIVE_MALFORMED'],
    [
      'a single zero block followed by an entry',
      () => Buffer.concat([header({ path: 'a' }), Buffer.alloc(BLOCK_SIZE), header({ path: 'b' }), END]),
      'ARCHIVE_MALFORMED',
    ],
    ['truncation inside a header', () => good.subarray(0, 100), 'ARCHIVE_MALFORMED'],
    ['truncation inside the content', () => good.subarray(0, BLOCK_SIZE + 2), 'ARCHIVE_MALFORMED'],
    ['truncation inside the padding', () => good.subarray(0, BLOCK_SIZE + 200), 'ARCHIVE_MALFORMED'],
    ['no end marker', () => good.subarray(0, 2 * BLOCK_SIZE), 'ARCHIVE_MALFORMED'],
    ['half an end marker', () => good.subarray(0, 3 * BLOCK_SIZE), 'ARCHIVE_MALFORMED'],
    ['truncation inside the second end block', () => good.subarray(0, good.length - 1), 'ARCHIVE_MALFORMED'],
    ['an empty input', () => Buffer.alloc(0), 'ARCHIVE_MALFORMED'],
  ];
  return cases.map(([what, build, code]) => [what, build(), code]);
}
