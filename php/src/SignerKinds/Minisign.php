<?php

declare(strict_types=1);

namespace Countersign\SignerKinds;

use Countersign\Ed25519;
use Countersign\HostException;
use Countersign\SignatureException;

/**
 * minisign and signify signatures (lib/core/minisign.ts; minisign's src/minisign.h, signify uses the same structs).
 * A partial carries struct[74] = alg[2] | keynum[8] | sig[64], then for minisign global_sig[64] | trusted comment.
 * minisign "ED" signs BLAKE2b-512(message), "Ed" (legacy, and signify) the message; the global signature over
 * sig | comment is verified too, so the comment shown is signed. Same checks, order, codes and messages.
 */
final class Minisign
{
    private const STRUCT_BYTES = 74;
    /** Stricter than minisign's 8 KiB: a partial stays small, and minisign's default comment is under 100 bytes. */
    public const MAX_TRUSTED_COMMENT = 1024;

    /** minisign's key id as it prints it: the keynum read as a little-endian u64, upper-case hex. */
    public static function keyId(string $keynum): string
    {
        return strtoupper(bin2hex(strrev($keynum)));
    }

    /** @return array{alg:string,keynum:string,signature:string,globalSignature:string,trustedComment:string} */
    public static function decode(string $bytes): array
    {
        if (strlen($bytes) < self::STRUCT_BYTES + 64) {
            throw new SignatureException('SIGNATURE_MALFORMED', 'a minisign signature is at least ' . (self::STRUCT_BYTES + 64) . ' bytes');
        }
        $alg = substr($bytes, 0, 2);
        if ($alg !== 'ED' && $alg !== 'Ed') {
            throw new SignatureException('WRONG_SIGNATURE_ALG', 'minisign algorithm ' . SshSig::quoteLatin1($alg) . ': only "ED" and "Ed" are read');
        }
        $comment = (string) substr($bytes, self::STRUCT_BYTES + 64);
        // minisign's is_printable(): tab and 0x20-0x7e; nothing a terminal would interpret.
        if (strlen($comment) > self::MAX_TRUSTED_COMMENT || strspn($comment, self::printable()) !== strlen($comment)) {
            throw new SignatureException('SIGNATURE_MALFORMED', 'the trusted comment must be printable ASCII of at most ' . self::MAX_TRUSTED_COMMENT . ' bytes');
        }
        return [
            'alg' => $alg,
            'keynum' => substr($bytes, 2, 8),
            'signature' => substr($bytes, 10, 64),
            'globalSignature' => substr($bytes, self::STRUCT_BYTES, 64),
            'trustedComment' => $comment,
        ];
    }

    /** @return array{alg:string,keynum:string,signature:string,globalSignature:string,trustedComment:string} */
    public static function verifyMinisign(string $bytes, string $message, string $keynum, string $publicKey): array
    {
        $s = self::decode($bytes);
        self::checkKeynum($s['keynum'], $keynum);
        $signed = $s['alg'] === 'ED' ? self::blake2b512($message) : $message;
        if (!Ed25519::verifyStrict($s['signature'], $signed, $publicKey)) {
            throw new SignatureException('BAD_SIGNATURE', 'the minisign signature does not verify over this document');
        }
        if (!Ed25519::verifyStrict($s['globalSignature'], $s['signature'] . $s['trustedComment'], $publicKey)) {
            throw new SignatureException('BAD_SIGNATURE', 'the global signature over the trusted comment does not verify');
        }
        return $s;
    }

    public static function verifySignify(string $bytes, string $message, string $keynum, string $publicKey): void
    {
        if (strlen($bytes) !== self::STRUCT_BYTES) {
            throw new SignatureException('SIGNATURE_MALFORMED', 'a signify signature is ' . self::STRUCT_BYTES . ' bytes, not ' . strlen($bytes));
        }
        if (substr($bytes, 0, 2) !== 'Ed') {
            throw new SignatureException('WRONG_SIGNATURE_ALG', 'a signify signature has algorithm "Ed"');
        }
        self::checkKeynum(substr($bytes, 2, 8), $keynum);
        if (!Ed25519::verifyStrict(substr($bytes, 10), $message, $publicKey)) {
            throw new SignatureException('BAD_SIGNATURE', 'the signify signature does not verify over this document');
        }
    }

    private static function checkKeynum(string $found, string $keynum): void
    {
        if (!hash_equals($keynum, $found)) {
            throw new SignatureException('WRONG_SIGNER_KEY', 'the signature is by key id ' . self::keyId($found) . ', not ' . self::keyId($keynum));
        }
    }

    /** BLAKE2b-512 from the backend that verifies Ed25519 (both libsodium and sodium_compat have it); none: fail closed. */
    private static function blake2b512(string $message): string
    {
        $backend = Ed25519::requireBackend();
        if ($backend === Ed25519::BACKEND_SODIUM && function_exists('sodium_crypto_generichash')) {
            return sodium_crypto_generichash($message, '', 64);
        }
        if (class_exists('ParagonIE_Sodium_Compat') && method_exists('ParagonIE_Sodium_Compat', 'crypto_generichash')) {
            return \ParagonIE_Sodium_Compat::crypto_generichash($message, '', 64);
        }
        throw new HostException('ED25519_UNAVAILABLE', 'no BLAKE2b-512 in this PHP (neither ext-sodium nor sodium_compat): a minisign signature cannot be verified, so nothing is accepted');
    }

    /** Tab and 0x20-0x7e. */
    private static function printable(): string
    {
        static $set = null;
        if ($set === null) {
            $set = "\t";
            for ($i = 0x20; $i <= 0x7e; $i++) {
                $set .= chr($i);
            }
        }
        return $set;
    }
}
