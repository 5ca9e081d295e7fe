<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Strict Ed25519 with libsodium's verdicts (lib/core/ed25519.ts verifyStrict), on whichever implementation the host
 * has: ext-sodium, else sodium_compat (ParagonIE_Sodium_Compat, which WordPress ships). Either one is called only
 * after our own four checks (S < L; R not on the small-order list; A canonical; A not on the list) and inside
 * try/catch, since sodium_compat throws where ext-sodium returns false, and without the checks it accepts forgeries
 * under small-order keys. No implementation at all: HostException ED25519_UNAVAILABLE, never a soft pass.
 *
 * Key admission (isStrongPublicKey) is stricter: canonical, on the curve, not of small order, in the prime-order
 * subgroup ([L]A = O). After our canonical and small-order checks, ext-sodium's crypto_sign_ed25519_pk_to_curve25519
 * refuses exactly the keys outside the main subgroup (checked once per process on a known mixed-order key); without
 * it Curve25519 computes [L]A in PHP.
 */
final class Ed25519
{
    public const BACKEND_SODIUM = 'ext-sodium';
    public const BACKEND_COMPAT = 'sodium_compat';

    /** L, little-endian. */
    private const L_LE = "\xed\xd3\xf5\x5c\x1a\x63\x12\x58\xd6\x9c\xf7\xa2\xde\xf9\xde\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10";

