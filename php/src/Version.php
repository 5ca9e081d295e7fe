<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Release versions and their order (lib/core/version.ts): two schemes, legacy (N.x-) and numeric, never compared
 * with each other (VERSION_SCHEME_MISMATCH). A parsed version: [text, core|null, release ints, pre [tag, n]|null].
 */
final class Version
{
    private const NUM = '(?:0|[1-9][0-9]{0,8})';
    private const PRE = ['dev', 'alpha', 'beta', 'rc'];

    /** @return array{text:string,core:?int,release:list<int>,pre:?array{0:string,1:int}} */
    public static function parse(string $text): array
    {
        $len = Bytes::utf16Length($text);
        if ($len === 0 || $len > 64) {
            throw new ReleaseException('BAD_VERSION', 'version must be 1 to 64 characters long');
        }
        if (!preg_match('/^[0-9A-Za-z.+-]+$/D', $text)) {
            throw new ReleaseException('BAD_VERSION', 'version ' . Json::quote($text) . ' has characters other than 0-9 A-Z a-z . + -');
        }
        $n = self::NUM;
        $re = '/^(?:(' . $n . ')\.x-)?(' . $n . '(?:\.' . $n . '){0,3})(?:-(?:(dev)|(alpha|beta|rc)(' . $n . ')))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/iD';
        $m = [];
        if (!preg_match($re, $text, $m, PREG_UNMATCHED_AS_NULL)) {
            throw new ReleaseException('BAD_VERSION', Json::quote($text) . ' is not a release version such as 10.2.3, 11.0.0-rc1, 8.x-1.2 or 6.5');
        }
        $pre = null;
        if (($m[3] ?? null) !== null) {
            $pre = ['dev', 0];
        } elseif (($m[4] ?? null) !== null) {
            $pre = [strtolower($m[4]), (int) $m[5]];
        }
        return [
            'text' => $text,
            'core' => ($m[1] ?? null) === null ? null : (int) $m[1],
            'release' => array_map('intval', explode('.', (string) $m[2])),
            'pre' => $pre,
        ];
    }

    /** @param string|array<string,mixed> $v @return array<string,mixed> */
    private static function of($v): array
    {
        return is_string($v) ? self::parse($v) : $v;
    }

    /** @param string|array<string,mixed> $a @param string|array<string,mixed> $b */
    public static function sameScheme($a, $b): bool
    {
        return (self::of($a)['core'] === null) === (self::of($b)['core'] === null);
    }

    private static function sign(int $d): int
    {
        return $d < 0 ? -1 : ($d > 0 ? 1 : 0);
    }

    /** @param array<string,mixed> $v */
    private static function preRank(array $v): int
    {
        return $v['pre'] === null ? count(self::PRE) : (int) array_search($v['pre'][0], self::PRE, true);
    }

    /** @param array<string,mixed> $a @param array<string,mixed> $b */
    private static function compareAfterPrefix(array $a, array $b): int
    {
        $len = max(count($a['release']), count($b['release']));
        for ($i = 0; $i < $len; $i++) {
            $d = ($a['release'][$i] ?? 0) - ($b['release'][$i] ?? 0);
            if ($d !== 0) {
                return self::sign($d);
            }
        }
        $r = self::preRank($a) - self::preRank($b);
        if ($r !== 0) {
            return self::sign($r);
        }
        return self::sign(($a['pre'][1] ?? 0) - ($b['pre'][1] ?? 0));
    }

    /** @param string|array<string,mixed> $a @param string|array<string,mixed> $b */
    public static function compare($a, $b): int
    {
        $va = self::of($a);
        $vb = self::of($b);
        if (($va['core'] === null) !== ($vb['core'] === null)) {
            throw new ReleaseException('VERSION_SCHEME_MISMATCH', $va['text'] . ' and ' . $vb['text'] . ' are of different version schemes (legacy N.x- and numeric) and cannot be compared', ['versions' => [$va['text'], $vb['text']]]);
        }
        if ($va['core'] !== null && $vb['core'] !== null && $va['core'] !== $vb['core']) {
            return self::sign($va['core'] - $vb['core']);
        }
        return self::compareAfterPrefix($va, $vb);
    }

    /** @param string|array<string,mixed> $a @param string|array<string,mixed> $b */
    public static function isSameRelease($a, $b): bool
    {
        return self::sameScheme($a, $b) && self::compare($a, $b) === 0;
    }

    /** Equal, or across schemes equal after the legacy prefix: for revocations, which err towards refusing. */
    public static function mayBeSameRelease(string $a, string $b): bool
    {
        $va = self::parse($a);
        $vb = self::parse($b);
        return self::sameScheme($va, $vb) ? self::compare($va, $vb) === 0 : self::compareAfterPrefix($va, $vb) === 0;
    }
}
