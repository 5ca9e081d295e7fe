<?php

declare(strict_types=1);

namespace Countersign;

/** Signed payloads: bytes that must already be RFC 8785 canonical (lib/core/canonical.ts parseCanonical; formats: Format.php). */
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

    /** The payload format check (Format::checkPayload: the per-document table). @param mixed $value */
    public static function checkPayloadFormat(string $document, $value): void
    {
        Format::checkPayload($document, $value);
    }

    /** @param mixed $format */
    public static function unsupported(string $document, $format, string $what): FormatException
    {
        return Format::unsupported($document, $format, $what);
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
