// The pure decisions of the installer: the plan (order, local changes, preflight problems, emptied
// directories, space), the journal format, and version files. Driven with hand-made facts.
import { expect } from 'chai';
import { CountersignError } from '../../lib/core/errors.js';
import type { FileOp, Manifest } from '../../lib/core/manifest.js';
import { encodeRecord, parseJournal, type JournalBegin } from '../../lib/installer/journal.js';
import { checkSpace, planUpdate, spaceNeeded, type NodeFact, type SiteFacts } from '../../lib/installer/plan.js';
import { defaultVersionFile, parseVersionText, versionFileCandidates } from '../../lib/core/version-file.js';

const H = (c: string) => c.repeat(64);
const DEV = 7;

type Spec = Record<string, 'dir' | 'symlink' | 'other' | string | { sha256: string; dev?: number } | { dir: true; dev: number }>;

/** Facts from a compact spec: 'dir', 'symlink', 'other', a hash (a file), or a listing via `listings`. */
function facts(spec: Spec, listings: Record<string, string[]> = {}): SiteFacts {
  const nodes = new Map<string, NodeFact>();
  for (const [path, v] of Object.entries(spec)) {
    if (v === 'dir') nodes.set(path, { kind: 'dir', dev: DEV, mode: 0o40755 });
    else if (v === 'symlink') nodes.set(path, { kind: 'symlink' });
    else if (v === 'other') nodes.set(path, { kind: 'other' });
    else if (typeof v === 'string') nodes.set(path, { kind: 'file', dev: DEV, mode: 0o100644, size: 1, sha256: v });
    else if ('dir' in v) nodes.set(path, { kind: 'dir', dev: v.dev, mode: 0o40755 });
    else nodes.set(path, { kind: 'file', dev: v.dev ?? DEV, mode: 0o100644, size: 1, sha256: v.sha256 });
  }
  return { dev: DEV, nodes, listings: new Map(Object.entries(listings)) };
}

function manifest(files: FileOp[], versionFile: string | null = null): Pick<Manifest, 'files' | 'product' | 'component' | 'versionFile'> {
  return { files, product: 'drupal', component: 'core', versionFile };
}

const add = (path: string, size = 10): FileOp => ({ op: 'add', path, sha256: H('a'), size, mode: '0644' });
const modify = (path: string, prev = H('0')): FileOp => ({ op: 'modify', path, sha256: H('b'), size: 20, mode: '0644', previousSha256: prev });
const del = (path: string, prev = H('0')): FileOp => ({ op: 'delete', path, previousSha256: prev });

function codes(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError) return err.code;
    throw err;
  }
  return 'none';
}

describe('installer plan: order of the commit', () => {
  it('creates missing directories first (parents first), then files in byte order, the version file last, then emptied directories deepest first', () => {
    const m = manifest(
      [add('a/new/deep/x.php'), modify('core/lib/Drupal.php'), modify('b.txt'), del('old/sub/gone.php'), del('old/top.php'), add('z.php')],
      'core/lib/Drupal.php',
    );
    const f = facts(
      {
        a: 'dir',
        core: 'dir',
        'core/lib': 'dir',
        'core/lib/Drupal.php': H('0'),
        'b.txt': H('0'),
        old: 'dir',
        'old/sub': 'dir',
        'old/sub/gone.php': H('0'),
        'old/top.php': H('0'),
      },
      { '': ['a', 'b.txt', 'core', 'old'], a: [], old: ['sub', 'top.php'], 'old/sub': ['gone.php'] },
    );
    const plan = planUpdate(m, f);
    expect(plan.problems).to.deep.equal([]);
    expect(plan.steps.map((s) => `${s.op} ${s.path}`)).to.deep.equal([
      'mkdir a/new',
      'mkdir a/new/deep',
      'add a/new/deep/x.php',
      'modify b.txt',
      'delete old/sub/gone.php',
      'delete old/top.php',
      'add z.php',
      'modify core/lib/Drupal.php',
      'rmdir old/sub',
      'rmdir old',
    ]);
    expect(plan.versionFile).to.equal('core/lib/Drupal.php');
    expect(plan.stagedFiles).to.equal(4);
    expect(plan.stagedBytes).to.equal(10 + 20 + 20 + 10);
  });

  it("the version file defaults to the product's own (drupal core: core/lib/Drupal.php) when the manifest names none", () => {
    const plan = planUpdate(
      manifest([modify('core/lib/Drupal.php'), modify('index.php')]),
      facts({ core: 'dir', 'core/lib': 'dir', 'core/lib/Drupal.php': H('0'), 'index.php': H('0') }),
    );
    expect(plan.steps.at(-1)!.path).to.equal('core/lib/Drupal.php');
  });

  it('keeps a directory that still holds something, or that a kept or added file needs', () => {
    const m = manifest([del('d/a.php'), del('e/b.php'), del('k/c.php', H('0'))]);
    const f = facts(
      { d: 'dir', 'd/a.php': H('0'), e: 'dir', 'e/b.php': H('0'), k: 'dir', 'k/c.php': H('9') },
      { d: ['a.php', 'other.txt'], e: ['b.php'], k: ['c.php'] },
    );
    const plan = planUpdate(m, f, { keepLocal: true });
    expect(plan.steps.map((s) => `${s.op} ${s.path}`)).to.deep.equal(['delete d/a.php', 'delete e/b.php', 'rmdir e']);
    expect(plan.kept.map((k) => k.path)).to.deep.equal(['k/c.php']);
  });

  it('refuses a manifest path that breaks the path rules even though verification already did (UNSAFE_PATH)', () => {
    for (const path of ['../outside.php', '/etc/passwd', 'a/../../x', 'core\\x.php', 'a//b']) {
      expect(
        codes(() => planUpdate(manifest([add(path)]), facts({}))),
        path,
      ).to.equal('UNSAFE_PATH');
    }
    expect(
      codes(() => planUpdate(manifest([add('core/A.php'), add('core/a.php')]), facts({ core: 'dir' }))),
      'case-fold duplicates',
    ).to.equal('UNSAFE_PATH');
  });
});

