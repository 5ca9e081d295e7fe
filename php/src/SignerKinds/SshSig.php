<?php

declare(strict_types=1);

namespace Countersign\SignerKinds;

use Countersign\Ed25519;
use Countersign\Json;
use Countersign\SignatureException;

/**
 * SSHSIG signatures of OpenSSH Ed25519 keys and FIDO2 security keys (lib/core/sshsig.ts; PROTOCOL.sshsig,
 * PROTOCOL.u2f), read more strictly than OpenSSH: version 1, reserved empty, our namespace, sha512, no trailing
 * bytes, a 64-byte inner signature, strict Ed25519; for security keys user presence (which `ssh-keygen -Y verify`
 * never checks), the pinned application and, per key, user verification. Same checks, order, codes and messages.
 */
final class SshSig
{
    public const SSH_ED25519 = 'ssh-ed25519';
    public const SK_SSH_ED25519 = 'sk-ssh-ed25519@openssh.com';
    public const USER_PRESENT = 0x01;
    public const USER_VERIFIED = 0x04;
    public const HASH = 'sha512';
    private const MAGIC = 'SSHSIG';
    private const MAX_APPLICATION = 256;

    /**
     * An SSHSIG blob, checked for framing only (magic, version, lengths, types, no trailing bytes).
     * @return array{version:int|float,type:string,publicKey:string,application:?string,namespace:string,reserved:string,hashAlg:string,signature:string,flags:?int,counter:int|float|null,counterBytes:string}
     */
    public static function parse(string $blob): array
    {
        $r = new WireReader($blob, 'the SSH signature');
        if ($r->raw(strlen(self::MAGIC)) !== self::MAGIC) {
            throw new SignatureException('SIGNATURE_MALFORMED', 'the SSH signature does not start with SSHSIG');
        }
        $version = $r->u32();
        // Refused before the rest is read: another version may lay the fields out differently.
        if ($version !== 1) {
            throw new SignatureException('SIGNATURE_VERSION', 'SSHSIG version ' . sprintf('%.0f', $version) . '; only version 1 is read');
        }
        $key = self::readKeyBlob($r->string(), 'the key in the SSH signature');
        $namespace = $r->string();
        $reserved = $r->string();
        $hashAlg = $r->string();
        $sigBlob = $r->string();
        $r->end();
        $s = new WireReader($sigBlob, 'the inner SSH signature');
        $sigType = $s->string();
        if ($sigType !== $key['type']) {
            throw new SignatureException('WRONG_SIGNATURE_ALG', 'a ' . $key['type'] . ' key with a ' . self::quoteLatin1(substr($sigType, 0, 64)) . ' signature');
        }
        $signature = $s->string();
        if (strlen($signature) !== 64) {
            throw new SignatureException('BAD_SIGNATURE_LENGTH', 'the inner Ed25519 signature is ' . strlen($signature) . ' bytes, not 64');
        }
        $flags = null;
        $counter = null;
        $counterBytes = '';
        if ($key['type'] === self::SK_SSH_ED25519) {
            $flags = $s->u8();
            $counterBytes = $s->raw(4);
            $counter = (new WireReader($counterBytes, 'the counter'))->u32();
        }
        $s->end();
        return $key + ['version' => $version, 'namespace' => $namespace, 'reserved' => $reserved, 'hashAlg' => $hashAlg, 'signature' => $signature, 'flags' => $flags, 'counter' => $counter, 'counterBytes' => $counterBytes];
    }

    /** @return array{type:string,publicKey:string,application:?string} */
    private static function readKeyBlob(string $blob, string $what): array
    {
        $r = new WireReader($blob, $what);
        $type = $r->string();
        if ($type !== self::SSH_ED25519 && $type !== self::SK_SSH_ED25519) {
            throw new SignatureException('WRONG_SIGNATURE_ALG', $what . ' is a ' . self::quoteLatin1(substr($type, 0, 64)) . ' key, not Ed25519');
        }
        $publicKey = $r->string();
        if (strlen($publicKey) !== 32) {
            throw new SignatureException('SIGNATURE_MALFORMED', $what . ' holds a ' . strlen($publicKey) . '-byte Ed25519 key');
        }
        $application = null;
        if ($type === self::SK_SSH_ED25519) {
            $application = $r->string();
            if ($application === '' || strlen($application) > self::MAX_APPLICATION || strspn($application, self::printable()) !== strlen($application)) {
                throw new SignatureException('SIGNATURE_MALFORMED', $what . ' has an application string that is empty, too long or not printable ASCII');
            }
        }
        $r->end();
        return ['type' => $type, 'publicKey' => $publicKey, 'application' => $application];
    }

