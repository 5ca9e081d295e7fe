<?php

declare(strict_types=1);

namespace Countersign\Log;

/**
 * C2SP tlog-cosignature `cosignature/v1` (lib/log/cosignature.ts): the 76-byte blob of a witness line is key id
 * (type 0x04) ‖ u64 big-endian POSIX timestamp (below 2^63) ‖ Ed25519 signature over "cosignature/v1\ntime <T>\n"
 * followed by the checkpoint text. At time T this is the largest consistent tree the witness has seen.
 */
final class Cosignature
{
    /** Timestamp (8) + Ed25519 signature (64): the bytes after the key id. */
    public const BYTES = 72;

    public static function message(string $text, int $timestamp): string
    {
        return "cosignature/v1\ntime " . $timestamp . "\n" . $text;
    }

    /** The timestamp of a 72-byte cosignature, or null when the length or value (2^63 or more) is not one. */
    public static function timestamp(string $signature): ?int
    {
        if (strlen($signature) !== self::BYTES || PHP_INT_SIZE < 8) {
            return null;
        }
        $t = (int) unpack('J', $signature)[1];
        return $t < 0 ? null : $t; // unpack('J') reads 2^63 and above as negative
    }
}
