<?php

declare(strict_types=1);

namespace Countersign\Log;

/**
 * RFC 6962 / RFC 9162 §2.1 hashing and proof verification (lib/log/merkle.ts): leaf = SHA-256(0x00 ‖ entry),
 * node = SHA-256(0x01 ‖ left ‖ right). Verification is exactly RFC 9162 §2.1.3.2 and §2.1.4.2, including the
 * step that skips levels where the node has no sibling. Sizes are PHP ints (64-bit; the parsers cap them at 2^53 - 1).
 */
final class Merkle
{
    public const HASH_BYTES = 32;

    public static function leafHash(string $entry): string
    {
        return hash('sha256', "\x00" . $entry, true);
    }

    public static function nodeHash(string $left, string $right): string
    {
        return hash('sha256', "\x01" . $left . $right, true);
    }

    public static function emptyRoot(): string
    {
        return hash('sha256', '', true);
    }

    /** MTH of a list of leaf hashes (tests, small trees). @param list<string> $leaves */
    public static function rootOf(array $leaves): string
    {
        $n = count($leaves);
        if ($n === 0) {
            return self::emptyRoot();
        }
        if ($n === 1) {
            return $leaves[0];
        }
        $k = 1;
        while ($k * 2 < $n) {
            $k *= 2;
        }
        return self::nodeHash(self::rootOf(array_slice($leaves, 0, $k)), self::rootOf(array_slice($leaves, $k)));
    }

    /** @param list<string> $hashes */
    private static function allHashes(array $hashes): bool
    {
        foreach ($hashes as $h) {
            if (!is_string($h) || strlen($h) !== self::HASH_BYTES) {
                return false;
            }
        }
        return true;
    }

    /** RFC 9162 §2.1.3.2; BAD_PROOF unless $proof shows $leaf at $index in the tree of $size leaves with $root. @param list<string> $proof */
    public static function verifyInclusion(string $leaf, int $index, int $size, array $proof, string $root): void
    {
        $fail = function (string $why) use ($index, $size): void {
            throw new LogException('BAD_PROOF', 'inclusion proof of leaf ' . $index . ' in tree size ' . $size . ' does not verify: ' . $why, ['index' => $index, 'size' => $size]);
        };
        if ($index < 0 || $size < 0) {
            $fail('index or size out of range');
        }
        if ($index >= $size) {
            $fail('the index is not below the size');
        }
        if (!self::allHashes([$leaf, $root]) || !self::allHashes($proof)) {
            $fail('a hash is not 32 bytes');
        }
        $fn = $index;
        $sn = $size - 1;
        $r = $leaf;
        foreach ($proof as $p) {
            if ($sn === 0) {
                $fail('the proof is too long');
            }
            if ($fn % 2 === 1 || $fn === $sn) {
                $r = self::nodeHash($p, $r);
                // Levels where the node is the right edge's last, with no sibling, are skipped (RFC 9162 step 4b).
                while ($fn % 2 === 0 && $fn !== 0) {
                    $fn = intdiv($fn, 2);
                    $sn = intdiv($sn, 2);
                }
            } else {
                $r = self::nodeHash($r, $p);
            }
            $fn = intdiv($fn, 2);
            $sn = intdiv($sn, 2);
        }
        if ($sn !== 0) {
            $fail('the proof is too short');
        }
        if (!hash_equals($root, $r)) {
            $fail('the computed root differs');
        }
    }

    /**
     * RFC 9162 §2.1.4.2; LOG_INCONSISTENT unless $proof shows the tree of size $m with $rootM is a prefix of the tree
     * of size $n with $rootN. As transparency-dev/merkle and lib/log/merkle.ts: m = 0 is refused, m = n takes an empty
     * proof and equal roots.
     * @param list<string> $proof
     */
    public static function verifyConsistency(int $m, int $n, string $rootM, string $rootN, array $proof): void
    {
        $fail = function (string $why) use ($m, $n): void {
            throw new LogException('LOG_INCONSISTENT', 'the tree of size ' . $m . ' is not shown to be a prefix of the tree of size ' . $n . ': ' . $why, ['m' => $m, 'n' => $n]);
        };
        if ($m < 0) {
            $fail('size out of range');
        }
        if ($m > $n) {
            $fail('the first size is larger');
        }
        if ($m === 0) {
            $fail('a proof from the empty tree proves nothing');
        }
        if (!self::allHashes([$rootM, $rootN]) || !self::allHashes($proof)) {
            $fail('a hash is not 32 bytes');
        }
        if ($m === $n) {
            if (count($proof) !== 0) {
                $fail('equal sizes take an empty proof');
            }
            if (!hash_equals($rootM, $rootN)) {
                $fail('same size, different roots');
            }
            return;
        }
        if (count($proof) === 0) {
            $fail('the proof is empty');
        }
        $path = ($m & ($m - 1)) === 0 ? array_merge([$rootM], $proof) : $proof;
        $fn = $m - 1;
        $sn = $n - 1;
        while ($fn % 2 === 1) {
            $fn = intdiv($fn, 2);
            $sn = intdiv($sn, 2);
        }
        $fr = $path[0];
        $sr = $path[0];
        for ($i = 1; $i < count($path); $i++) {
            $c = $path[$i];
            if ($sn === 0) {
                $fail('the proof is too long');
            }
            if ($fn % 2 === 1 || $fn === $sn) {
                $fr = self::nodeHash($c, $fr);
                $sr = self::nodeHash($c, $sr);
                while ($fn % 2 === 0 && $fn !== 0) {
                    $fn = intdiv($fn, 2);
                    $sn = intdiv($sn, 2);
                }
            } else {
                $sr = self::nodeHash($sr, $c);
            }
            $fn = intdiv($fn, 2);
            $sn = intdiv($sn, 2);
        }
        if ($sn !== 0) {
            $fail('the proof is too short');
        }
        if (!hash_equals($rootM, $fr)) {
            $fail('the first root differs');
        }
        if (!hash_equals($rootN, $sr)) {
            $fail('the second root differs');
        }
    }
}