describe('installer plan: local changes', () => {
  const m = manifest([modify('a.php'), modify('b.php'), del('c.php'), del('d.php'), modify('e.php')]);
  const f = facts({ 'a.php': H('1'), 'b.php': H('0'), 'c.php': H('2'), 'e.php': H('0') });

  it('lists every modified or missing file the release would overwrite or delete, and plans nothing for them', () => {
    const plan = planUpdate(m, f);
    expect(plan.localChanges).to.deep.equal([
      { path: 'a.php', op: 'modify', expected: H('0'), found: H('1') },
      { path: 'c.php', op: 'delete', expected: H('0'), found: H('2') },
      { path: 'd.php', op: 'delete', expected: H('0'), found: null },
    ]);
    expect(plan.kept).to.deep.equal([]);
  });

  it('keepLocal keeps them (their ops skipped, reported) and plans the rest', () => {
    const plan = planUpdate(m, f, { keepLocal: true });
    expect(plan.localChanges).to.deep.equal([]);
    expect(plan.kept.map((k) => k.path)).to.deep.equal(['a.php', 'c.php', 'd.php']);
    expect(plan.steps.map((s) => `${s.op} ${s.path}`)).to.deep.equal(['modify b.php', 'modify e.php']);
  });

  it('keepLocal never keeps the version file: the site would report a version it does not run', () => {
    const plan = planUpdate(
      manifest([modify('core/lib/Drupal.php'), modify('a.php')], 'core/lib/Drupal.php'),
      facts({ core: 'dir', 'core/lib': 'dir', 'core/lib/Drupal.php': H('5'), 'a.php': H('6') }),
      { keepLocal: true },
    );
    expect(plan.localChanges.map((c) => c.path)).to.deep.equal(['core/lib/Drupal.php']);
    expect(plan.kept.map((c) => c.path)).to.deep.equal(['a.php']);
  });
});

