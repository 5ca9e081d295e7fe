// Signer kinds (policy format 2): SSHSIG for OpenSSH keys and FIDO2 security keys, minisign and signify, each read
// strictly by our own parsers over libsodium-strict Ed25519. Every test here fails when the rule it names is removed.
import { expect } from 'chai';
import { concatBytes, toBase64, utf8 } from '../lib/core/bytes.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { signMessage } from '../lib/core/ed25519.js';
import { createEnvelope, PAYLOAD_TYPES, type Envelope } from '../lib/core/envelope.js';
import { parsePartial } from '../lib/core/partial-signature.js';
import { createPolicy, loadTrustedPolicy, policyFromPayload, type CheckedPolicy } from '../lib/core/policy.js';
import { countQuorum } from '../lib/core/quorum.js';
import { assemblyQuorums, keptSignatures } from '../lib/core/assembly.js';
import { walkPolicyChain } from '../lib/core/rotation.js';
import { rotationLines } from '../lib/core/summary.js';
import { parseSignerFile } from '../lib/core/signer-files.js';
import { SSHSIG_NAMESPACES, signerAsNew } from '../lib/core/signer-kinds.js';
import { parseMinisignPublicKey, parseMinisignSignatureFile, parseSignifySignatureFile } from '../lib/core/minisign.js';
import { dearmourSshSignature, parseSshPublicKeyLine, SK_SSH_ED25519, SSH_ED25519, sshPublicKeyBlob } from '../lib/core/sshsig.js';
import { codeOf } from './support/codes.js';
import { asSignature, kindSigner, messageOf, minisignSign, newSigner, signifySign, sshSign, type KindSigner } from './support/signer-kinds.js';
import { mixedOrderKey } from './support/torsion.js';
import { L } from './support/torsion.js';

const EXPIRES = new Date('2030-01-01T00:00:00Z');
const manifestDoc = (text: string) => {
  const envelope = createEnvelope('manifest', canonicalBytes({ release: text }));
  return { envelope, payloadBytes: Buffer.from(envelope.payload, 'base64') };
};
const NS = SSHSIG_NAMESPACES.manifest;

/** A checked 1-of-1 policy for one signer of one kind. */
function ringOf(s: KindSigner, kind: Parameters<typeof newSigner>[2], extra: Parameters<typeof newSigner>[3] = {}): CheckedPolicy {
  return policyFromPayload(canonicalBytes(createPolicy({ threshold: 1, signers: [newSigner(s, 'signer', kind, extra)], expires: EXPIRES })));
}

/** The codes countQuorum reports for one signature; [] when it counted. */
function verdict(doc: { envelope: Envelope; payloadBytes: Uint8Array }, ring: CheckedPolicy, s: KindSigner, sig: Uint8Array): string[] {
  const q = countQuorum(doc, [asSignature(s, sig)], ring);
  return q.met ? [] : q.problems.map((p) => p.code);
}

