<?php

declare(strict_types=1);

namespace Countersign;

/** Signed payloads: bytes that must already be RFC 8785 canonical (lib/core/canonical.ts parseCanonical, lib/core/format.ts). */
final class Canonical
{
    /**
     * Parses with JSON.parse's rules, lets $first see the value (the format check), then re-serialises our restricted
     * canonical form and compares bytes: any other spelling is NOT_CANONICAL. The signed bytes are never rebuilt.
     * @return mixed
     */
    public static function parse(string $bytes, string $what, ?callable $first = null)
    {
        $text = Bytes::utf8($bytes, $what);
        $parsed = Json::parseLenient($text, $what);
        if ($first !== null) {
            $first($parsed);
        }
        if (!hash_equals(Json::canonical($parsed), $bytes)) {
            throw new FormatException('NOT_CANONICAL', $what . ' is not in canonical JSON form (RFC 8785)');
        }
        return $parsed;
    }

    /** Absent `format` is 1; any other value, even a malformed one, is FORMAT_UNSUPPORTED (never SCHEMA_INVALID). @param mixed $value */
    public static function checkPayloadFormat(string $document, $value): void
    {
        if (!$value instanceof JsonObject || !$value->has('format')) {
            return;
        }
        $format = $value->get('format');
        if (is_float($format) && in_array((int) $format, self::formats($document), true) && (float) (int) $format === $format) {
            return;
        }
        throw self::unsupported($document, $format, $document . ' format ' . Json::stringify(self::plain($format)));
    }

    /** The formats this release reads (lib/core/format.ts INTRODUCED; policy format 2 adds signer kinds). @return list<int> */
    private static function formats(string $document): array
    {
        return $document === 'bundle' || $document === 'policy' || $document === 'partial-signature' ? [1, 2] : [1];
    }

    /** @param mixed $format */
    public static function unsupported(string $document, $format, string $what): FormatException
    {
        $supported = self::formats($document);
        $reads = ($document === 'bundle' ? 'bundle v' : 'format ') . implode(', ', $supported);
        return new FormatException('FORMAT_UNSUPPORTED', $what . ' is not supported by this countersign (it reads ' . $reads . '); update countersign to >= 0.4.0', [
            'document' => $document,
            'format' => self::plain($format),
            'supported' => $supported,
        ]);
    }

    /**
     * A parsed value as plain PHP: objects become arrays in member order (only for schema-checked documents, whose
     * member names are never numeric), integral numbers ints.
     * @param mixed $v
     * @return mixed
     */
    public static function plain($v)
    {
        if ($v instanceof JsonObject) {
            $out = [];
            foreach ($v->names() as $n) {
                $out[$n] = self::plain($v->get($n));
            }
            return $out === [] ? new \stdClass() : $out;
        }
        if (is_array($v)) {
            return array_map([self::class, 'plain'], $v);
        }
        if (is_float($v) && is_finite($v) && floor($v) === $v && abs($v) <= 9007199254740991.0) {
            return (int) $v;
        }
        return $v;
    }
}
