<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Format versions of signed payloads and bundles (lib/core/format.ts, spec/versioning.md): what this release reads,
 * and the one refusal, FORMAT_UNSUPPORTED, for anything newer. Each document has its own numbers.
 */
final class Format
{
    /** Each known format of each document and the countersign release that introduced it (lib/core/format.ts INTRODUCED). */
    public const INTRODUCED = [
        'policy' => [1 => '0.1.0', 2 => '0.3.0'],
        'manifest' => [1 => '0.1.0', 2 => '0.3.0'],
        'revocation' => [1 => '0.1.0'],
        'partial-signature' => [1 => '0.1.0', 2 => '0.3.0'],
        'bundle' => [1 => '0.1.0', 2 => '0.2.0'],
    ];

    /** New formats ship only in a new minor release, so one this release does not know needs the minor after the newest above. */
    public const NEXT_RELEASE = '0.4.0';

    /** @return list<int> */
    public static function supported(string $document): array
    {
        return array_keys(self::INTRODUCED[$document]);
    }

    /** @param mixed $format */
    public static function unsupported(string $document, $format, string $what): FormatException
    {
        $supported = self::supported($document);
        $reads = ($document === 'bundle' ? 'bundle v' : 'format ') . implode(', ', $supported);
        return new FormatException('FORMAT_UNSUPPORTED', $what . ' is not supported by this countersign (it reads ' . $reads . '); update countersign to >= ' . self::NEXT_RELEASE, [
            'document' => $document,
            'format' => Canonical::plain($format),
            'supported' => $supported,
        ]);
    }

    /**
     * A parsed payload's `format`, checked before its schema is: absent is format 1; any other value than a known one
     * (even a malformed one: it may be a newer encoding) is FORMAT_UNSUPPORTED, never SCHEMA_INVALID.
     * @param mixed $value
     */
    public static function checkPayload(string $document, $value): void
    {
        if (!$value instanceof JsonObject || !$value->has('format')) {
            return;
        }
        $format = $value->get('format');
        // JSON numbers are parsed as doubles; Object.hasOwn(INTRODUCED[document], format) holds only for an integral one.
        if ((is_int($format) || (is_float($format) && floor($format) === $format && abs($format) < 1e9)) && isset(self::INTRODUCED[$document][(int) $format])) {
            return;
        }
        throw self::unsupported($document, $format, $document . ' format ' . Json::stringify(Canonical::plain($format)));
    }
}