    /**
     * Verifies an SSHSIG blob over $message for exactly the expected key (type, raw key, application for sk), in
     * $namespace; throws SignatureException with the first rule broken. Returns the parsed blob.
     * @param array{type:string,publicKey:string,application?:?string,userVerification?:bool} $expected
     * @return array<string,mixed>
     */
    public static function verify(string $blob, string $message, array $expected, string $namespace): array
    {
        $sig = self::parse($blob);
        if ($sig['type'] !== $expected['type']) {
            throw new SignatureException('WRONG_SIGNATURE_ALG', 'a ' . $sig['type'] . ' signature for a ' . $expected['type'] . ' signer');
        }
        if (!hash_equals($expected['publicKey'], $sig['publicKey'])) {
            throw new SignatureException('WRONG_SIGNER_KEY', 'the SSH signature names another key');
        }
        $sk = $sig['type'] === self::SK_SSH_ED25519;
        if ($sk && $sig['application'] !== ($expected['application'] ?? null)) {
            throw new SignatureException('WRONG_APPLICATION', "the security key's application is " . Json::quote((string) $sig['application']) . ', not ' . Json::quote((string) ($expected['application'] ?? '')));
        }
        if ($sig['namespace'] !== $namespace) {
            throw new SignatureException('WRONG_NAMESPACE', 'the SSH signature is for namespace ' . self::quoteLatin1(substr($sig['namespace'], 0, 100)) . ', not ' . $namespace);
        }
        if ($sig['reserved'] !== '') {
            throw new SignatureException('RESERVED_NOT_EMPTY', 'the SSH signature has a non-empty reserved field');
        }
        if ($sig['hashAlg'] !== self::HASH) {
            throw new SignatureException('WRONG_HASH_ALG', 'the SSH signature hashes with ' . self::quoteLatin1(substr($sig['hashAlg'], 0, 32)) . ', not ' . self::HASH);
        }
        // Built from the blob's own fields: each rule above is then the only thing refusing what it refuses.
        $signed = self::MAGIC . self::sshString($sig['namespace']) . self::sshString($sig['reserved']) . self::sshString($sig['hashAlg']) . self::sshString(hash('sha512', $message, true));
        if ($sk) {
            $flags = (int) $sig['flags'];
            if (($flags & self::USER_PRESENT) === 0) {
                throw new SignatureException('USER_NOT_PRESENT', 'the security key signed without a touch (flags 0x' . sprintf('%02x', $flags) . ')');
            }
            if (($expected['userVerification'] ?? false) === true && ($flags & self::USER_VERIFIED) === 0) {
                throw new SignatureException('USER_NOT_VERIFIED', 'the policy requires user verification (PIN or biometric) and the flags 0x' . sprintf('%02x', $flags) . ' lack it');
            }
            // PROTOCOL.u2f: SHA256(application) | flags | u32 counter | SHA256(data), 69 bytes.
            $signed = hash('sha256', (string) $sig['application'], true) . chr($flags) . $sig['counterBytes'] . hash('sha256', $signed, true);
        }
        if (!Ed25519::verifyStrict($sig['signature'], $signed, $sig['publicKey'])) {
            throw new SignatureException('BAD_SIGNATURE', 'the SSH signature does not verify over this document');
        }
        return $sig;
    }

    private static function sshString(string $bytes): string
    {
        return pack('N', strlen($bytes)) . $bytes;
    }

    /** 0x21-0x7e: an application string's characters. */
    private static function printable(): string
    {
        static $set = null;
        if ($set === null) {
            $set = '';
            for ($i = 0x21; $i <= 0x7e; $i++) {
                $set .= chr($i);
            }
        }
        return $set;
    }

    /** JSON.stringify of bytes read as latin1 (each byte one character), as the TypeScript messages quote them. */
    public static function quoteLatin1(string $bytes): string
    {
        $text = '';
        $n = strlen($bytes);
        for ($i = 0; $i < $n; $i++) {
            $b = ord($bytes[$i]);
            $text .= $b < 0x80 ? $bytes[$i] : chr(0xc0 | ($b >> 6)) . chr(0x80 | ($b & 0x3f));
        }
        return Json::quote($text);
    }
}