describe('signer kinds', () => {
  const doc = manifestDoc('10.2.4');
  const message = messageOf(doc.envelope);
  const s = kindSigner();

  describe('ssh-ed25519 (SSHSIG, PROTOCOL.sshsig)', () => {
    const ring = ringOf(s, SSH_ED25519);
    const sign = (o: Partial<Parameters<typeof sshSign>[3]> = {}) => sshSign(s, message, SSH_ED25519, { namespace: NS, ...o });

    it('a valid signature counts, read as its entry kind', () => {
      const q = countQuorum(doc, [asSignature(s, sign())], ring);
      expect(q.met).to.equal(true);
      expect(q.signedWith).to.deep.equal([{ kind: SSH_ED25519 }]);
    });
    it('another namespace (git, or another document type): WRONG_NAMESPACE', () => {
      expect(verdict(doc, ring, s, sign({ namespace: 'git' }))).to.deep.equal(['WRONG_NAMESPACE']);
      expect(verdict(doc, ring, s, sign({ namespace: SSHSIG_NAMESPACES.policy }))).to.deep.equal(['WRONG_NAMESPACE']);
    });
    it('sha256 instead of the pinned sha512: WRONG_HASH_ALG', () => {
      expect(verdict(doc, ring, s, sign({ hashAlg: 'sha256' }))).to.deep.equal(['WRONG_HASH_ALG']);
    });
    it('version 2 (or 0): SIGNATURE_VERSION', () => {
      expect(verdict(doc, ring, s, sign({ version: 2 }))).to.deep.equal(['SIGNATURE_VERSION']);
      expect(verdict(doc, ring, s, sign({ version: 0 }))).to.deep.equal(['SIGNATURE_VERSION']);
    });
    it('a non-empty reserved field, signed over: RESERVED_NOT_EMPTY', () => {
      expect(verdict(doc, ring, s, sign({ reserved: utf8('tag') }))).to.deep.equal(['RESERVED_NOT_EMPTY']);
    });
    it('trailing bytes after the blob, or after the inner signature: TRAILING_BYTES', () => {
      expect(verdict(doc, ring, s, concatBytes(sign(), Uint8Array.of(0)))).to.deep.equal(['TRAILING_BYTES']);
      // The inner signature blob is the last string: grow it by one byte and fix its length prefix.
      const blob = sign();
      const grown = concatBytes(blob, Uint8Array.of(0));
      const at = blob.length - 4 - (4 + 11 + 4 + 64);
      new DataView(grown.buffer).setUint32(at, 4 + 11 + 4 + 64 + 1);
      expect(verdict(doc, ring, s, grown)).to.deep.equal(['TRAILING_BYTES']);
    });
    it('an inner signature of 63 bytes: BAD_SIGNATURE_LENGTH', () => {
      expect(verdict(doc, ring, s, sign({ signature: (sig) => sig.subarray(0, 63) }))).to.deep.equal(['BAD_SIGNATURE_LENGTH']);
    });
    it('a signature by another key: WRONG_SIGNER_KEY; a malleated S + L: BAD_SIGNATURE (libsodium-strict Ed25519)', () => {
      expect(verdict(doc, ring, s, sshSign(kindSigner(), message, SSH_ED25519, { namespace: NS }))).to.deep.equal(['WRONG_SIGNER_KEY']);
      const malleated = sign({
        signature: (sig) => {
          let n = 0n;
          for (let i = 63; i >= 32; i--) n = (n << 8n) | BigInt(sig[i]!);
          n += L;
          const out = Uint8Array.from(sig);
          for (let i = 32; i < 64; i++, n >>= 8n) out[i] = Number(n & 0xffn);
          return out;
        },
      });
      expect(verdict(doc, ring, s, malleated)).to.deep.equal(['BAD_SIGNATURE']);
    });
    it('a security-key signature for a plain ssh-ed25519 entry: WRONG_SIGNATURE_ALG', () => {
      expect(verdict(doc, ring, s, sshSign(s, message, SK_SSH_ED25519, { namespace: NS }))).to.deep.equal(['WRONG_SIGNATURE_ALG']);
    });
  });

  describe('sk-ssh-ed25519@openssh.com (PROTOCOL.u2f)', () => {
    const ring = ringOf(s, SK_SSH_ED25519);
    const uvRing = ringOf(s, SK_SSH_ED25519, { userVerification: true });
    const sign = (o: Partial<Parameters<typeof sshSign>[3]> = {}) => sshSign(s, message, SK_SSH_ED25519, { namespace: NS, ...o });

    it('flags 0x01 (user present): accepted, the counter reported', () => {
      const q = countQuorum(doc, [asSignature(s, sign({ flags: 0x01, counter: 42 }))], ring);
      expect(q.met).to.equal(true);
      expect(q.signedWith).to.deep.equal([{ kind: SK_SSH_ED25519, flags: 0x01, counter: 42 }]);
    });
    it('flags 0x00 (no touch): USER_NOT_PRESENT, though ssh-keygen -Y verify accepts it', () => {
      expect(verdict(doc, ring, s, sign({ flags: 0x00 }))).to.deep.equal(['USER_NOT_PRESENT']);
      expect(verdict(doc, ring, s, sign({ flags: 0x04 }))).to.deep.equal(['USER_NOT_PRESENT']);
    });
    it('user verification required by the entry but absent: USER_NOT_VERIFIED; present (0x05): accepted', () => {
      expect(verdict(doc, uvRing, s, sign({ flags: 0x01 }))).to.deep.equal(['USER_NOT_VERIFIED']);
      expect(verdict(doc, uvRing, s, sign({ flags: 0x05 }))).to.deep.equal([]);
    });
    it('another application string: WRONG_APPLICATION', () => {
      expect(verdict(doc, ring, s, sign({ application: 'ssh:other' }))).to.deep.equal(['WRONG_APPLICATION']);
      expect(verdict(doc, ringOf(s, SK_SSH_ED25519, { application: 'ssh:countersign' }), s, sign())).to.deep.equal(['WRONG_APPLICATION']);
    });
    it('a plain ssh-ed25519 signature for a security-key entry: WRONG_SIGNATURE_ALG (the touch cannot be skipped)', () => {
      expect(verdict(doc, ring, s, sshSign(s, message, SSH_ED25519, { namespace: NS }))).to.deep.equal(['WRONG_SIGNATURE_ALG']);
    });
    it('a signature whose flags or counter were altered after signing: BAD_SIGNATURE', () => {
      const blob = sign({ flags: 0x01, counter: 1 });
      const altered = Uint8Array.from(blob);
      altered[altered.length - 1] = 2; // the counter's last byte
      expect(verdict(doc, ring, s, altered)).to.deep.equal(['BAD_SIGNATURE']);
    });
  });

  describe('minisign and signify', () => {
    const mini = ringOf(s, 'minisign');
    const sfy = ringOf(s, 'signify');

    it('minisign prehashed (ED) and legacy (Ed): accepted, the trusted comment reported', () => {
      const q = countQuorum(doc, [asSignature(s, minisignSign(s, message))], mini);
      expect(q.met).to.equal(true);
      expect(q.signedWith[0]).to.include({ kind: 'minisign', prehashed: true, trustedComment: 'timestamp:1764000000\tfile:pae.bin\thashed' });
      expect(verdict(doc, mini, s, minisignSign(s, message, { legacy: true }))).to.deep.equal([]);
    });
    it('minisign: the global signature over the trusted comment is checked (BAD_SIGNATURE when the comment is changed)', () => {
      const sig = minisignSign(s, message);
      const changed = concatBytes(sig.subarray(0, 74 + 64), utf8('timestamp:1764000000\tfile:other.bin\thashed'));
      expect(verdict(doc, mini, s, changed)).to.deep.equal(['BAD_SIGNATURE']);
    });
    it('minisign: another keynum (WRONG_SIGNER_KEY), another algorithm (WRONG_SIGNATURE_ALG), an unprintable comment (SIGNATURE_MALFORMED)', () => {
      expect(verdict(doc, mini, s, minisignSign(s, message, { keynum: new Uint8Array(8) }))).to.deep.equal(['WRONG_SIGNER_KEY']);
      expect(verdict(doc, mini, s, minisignSign(s, message, { alg: 'Xd' }))).to.deep.equal(['WRONG_SIGNATURE_ALG']);
      expect(verdict(doc, mini, s, minisignSign(s, message, { trustedComment: 'ok\u001b[2J' }))).to.deep.equal(['SIGNATURE_MALFORMED']);
    });
    it('signify: accepted; another keynum refused (WRONG_SIGNER_KEY); a minisign prehashed signature is not a signify one', () => {
      expect(verdict(doc, sfy, s, signifySign(s, message))).to.deep.equal([]);
      expect(verdict(doc, sfy, s, signifySign(s, message, new Uint8Array(8)))).to.deep.equal(['WRONG_SIGNER_KEY']);
      expect(verdict(doc, sfy, s, minisignSign(s, message))).to.deep.equal(['SIGNATURE_MALFORMED']);
    });
    it("a raw countersign signature is not accepted for another kind's entry (each entry is bound to one format)", () => {
      const raw = signMessage(message, s.seed);
      for (const ring of [mini, sfy, ringOf(s, SSH_ED25519)])
        expect(verdict(doc, ring, s, raw))
          .to.have.length(1)
          .and.not.deep.equal([]);
    });
  });

  describe('document types', () => {
    it('a signature over one document type never counts for another, in any kind', () => {
      const policyEnv = createEnvelope('policy', doc.payloadBytes);
      const revocation = { envelope: { ...doc.envelope, payloadType: PAYLOAD_TYPES.revocation }, payloadBytes: doc.payloadBytes };
      const policyDoc = { envelope: policyEnv, payloadBytes: doc.payloadBytes };
      const ssh = sshSign(s, message, SSH_ED25519, { namespace: NS });
      // The same bytes, and even the right namespace for the other type over the manifest's PAE: refused.
      expect(verdict(revocation, ringOf(s, SSH_ED25519), s, ssh)).to.deep.equal(['WRONG_NAMESPACE']);
      const ns = sshSign(s, message, SSH_ED25519, { namespace: SSHSIG_NAMESPACES.revocation });
      expect(verdict(revocation, ringOf(s, SSH_ED25519), s, ns)).to.deep.equal(['BAD_SIGNATURE']);
      expect(verdict(policyDoc, ringOf(s, 'minisign'), s, minisignSign(s, message))).to.deep.equal(['BAD_SIGNATURE']);
      expect(verdict(policyDoc, ringOf(s, 'signify'), s, signifySign(s, message))).to.deep.equal(['BAD_SIGNATURE']);
    });
  });

  describe('distinct keys across kinds', () => {
    it('one raw key listed as an SSH key and as a countersign key: DUPLICATE_KEY', () => {
      const code = codeOf(() =>
        createPolicy({ threshold: 1, signers: [newSigner(s, 'alice-ssh', SSH_ED25519), newSigner(s, 'alice', 'countersign')], expires: EXPIRES }),
      );
      expect(code).to.equal('DUPLICATE_KEY');
      expect(
        codeOf(() => createPolicy({ threshold: 1, signers: [newSigner(s, 'a', 'minisign'), newSigner(s, 'b', SK_SSH_ED25519)], expires: EXPIRES })),
      ).to.equal('DUPLICATE_KEY');
    });
    it('and counted once even when a ring lists it under both kinds, each signature valid in its own form', () => {
      const other = kindSigner();
      const base = policyFromPayload(
        canonicalBytes(
          createPolicy({ threshold: 2, signers: [newSigner(s, 'alice-ssh', SSH_ED25519), newSigner(other, 'bob', 'countersign')], expires: EXPIRES }),
        ),
      );
      // A ring that bypasses checkPolicy: alice's key again, as a countersign key under bob's id.
      const forged: CheckedPolicy = {
        ...base,
        keys: [base.keys[0]!, { signer: { id: other.id, publicKey: toBase64(s.publicKey), name: 'alice', kind: 'countersign' }, publicKey: s.publicKey }],
      };
      const sshSig = asSignature(s, sshSign(s, message, SSH_ED25519, { namespace: NS }));
      const q = countQuorum(doc, [sshSig, { keyid: other.id, sig: toBase64(signMessage(message, s.seed)) }], forged);
      expect(q.signedBy).to.have.length(1);
      expect(q.problems.map((p) => p.code)).to.deep.equal(['DUPLICATE_SIGNATURE']);
      expect(q.met).to.equal(false);
    });
    it('key admission ([L]A = O) applies to every kind: a mixed-order key is WEAK_KEY as an SSH, minisign or signify key', () => {
      const weak = { ...s, publicKey: mixedOrderKey(s.seed) };
      for (const kind of [SSH_ED25519, SK_SSH_ED25519, 'minisign', 'signify'] as const) {
        expect(
          codeOf(() => createPolicy({ threshold: 1, signers: [newSigner(weak, 'w', kind)], expires: EXPIRES })),
          kind,
        ).to.equal('WEAK_KEY');
      }
    });
  });

  describe('rotation to another kind', () => {
    it('a key listed as countersign in N and as SSH in N+1 signs twice, once per side, and the bundle keeps both (walkPolicyChain accepts it)', () => {
      const bob = kindSigner();
      const v1 = createPolicy({ threshold: 2, signers: [newSigner(s, 'alice', 'countersign'), newSigner(bob, 'bob', 'countersign')], expires: EXPIRES });
      const v1Env = createEnvelope('policy', canonicalBytes(v1));
      const v1Signed = { ...v1Env, signatures: [s, bob].map((k) => asSignature(k, signMessage(messageOf(v1Env), k.seed))) };
      const v2 = createPolicy({
        version: 2,
        threshold: 2,
        signers: [newSigner(s, 'alice', SSH_ED25519), newSigner(bob, 'bob', 'countersign')],
        expires: EXPIRES,
      });
      const v2Env = createEnvelope('policy', canonicalBytes(v2));
      const m = messageOf(v2Env);
      const signatures = [
        asSignature(s, signMessage(m, s.seed)),
        asSignature(s, sshSign(s, m, SSH_ED25519, { namespace: SSHSIG_NAMESPACES.policy })),
        asSignature(bob, signMessage(m, bob.seed)),
      ];
      const v1Bytes = utf8(JSON.stringify(v1Signed));
      const doc = { envelope: v2Env, kind: 'policy' as const, payloadBytes: Buffer.from(v2Env.payload, 'base64'), payloadSha256: '' };
      const sides = assemblyQuorums(doc, signatures, v1Bytes, new Date('2026-06-01T00:00:00Z'));
      expect(sides.map((x) => x.quorum.met)).to.deep.equal([true, true]);
      const kept = keptSignatures(sides);
      expect(kept).to.have.length(3);
      const trusted = walkPolicyChain(loadTrustedPolicy(v1Bytes), [utf8(JSON.stringify({ ...v2Env, signatures: kept }))], new Date('2026-06-01T00:00:00Z'));
      expect(trusted.policy.version).to.equal(2);
      expect(rotationLines(v1, v2).join('\n')).to.contain(`Changed:    alice  ${s.id}: countersign -> ssh-ed25519 SHA256:`);
    });
  });

  describe('versioning', () => {
    it('a policy of countersign keys stays format 1 without kinds; any other kind makes format 2 with every kind stated', () => {
      const p1 = createPolicy({ threshold: 1, signers: [newSigner(s, 'a', 'countersign')], expires: EXPIRES });
      expect(p1.format).to.equal(1);
      expect(p1.signers[0]).to.not.have.property('kind');
      const p2 = createPolicy({ threshold: 1, signers: [newSigner(s, 'a', SSH_ED25519), newSigner(kindSigner(), 'b', 'countersign')], expires: EXPIRES });
      expect(p2.format).to.equal(2);
      expect(p2.signers.map((x) => x.kind)).to.deep.equal([SSH_ED25519, 'countersign']);
      expect(signerAsNew(p2.signers[0]!)).to.deep.include({ kind: SSH_ED25519, name: 'a' });
    });
    it('signer kinds in a format 1 policy: SCHEMA_INVALID; policy format 4: FORMAT_UNSUPPORTED', () => {
      const p2 = createPolicy({ threshold: 1, signers: [newSigner(s, 'a', SSH_ED25519)], expires: EXPIRES });
      expect(codeOf(() => policyFromPayload(canonicalBytes({ ...p2, format: 1 })))).to.equal('SCHEMA_INVALID');
      expect(codeOf(() => policyFromPayload(canonicalBytes({ ...p2, format: 4 })))).to.equal('FORMAT_UNSUPPORTED');
    });
    it('a security-key entry needs its application; minisign and signify entries their keynum (SCHEMA_INVALID)', () => {
      const p = createPolicy({ threshold: 1, signers: [newSigner(s, 'a', SK_SSH_ED25519)], expires: EXPIRES });
      const { application: _, ...bare } = p.signers[0] as { application: string };
      expect(codeOf(() => policyFromPayload(canonicalBytes({ ...p, signers: [bare] })))).to.equal('SCHEMA_INVALID');
      const m = createPolicy({ threshold: 1, signers: [newSigner(s, 'a', 'minisign')], expires: EXPIRES });
      const { keynum: __, ...noKeynum } = m.signers[0] as { keynum: string };
      expect(codeOf(() => policyFromPayload(canonicalBytes({ ...m, signers: [noKeynum] })))).to.equal('SCHEMA_INVALID');
    });
    it('partial signatures: format 1 has no kind (SCHEMA_INVALID with one); format 2 must name it; format 3: FORMAT_UNSUPPORTED', () => {
      const base = { type: 'countersign-partial-signature', payloadType: PAYLOAD_TYPES.manifest, payloadSha256: '0'.repeat(64), keyid: s.id };
      const sig64 = toBase64(new Uint8Array(64));
      const bytes = (v: object) => utf8(JSON.stringify(v));
      expect(parsePartial(bytes({ ...base, sig: sig64 }))).to.not.have.property('format');
      expect(codeOf(() => parsePartial(bytes({ ...base, kind: 'minisign', sig: sig64 })))).to.equal('SCHEMA_INVALID');
      expect(codeOf(() => parsePartial(bytes({ ...base, format: 2, sig: sig64 })))).to.equal('SCHEMA_INVALID');
      expect(parsePartial(bytes({ ...base, format: 2, kind: 'ssh-ed25519', sig: toBase64(new Uint8Array(200)) }))).to.include({ kind: 'ssh-ed25519' });
      expect(codeOf(() => parsePartial(bytes({ ...base, format: 3, kind: 'ssh-ed25519', sig: sig64 })))).to.equal('FORMAT_UNSUPPORTED');
    });
  });

  describe('key and signature files, told apart strictly', () => {
    const sshLine = (type: string, blob: Uint8Array, comment = 'alice@laptop') => `${type} ${toBase64(blob)} ${comment}\n`;
    const skBlob = sshPublicKeyBlob({ type: SK_SSH_ED25519, publicKey: s.publicKey, application: 'ssh:' });
    const edBlob = sshPublicKeyBlob({ type: SSH_ED25519, publicKey: s.publicKey });
    const minisignPub = (comment: string) => `untrusted comment: ${comment}\n${toBase64(concatBytes(utf8('Ed'), s.keynum, s.publicKey))}\n`;
    const keyIdOf = Buffer.from(s.keynum).reverse().toString('hex').toUpperCase();

    it('OpenSSH lines: ssh-ed25519 and sk-ssh-ed25519 with the application; the comment is the name', () => {
      expect(parseSignerFile(sshLine(SSH_ED25519, edBlob), 'x')).to.deep.include({ kind: SSH_ED25519, name: 'alice@laptop' });
      expect(parseSignerFile(sshLine(SK_SSH_ED25519, skBlob), 'x')).to.deep.include({ kind: SK_SSH_ED25519, application: 'ssh:' });
      expect(parseSignerFile(`${SSH_ED25519} ${toBase64(edBlob)}\n`, 'alice')).to.deep.include({ name: 'alice' });
    });
    it('refused: another key type, a type the blob contradicts, options before the key, trailing blob bytes, two lines (KEY_FORMAT)', () => {
      expect(codeOf(() => parseSignerFile(sshLine('ssh-rsa', edBlob), 'x'))).to.equal('KEY_FORMAT');
      expect(codeOf(() => parseSshPublicKeyLine(sshLine(SK_SSH_ED25519, edBlob)))).to.equal('KEY_FORMAT');
      expect(codeOf(() => parseSignerFile(`verify-required ${sshLine(SK_SSH_ED25519, skBlob)}`, 'x'))).to.equal('KEY_FORMAT');
      expect(codeOf(() => parseSshPublicKeyLine(sshLine(SSH_ED25519, concatBytes(edBlob, Uint8Array.of(0)))))).to.equal('KEY_FORMAT');
      expect(codeOf(() => parseSshPublicKeyLine(sshLine(SSH_ED25519, edBlob) + sshLine(SSH_ED25519, edBlob)))).to.equal('KEY_FORMAT');
    });
    it('minisign by its comment and key id, signify by "<name> public key"; anything else KEY_FORMAT', () => {
      expect(parseMinisignPublicKey(minisignPub(`minisign public key ${keyIdOf}`)).tool).to.equal('minisign');
      expect(parseMinisignPublicKey(minisignPub('signify public key')).tool).to.equal('signify');
      expect(codeOf(() => parseMinisignPublicKey(minisignPub('minisign public key 0000000000000000')))).to.equal('KEY_FORMAT');
      expect(codeOf(() => parseMinisignPublicKey(minisignPub('my key')))).to.equal('KEY_FORMAT');
      // minisign prints the id without leading zeros (%PRIX64): a key number whose top byte is 0x0N has a 15-digit id.
      const short = Uint8Array.from(s.keynum);
      short[7] = 0x0a;
      const shortPub = (id: string) => `untrusted comment: minisign public key ${id}\n${toBase64(concatBytes(utf8('Ed'), short, s.publicKey))}\n`;
      const padded = Buffer.from(short).reverse().toString('hex').toUpperCase();
      expect(padded).to.match(/^0A/);
      expect(parseMinisignPublicKey(shortPub(padded.slice(1))).tool).to.equal('minisign');
      expect(parseMinisignPublicKey(shortPub(padded)).tool).to.equal('minisign');
      expect(codeOf(() => parseMinisignPublicKey(shortPub(padded.slice(2))))).to.equal('KEY_FORMAT');
      expect(codeOf(() => parseMinisignPublicKey(minisignPub('signify public key') + '\n'))).to.equal('KEY_FORMAT');
    });
    it('signature files: armour required for SSH; minisign exactly 4 lines; signify exactly 2 (SIGNATURE_MALFORMED)', () => {
      expect(codeOf(() => dearmourSshSignature(toBase64(new Uint8Array(10))))).to.equal('SIGNATURE_MALFORMED');
      const sig = `untrusted comment: x\n${toBase64(new Uint8Array(74))}\n`;
      expect(codeOf(() => parseSignifySignatureFile(sig + 'embedded message\n'))).to.equal('SIGNATURE_MALFORMED');
      expect(codeOf(() => parseMinisignSignatureFile(sig))).to.equal('SIGNATURE_MALFORMED');
    });
  });
});
