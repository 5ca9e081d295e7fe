// Rollback through an order that is not total. The old rule compared legacy versions by their core
// prefix but a legacy and a numeric one by what follows the prefix: 7.x-5.0 < 8.x-1.0 < 4.0.0, yet
// 7.x-5.0 > 4.0.0. A site whose module went 7.x-5.0, 8.x-1.0, 4.0.0 then accepted a replayed, still
// valid 7.x-5.0 release "as newer". Legacy and numeric versions are now never compared.
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { checkRelease, manifestFromPayload } from '../../lib/core/manifest.js';
import { codeOf } from '../support/codes.js';
import { revokes, type Revocation } from '../../lib/core/revocation.js';
import { verifyWithStore } from '../../lib/core/trust-state.js';
import { initStore, openStore, recordInstall, storeFiles } from '../../lib/node/trust-store.js';
import { bundleInput, makeRelease, NOW, tempDir } from '../support/fixtures.js';
import { firstGeneration, signedRelease } from '../support/store-fixtures.js';
import { VerificationError } from '../../lib/core/errors.js';
import { rejectionOf } from '../support/codes.js';

describe('Version-scheme attack: a replayed legacy release after a move to numeric versions', () => {
  const gen = firstGeneration();
  // webform 7.x-5.0, applicable to any installed version (empty appliesTo), signed by a quorum long ago.
  const replayed = signedRelease(
    gen,
    makeRelease({ component: 'webform', version: '7.x-5.0', appliesTo: [] }, {
      base: { 'webform.info': 'version = "7.x-4.9"\n', 'webform.module': '<?php // 4.9\n' },
      source: { 'webform.info': 'version = "7.x-5.0"\n', 'webform.module': '<?php // 5.0\n' },
    } as unknown as Parameters<typeof makeRelease>[1]),
  );

  it('a store whose history is 7.x-5.0, then 8.x-1.0, then 4.0.0 refuses the replayed 7.x-5.0 (VERSION_SCHEME_MISMATCH, never accepted)', async () => {
    const dir = tempDir();
    try {
      const store = join(dir, 'store');
      await initStore(store, gen.bytes, { now: NOW, installed: [{ product: 'drupal', component: 'webform', version: '7.x-5.0' }] });
      await recordInstall(store, 'drupal', 'webform', '8.x-1.0', { now: NOW });
      await recordInstall(store, 'drupal', 'webform', '4.0.0', { now: NOW });
      const opened = await openStore(store);
      expect(opened.state.installed['drupal/webform']).to.include({ version: '4.0.0', highest: '4.0.0' });
      const err = await rejectionOf(verifyWithStore(opened, bundleInput(replayed.envelope, replayed.archive), { now: NOW }));
      expect(err).to.be.instanceOf(VerificationError);
      expect((err as VerificationError).reasons.map((r) => r.code)).to.deep.equal(['VERSION_SCHEME_MISMATCH']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a store recording its highest-ever version in the other scheme than the installed one is STORE_CORRUPT', async () => {
    const dir = tempDir();
    try {
      const store = join(dir, 'store');
      await initStore(store, gen.bytes, { now: NOW, installed: [{ product: 'drupal', component: 'webform', version: '4.0.0' }] });
      const path = storeFiles(store).state;
      const state = JSON.parse(readFileSync(path, 'utf8'));
      state.installed['drupal/webform'].highest = '8.x-1.0';
      writeFileSync(path, JSON.stringify(state));
      expect((await rejectionOf(openStore(store))).code).to.equal('STORE_CORRUPT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checkRelease: an incomparable installed or highest-ever version is a reason of its own, never a pass', () => {
    const m = replayed.manifest;
    const codes = (site: Parameters<typeof checkRelease>[2]) => checkRelease(m, 1, site, NOW).map((r) => r.code);
    expect(codes({ installed: '4.0.0' })).to.deep.equal(['VERSION_SCHEME_MISMATCH']);
    expect(codes({ installed: '7.x-4.9', highestInstalled: '4.0.0' })).to.deep.equal(['VERSION_SCHEME_MISMATCH']);
    expect(codes({ installed: '7.x-4.9', highestInstalled: '8.x-1.0' })).to.deep.equal(['ROLLBACK']);
    expect(codes({ installed: '7.x-4.9', highestInstalled: '7.x-4.9' })).to.deep.equal([]);
  });

  it('a revocation errs towards refusing: 8.x-1.2 revoked also refuses 1.2.0 (and 1.2.0 revoked refuses 8.x-1.2), never 7.x-1.2', () => {
    const revoked = (version: string): Revocation => ({
      product: 'drupal',
      component: 'webform',
      version,
      reason: 'x',
      created: '2026-11-01T00:00:00Z',
      policyVersion: 1,
    });
    const release = (version: string) => ({ product: 'drupal', component: 'webform', version });
    expect(revokes(revoked('8.x-1.2'), release('1.2.0'))).to.equal(true);
    expect(revokes(revoked('1.2.0'), release('8.x-1.2'))).to.equal(true);
    expect(revokes(revoked('8.x-1.2'), release('7.x-1.2'))).to.equal(false);
    expect(revokes(revoked('8.x-1.2'), release('8.x-1.2.0'))).to.equal(true);
  });

  it('a manifest applying across schemes (4.0.0 over 8.x-3.5) is refused when read or built (VERSION_SCHEME_MISMATCH)', () => {
    const across = { ...replayed.manifest, version: '4.0.0', appliesTo: ['8.x-3.5'] };
    expect(codeOf(() => manifestFromPayload(canonicalBytes(across)))).to.equal('VERSION_SCHEME_MISMATCH');
    expect(codeOf(() => makeRelease({ version: '10.2.4', appliesTo: ['8.x-10.2.3'] }))).to.equal('VERSION_SCHEME_MISMATCH');
  });
});
