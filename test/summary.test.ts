import { expect } from 'chai';
import { createEnvelope, openEnvelope } from '../lib/envelope.js';
import { summarizeDocument } from '../lib/summary.js';
import { canonicalBytes } from '../lib/canonical.js';
import { codeOf } from './support/codes.js';
import { envelopeBytes, makeRelease, manifestEnvelope } from './support/fixtures.js';

describe('what a signer is shown', () => {
  it('lists every file operation, however many, including the last one in sort order', () => {
    const release = makeRelease();
    const files = Array.from({ length: 60 }, (_, i) => ({ op: 'add' as const, path: `core/f${String(i).padStart(2, '0')}.php`, sha256: 'a'.repeat(64), size: 1, mode: '0644' as const }));
    files.push({ op: 'add', path: 'zz/backdoor.php', sha256: 'b'.repeat(64), size: 1, mode: '0644' });
    const doc = openEnvelope(envelopeBytes(manifestEnvelope({ ...release.manifest, files })));
    const text = summarizeDocument(doc).lines.join('\n');
    expect(text).to.contain('A zz/backdoor.php');
    expect(text).to.contain('A core/f00.php');
  });

  it('shows post-update steps as exact argv arrays, so "updb -y" and "updb","-y" differ', () => {
    const release = makeRelease({ postUpdate: [['drush', 'updb -y']] });
    const text = summarizeDocument(openEnvelope(envelopeBytes(release.envelope))).lines.join('\n');
    expect(text).to.contain('["drush","updb -y"]');
  });

  it('marks attached signatures as not verified', () => {
    const text = summarizeDocument(openEnvelope(envelopeBytes(makeRelease().envelope))).lines.join('\n');
    expect(text).to.contain('not verified');
  });

  it('refuses to summarise (and so to sign) a revocation that is not a valid one', () => {
    const doc = openEnvelope(envelopeBytes(createEnvelope('revocation', canonicalBytes({ revoke: 'key-of-erin', x: 1 }))));
    expect(codeOf(() => summarizeDocument(doc))).to.equal('SCHEMA_INVALID');
  });
});
