<?php

// A stand-in for sodium_compat's ParagonIE_Sodium_Compat (not installable here): its verify function is set per test.
// Loaded by tests/bootstrap.php only; a host's real sodium_compat would be found the same way (class_exists).
final class ParagonIE_Sodium_Compat
{
    /** @var callable|null */
    public static $verify;

    public static function crypto_sign_verify_detached(string $sig, string $msg, string $pk): bool
    {
        if (self::$verify === null) {
            throw new \LogicException('no fake verify set');
        }
        return (self::$verify)($sig, $msg, $pk);
    }
}
