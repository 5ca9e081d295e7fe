// The PHP verifier's signer kinds (php/src/SignerKinds/) beside lib/core's, rule by rule: every SSHSIG, security
// key, minisign and signify refusal of test/signer-kinds.test.ts and more (truncations, other key and signature
// types, high bytes in quoted fields, minisign comments at their limit), under every document type, and the policy
// rules of format 2 (DUPLICATE_KEY across kinds, kinds in format 1, format 3, each kind's schema), and rotations that
// change a key's kind. Both sides count
// the same quorum and must give the same verdict, the same codes AND the same messages (verify --json shows them).
// A disagreement is a security bug: the case is named. Skipped, with a message, where php is not installed.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { concatBytes, fromBase64, toBase64, utf8 } from '../lib/core/bytes.js';
import { canonicalBytes } from '../lib/core/canonical.js';
import { keyId, signMessage } from '../lib/core/ed25519.js';
import { createEnvelope, PAYLOAD_TYPES, pae } from '../lib/core/envelope.js';
import { CountersignError } from '../lib/core/errors.js';
import { createPolicy, loadTrustedPolicy, policyFromPayload } from '../lib/core/policy.js';
import { walkPolicyChain } from '../lib/core/rotation.js';
import { countQuorum, type Signer } from '../lib/core/quorum.js';
import { SSHSIG_NAMESPACES } from '../lib/core/signer-kinds.js';
import { SK_SSH_ED25519, SSH_ED25519 } from '../lib/core/sshsig.js';
import { kindSigner, minisignSign, newSigner, signifySign, sshSign, type KindSigner } from './support/signer-kinds.js';
import { mixedOrderKey } from './support/torsion.js';

const ROOT = resolve(import.meta.dirname, '..');
const php = spawnSync('php', ['--version'], { stdio: 'ignore' }).status === 0;
const EXPIRES = new Date('2030-01-01T00:00:00Z');

interface QuorumCase {
  id: string;
  threshold: number;
  signers: Signer[];
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}
interface PolicyCase {
  id: string;
  policy: string;
}
/** A pinned policy envelope and a chain of rotations (base64 envelope bytes), walked at `now`. */
interface RotationCase {
  id: string;
  pin: string;
  chain: string[];
  now: string;
}
type Case = QuorumCase | PolicyCase | RotationCase;

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
};
const str = (b: Uint8Array) => concatBytes(u32(b.length), b);
const latin1 = (t: string) => new Uint8Array(Buffer.from(t, 'latin1'));

/** An SSHSIG blob from raw parts, for layouts sshSign cannot make (other types, short keys, cut fields). */
function rawSshsig(o: { key: Uint8Array; inner: Uint8Array; namespace?: string; version?: number }): Uint8Array {
  return concatBytes(
    utf8('SSHSIG'),
    u32(o.version ?? 1),
    str(o.key),
    str(utf8(o.namespace ?? SSHSIG_NAMESPACES.manifest)),
    str(new Uint8Array(0)),
    str(utf8('sha512')),
    str(o.inner),
  );
}

function entries(signers: Array<ReturnType<typeof newSigner>>): Signer[] {
  return createPolicy({ threshold: 1, signers, expires: EXPIRES }).signers;
}

