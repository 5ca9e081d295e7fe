import { expect } from 'chai';
import { cosigner } from '../../lib/log/cosignature.js';
import { ed25519Signer, MAX_NOTE_BYTES, parseNote, signNote } from '../../lib/log/note.js';
import { MAX_PROOF_BYTES, parseProof } from '../../lib/log/proof.js';
import { decodeEntryBundle, encodeEntryBundle } from '../../lib/log/tiles.js';
import { MAX_POLICY_BYTES, parseTlogPolicy } from '../../lib/log/tlog-policy.js';
import { codeOf as code } from '../support/codes.js';

// Every input a verifier reads from a bundle or the network is capped before it is parsed.
describe('log: size caps and signer rules', () => {
  const signer = ed25519Signer('k.example/log', new Uint8Array(32).fill(4));

  it('a note over 64 KiB is BAD_NOTE before parsing; one just under parses', () => {
    const line = parseNote(signNote('x\n', [signer])).signatures[0]!.line;
    const pad = (n: number): string => `${'a'.repeat(n)}\n\n${line}\n`;
    const at = MAX_NOTE_BYTES - Buffer.byteLength(pad(0));
    expect(parseNote(pad(at)).signatures).to.have.length(1);
    expect(code(() => parseNote(pad(at + 1)))).to.equal('BAD_NOTE');
  });

  it('a tlog-proof over 128 KiB is BAD_PROOF', () => {
    expect(code(() => parseProof(`c2sp.org/tlog-proof@v1\nextra ${'A'.repeat(MAX_PROOF_BYTES)}\nindex 0\n\n`))).to.equal('BAD_PROOF');
  });

  it('a log policy over 256 KiB is BAD_LOG_POLICY', () => {
    expect(code(() => parseTlogPolicy(`# ${'x'.repeat(MAX_POLICY_BYTES)}\nquorum none\n`))).to.equal('BAD_LOG_POLICY');
  });

  it('an entry bundle holds at most 256 entries (ENTRY_INVALID)', () => {
    const e = Array.from({ length: 257 }, () => new Uint8Array(1));
    expect(code(() => encodeEntryBundle(e))).to.equal('ENTRY_INVALID');
    const bytes = new Uint8Array(257 * 3);
    for (let i = 0; i < 257; i++) bytes[i * 3 + 1] = 1;
    expect(code(() => decodeEntryBundle(bytes))).to.equal('ENTRY_INVALID');
  });

  it("signNote replaces a signer's own earlier line and keeps the others'; a cosignature needs a valid timestamp", () => {
    const w = cosigner('w.example', new Uint8Array(32).fill(5));
    const text = 'k.example/log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n';
    const once = parseNote(signNote(text, [signer]));
    const withWitness = { text, signatures: [...once.signatures, w.cosign(text, 1)] };
    const again = parseNote(signNote(withWitness, [signer]));
    expect(again.signatures.map((s) => s.name)).to.deep.equal(['w.example', 'k.example/log']);
    expect(code(() => w.cosign(text, -1))).to.equal('BAD_NOTE');
    expect(code(() => signNote('no final newline', [signer]))).to.equal('BAD_NOTE');
  });
});
