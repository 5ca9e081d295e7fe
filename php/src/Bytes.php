<?php

declare(strict_types=1);

namespace Countersign;

/** Strict encodings (lib/core/bytes.ts): every decoder refuses input that would not re-encode to the same text. */
final class Bytes
{
    public static function fromHex(string $text, string $what = 'hex value'): string
    {
        if (!preg_match('/^(?:[0-9a-f]{2})*$/D', $text)) {
            throw new FormatException('MALFORMED', $what . ' is not lower-case hex');
        }
        return (string) hex2bin($text);
    }

    public static function fromBase64(string $text, string $what = 'base64 value'): string
    {
        // Not a regular expression: PCRE gives up (backtrack/JIT limits) on a payload of megabytes and would refuse it.
        $len = strlen($text);
        $pad = $len >= 2 && substr($text, -2) === '==' ? 2 : ($len >= 1 && $text[$len - 1] === '=' ? 1 : 0);
        // PCRE, not strspn(): PHP's strspn compares each byte with the whole alphabet.
        if ($len % 4 !== 0 || preg_match('~[^A-Za-z0-9+/]~', substr($text, 0, $len - $pad)) !== 0) {
            throw new FormatException('MALFORMED', $what . ' is not standard padded base64');
        }
        $bytes = base64_decode($text, true);
        if ($bytes === false || base64_encode($bytes) !== $text) {
            throw new FormatException('MALFORMED', $what . ' is not canonical base64');
        }
        return $bytes;
    }

    public static function isUtf8(string $bytes): bool
    {
        // PCRE's UTF-8 check refuses what a fatal TextDecoder refuses: overlongs, surrogates, above U+10FFFF, truncation.
        return preg_match('//u', $bytes) === 1;
    }

    public static function utf8(string $bytes, string $what = 'text'): string
    {
        if (!self::isUtf8($bytes)) {
            throw new FormatException('MALFORMED', $what . ' is not valid UTF-8');
        }
        return $bytes;
    }

    public static function codePointToUtf8(int $cp): string
    {
        if ($cp < 0x80) {
            return chr($cp);
        }
        if ($cp < 0x800) {
            return chr(0xc0 | ($cp >> 6)) . chr(0x80 | ($cp & 0x3f));
        }
        if ($cp < 0x10000) {
            return chr(0xe0 | ($cp >> 12)) . chr(0x80 | (($cp >> 6) & 0x3f)) . chr(0x80 | ($cp & 0x3f));
        }
        return chr(0xf0 | ($cp >> 18)) . chr(0x80 | (($cp >> 12) & 0x3f)) . chr(0x80 | (($cp >> 6) & 0x3f)) . chr(0x80 | ($cp & 0x3f));
    }

    public static function utf8ToCodePoint(string $char): int
    {
        $b = array_values((array) unpack('C*', $char));
        $n = count($b);
        if ($n === 1) {
            return $b[0];
        }
        if ($n === 2) {
            return (($b[0] & 0x1f) << 6) | ($b[1] & 0x3f);
        }
        if ($n === 3) {
            return (($b[0] & 0x0f) << 12) | (($b[1] & 0x3f) << 6) | ($b[2] & 0x3f);
        }
        return (($b[0] & 0x07) << 18) | (($b[1] & 0x3f) << 12) | (($b[2] & 0x3f) << 6) | ($b[3] & 0x3f);
    }

    /** Number of code points (a WTF-8 lone surrogate counts as one), as ajv's minLength/maxLength count. */
    public static function codePointLength(string $s): int
    {
        return strlen($s) - (int) preg_match_all('/[\x80-\xbf]/', $s);
    }

    /** JavaScript's String length: UTF-16 code units. */
    public static function utf16Length(string $s): int
    {
        return self::codePointLength($s) + (int) preg_match_all('/[\xf0-\xf7]/', $s);
    }
}