function docOf(kind: keyof typeof PAYLOAD_TYPES | 'unknown', text: string): { payloadType: string; payload: Uint8Array } {
  const payloadType = kind === 'unknown' ? 'application/vnd.countersign.other+json' : PAYLOAD_TYPES[kind];
  return { payloadType, payload: canonicalBytes({ release: text }) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const a = kindSigner();
  const b = kindSigner();
  const doc = docOf('manifest', '10.2.4');
  const message = pae(doc.payloadType, doc.payload);
  const NS = SSHSIG_NAMESPACES.manifest;
  const add = (id: string, signers: Signer[], sigs: Array<[KindSigner, Uint8Array | string]>, d = doc, threshold = 1) =>
    out.push({
      id,
      threshold,
      signers,
      payloadType: d.payloadType,
      payload: toBase64(d.payload),
      signatures: sigs.map(([s, sig]) => ({ keyid: s.id, sig: typeof sig === 'string' ? sig : toBase64(sig) })),
    });

  // ssh-ed25519
  const ssh = entries([newSigner(a, 'ssh', SSH_ED25519)]);
  const sshSig = (o: Partial<Parameters<typeof sshSign>[3]> = {}, m = message) => sshSign(a, m, SSH_ED25519, { namespace: NS, ...o });
  add('ssh valid', ssh, [[a, sshSig()]]);
  add('ssh namespace git', ssh, [[a, sshSig({ namespace: 'git' })]]);
  add('ssh namespace of policies', ssh, [[a, sshSig({ namespace: SSHSIG_NAMESPACES.policy })]]);
  add('ssh namespace of revocations', ssh, [[a, sshSig({ namespace: SSHSIG_NAMESPACES.revocation })]]);
  add('ssh namespace quoted (latin1, cut at 100)', ssh, [[a, sshSig({ namespace: `\u00e9\u00ff"\\\n${'x'.repeat(120)}` })]]);
  add('ssh sha256', ssh, [[a, sshSig({ hashAlg: 'sha256' })]]);
  add('ssh hash quoted', ssh, [[a, sshSig({ hashAlg: `sha512\u00e9${'y'.repeat(40)}` })]]);
  add('ssh version 2', ssh, [[a, sshSig({ version: 2 })]]);
  add('ssh version 0', ssh, [[a, sshSig({ version: 0 })]]);
  add('ssh version 2^32-1', ssh, [[a, sshSig({ version: 0xffffffff })]]);
  add('ssh reserved', ssh, [[a, sshSig({ reserved: utf8('tag') })]]);
  add('ssh trailing byte', ssh, [[a, concatBytes(sshSig(), Uint8Array.of(0))]]);
  const grown = concatBytes(sshSig(), Uint8Array.of(0));
  new DataView(grown.buffer).setUint32(grown.length - 1 - 4 - (4 + 11 + 4 + 64), 4 + 11 + 4 + 64 + 1);
  add('ssh trailing byte in the inner signature', ssh, [[a, grown]]);
  add('ssh inner signature 63 bytes', ssh, [[a, sshSig({ signature: (s) => s.subarray(0, 63) })]]);
  add('ssh inner signature 65 bytes', ssh, [[a, sshSig({ signature: (s) => concatBytes(s, Uint8Array.of(1)) })]]);
  add('ssh raw 64-byte signature', ssh, [[a, signMessage(message, a.seed)]]);
  add('ssh by another key under this keyid', ssh, [[a, sshSign(b, message, SSH_ED25519, { namespace: NS })]]);
  add('ssh one bit flipped', ssh, [[a, sshSig({ signature: (s) => Uint8Array.from(s, (x, i) => (i === 5 ? x ^ 1 : x)) })]]);
  add('ssh over another document', ssh, [[a, sshSig({}, pae(doc.payloadType, utf8('{"release":"9"}')))]]);
  add('ssh truncated', ssh, [[a, sshSig().subarray(0, 40)]]);
  add('ssh 5 bytes', ssh, [[a, utf8('SSHSI')]]);
  add('ssh bad magic', ssh, [[a, concatBytes(utf8('SSHSIH'), sshSig().subarray(6))]]);
  add('ssh length prefix over the end', ssh, [[a, concatBytes(utf8('SSHSIG'), u32(1), u32(0xffffffff), new Uint8Array(8))]]);
  add('ssh rsa key type, high bytes', ssh, [[a, rawSshsig({ key: concatBytes(str(latin1('ssh-rsa\u00e9')), str(a.publicKey)), inner: new Uint8Array(0) })]]);
  add('ssh 31-byte key', ssh, [[a, rawSshsig({ key: concatBytes(str(utf8(SSH_ED25519)), str(a.publicKey.subarray(0, 31))), inner: new Uint8Array(0) })]]);
  add('ssh key blob with a trailing byte', ssh, [
    [a, rawSshsig({ key: concatBytes(str(utf8(SSH_ED25519)), str(a.publicKey), Uint8Array.of(0)), inner: new Uint8Array(0) })],
  ]);
  add('ssh signature type other than the key', ssh, [
    [
      a,
      rawSshsig({ key: concatBytes(str(utf8(SSH_ED25519)), str(a.publicKey)), inner: concatBytes(str(latin1('rsa-sha2-512\u00fe')), str(new Uint8Array(64))) }),
    ],
  ]);
  add('ssh empty inner signature', ssh, [[a, rawSshsig({ key: concatBytes(str(utf8(SSH_ED25519)), str(a.publicKey)), inner: new Uint8Array(0) })]]);
  add('ssh security key signature for an ssh entry', ssh, [[a, sshSign(a, message, SK_SSH_ED25519, { namespace: NS })]]);
  add('ssh not base64', ssh, [[a, 'AAA*']]);
  add(
    'ssh under a revocation, revocation namespace',
    ssh,
    [[a, sshSign(a, pae(PAYLOAD_TYPES.revocation, doc.payload), SSH_ED25519, { namespace: SSHSIG_NAMESPACES.revocation })]],
    {
      payloadType: PAYLOAD_TYPES.revocation,
      payload: doc.payload,
    },
  );
  add('ssh under a revocation, release namespace', ssh, [[a, sshSign(a, pae(PAYLOAD_TYPES.revocation, doc.payload), SSH_ED25519, { namespace: NS })]], {
    payloadType: PAYLOAD_TYPES.revocation,
    payload: doc.payload,
  });
  const pdoc = docOf('policy', 'p');
  add(
    'ssh under a policy, policy namespace',
    ssh,
    [[a, sshSign(a, pae(pdoc.payloadType, pdoc.payload), SSH_ED25519, { namespace: SSHSIG_NAMESPACES.policy })]],
    pdoc,
  );
  const udoc = docOf('unknown', 'u');
  add('ssh under an unknown payload type', ssh, [[a, sshSign(a, pae(udoc.payloadType, udoc.payload), SSH_ED25519, { namespace: NS })]], udoc);

  // sk-ssh-ed25519@openssh.com
  const sk = entries([newSigner(a, 'sk', SK_SSH_ED25519)]);
  const skUv = entries([newSigner(a, 'sk-uv', SK_SSH_ED25519, { userVerification: true })]);
  const skSig = (o: Partial<Parameters<typeof sshSign>[3]> = {}) => sshSign(a, message, SK_SSH_ED25519, { namespace: NS, ...o });
  add('sk flags 0x01', sk, [[a, skSig()]]);
  add('sk flags 0x05 counter 2^32-1', sk, [[a, skSig({ flags: 0x05, counter: 0xffffffff })]]);
  add('sk flags 0x00', sk, [[a, skSig({ flags: 0x00 })]]);
  add('sk flags 0x04 (verified, not present)', sk, [[a, skSig({ flags: 0x04 })]]);
  add('sk flags 0xfe', sk, [[a, skSig({ flags: 0xfe })]]);
  add('sk-uv flags 0x05', skUv, [[a, skSig({ flags: 0x05 })]]);
  add('sk-uv flags 0x01', skUv, [[a, skSig({ flags: 0x01 })]]);
  add('sk-uv flags 0x00', skUv, [[a, skSig({ flags: 0x00 })]]);
  add('sk other application', sk, [[a, skSig({ application: 'ssh:other' })]]);
  add('sk empty application', sk, [[a, skSig({ application: '' })]]);
  add('sk application with a space', sk, [[a, skSig({ application: 'ssh: x' })]]);
  add('sk application of 257 bytes', sk, [[a, skSig({ application: 's'.repeat(257) })]]);
  add('sk plain ssh signature', sk, [[a, sshSig()]]);
  add('sk namespace git', sk, [[a, skSig({ namespace: 'git' })]]);
  add('sk without its counter', sk, [[a, skSig().subarray(0, skSig().length - 4)]]);
  const skGrown = concatBytes(skSig(), Uint8Array.of(0));
  new DataView(skGrown.buffer).setUint32(skGrown.length - 1 - 4 - (4 + 26 + 4 + 64 + 5), 4 + 26 + 4 + 64 + 5 + 1);
  add('sk trailing byte after the counter', sk, [[a, skGrown]]);

  // minisign
  const mini = entries([newSigner(a, 'mini', 'minisign')]);
  add('minisign prehashed', mini, [[a, minisignSign(a, message)]]);
  add('minisign legacy', mini, [[a, minisignSign(a, message, { legacy: true })]]);
  add('minisign comment of 1024 bytes', mini, [[a, minisignSign(a, message, { trustedComment: 'c'.repeat(1024) })]]);
  add('minisign comment of 1025 bytes', mini, [[a, minisignSign(a, message, { trustedComment: 'c'.repeat(1025) })]]);
  add('minisign comment with a control byte', mini, [[a, minisignSign(a, message, { trustedComment: 'a\u0001b' })]]);
  add('minisign comment with a high byte', mini, [[a, concatBytes(minisignSign(a, message), Uint8Array.of(0xe9))]]);
  const changed = minisignSign(a, message);
  changed[changed.length - 1] ^= 1;
  add('minisign comment changed', mini, [[a, changed]]);
  add('minisign algorithm Ee', mini, [[a, minisignSign(a, message, { alg: 'Ee' })]]);
  const highAlg = minisignSign(a, message);
  highAlg[0] = 0xc5;
  add('minisign algorithm with a high byte', mini, [[a, highAlg]]);
  add('minisign another key number', mini, [[a, minisignSign(a, message, { keynum: b.keynum })]]);
  add('minisign by another key', mini, [[a, minisignSign({ ...b, keynum: a.keynum }, message)]]);
  add('minisign ED label over the bytes', mini, [[a, minisignSign(a, message, { legacy: true, alg: 'ED' })]]);
  add('minisign Ed label over the prehash', mini, [[a, minisignSign(a, message, { alg: 'Ed' })]]);
  add('minisign 137 bytes', mini, [[a, minisignSign(a, message).subarray(0, 137)]]);
  add('minisign given a signify struct', mini, [[a, signifySign(a, message)]]);
  add('minisign over a policy', mini, [[a, minisignSign(a, pae(pdoc.payloadType, pdoc.payload))]], pdoc);

  // signify
  const sfy = entries([newSigner(a, 'sfy', 'signify')]);
  add('signify valid', sfy, [[a, signifySign(a, message)]]);
  add('signify 73 bytes', sfy, [[a, signifySign(a, message).subarray(0, 73)]]);
  add('signify 75 bytes', sfy, [[a, concatBytes(signifySign(a, message), Uint8Array.of(0))]]);
  add('signify algorithm ED', sfy, [[a, concatBytes(utf8('ED'), signifySign(a, message).subarray(2))]]);
  add('signify another key number', sfy, [[a, signifySign(a, message, b.keynum)]]);
  add('signify over the prehash', sfy, [[a, minisignSign(a, message).subarray(0, 74)]]);
  add('signify given a minisign signature', sfy, [[a, minisignSign(a, message, { legacy: true })]]);

  // countersign entries in a format 2 policy, and one key under two kinds (a ring checkPolicy would refuse).
  const cs = entries([newSigner(a, 'cs', 'countersign'), newSigner(b, 'ssh-b', SSH_ED25519)]);
  add('countersign raw signature, format 2', cs, [[a, signMessage(message, a.seed)]]);
  add('countersign given an SSHSIG blob', cs, [[a, sshSig()]]);
  add('countersign 63 bytes', cs, [[a, signMessage(message, a.seed).subarray(0, 63)]]);
  add(
    'two kinds, 2 of 2',
    cs,
    [
      [a, signMessage(message, a.seed)],
      [b, sshSign(b, message, SSH_ED25519, { namespace: NS })],
    ],
    doc,
    2,
  );
  const twice = [...entries([newSigner(a, 'as countersign', 'countersign')]), ...entries([newSigner(a, 'as ssh', SSH_ED25519)])];
  add(
    'one key under two kinds counts once (ssh signature)',
    twice,
    [
      [a, sshSig()],
      [a, signMessage(message, a.seed)],
    ],
    doc,
    2,
  );
  add(
    'one key under two kinds counts once (raw signature)',
    twice,
    [
      [a, signMessage(message, a.seed)],
      [a, sshSig()],
    ],
    doc,
    1,
  );
  add('unknown key', ssh, [[b, sshSig()]]);
  add('duplicate signature', ssh, [
    [a, sshSig()],
    [a, sshSig({ counter: 1 })],
  ]);

  // Policy documents of format 2.
  const entry = (s: KindSigner, name: string, members: Record<string, unknown> = {}) => ({
    id: keyId(s.publicKey),
    publicKey: toBase64(s.publicKey),
    name,
    ...members,
  });
  const policy = (signers: unknown[], extra: Record<string, unknown> = {}) => ({
    format: 2,
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    threshold: 1,
    signers,
    ...extra,
  });
  const addPolicy = (id: string, p: unknown) => out.push({ id, policy: toBase64(canonicalBytes(p)) });
  const c = kindSigner();
  const all = policy([
    entry(a, 'A', { kind: SK_SSH_ED25519, application: 'ssh:', userVerification: true }),
    entry(b, 'B', { kind: 'minisign', keynum: '0011223344556677' }),
    entry(c, 'C', { kind: 'signify', keynum: '8899aabbccddeeff' }),
  ]);
  addPolicy('policy of every kind', all);
  addPolicy('policy format 2 without kinds', policy([entry(a, 'A'), entry(b, 'B', { kind: 'countersign' })]));
  addPolicy('DUPLICATE_KEY: countersign then ssh', policy([entry(a, 'A'), entry(a, 'B', { kind: SSH_ED25519 })]));
  addPolicy(
    'DUPLICATE_KEY: minisign then sk',
    policy([entry(a, 'A', { kind: 'minisign', keynum: '0011223344556677' }), entry(a, 'B', { kind: SK_SSH_ED25519, application: 'ssh:' })]),
  );
  addPolicy('kinds in format 1', policy([entry(a, 'A', { kind: SSH_ED25519 })], { format: 1 }));
  const noFormat = policy([entry(a, 'A', { kind: 'countersign' })]) as Record<string, unknown>;
  delete noFormat.format;
  addPolicy('kind countersign without format', noFormat);
  addPolicy('format 4', policy([entry(a, 'A', { kind: SSH_ED25519 })], { format: 4 }));
  addPolicy('format 2.5', policy([entry(a, 'A')], { format: 2.5 }));
  addPolicy('sk without application', policy([entry(a, 'A', { kind: SK_SSH_ED25519 })]));
  addPolicy('sk application with a space', policy([entry(a, 'A', { kind: SK_SSH_ED25519, application: 'ssh: x' })]));
  addPolicy('sk userVerification "yes"', policy([entry(a, 'A', { kind: SK_SSH_ED25519, application: 'ssh:', userVerification: 'yes' })]));
  addPolicy('ssh with a keynum', policy([entry(a, 'A', { kind: SSH_ED25519, keynum: '0011223344556677' })]));
  addPolicy('minisign without keynum', policy([entry(a, 'A', { kind: 'minisign' })]));
  addPolicy('minisign keynum upper case', policy([entry(a, 'A', { kind: 'minisign', keynum: '0011223344556A77' })]));
  addPolicy('signify with application', policy([entry(a, 'A', { kind: 'signify', keynum: '0011223344556677', application: 'ssh:' })]));
  addPolicy('kind gpg', policy([entry(a, 'A', { kind: 'gpg' })]));
  addPolicy('second entry broken', policy([entry(a, 'A', { kind: SSH_ED25519 }), entry(b, 'B', { kind: 'minisign', keynum: 'xx' })]));
  const weak = mixedOrderKey(a.seed);
  addPolicy('WEAK_KEY for an ssh entry', policy([{ id: keyId(weak), publicKey: toBase64(weak), name: 'W', kind: SSH_ED25519 }]));

  // Rotations that change a key's kind: the old quorum reads each signature as the old entry's kind, the new as the new.
  const now = '2026-06-01T00:00:00Z';
  const v1 = createPolicy({ threshold: 2, signers: [newSigner(a, 'alice', 'countersign'), newSigner(b, 'bob', 'countersign')], expires: EXPIRES });
  const v1Env = createEnvelope('policy', canonicalBytes(v1));
  const pin = toBase64(
    utf8(JSON.stringify({ ...v1Env, signatures: [a, b].map((k) => ({ keyid: k.id, sig: toBase64(signMessage(messageOf(v1Env), k.seed)) })) })),
  );
  const rotation = (id: string, signers: Array<ReturnType<typeof newSigner>>, sign: (m: Uint8Array) => Array<[KindSigner, Uint8Array]>) => {
    const env = createEnvelope('policy', canonicalBytes(createPolicy({ version: 2, threshold: 2, signers, expires: EXPIRES })));
    const signatures = sign(messageOf(env)).map(([k, sig]) => ({ keyid: k.id, sig: toBase64(sig) }));
    out.push({ id, pin, chain: [toBase64(utf8(JSON.stringify({ ...env, signatures })))], now });
  };
  const toSsh = [newSigner(a, 'alice', SSH_ED25519), newSigner(b, 'bob', 'countersign')];
  const raw = (k: KindSigner, m: Uint8Array): [KindSigner, Uint8Array] => [k, signMessage(m, k.seed)];
  const sshOf = (k: KindSigner, m: Uint8Array): [KindSigner, Uint8Array] => [k, sshSign(k, m, SSH_ED25519, { namespace: SSHSIG_NAMESPACES.policy })];
  rotation('rotation countersign -> ssh, both signatures kept', toSsh, (m) => [raw(a, m), sshOf(a, m), raw(b, m)]);
  rotation('rotation countersign -> ssh, raw signature only', toSsh, (m) => [raw(a, m), raw(b, m)]);
  rotation('rotation countersign -> ssh, ssh signature only', toSsh, (m) => [sshOf(a, m), raw(b, m)]);
  rotation('rotation countersign -> ssh, ssh signature in the release namespace', toSsh, (m) => [
    raw(a, m),
    [a, sshSign(a, m, SSH_ED25519, { namespace: NS })],
    raw(b, m),
  ]);
  return out;
}

const messageOf = (env: { payloadType: string; payload: string }) => pae(env.payloadType, fromBase64(env.payload));

function tsOutcome(c: Case): unknown {
  if ('pin' in c) {
    try {
      const trusted = walkPolicyChain(
        loadTrustedPolicy(fromBase64(c.pin)),
        c.chain.map((x) => fromBase64(x)),
        new Date(c.now),
      );
      return { ok: true, version: trusted.policy.version };
    } catch (err) {
      if (err instanceof CountersignError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  }
  if ('policy' in c) {
    try {
      policyFromPayload(fromBase64(c.policy));
      return { ok: true };
    } catch (err) {
      if (err instanceof CountersignError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  }
  const q = countQuorum({ envelope: { payloadType: c.payloadType }, payloadBytes: fromBase64(c.payload) }, c.signatures, {
    threshold: c.threshold,
    keys: c.signers.map((signer) => ({ signer, publicKey: fromBase64(signer.publicKey) })),
  });
  return {
    met: q.met,
    signedBy: q.signedBy.map((s) => s.name),
    signedWith: q.signedWith,
    problems: q.problems.map(({ code, message }) => ({ code, message })),
  };
}

describe('PHP signer kinds (php/src/SignerKinds/) = lib/core, code and message, rule by rule', function () {
  this.timeout(120_000);
  const all = cases();
  let phpOut: unknown[] = [];

  before(function () {
    if (!php) {
      console.log('    (skipped: php is not installed; apt-get install php-cli, or .ci/run)');
      this.skip();
    }
    const r = spawnSync('php', [join(ROOT, 'php/tests/kinds-parity.php')], { input: JSON.stringify(all), encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).to.equal(0);
    phpOut = JSON.parse(r.stdout) as unknown[];
    expect(phpOut).to.have.length(all.length);
  });

  it('the cases cover every signer-kind code and every kind', () => {
    const codes = new Set(all.map(tsOutcome).flatMap((o) => ((o as { problems?: Array<{ code: string }> }).problems ?? []).map((p) => p.code)));
    for (const code of [
      'SIGNATURE_MALFORMED',
      'SIGNATURE_VERSION',
      'RESERVED_NOT_EMPTY',
      'WRONG_NAMESPACE',
      'WRONG_HASH_ALG',
      'TRAILING_BYTES',
      'BAD_SIGNATURE_LENGTH',
      'WRONG_SIGNATURE_ALG',
      'WRONG_SIGNER_KEY',
      'WRONG_APPLICATION',
      'USER_NOT_PRESENT',
      'USER_NOT_VERIFIED',
      'BAD_SIGNATURE',
      'UNKNOWN_KEY',
      'DUPLICATE_SIGNATURE',
    ]) {
      expect(codes.has(code), code).to.equal(true);
    }
  });

  for (const [i, c] of all.entries()) {
    it(c.id, () => {
      expect(phpOut[i], `PHP and TypeScript disagree on "${c.id}"`).to.deep.equal(tsOutcome(c));
    });
  }
});
