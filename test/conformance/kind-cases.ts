// Conformance cases for signer kinds (policy format 2): release A signed under a pinned policy whose signers are an
// OpenSSH key, two FIDO2 security keys (one requiring user verification), a minisign and a signify key, and alice's
// countersign key, threshold 1: each case is one signature, counted or refused with the code in `problems`.
// The SSHSIG, security-key, minisign and signify signatures are built from their published layouts (KEYS.md).
import { createHash } from 'node:crypto';
import { concatBytes, utf8 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { keyId, publicKeyFromSeed, signMessage } from '../../lib/core/ed25519.js';
import { createEnvelope, type Envelope } from '../../lib/core/envelope.js';
import { createPolicy, type Policy } from '../../lib/core/policy.js';
import { SSHSIG_NAMESPACES } from '../../lib/core/signer-kinds.js';
import { SK_SSH_ED25519, SSH_ED25519 } from '../../lib/core/sshsig.js';
import { envelopeBytes, type FixtureSigner } from '../attacks/generate.js';
import { asSignature, messageOf, minisignSign, newSigner, signifySign, sshSign, type KindSigner } from '../support/signer-kinds.js';

type Add = (
  id: string,
  description: string,
  what: { bundle: Uint8Array } | { envelope: Uint8Array },
  expect: 'ok' | string[],
  opts: Record<string, unknown>,
) => void;

function kindSigner(label: string): KindSigner {
  const seed = new Uint8Array(createHash('sha256').update(`countersign conformance ${label}`).digest());
  const publicKey = publicKeyFromSeed(seed);
  return { seed, publicKey, id: keyId(publicKey), keynum: Uint8Array.from(createHash('sha256').update(publicKey).digest().subarray(0, 8)) };
}

export function kindCases(opts: {
  add: Add;
  doc: (name: string, bytes: Uint8Array) => string;
  alice: FixtureSigner;
  release: { unsigned: Envelope; archive: Uint8Array };
  bundleBytes: (envelope: Envelope, archive: Uint8Array) => Uint8Array;
  site: Record<string, string>;
}): void {
  const { add, doc, alice, release } = opts;
  const ssh = kindSigner('ssh-ed25519');
  const sk = kindSigner('sk-ssh-ed25519');
  const skUv = kindSigner('sk-ssh-ed25519 user verification');
  const mini = kindSigner('minisign');
  const sfy = kindSigner('signify');
  const policy = createPolicy({
    threshold: 1,
    expires: new Date('2027-03-01T00:00:00Z'),
    signers: [
      newSigner(ssh, 'Sam (ssh-ed25519, TEST ONLY)', SSH_ED25519),
      newSigner(sk, 'Sue (security key, TEST ONLY)', SK_SSH_ED25519),
      newSigner(skUv, 'Uma (security key with PIN, TEST ONLY)', SK_SSH_ED25519, { userVerification: true }),
      newSigner(mini, 'Max (minisign, TEST ONLY)', 'minisign'),
      newSigner(sfy, 'Sid (signify, TEST ONLY)', 'signify'),
      { publicKey: alice.publicKey, name: alice.name, kind: 'countersign' },
    ],
  });
  // Self-signed by Sam's SSH key: the policy's own SSHSIG, in the policy namespace.
  const pinOf = (p: Policy, name: string) => {
    const unsigned = createEnvelope('policy', canonicalBytes(p));
    const sig = sshSign(ssh, messageOf(unsigned), SSH_ED25519, { namespace: SSHSIG_NAMESPACES.policy });
    return doc(name, envelopeBytes({ ...unsigned, signatures: [asSignature(ssh, sig)] }));
  };
  const trusted = { pin: pinOf(policy, 'policy-kinds.json'), rotations: [] as string[] };
  const message = messageOf(release.unsigned);
  const NS = SSHSIG_NAMESPACES.manifest;
  const one = (s: KindSigner, sig: Uint8Array) => ({ bundle: opts.bundleBytes({ ...release.unsigned, signatures: [asSignature(s, sig)] }, release.archive) });
  const ok = (id: string, description: string, s: KindSigner, sig: Uint8Array) =>
    add(`kinds-${id}`, description, one(s, sig), 'ok', { trusted, site: opts.site, problems: [] });
  const refused = (id: string, description: string, s: KindSigner, sig: Uint8Array, code: string) =>
    add(`kinds-${id}`, description, one(s, sig), ['QUORUM_NOT_MET'], { trusted, site: opts.site, problems: [code] });
  const sshSig = (o: Partial<Parameters<typeof sshSign>[3]> = {}) => sshSign(ssh, message, SSH_ED25519, { namespace: NS, ...o });
  const skSig = (s: KindSigner, o: Partial<Parameters<typeof sshSign>[3]> = {}) => sshSign(s, message, SK_SSH_ED25519, { namespace: NS, ...o });

  ok('ssh', 'release A signed by an ssh-ed25519 entry: SSHSIG v1, namespace countersign-release@v1, sha512', ssh, sshSig());
  ok('sk', 'a security key (sk-ssh-ed25519@openssh.com), flags 0x01 (user present), counter 7', sk, skSig(sk));
  ok('sk-uv', 'a security key whose entry requires user verification, flags 0x05', skUv, skSig(skUv, { flags: 0x05 }));
  ok('minisign', 'minisign, prehashed (ED: Ed25519 over BLAKE2b-512 of the PAE), global signature over the trusted comment', mini, minisignSign(mini, message));
  ok('minisign-legacy', 'minisign legacy (Ed: Ed25519 over the PAE itself)', mini, minisignSign(mini, message, { legacy: true }));
  ok('signify', 'signify: "Ed" | keynum | Ed25519 over the PAE', sfy, signifySign(sfy, message));
  ok(
    'countersign',
    "alice's countersign key in the same format 2 policy: a raw Ed25519 signature as in format 1",
    alice as unknown as KindSigner,
    signMessage(message, alice.seed),
  );

  refused(
    'sk-no-touch',
    'a security key signature with flags 0x00 (no user presence; ssh-keygen -Y verify accepts it)',
    sk,
    skSig(sk, { flags: 0x00 }),
    'USER_NOT_PRESENT',
  );
  refused('sk-uv-missing', 'user verification required by the entry, flags 0x01', skUv, skSig(skUv, { flags: 0x01 }), 'USER_NOT_VERIFIED');
  refused(
    'sk-other-application',
    'a security key signature under another application string (ssh:other)',
    sk,
    skSig(sk, { application: 'ssh:other' }),
    'WRONG_APPLICATION',
  );
  refused(
    'sk-plain-ssh',
    "a plain ssh-ed25519 signature by the security key entry's key (no touch at all)",
    sk,
    sshSign(sk, message, SSH_ED25519, { namespace: NS }),
    'WRONG_SIGNATURE_ALG',
  );
  refused('ssh-namespace-git', 'an SSH signature in the namespace git', ssh, sshSig({ namespace: 'git' }), 'WRONG_NAMESPACE');
  refused(
    'ssh-namespace-policy',
    'an SSH signature over the manifest in the policy namespace',
    ssh,
    sshSig({ namespace: SSHSIG_NAMESPACES.policy }),
    'WRONG_NAMESPACE',
  );
  refused('ssh-sha256', 'an SSH signature hashed with sha256 (OpenSSH accepts it; the kind pins sha512)', ssh, sshSig({ hashAlg: 'sha256' }), 'WRONG_HASH_ALG');
  refused('ssh-version-2', 'SSHSIG version 2', ssh, sshSig({ version: 2 }), 'SIGNATURE_VERSION');
  refused('ssh-reserved', 'a non-empty reserved field (signed over)', ssh, sshSig({ reserved: utf8('x') }), 'RESERVED_NOT_EMPTY');
  refused('ssh-trailing', 'one byte after the SSHSIG blob', ssh, concatBytes(sshSig(), Uint8Array.of(0)), 'TRAILING_BYTES');
  refused('ssh-sig-63', 'an inner Ed25519 signature of 63 bytes', ssh, sshSig({ signature: (x) => x.subarray(0, 63) }), 'BAD_SIGNATURE_LENGTH');
  refused('ssh-raw', 'a raw Ed25519 signature (the countersign form) for an ssh-ed25519 entry', ssh, signMessage(message, ssh.seed), 'SIGNATURE_MALFORMED');
  refused(
    'minisign-comment',
    'minisign with its trusted comment changed after signing (the global signature fails)',
    mini,
    concatBytes(minisignSign(mini, message).subarray(0, 138), utf8('timestamp:1764000000\tfile:other.bin')),
    'BAD_SIGNATURE',
  );
  refused('minisign-keynum', 'minisign with another key number', mini, minisignSign(mini, message, { keynum: new Uint8Array(8) }), 'WRONG_SIGNER_KEY');
  refused('signify-keynum', 'signify with another key number', sfy, signifySign(sfy, message, new Uint8Array(8)), 'WRONG_SIGNER_KEY');

  // The pin itself: kinds need format 2.
  add('kinds-pin-format-1', 'a pinned policy with signer kinds but format 1', one(ssh, sshSig()), ['SCHEMA_INVALID'], {
    trusted: { pin: pinOf({ ...policy, format: 1 }, 'policy-kinds-format-1.json'), rotations: [] },
    site: opts.site,
  });
  add('kinds-pin-format-4', 'a pinned policy of format 4', one(ssh, sshSig()), ['FORMAT_UNSUPPORTED'], {
    trusted: { pin: pinOf({ ...policy, format: 4 } as never, 'policy-kinds-format-4.json'), rotations: [] },
    site: opts.site,
  });
}