describe('installer plan: preflight problems', () => {
  const problems = (m: ReturnType<typeof manifest>, f: SiteFacts) => planUpdate(m, f).problems.map((p) => `${p.code} ${p.path}`);

  it('a symbolic link anywhere on the way, or at the target, is refused', () => {
    expect(problems(manifest([modify('core/lib/Drupal.php')]), facts({ core: 'symlink' }))).to.deep.equal(['SYMLINK core']);
    expect(problems(manifest([add('core/lib/x.php')]), facts({ core: 'dir', 'core/lib': 'symlink' }))).to.deep.equal(['SYMLINK core/lib']);
    expect(problems(manifest([modify('index.php')]), facts({ 'index.php': 'symlink' }))).to.deep.equal(['SYMLINK index.php']);
    expect(problems(manifest([add('new.php')]), facts({ 'new.php': 'symlink' }))).to.deep.equal(['SYMLINK new.php']);
  });

  it('an added file that exists, a file where a directory is needed, a directory where a file is modified', () => {
    expect(problems(manifest([add('a.php')]), facts({ 'a.php': H('0') }))).to.deep.equal(['TARGET_EXISTS a.php']);
    expect(problems(manifest([add('a.php/b.php')]), facts({ 'a.php': H('0') }))).to.deep.equal(['NOT_A_DIRECTORY a.php']);
    expect(problems(manifest([modify('d')]), facts({ d: 'dir' }))).to.deep.equal(['NOT_A_FILE d']);
    expect(problems(manifest([del('fifo')]), facts({ fifo: 'other' }))).to.deep.equal(['NOT_A_FILE fifo']);
  });

  it('a directory on another file system (a mount point inside the site)', () => {
    expect(problems(manifest([add('files/x.php')]), facts({ files: { dir: true, dev: DEV + 1 } }))).to.deep.equal(['OTHER_FILESYSTEM files']);
  });

  it('case-fold collisions with what the site has, and between new names', () => {
    expect(
      problems(manifest([add('core/lib/Security/S.php')]), facts({ core: 'dir', 'core/lib': 'dir' }, { 'core/lib': ['security', 'Drupal.php'] })),
    ).to.deep.equal(['CASE_COLLISION core/lib/Security']);
    expect(problems(manifest([add('README.TXT')]), facts({}, { '': ['readme.txt'] }))).to.deep.equal(['CASE_COLLISION README.TXT']);
    expect(problems(manifest([add('Mod/a.php'), add('mod/b.php')]), facts({}, { '': [] }))).to.deep.equal(['CASE_COLLISION mod']);
  });
});

describe('installer plan: space', () => {
  const plan = planUpdate(manifest([add('a', 5000), add('b', 1)]), facts({}, { '': [] }));
  it('counts whole blocks of every staged file, the journal and a margin', () => {
    expect(spaceNeeded(plan, 4096).bytes).to.equal(8192 + 4096 + 2 * 1024 + (1 << 20));
  });
  it('NO_SPACE when the file system has less room, or too few inodes', () => {
    expect(checkSpace(plan, { bsize: 4096, bavail: 1000, ffree: 1000, files: 5000 }, '/x')).to.equal(null);
    expect(checkSpace(plan, { bsize: 4096, bavail: 10, ffree: 1000, files: 5000 }, '/x')?.code).to.equal('NO_SPACE');
    expect(checkSpace(plan, { bsize: 4096, bavail: 1000, ffree: 3, files: 5000 }, '/x')?.code).to.equal('NO_SPACE');
    expect(checkSpace(plan, { bsize: 4096, bavail: 1000, ffree: 0, files: 0 }, '/x'), 'no inode limit').to.equal(null);
  });
});