    private const SMALL_ORDER = [
        '0000000000000000000000000000000000000000000000000000000000000000',
        '0100000000000000000000000000000000000000000000000000000000000000',
        '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
        'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
        'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
        'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
        'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];

    /** @var string|null|false forced backend (test seam and COUNTERSIGN_ED25519); false: detect */
    private static $forced = false;
    /** @var array<string,bool> */
    private static $admitted = [];

    /**
     * Forces a backend: 'ext-sodium', 'sodium_compat', or null for "none available" (the fail-closed path);
     * false restores detection. For tests and for hosts that want to pin one.
     * @param string|null|false $backend
     */
    public static function useBackend($backend): void
    {
        self::$forced = $backend;
        self::$admitted = [];
    }

    /** The backend that verifies signatures here, or null when there is none. */
    public static function backend(): ?string
    {
        if (self::$forced !== false) {
            return self::$forced;
        }
        $env = getenv('COUNTERSIGN_ED25519');
        if ($env === 'none') {
            return null;
        }
        if ($env === self::BACKEND_COMPAT) {
            return class_exists('ParagonIE_Sodium_Compat') ? self::BACKEND_COMPAT : null;
        }
        if (extension_loaded('sodium') && function_exists('sodium_crypto_sign_verify_detached')) {
            return self::BACKEND_SODIUM;
        }
        if (class_exists('ParagonIE_Sodium_Compat')) {
            return self::BACKEND_COMPAT;
        }
        return null;
    }

    /** The backend, or HostException ED25519_UNAVAILABLE. */
    public static function requireBackend(): string
    {
        $b = self::backend();
        if ($b === null) {
            throw new HostException('ED25519_UNAVAILABLE', 'no Ed25519 implementation in this PHP (neither ext-sodium nor sodium_compat): nothing can be verified, so nothing is accepted');
        }
        return $b;
    }

    public static function keyId(string $publicKey): string
    {
        return hash('sha256', $publicKey);
    }

    private static function hasSmallOrderEncoding(string $point): bool
    {
        $masked = substr($point, 0, 31) . chr(ord($point[31]) & 0x7f);
        foreach (self::SMALL_ORDER as $hex) {
            if (hash_equals((string) hex2bin($hex), $masked)) {
                return true;
            }
        }
        return false;
    }

    /** S < L, comparing little-endian bytes from the top. */
    private static function scalarBelowL(string $s): bool
    {
        for ($i = 31; $i >= 0; $i--) {
            $a = ord($s[$i]);
            $b = ord(self::L_LE[$i]);
            if ($a !== $b) {
                return $a < $b;
            }
        }
        return false;
    }

    private static function canonicalY(string $key): bool
    {
        if ((ord($key[31]) & 0x7f) !== 0x7f || ord($key[0]) < 0xed) {
            return true;
        }
        return substr($key, 1, 30) !== str_repeat("\xff", 30);
    }

    /** libsodium's crypto_sign_verify_detached verdict; never throws (except ED25519_UNAVAILABLE). */
    public static function verifyStrict(string $signature, string $message, string $publicKey): bool
    {
        $backend = self::requireBackend();
        if (strlen($signature) !== 64 || strlen($publicKey) !== 32) {
            return false;
        }
        if (!self::scalarBelowL(substr($signature, 32))) {
            return false;
        }
        if (self::hasSmallOrderEncoding(substr($signature, 0, 32))) {
            return false;
        }
        if (!self::canonicalY($publicKey) || self::hasSmallOrderEncoding($publicKey)) {
            return false;
        }
        try {
            if ($backend === self::BACKEND_SODIUM) {
                return sodium_crypto_sign_verify_detached($signature, $message, $publicKey);
            }
            return \ParagonIE_Sodium_Compat::crypto_sign_verify_detached($signature, $message, $publicKey) === true;
        } catch (\Throwable $e) {
            return false;
        }
    }

    /** Key admission (WEAK_KEY otherwise): see the top of this file. */
    public static function isStrongPublicKey(string $publicKey): bool
    {
        if (strlen($publicKey) !== 32) {
            return false;
        }
        if (isset(self::$admitted[$publicKey])) {
            return self::$admitted[$publicKey];
        }
        $ok = self::canonicalY($publicKey) && !self::hasSmallOrderEncoding($publicKey) && self::inSubgroup($publicKey);
        if (count(self::$admitted) >= 256) {
            self::$admitted = [];
        }
        self::$admitted[$publicKey] = $ok;
        return $ok;
    }

    /** Which implementation decides key admission here: 'ext-sodium' or 'php' (src/Curve25519.php). */
    public static function admissionBackend(): string
    {
        return self::$forced !== self::BACKEND_COMPAT && self::$forced !== null && self::sodiumChecksSubgroup() ? 'ext-sodium' : 'php';
    }

    private static function inSubgroup(string $publicKey): bool
    {
        if (self::admissionBackend() === 'ext-sodium') {
            try {
                // libsodium refuses (SodiumException) a key of small order or outside the main subgroup.
                sodium_crypto_sign_ed25519_pk_to_curve25519($publicKey);
                return true;
            } catch (\Throwable $e) {
                return false;
            }
        }
        return Curve25519::inPrimeOrderSubgroup($publicKey);
    }

    /**
     * Whether this libsodium's crypto_sign_ed25519_pk_to_curve25519 refuses keys outside the prime-order subgroup
     * (ge25519_is_on_main_subgroup, in released libsodium since 1.0.16): tried once on a key A and on A + T8 (a
     * mixed-order key); an older library falls back to the pure-PHP [L]A check.
     */
    private static function sodiumChecksSubgroup(): bool
    {
        static $ok = null;
        if ($ok === null) {
            $ok = false;
            // ext-sodium only: sodium_compat polyfills this function, and its checks are not libsodium's.
            if (extension_loaded('sodium') && function_exists('sodium_crypto_sign_ed25519_pk_to_curve25519')) {
                try {
                    sodium_crypto_sign_ed25519_pk_to_curve25519((string) hex2bin('6a72dab2647906d547a724ca98543e04fdf60ad51be2af9d86c07c3c26dac885'));
                    try {
                        sodium_crypto_sign_ed25519_pk_to_curve25519((string) hex2bin('66d07a7fe71df95c393387dc18efd4725296a869d48f211ef4f1e0d572756dfa'));
                    } catch (\Throwable $e) {
                        $ok = true; // the mixed-order key is refused, the prime-order one accepted
                    }
                } catch (\Throwable $e) {
                    $ok = false;
                }
            }
        }
        return $ok;
    }
}
