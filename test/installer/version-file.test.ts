// The manifest's versionFile: chosen by `build` (the product's usual file, or --version-file), signed
// with the rest, written last by the installer and read to detect the installed version.
import { expect } from 'chai';
import { join } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { CountersignError } from '../../lib/core/errors.js';
import { applyBundle } from '../../lib/installer/apply.js';
import { manifestFromPayload } from '../../lib/core/manifest.js';
import { loadTrustedPolicy } from '../../lib/core/policy.js';
import { runCli } from '../support/cli.js';
import { envelopePayload } from '../support/cli.js';
import { expectedSnapshot, makeBundle, NOW, snapshot, tempDir, writeSite, type Tree } from './support.js';

const WEBFORM_OLD: Tree = {
  'webform.info.yml': "name: Webform\ntype: module\nversion: '6.2.0'\n",
  'webform.module': '<?php function webform_help() { return ""; }\n',
};
const WEBFORM_NEW: Tree = {
  'webform.info.yml': "name: Webform\ntype: module\nversion: '6.2.1'\n",
  'webform.module': '<?php function webform_help() { return t(""); }\n',
  'src/Access.php': '<?php final class Access {}\n',
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError) return err.code;
    throw err;
  }
  return 'none';
}

describe('manifest versionFile', function () {
  this.timeout(60_000);

  it("build names the product's version file when the release writes it: drupal core, a contrib module, none", () => {
    const dir = tempDir();
    expect(makeBundle(dir).manifest.versionFile).to.equal('core/lib/Drupal.php');
    const webform = makeBundle(dir, {
      base: WEBFORM_OLD,
      source: WEBFORM_NEW,
      request: { component: 'webform', version: '6.2.1', appliesTo: [] },
      name: 'w.bundle',
    });
    expect(webform.manifest.versionFile).to.equal('webform.info.yml');
    const none = makeBundle(dir, { base: { 'a.php': '1' }, source: { 'a.php': '2' }, name: 'n.bundle' });
    expect(none.manifest.versionFile).to.equal(null);
  });

  it('a versionFile naming a file the release deletes is SCHEMA_INVALID; a path breaking the rules is UNSAFE_PATH', () => {
    const { manifest } = makeBundle(tempDir());
    expect(code(() => manifestFromPayload(canonicalBytes({ ...manifest, versionFile: 'core/includes/legacy.inc' })))).to.equal('SCHEMA_INVALID');
    expect(code(() => manifestFromPayload(canonicalBytes({ ...manifest, versionFile: '../Drupal.php' })))).to.equal('UNSAFE_PATH');
    expect(code(() => manifestFromPayload(canonicalBytes({ ...manifest, versionFile: 7 })))).to.equal('SCHEMA_INVALID');
    const { versionFile: _omitted, ...without } = manifest;
    expect(
      code(() => manifestFromPayload(canonicalBytes(without))),
      'the field is required (null for none)',
    ).to.equal('SCHEMA_INVALID');
  });

  it('build --version-file picks another file, "none" none; a file the release does not write is a usage error', async () => {
    const dir = tempDir();
    const base = writeSite(join(dir, 'old'), { 'VERSION.txt': '1.0.0\n', 'a.php': '1' });
    const source = writeSite(join(dir, 'new'), { 'VERSION.txt': '1.0.1\n', 'a.php': '2' });
    const args = (out: string, extra: string[]) => [
      'build',
      '--source',
      source,
      '--base',
      base,
      '--product',
      'drupal',
      '--version',
      '1.0.1',
      '--applies-to',
      '1.0.0',
      '--out',
      join(dir, out),
      '--json',
      ...extra,
    ];
    const picked = await runCli(args('picked', ['--version-file', 'VERSION.txt']), { now: NOW });
    expect(picked.code, picked.stdout).to.equal(0);
    expect(picked.json.versionFile).to.equal('VERSION.txt');
    expect(envelopePayload(join(dir, 'picked', 'drupal-1.0.1.manifest.json')).versionFile).to.equal('VERSION.txt');
    const none = await runCli(args('none', ['--version-file', 'none']), { now: NOW });
    expect(none.json.versionFile).to.equal(null);
    const unwritten = await runCli(args('bad', ['--version-file', 'core/lib/Drupal.php']), { now: NOW });
    expect(unwritten.code).to.equal(2);
    expect(unwritten.json.code).to.equal('USAGE');
    const traversal = await runCli(args('bad2', ['--version-file', '../x']), { now: NOW });
    expect(traversal.code).to.equal(2);
  });

  it('a contrib module applied with --policy: the installed version comes from its .info.yml, which is written last', async () => {
    const dir = tempDir();
    const release = makeBundle(dir, { base: WEBFORM_OLD, source: WEBFORM_NEW, request: { component: 'webform', version: '6.2.1', appliesTo: ['6.2.0'] } });
    const site = writeSite(join(dir, 'modules', 'webform'), WEBFORM_OLD);
    const r = await applyBundle(release.bundle, { site, trusted: loadTrustedPolicy(release.policyBytes), now: NOW });
    expect(r.detected).to.deep.equal({ path: 'webform.info.yml', version: '6.2.0' });
    expect(r.changes.filter((c) => c.op !== 'mkdir' && c.op !== 'rmdir').at(-1)).to.deep.equal({ op: 'modify', path: 'webform.info.yml' });
    expect(snapshot(site)).to.deep.equal(expectedSnapshot(WEBFORM_NEW));
  });
});