describe('installer journal format', () => {
  const begin: JournalBegin = {
    t: 'begin',
    format: 1,
    site: '/srv/site',
    bundle: H('c'),
    product: 'drupal',
    component: 'core',
    from: '10.2.3',
    to: '10.2.4',
    store: null,
    created: '2026-11-23T12:00:00Z',
  };
  const text = [
    encodeRecord(begin),
    encodeRecord({ t: 'step', n: 1, op: 'mkdir', path: 'core/x' }),
    encodeRecord({ t: 'step', n: 2, op: 'add', path: 'core/x/a.php', slot: 0, dev: '2049', ino: '18446744073709551615' }),
    encodeRecord({ t: 'step', n: 3, op: 'modify', path: 'b.php', slot: 1, dev: '2049', ino: '12' }),
    encodeRecord({ t: 'step', n: 4, op: 'delete', path: 'c.php', slot: 2 }),
    encodeRecord({ t: 'step', n: 5, op: 'rmdir', path: 'old', mode: '0755' }),
  ].join('');

  it('reads back every step, uncommitted until the commit record', () => {
    expect(parseJournal(text.replace('"site":"/srv/site"', '"site":"/srv/site","root":"2049:1234"')).begin?.root, 'the root identity').to.equal('2049:1234');
    expect(parseJournal(text.replace('"created"', '"kept":["b.php"],"created"')).begin?.kept, 'kept').to.deep.equal(['b.php']);
    const j = parseJournal(text);
    expect(j.begin).to.deep.equal(begin);
    expect(j.steps.map((s) => s.op)).to.deep.equal(['mkdir', 'add', 'modify', 'delete', 'rmdir']);
    expect(j.committed).to.equal(false);
    expect(parseJournal(text + encodeRecord({ t: 'commit' })).committed).to.equal(true);
  });

  it('ignores a last record cut short by a crash (it announced a step never taken)', () => {
    const torn = text + '{"t":"step","n":6,"op":"del';
    const j = parseJournal(torn);
    expect(j.steps).to.have.length(5);
    expect(j.tornBytes).to.equal(27);
    expect(parseJournal('{"t":"begin","form').begin, 'a begin record cut short').to.equal(null);
    expect(parseJournal('').begin).to.equal(null);
  });

  it('anything else unreadable is JOURNAL_CORRUPT', () => {
    const cases: Record<string, string> = {
      'a complete line that is not JSON': text + 'garbage\n',
      'a step out of order': text + encodeRecord({ t: 'step', n: 9, op: 'mkdir', path: 'x' }),
      'a path breaking the rules': text + '{"t":"step","n":6,"op":"delete","path":"../../etc/passwd","slot":3}\n',
      'an absolute path': text + '{"t":"step","n":6,"op":"mkdir","path":"/etc"}\n',
      'an unknown op': text + '{"t":"step","n":6,"op":"chmod","path":"x"}\n',
      'an extra field': text + '{"t":"step","n":6,"op":"mkdir","path":"x","evil":1}\n',
      'a record after the commit': text + encodeRecord({ t: 'commit' }) + encodeRecord({ t: 'step', n: 6, op: 'mkdir', path: 'x' }),
      'no begin record': encodeRecord({ t: 'commit' }),
      'another format': text.replace('"format":1', '"format":2'),
      'a relative site': text.replace('"/srv/site"', '"srv/site"'),
      'a bad slot': text + '{"t":"step","n":6,"op":"delete","path":"x","slot":"../1"}\n',
      'a root that is no DEV:INO': text.replace('"site":"/srv/site"', '"site":"/srv/site","root":"2049"'),
      'an empty kept list': text.replace('"created"', '"kept":[],"created"'),
      'a kept path breaking the rules': text.replace('"created"', '"kept":["../x"],"created"'),
      'a dev that is no decimal number': text.replace('"dev":"2049","ino":"12"', '"dev":"0x801","ino":"12"'),
      'a bundle that is no SHA-256': text.replace(H('c'), 'c'.repeat(63)),
      'a second begin record': text + encodeRecord(begin),
    };
    for (const [what, t] of Object.entries(cases))
      expect(
        codes(() => parseJournal(t)),
        what,
      ).to.equal('JOURNAL_CORRUPT');
  });
});

describe('installer version files', () => {
  it('knows where each product keeps its version', () => {
    expect(versionFileCandidates('drupal', 'core')[0]).to.equal('core/lib/Drupal.php');
    expect(versionFileCandidates('wordpress', 'core')).to.deep.equal(['wp-includes/version.php']);
    expect(versionFileCandidates('backdrop', 'core')).to.deep.equal(['core/includes/bootstrap.inc']);
    expect(versionFileCandidates('drupal', 'webform')).to.deep.equal(['webform.info.yml', 'webform.info']);
    expect(defaultVersionFile('drupal', 'webform', [modify('webform.info.yml'), add('src/A.php')])).to.equal('webform.info.yml');
    expect(defaultVersionFile('drupal', 'webform', [del('webform.info.yml')]), 'a deleted file carries nothing').to.equal(null);
  });

  it('reads the version from Drupal, Drupal 7, Backdrop, WordPress core, info files and plugin headers', () => {
    expect(parseVersionText("<?php\nclass Drupal {\n  const VERSION = '10.2.3';\n}")).to.equal('10.2.3');
    expect(parseVersionText("define('VERSION', '7.99');")).to.equal('7.99');
    expect(parseVersionText("define('BACKDROP_VERSION', '1.27.1');")).to.equal('1.27.1');
    expect(parseVersionText("<?php\n$wp_version = '6.4.2';\n$wp_db_version = 56657;")).to.equal('6.4.2');
    expect(parseVersionText("name: Webform\ntype: module\nversion: '6.2.1'\n")).to.equal('6.2.1');
    expect(parseVersionText('name = Views\nversion = "7.x-3.29"\n')).to.equal('7.x-3.29');
    expect(parseVersionText('<?php\n/**\n * Plugin Name: Akismet\n * Version: 5.3\n */')).to.equal('5.3');
    expect(parseVersionText("const VERSION = 'dev-main';")).to.equal(null);
    expect(parseVersionText('nothing here')).to.equal(null);
  });
});
