<?php

declare(strict_types=1);

namespace Countersign\SignerKinds;

use Countersign\Ed25519;
use Countersign\SignatureException;

/**
 * Signer kinds (policy format 2; lib/core/signer-kinds.ts): every kind is one raw Ed25519 key, and the trusted
 * policy entry says which tool's signature format its signatures are in. A signature is read only as its entry's
 * kind, never as the signature or a partial claims.
 */
final class SignerKind
{
    public const KINDS = ['countersign', SshSig::SSH_ED25519, SshSig::SK_SSH_ED25519, 'minisign', 'signify'];

    /** The SSHSIG namespace of each document type: an SSH signature for git, a file or another type never verifies. */
    public const SSHSIG_NAMESPACES = [
        'policy' => 'countersign-policy@v1',
        'manifest' => 'countersign-release@v1',
        'revocation' => 'countersign-revocation@v1',
    ];

    /** @param array<string,mixed> $signer */
    public static function of(array $signer): string
    {
        return $signer['kind'] ?? 'countersign';
    }

    /**
     * Verifies one signature by $signer (a trusted policy entry, its key admitted) over $message, the DSSE PAE of a
     * document of type $doc. Throws SignatureException naming the first rule broken; returns what the signature said
     * beyond "valid" (signedWith: the kind; a security key's flags and counter; a minisign trusted comment).
     * @param array<string,mixed> $signer
     * @return array<string,mixed>
     */
    public static function verify(array $signer, string $publicKey, string $sig, string $doc, string $message): array
    {
        $kind = self::of($signer);
        switch ($kind) {
            case 'countersign':
                if (!Ed25519::verifyStrict($sig, $message, $publicKey)) {
                    throw new SignatureException('BAD_SIGNATURE', 'the signature does not verify over this document');
                }
                return ['kind' => $kind];
            case SshSig::SSH_ED25519:
            case SshSig::SK_SSH_ED25519:
                $sk = $kind === SshSig::SK_SSH_ED25519;
                $s = SshSig::verify($sig, $message, [
                    'type' => $kind,
                    'publicKey' => $publicKey,
                    'application' => $sk ? $signer['application'] : null,
                    'userVerification' => $sk && ($signer['userVerification'] ?? false) === true,
                ], self::SSHSIG_NAMESPACES[$doc]);
                return $sk ? ['kind' => $kind, 'flags' => $s['flags'], 'counter' => $s['counter']] : ['kind' => $kind];
            case 'minisign':
                $s = Minisign::verifyMinisign($sig, $message, (string) hex2bin($signer['keynum']), $publicKey);
                return ['kind' => $kind, 'trustedComment' => $s['trustedComment'], 'prehashed' => $s['alg'] === 'ED'];
            case 'signify':
                Minisign::verifySignify($sig, $message, (string) hex2bin($signer['keynum']), $publicKey);
                return ['kind' => $kind];
        }
        throw new SignatureException('BAD_SIGNATURE', 'signer kind ' . $kind . ' is not known');
    }

    /** What a verified signature said, in words ('' when nothing beyond the kind): verify's human output. @param array<string,mixed> $info */
    public static function describe(array $info): string
    {
        if (isset($info['counter'])) {
            $flags = (int) $info['flags'];
            return 'security key counter ' . $info['counter'] . ', flags 0x' . sprintf('%02x', $flags) . ' (user present' . (($flags & SshSig::USER_VERIFIED) !== 0 ? ', user verified' : '') . ')';
        }
        if (isset($info['trustedComment'])) {
            return 'minisign ' . ($info['prehashed'] ? 'prehashed (ED)' : 'legacy (Ed)') . ', trusted comment ' . \Countersign\Json::quote($info['trustedComment']);
        }
        return '';
    }
}
