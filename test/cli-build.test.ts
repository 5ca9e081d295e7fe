// CLI contract: `build` — manifest and deterministic archive, path rules, and no partial output.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TarReader, type TarHeader } from '../lib/core/tar.js';
import { envelopePayload, listing, makeCliKeys, runCli, runCliOk } from './support/cli.js';
import { BASE_TREE, NEW_TREE, NOW, tempDir, writeTree } from './support/fixtures.js';
import { hasMkfifo } from './support/build-inputs.js';

const RISK = 'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default';
const EXPIRES = '2027-01-01T00:00:00Z';

function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tarEntries(path: string): Array<TarHeader & { sha256: string }> {
  const entries: Array<TarHeader & { sha256: string }> = [];
  let hash = createHash('sha256');
  const reader = new TarReader({
    onEntryStart: () => {
      hash = createHash('sha256');
    },
    onEntryData: (data) => {
      hash.update(data);
    },
    onEntryEnd: (h) => {
      entries.push({ ...h, sha256: hash.digest('hex') });
    },
  });
  reader.push(new Uint8Array(readFileSync(path)));
  reader.end();
  return entries;
}

describe('cli build', () => {
  let dir: string;
  let oldTree: string;
  let newTree: string;
  /** One release built with --base, shared by the tests that only read it. */
  let rel: { dir: string; manifest: string; archive: string; json: Record<string, unknown> };

  const buildArgs = (source: string, out: string, extra: string[] = []) => [
    'build',
    '--source',
    source,
    '--product',
    'drupal',
    '--version',
    '10.2.4',
    '--expires',
    EXPIRES,
    '--out',
    out,
    ...extra,
  ];

  before(async () => {
    dir = tempDir('countersign-cli-build-');
    oldTree = writeTree(join(dir, 'drupal-10.2.3'), BASE_TREE);
    newTree = writeTree(join(dir, 'drupal-10.2.4'), NEW_TREE);
    const out = join(dir, 'rel');
    const r = await runCliOk(
      [
        ...buildArgs(newTree, out, [
          '--base',
          oldTree,
          '--applies-to',
          '10.2.3',
          '--applies-to',
          '10.2.2',
          '--risk',
          RISK,
          '--advisory',
          'SA-CORE-2026-001',
          '--post-update',
          'drush updb -y',
          '--post-update',
          '["drush", "php:eval", "echo 1;"]',
        ]),
        '--json',
      ],
      { now: NOW },
    );
    rel = { dir: out, manifest: join(out, 'drupal-10.2.4.manifest.json'), archive: join(out, 'drupal-10.2.4.tar'), json: r.json };
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('with --base', () => {
    it('writes exactly DIR/NAME-V.manifest.json and DIR/NAME-V.tar', () => {
      expect(listing(rel.dir)).to.deep.equal(['drupal-10.2.4.manifest.json', 'drupal-10.2.4.tar']);
      expect(rel.json).to.include({ ok: true, manifest: rel.manifest, archive: rel.archive, product: 'drupal', component: 'core', version: '10.2.4' });
      expect(rel.json.files).to.deep.equal({ add: 1, modify: 2, delete: 1 });
      const envelope = JSON.parse(readFileSync(rel.manifest, 'utf8'));
      expect(envelope.payloadType).to.equal('application/vnd.countersign.manifest+json');
      expect(envelope.signatures).to.deep.equal([]);
    });

    it('lists adds, modifies and deletes; modify and delete carry previousSha256 of the base file', () => {
      const m = envelopePayload(rel.manifest);
      const byPath = Object.fromEntries((m.files as Array<Record<string, unknown>>).map((f) => [f.path, f]));
      expect(Object.keys(byPath).sort()).to.deep.equal(['core/bootstrap.inc', 'core/legacy.inc', 'core/lib/Drupal.php', 'core/lib/Sanitizer.php']);
      expect(byPath['core/lib/Sanitizer.php']).to.deep.equal({
        op: 'add',
        path: 'core/lib/Sanitizer.php',
        sha256: sha256Hex(NEW_TREE['core/lib/Sanitizer.php'].content),
        size: 13,
        mode: '0755',
      });
      for (const p of ['core/bootstrap.inc', 'core/lib/Drupal.php'] as const) {
        expect(byPath[p]).to.include({ op: 'modify', sha256: sha256Hex(NEW_TREE[p]), previousSha256: sha256Hex(BASE_TREE[p]), mode: '0644' });
      }
      expect(byPath['core/legacy.inc']).to.deep.equal({ op: 'delete', path: 'core/legacy.inc', previousSha256: sha256Hex(BASE_TREE['core/legacy.inc']) });
      // The unchanged index.php is neither listed nor shipped.
      expect(byPath).not.to.have.property('index.php');
    });

    it('the archive holds only the added and modified files, matching the manifest', () => {
      const m = envelopePayload(rel.manifest);
      const entries = tarEntries(rel.archive);
      expect(entries.map((e) => e.path)).to.deep.equal(['core/bootstrap.inc', 'core/lib/Drupal.php', 'core/lib/Sanitizer.php']);
      for (const e of entries) {
        const op = (m.files as Array<Record<string, unknown>>).find((f) => f.path === e.path)!;
        expect(e.sha256, e.path).to.equal(op.sha256);
        expect(e.mode, e.path).to.equal(op.mode);
        expect(e.size, e.path).to.equal(op.size);
        expect(e.mtime, e.path).to.equal(0);
      }
      const bytes = readFileSync(rel.archive);
      expect(m.archive).to.deep.include({ name: 'drupal-10.2.4.tar', size: bytes.length, sha256: sha256Hex(bytes) });
      // Format 2: the entries' mtime instead of a SHA-512 (spec/bundle.md "Archive verification").
      expect(m.format).to.equal(2);
      expect(m.archive.mtime).to.equal(0);
      expect(m.archive).to.not.have.property('sha512');
    });

    it('scores the risk vector: 24, Highly Critical', () => {
      const m = envelopePayload(rel.manifest);
      expect(m.risk).to.deep.equal({ vector: RISK, score: 24, level: 'Highly Critical' });
      expect(rel.json.risk).to.deep.equal({ vector: RISK, score: 24, level: 'Highly Critical' });
    });

    it('records applies-to, advisory, post-update commands (split on spaces or JSON), expiry and policy version', () => {
      const m = envelopePayload(rel.manifest);
      expect(m).to.include({
        product: 'drupal',
        component: 'core',
        version: '10.2.4',
        advisory: 'SA-CORE-2026-001',
        expires: EXPIRES,
        created: '2026-11-23T12:00:00Z',
        policyVersion: 1,
      });
      expect(m.appliesTo).to.deep.equal(['10.2.3', '10.2.2']);
      expect(m.postUpdate).to.deep.equal([
        ['drush', 'updb', '-y'],
        ['drush', 'php:eval', 'echo 1;'],
      ]);
    });

    it('the human output gives the counts, the archive digest and the next step', async () => {
      const out = join(dir, 'human');
      const r = await runCli(buildArgs(newTree, out, ['--base', oldTree, '--risk', RISK]), { now: NOW });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.contain('1 added, 2 modified, 1 deleted');
      expect(r.stdout).to.contain(sha256Hex(readFileSync(join(out, 'drupal-10.2.4.tar'))));
      expect(r.stdout).to.contain('Highly Critical');
      expect(r.stdout).to.contain('countersign sign');
    });
  });

  describe('without --base', () => {
    it('every file is an add and the archive holds them all', async () => {
      const out = join(dir, 'full');
      const r = await runCli([...buildArgs(newTree, out), '--json'], { now: NOW });
      expect(r.code).to.equal(0);
      expect(r.json.files).to.deep.equal({ add: 4, modify: 0, delete: 0 });
      const m = envelopePayload(join(out, 'drupal-10.2.4.manifest.json'));
      expect((m.files as Array<{ op: string }>).every((f) => f.op === 'add')).to.equal(true);
      expect(m.files.some((f: Record<string, unknown>) => 'previousSha256' in f)).to.equal(false);
      expect(tarEntries(join(out, 'drupal-10.2.4.tar')).map((e) => e.path)).to.deep.equal([
        'core/bootstrap.inc',
        'core/lib/Drupal.php',
        'core/lib/Sanitizer.php',
        'index.php',
      ]);
      expect(m.risk).to.equal(null);
      expect(m.advisory).to.equal(null);
      expect(m.appliesTo).to.deep.equal([]);
      expect(m.postUpdate).to.deep.equal([]);
    });

    it('defaults the expiry to 30 days after creation', async () => {
      const out = join(dir, 'default-expiry');
      await runCliOk(['build', '--source', newTree, '--product', 'drupal', '--version', '10.2.4', '--out', out], { now: NOW });
      expect(envelopePayload(join(out, 'drupal-10.2.4.manifest.json')).expires).to.equal('2026-12-23T12:00:00Z');
    });
  });

  describe('applies-to and the version file', () => {
    const drupal = (v: string) => `<?php class Drupal { const VERSION = '${v}'; }\n`;

    it("with --base and no --applies-to: the base tree's version, read from its version file", async () => {
      const out = join(dir, 'default-applies');
      const r = await runCliOk([...buildArgs(newTree, out, ['--base', oldTree]), '--json'], { now: NOW });
      expect(r.json.appliesTo).to.deep.equal(['10.2.3']);
      expect(envelopePayload(join(out, 'drupal-10.2.4.manifest.json')).appliesTo).to.deep.equal(['10.2.3']);
    });

    it('"any" only when asked for: --applies-to any (alone)', async () => {
      const out = join(dir, 'any');
      const r = await runCliOk([...buildArgs(newTree, out, ['--base', oldTree, '--applies-to', 'any']), '--json'], { now: NOW });
      expect(r.json.appliesTo).to.deep.equal([]);
      const mixed = await runCli(
        [...buildArgs(newTree, join(dir, 'any-mixed'), ['--base', oldTree, '--applies-to', 'any', '--applies-to', '10.2.3']), '--json'],
        { now: NOW },
      );
      expect(mixed.json).to.include({ ok: false, code: 'USAGE' });
      expect(existsSync(join(dir, 'any-mixed'))).to.equal(false);
    });

    it('a base tree whose version nobody can tell needs --applies-to (USAGE, nothing written)', async () => {
      const base = writeTree(join(dir, 'noversion-old'), { ...BASE_TREE, 'core/lib/Drupal.php': '<?php class Drupal {}\n' });
      const out = join(dir, 'noversion');
      const r = await runCli([...buildArgs(newTree, out, ['--base', base]), '--json'], { now: NOW });
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
      expect(existsSync(out)).to.equal(false);
    });

    it('--version 10.3.9 over a tree whose core/lib/Drupal.php says 10.3.2: VERSION_FILE_MISMATCH, nothing written', async () => {
      const source = writeTree(join(dir, 'says-10.3.2'), { ...NEW_TREE, 'core/lib/Drupal.php': drupal('10.3.2') });
      for (const [name, extra] of [
        ['modified', ['--base', oldTree]],
        ['full tree', []],
      ] as const) {
        const out = join(dir, `mismatch-${name.replace(' ', '-')}`);
        const r = await runCli(
          ['build', '--source', source, '--product', 'drupal', '--version', '10.3.9', '--expires', EXPIRES, '--out', out, '--json', ...extra],
          { now: NOW },
        );
        expect(r.code, name).to.equal(2);
        expect(r.json, name).to.include({ ok: false, code: 'VERSION_FILE_MISMATCH' });
        expect((r.json.details as Record<string, unknown>).stated, name).to.equal('10.3.2');
        expect(existsSync(out), name).to.equal(false);
      }
    });

    it('also when the release leaves the version file unchanged (the site would go on saying the old version)', async () => {
      const base = writeTree(join(dir, 'same-old'), { ...BASE_TREE, 'core/lib/Drupal.php': drupal('10.3.2') });
      const source = writeTree(join(dir, 'same-new'), { ...NEW_TREE, 'core/lib/Drupal.php': drupal('10.3.2') });
      const r = await runCli(
        ['build', '--source', source, '--base', base, '--product', 'drupal', '--version', '10.3.9', '--expires', EXPIRES, '--out', join(dir, 'same'), '--json'],
        { now: NOW },
      );
      expect(r.json).to.include({ ok: false, code: 'VERSION_FILE_MISMATCH' });
    });
  });

  describe('determinism', () => {
    it('the same inputs give a byte-identical archive, whatever the clock, directory or file creation order', async () => {
      // A second copy of the new tree, written in reverse order with other permission bits.
      const copy = join(dir, 'copy-of-10.2.4');
      for (const [path, spec] of Object.entries(NEW_TREE).reverse()) {
        const abs = join(copy, path);
        mkdirSync(join(abs, '..'), { recursive: true });
        if (typeof spec === 'string') writeFileSync(abs, spec, { mode: 0o600 });
        else writeFileSync(abs, spec.content, { mode: 0o700 });
      }
      const a = join(dir, 'det-a');
      const b = join(dir, 'det-b');
      await runCliOk(buildArgs(newTree, a, ['--base', oldTree]), { now: NOW });
      await runCliOk(buildArgs(copy, b, ['--base', oldTree]), { now: new Date('2026-11-24T08:30:00Z') });
      const archiveA = readFileSync(join(a, 'drupal-10.2.4.tar'));
      expect(readFileSync(join(b, 'drupal-10.2.4.tar')).equals(archiveA)).to.equal(true);
      expect(readFileSync(rel.archive).equals(archiveA)).to.equal(true);
    });

    it('with SOURCE_DATE_EPOCH the archive and the manifest are byte-identical across runs, and entries carry that mtime', async () => {
      const epoch = '1795000000'; // 2026-11-18T11:06:40Z
      const env = { SOURCE_DATE_EPOCH: epoch };
      const a = join(dir, 'epoch-a');
      const b = join(dir, 'epoch-b');
      await runCliOk(buildArgs(newTree, a, ['--base', oldTree]), { now: NOW, env });
      await runCliOk(buildArgs(newTree, b, ['--base', oldTree]), { now: new Date('2026-11-25T00:00:00Z'), env });
      for (const f of ['drupal-10.2.4.tar', 'drupal-10.2.4.manifest.json']) {
        expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).to.equal(true);
      }
      expect(tarEntries(join(a, 'drupal-10.2.4.tar')).map((e) => e.mtime)).to.deep.equal([1795000000, 1795000000, 1795000000]);
      expect(envelopePayload(join(a, 'drupal-10.2.4.manifest.json')).created).to.equal('2026-11-18T11:06:40Z');
    });

    it('refuses a SOURCE_DATE_EPOCH that is not a whole number of seconds (exit 2, nothing written)', async () => {
      const out = join(dir, 'bad-epoch');
      mkdirSync(out);
      const r = await runCli([...buildArgs(newTree, out), '--json'], { now: NOW, env: { SOURCE_DATE_EPOCH: '17e8' } });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
      expect(listing(out)).to.deep.equal([]);
    });
  });

  describe('policy version', () => {
    it('takes the version from --policy, or --policy-version; both at once is a usage error', async () => {
      const keys = await makeCliKeys(join(dir), ['pv-alice']);
      const policy = join(dir, 'pv-policy.json');
      await runCliOk(['policy', 'init', '--threshold', '1', '--signer', keys['pv-alice']!.pub, '--out', policy], { now: NOW });
      const withPolicy = join(dir, 'pv-1');
      await runCliOk(buildArgs(newTree, withPolicy, ['--policy', policy]), { now: NOW });
      expect(envelopePayload(join(withPolicy, 'drupal-10.2.4.manifest.json')).policyVersion).to.equal(1);
      const withVersion = join(dir, 'pv-7');
      await runCliOk(buildArgs(newTree, withVersion, ['--policy-version', '7']), { now: NOW });
      expect(envelopePayload(join(withVersion, 'drupal-10.2.4.manifest.json')).policyVersion).to.equal(7);
      const both = await runCli([...buildArgs(newTree, join(dir, 'pv-both'), ['--policy', policy, '--policy-version', '7']), '--json'], { now: NOW });
      expect(both.code).to.equal(2);
      expect(both.json).to.include({ ok: false, code: 'USAGE' });
    });
  });

  describe('unsafe paths are refused at build time (UNSAFE_PATH) and leave no file behind', () => {
    /** The new tree plus one bad entry, built into an existing empty directory. */
    async function buildWithBadEntry(name: string, addBad: (root: string) => void, where: 'source' | 'base' = 'source') {
      const root = writeTree(join(dir, `bad-${name}`), NEW_TREE);
      addBad(root);
      const out = join(dir, `bad-${name}-out`);
      mkdirSync(out);
      const args = where === 'source' ? buildArgs(root, out, ['--base', oldTree]) : buildArgs(newTree, out, ['--base', root]);
      const r = await runCli([...args, '--json'], { now: NOW });
      return { r, out };
    }

    function expectRefused(result: { r: Awaited<ReturnType<typeof runCli>>; out: string }, path: string) {
      expect(result.r.code).to.equal(1);
      expect(result.r.json).to.include({ ok: false, code: 'UNSAFE_PATH' });
      expect((result.r.json.details as { path: string }).path).to.equal(path);
      expect(listing(result.out), 'files left in --out (temporary files included)').to.deep.equal([]);
    }

    it('a symbolic link', async () => {
      expectRefused(await buildWithBadEntry('symlink', (root) => symlinkSync('../index.php', join(root, 'core', 'link.php'))), 'core/link.php');
    });

    it('a file name that is not NFC', async () => {
      expectRefused(await buildWithBadEntry('nfd', (root) => writeFileSync(join(root, 'core', 'e\u0301.php'), '<?php\n')), 'core/e\u0301.php');
    });

    it('two names equal after case folding', async function () {
      const result = await buildWithBadEntry('case', (root) => {
        writeFileSync(join(root, 'core', 'A.php'), '<?php // A\n');
        writeFileSync(join(root, 'core', 'a.php'), '<?php // a\n');
      });
      if (listing(join(dir, 'bad-case', 'core')).filter((n) => n.toLowerCase() === 'a.php').length < 2) this.skip(); // case-insensitive file system
      expectRefused(result, 'core/a.php');
    });

    it("a file the release adds equal after case folding to one it deletes (the base tree's)", async () => {
      const base = writeTree(join(dir, 'case-base'), NEW_TREE);
      writeFileSync(join(base, 'core', 'X.php'), '<?php // X\n');
      const source = writeTree(join(dir, 'case-source'), NEW_TREE);
      writeFileSync(join(source, 'core', 'x.php'), '<?php // x\n');
      const out = join(dir, 'case-out');
      mkdirSync(out);
      const r = await runCli([...buildArgs(source, out, ['--base', base]), '--json'], { now: NOW });
      expectRefused({ r, out }, 'core/x.php');
    });

    it('a file with the setuid bit', async () => {
      expectRefused(
        await buildWithBadEntry('setuid', (root) => {
          writeFileSync(join(root, 'core', 'suid.php'), '<?php\n');
          chmodSync(join(root, 'core', 'suid.php'), 0o4755);
        }),
        'core/suid.php',
      );
    });

    it('a FIFO', async function () {
      if (!hasMkfifo()) this.skip();
      expectRefused(await buildWithBadEntry('fifo', (root) => execFileSync('mkfifo', [join(root, 'core', 'pipe.php')])), 'core/pipe.php');
    });

    it('an unsafe entry in the --base tree too', async () => {
      expectRefused(await buildWithBadEntry('base-symlink', (root) => symlinkSync('index.php', join(root, 'zz-link.php')), 'base'), 'zz-link.php');
    });

    it('discovered deep in the tree, after many good files', async () => {
      const result = await buildWithBadEntry('deep', (root) => {
        for (let i = 0; i < 50; i++) writeFileSync(join(root, 'core', `a${String(i).padStart(2, '0')}.php`), `<?php // ${i}\n`);
        mkdirSync(join(root, 'zz', 'deeper'), { recursive: true });
        symlinkSync('/etc/passwd', join(root, 'zz', 'deeper', 'passwd.php'));
      });
      expectRefused(result, 'zz/deeper/passwd.php');
    });
  });

  describe('other failures leave no file behind', () => {
    it('an invalid --risk vector: a usage error (exit 2) caused by BAD_RISK_VECTOR', async () => {
      const out = join(dir, 'bad-risk');
      mkdirSync(out);
      const r = await runCli([...buildArgs(newTree, out, ['--risk', 'AC:None/A:None/CI:All/II:All/E:Exploit']), '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'USAGE' });
      expect(r.json.details).to.include({ flag: '--risk', cause: 'BAD_RISK_VECTOR' });
      expect(listing(out)).to.deep.equal([]);
    });

    it('a failed build does not clobber an earlier successful one in the same directory', async () => {
      const out = join(dir, 'rebuild');
      await runCliOk(buildArgs(newTree, out, ['--base', oldTree]), { now: NOW });
      const before = listing(out).map((f) => [f, readFileSync(join(out, f))] as const);
      // --force: past the overwrite rule, to the failure itself.
      const r = await runCli([...buildArgs(newTree, out, ['--base', join(dir, 'no-such-base')]), '--force', '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'IO' });
      expect(listing(out)).to.deep.equal(before.map(([f]) => f));
      for (const [f, bytes] of before) expect(readFileSync(join(out, f)).equals(bytes), f).to.equal(true);
    });

    it('an --out directory that did not exist is removed again when the build fails', async () => {
      const out = join(dir, 'never-made');
      const r = await runCli([...buildArgs(newTree, out, ['--base', join(dir, 'no-such-base')]), '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(existsSync(out)).to.equal(false);
    });

    it("a source identical to the base: nothing to release (exit 2, the caller's own input)", async () => {
      const out = join(dir, 'identical');
      mkdirSync(out);
      const r = await runCli([...buildArgs(newTree, out, ['--base', newTree]), '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(r.json.ok).to.equal(false);
      expect(listing(out)).to.deep.equal([]);
    });

    it('an invalid --version or --applies-to: a usage error (exit 2) caused by BAD_VERSION', async () => {
      const out = join(dir, 'bad-version');
      mkdirSync(out);
      const r1 = await runCli(['build', '--source', newTree, '--product', 'drupal', '--version', 'banana', '--expires', EXPIRES, '--out', out, '--json'], {
        now: NOW,
      });
      expect(r1.code).to.equal(2);
      expect(r1.json.details).to.include({ flag: '--version', cause: 'BAD_VERSION' });
      const r2 = await runCli([...buildArgs(newTree, out, ['--applies-to', 'ten']), '--json'], { now: NOW });
      expect(r2.code).to.equal(2);
      expect(r2.json.details).to.include({ flag: '--applies-to', cause: 'BAD_VERSION' });
      expect(listing(out)).to.deep.equal([]);
    });

    it('an expiry in the past: exit 2', async () => {
      const out = join(dir, 'past');
      mkdirSync(out);
      const r = await runCli(['build', '--source', newTree, '--product', 'drupal', '--version', '10.2.4', '--expires', '2026-01-01', '--out', out, '--json'], {
        now: NOW,
      });
      expect(r.code).to.equal(2);
      expect(r.json.ok).to.equal(false);
      expect(listing(out)).to.deep.equal([]);
    });

    it('an empty --post-update is a usage error (exit 2)', async () => {
      const out = join(dir, 'bad-post');
      mkdirSync(out);
      for (const cmd of ['   ', '[]', '["drush", 3]', '[not json']) {
        const r = await runCli([...buildArgs(newTree, out, ['--post-update', cmd]), '--json'], { now: NOW });
        expect(r.code, cmd).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'USAGE' });
      }
      expect(listing(out)).to.deep.equal([]);
    });

    it('a missing --source is an I/O error (exit 2, IO)', async () => {
      const out = join(dir, 'no-source');
      mkdirSync(out);
      const r = await runCli([...buildArgs(join(dir, 'no-such-tree'), out), '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'IO' });
      expect(listing(out)).to.deep.equal([]);
    });

    it('a missing --base is an I/O error (exit 2, IO)', async () => {
      const out = join(dir, 'no-base');
      mkdirSync(out);
      const r = await runCli([...buildArgs(newTree, out, ['--base', join(dir, 'no-such-base')]), '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'IO' });
      expect(listing(out)).to.deep.equal([]);
    });
  });

  describe('I/O errors', () => {
    it('an --out that is an existing file: exit 2, code IO, the file untouched', async () => {
      const out = join(dir, 'out-is-a-file');
      writeFileSync(out, 'not a directory');
      const r = await runCli([...buildArgs(newTree, out), '--json'], { now: NOW });
      expect(r.code).to.equal(2);
      expect(r.json).to.include({ ok: false, code: 'IO' });
      expect(readFileSync(out, 'utf8')).to.equal('not a directory');
    });
  });

  describe('usage', () => {
    it('missing required flags or an unknown flag: exit 2 USAGE', async () => {
      for (const args of [
        ['build', '--product', 'drupal', '--version', '1.0.0', '--out', join(dir, 'u')],
        ['build', '--source', newTree, '--version', '1.0.0', '--out', join(dir, 'u')],
        ['build', '--source', newTree, '--product', 'drupal', '--out', join(dir, 'u')],
        ['build', '--source', newTree, '--product', 'drupal', '--version', '1.0.0'],
        [...buildArgs(newTree, join(dir, 'u')), '--sign-it-too'],
      ]) {
        const r = await runCli([...args, '--json'], { now: NOW });
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.json).to.include({ ok: false, code: 'USAGE' });
      }
      expect(existsSync(join(dir, 'u', 'drupal-10.2.4.tar'))).to.equal(false);
    });

    it('--help exits 0 with an example', async () => {
      const r = await runCli(['build', '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^Examples?:$/m);
      expect(r.stdout).to.contain('SOURCE_DATE_EPOCH');
    });
  });
});
