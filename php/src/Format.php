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
        'policy' => [1 => '0.1.0', 2 => '0.3.0', 3 => '0.4.0'],
        'manifest' => [1 => '0.1.0', 2 => '0.3.0', 3 => '0.4.0'],
        'revocation' => [1 => '0.1.0', 2 => '0.4.0'],
        'enrolment' => [1 => '0.4.0'],
        'key-revocation' => [1 => '0.4.0'],
        'partial-signature' => [1 => '0.1.0', 2 => '0.3.0'],
        'bundle' => [1 => '0.1.0', 2 => '0.2.0'],
    ];

    /** New formats ship only in a new minor release, so one this release does not know needs the minor after the newest above. */
    public const NEXT_RELEASE = '0.5.0';

    /**
     * Formats in the table this verifier does not read: providers' documents (spec/documents.md), whose trust comes
     * from the log's replay. Refused as FORMAT_UNSUPPORTED, with the formats read here as `supported`.
     */
    public const NOT_READ = ['policy' => [3], 'manifest' => [3], 'revocation' => [2]];

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
            if (in_array((int) $format, self::NOT_READ[$document] ?? [], true)) {
                $read = array_values(array_diff(self::supported($document), self::NOT_READ[$document]));
                throw new FormatException('FORMAT_UNSUPPORTED', $document . ' format ' . (int) $format . ' (providers) is not read by the PHP verifier (it reads format ' . implode(', ', $read) . '): verify it with countersign >= ' . self::INTRODUCED[$document][(int) $format], [
                    'document' => $document,
                    'format' => (int) $format,
                    'supported' => $read,
                ]);
            }
            return;
        }
        throw self::unsupported($document, $format, $document . ' format ' . Json::stringify(Canonical::plain($format)));
    }
}
