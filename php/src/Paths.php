<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Path rules (lib/core/paths.ts, spec/verification.md "Paths"). NFC and case folding of non-ASCII paths need ext-intl
 * (Normalizer) and ext-mbstring; without them such a path cannot be checked and is refused with UNICODE_UNAVAILABLE.
 * ASCII paths need neither.
 */
final class Paths
{
    /** @return never */
    private static function unsafe(string $path, string $rule)
    {
        throw new ArchiveException('UNSAFE_PATH', 'unsafe path ' . Json::quote($path) . ': ' . $rule, ['path' => $path, 'rule' => $rule]);
    }

    /** @return array{0:string,1:string}|null [prefix, name] */
    public static function ustarSplit(string $bytes): ?array
    {
        $len = strlen($bytes);
        if ($len <= 100) {
            return ['', $bytes];
        }
        for ($i = min($len - 1, 155); $i > 0; $i--) {
            if ($bytes[$i] === '/') {
                $name = (string) substr($bytes, $i + 1);
                return strlen($name) <= 100 && strlen($name) > 0 ? [substr($bytes, 0, $i), $name] : null;
            }
        }
        return null;
    }

    private static function isAscii(string $s): bool
    {
        return !preg_match('/[\x80-\xff]/', $s);
    }

    /** @return never */
    private static function unicodeUnavailable(string $path, string $what)
    {
        throw new HostException('UNICODE_UNAVAILABLE', 'path ' . Json::quote($path) . ' is not ASCII and this PHP lacks ' . $what . ' to check it; install ext-intl and ext-mbstring', ['path' => $path]);
    }

    public static function check(string $path): void
    {
        if ($path === '') {
            self::unsafe($path, 'empty');
        }
        if (strpos($path, "\0") !== false) {
            self::unsafe($path, 'contains NUL');
        }
        if (strpos($path, '\\') !== false) {
            self::unsafe($path, 'contains a backslash (paths are /-separated)');
        }
        if (preg_match('/[\x{0000}-\x{001f}\x{007f}-\x{009f}]/u', $path) === 1) {
            self::unsafe($path, 'contains a control character');
        }
        if (preg_match('/\p{Cf}/u', $path) === 1) {
            self::unsafe($path, 'contains an invisible formatting character (bidi control, zero-width)');
        }
        if (strpos($path, ':') !== false) {
            self::unsafe($path, "contains ':' (an alternate data stream on Windows)");
        }
        if ($path[0] === '/') {
            self::unsafe($path, 'absolute (leading /)');
        }
        if (substr($path, -1) === '/') {
            self::unsafe($path, 'trailing / (names a directory, not a file)');
        }
        foreach (explode('/', $path) as $segment) {
            if ($segment === '') {
                self::unsafe($path, 'empty segment (//)');
            }
            if ($segment === '.') {
                self::unsafe($path, "'.' segment");
            }
            if ($segment === '..') {
                self::unsafe($path, "'..' segment");
            }
            if (preg_match('/[. ]$/D', $segment) === 1) {
                self::unsafe($path, 'a name ends with a dot or space (Windows drops it, aliasing another name)');
            }
            if (preg_match('/^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\.|$)/iuD', $segment) === 1) {
                self::unsafe($path, Json::quote($segment) . ' is a reserved device name on Windows');
            }
        }
        if (Json::hasLoneSurrogate($path) || !Bytes::isUtf8($path)) {
            self::unsafe($path, 'not well-formed Unicode (lone surrogate)');
        }
        if (!self::isAscii($path)) {
            if (!class_exists('Normalizer')) {
                self::unicodeUnavailable($path, 'ext-intl (Normalizer)');
            }
            if (!\Normalizer::isNormalized($path, \Normalizer::FORM_C)) {
                self::unsafe($path, 'not in Unicode normalization form C (NFC)');
            }
        }
        if (strlen($path) > 255) {
            self::unsafe($path, 'longer than 255 UTF-8 bytes');
        }
        if (self::ustarSplit($path) === null) {
            self::unsafe($path, "not representable in ustar (last segment over 100 bytes or no '/' leaving a prefix of at most 155)");
        }
    }

    /** NFC, upper case, lower case, final sigma to sigma, NFC: the key two paths collide under on a case-insensitive file system. */
    public static function caseFoldKey(string $path): string
    {
        if (self::isAscii($path)) {
            return strtolower($path);
        }
        if (!class_exists('Normalizer') || !function_exists('mb_strtoupper')) {
            self::unicodeUnavailable($path, 'ext-intl and ext-mbstring');
        }
        $s = (string) \Normalizer::normalize($path, \Normalizer::FORM_C);
        $s = mb_strtolower(mb_strtoupper($s, 'UTF-8'), 'UTF-8');
        return (string) \Normalizer::normalize(str_replace("\u{03c2}", "\u{03c3}", $s), \Normalizer::FORM_C);
    }

    /** @param iterable<string> $paths */
    public static function checkSet(iterable $paths): void
    {
        $set = new PathSet();
        foreach ($paths as $p) {
            $set->add($p);
        }
    }
}
