<?php

declare(strict_types=1);

namespace Countersign\Tests\Log;

use Countersign\Log\LogException;
use Countersign\Log\Merkle;
use PHPUnit\Framework\TestCase;

/**
 * test/vectors/shared/log/merkle.json (test/log-vectors/generate.ts, lib/log/merkle.ts's verdicts): RFC 6962 known
 * answers from transparency-dev/merkle, its inclusion and consistency test data, and brute-force proofs for every
 * (index, size) and (m, n) up to 64 with every tamper. PHP must give the same verdict and code on each.
 */
final class MerkleVectorsTest extends TestCase
{
    /** @var array<string,mixed>|null */
    private static $v;

    /** @return array<string,mixed> */
    private static function vectors(): array
    {
        if (self::$v === null) {
            self::$v = json_decode((string) file_get_contents(dirname(__DIR__, 3) . '/test/vectors/shared/log/merkle.json'), true, 512, JSON_THROW_ON_ERROR);
        }
        return self::$v;
    }

    /** 'ok' or the code. */
    private static function code(callable $f): string
    {
        try {
            $f();
            return 'ok';
        } catch (LogException $e) {
            return $e->getErrorCode();
        }
    }

    private static function flipped(string $h, int $bit = 0): string
    {
        $h[$bit >> 3] = chr(ord($h[$bit >> 3]) ^ (1 << ($bit & 7)));
        return $h;
    }

    public function testKnownAnswers(): void
    {
        $k = self::vectors()['knownAnswers'];
        $leaves = array_map(function (string $hex): string {
            return Merkle::leafHash((string) hex2bin($hex));
        }, $k['leafInputs']);
        $this->assertSame($k['emptyRootHash'], bin2hex(Merkle::emptyRoot()));
        $this->assertCount(8, $k['rootHashes']);
        for ($n = 1; $n <= 8; $n++) {
            $this->assertSame($k['rootHashes'][$n - 1], bin2hex(Merkle::rootOf(array_slice($leaves, 0, $n))), 'root of size ' . $n);
        }
        $this->assertMatchesRegularExpression('/^5dc9da79.*4328$/', bin2hex(Merkle::rootOf($leaves)));
        // NodeHashes: the 8 leaves, then levels 1, 2 and 3.
        $levels = [$leaves];
        while (count(end($levels)) > 1) {
            $prev = end($levels);
            $next = [];
            for ($i = 0; $i < count($prev); $i += 2) {
                $next[] = Merkle::nodeHash($prev[$i], $prev[$i + 1]);
            }
            $levels[] = $next;
        }
        $this->assertSame($k['nodeHashes'], array_map('bin2hex', array_merge(...$levels)));
    }

    public function testTransparencyDevCases(): void
    {
        $td = self::vectors()['transparencyDev'];
        $n = 0;
        foreach ($td['inclusion'] as $c) {
            if (!is_int($c['leafIdx'])) {
                // 2^64 - 1 (Go's uint64 -1): no PHP int holds it, and the tlog-proof parser refuses its index line.
                $this->assertSame(['BAD_PROOF'], $c['expect'], $c['id']);
                $this->assertSame('BAD_PROOF', self::code(function (): void {
                    \Countersign\Log\TlogProof::parse("c2sp.org/tlog-proof@v1\nindex 18446744073709551615\n\n");
                }), $c['id']);
                continue;
            }
            $got = self::code(function () use ($c): void {
                Merkle::verifyInclusion((string) base64_decode($c['leafHash']), $c['leafIdx'], $c['treeSize'], array_map('base64_decode', $c['proof']), (string) base64_decode($c['root']));
            });
            $this->assertSame($c['expect'] === 'ok' ? 'ok' : $c['expect'][0], $got, $c['id']);
            $n++;
        }
        foreach ($td['consistency'] as $c) {
            $got = self::code(function () use ($c): void {
                Merkle::verifyConsistency($c['size1'], $c['size2'], (string) base64_decode($c['root1']), (string) base64_decode($c['root2']), array_map('base64_decode', $c['proof']));
            });
            $this->assertSame($c['expect'] === 'ok' ? 'ok' : $c['expect'][0], $got, $c['id']);
            $n++;
        }
        $this->assertGreaterThan(190, $n);
    }

    /** The verdict string of one tamper: '.' verified, 'x' refused with $code ('-' is never asked for). */
    private static function verdict(string $code, callable $f): string
    {
        $got = self::code($f);
        return $got === 'ok' ? '.' : ($got === $code ? 'x' : $got);
    }

    public function testBruteForceInclusion(): void
    {
        $b = self::vectors()['bruteForce'];
        $this->assertCount(2080, $b['inclusion']);
        $max = count($b['entries']);
        $leaves = array_map([Merkle::class, 'leafHash'], $b['entries']);
        $roots = array_map('base64_decode', $b['roots']);
        $checked = 0;
        foreach ($b['inclusion'] as $c) {
            $i = $c['index'];
            $n = $c['size'];
            $proof = array_map('base64_decode', $c['proof']);
            $root = $roots[$n];
            $leaf = $leaves[$i];
            $has = count($proof) > 0;
            $t = function (bool $ok, string $l, int $index, int $size, array $p, string $r) use (&$checked): string {
                if (!$ok) {
                    return '-';
                }
                $checked++;
                return self::verdict('BAD_PROOF', function () use ($l, $index, $size, $p, $r): void {
                    Merkle::verifyInclusion($l, $index, $size, $p, $r);
                });
            };
            $this->assertSame('ok', self::code(function () use ($leaf, $i, $n, $proof, $root): void {
                Merkle::verifyInclusion($leaf, $i, $n, $proof, $root);
            }), "$i/$n verifies");
            $each = '';
            foreach ($proof as $k => $_) {
                $each .= $t(true, $leaf, $i, $n, array_map(function ($h, $j) use ($k) {
                    return $j === $k ? self::flipped($h, 8 * $k + 3) : $h;
                }, $proof, array_keys($proof)), $root);
            }
            $got = [
                $t(true, $leaves[($i + 1) % $max], $i, $n, $proof, $root),
                $t(true, self::flipped($leaf), $i, $n, $proof, $root),
                $t(true, $leaf, $i, $n, $proof, self::flipped($root, 255)),
                $t(true, $leaf, $i, $n, $proof, $roots[$n + 1] ?? self::flipped($root)),
                $t($i + 1 < $n, $leaf, $i + 1, $n, $proof, $root),
                $t($i > 0, $leaf, $i - 1, $n, $proof, $root),
                $t($n < $max, $leaf, $i, $n + 1, $proof, $roots[$n + 1] ?? $root),
                $t($i < $n - 1, $leaf, $i, $n - 1, $proof, $roots[$n - 1]),
                $t(2 * $n <= $max, $leaf, $i, $n * 2, $proof, $roots[2 * $n] ?? $root),
                $t(true, $leaf, $n, $n, $proof, $root),
                $t(true, $leaf, $i, $n, array_merge($proof, [$leaves[0]]), $root),
                $t(true, $leaf, $i, $n, array_merge([$leaves[0]], $proof), $root),
                $t($has, $leaf, $i, $n, array_slice($proof, 0, -1), $root),
                $t($has, $leaf, $i, $n, array_slice($proof, 1), $root),
                $t($has, $leaf, $i, $n, $has ? array_merge([substr($proof[0], 0, 31)], array_slice($proof, 1)) : [], $root),
                $each === '' ? '-' : $each,
                $t(count($proof) > 1, $leaf, $i, $n, count($proof) > 1 ? array_merge([$proof[1], $proof[0]], array_slice($proof, 2)) : [], $root),
            ];
            $this->assertSame($c['tampers'], implode(' ', $got), "inclusion $i/$n: tampers " . implode(', ', $b['inclusionTampers']));
        }
        $this->assertSame(42837, $checked);
    }

    public function testBruteForceConsistency(): void
    {
        $b = self::vectors()['bruteForce'];
        $this->assertCount(2080, $b['consistency']);
        $max = count($b['entries']);
        $leaves = array_map([Merkle::class, 'leafHash'], $b['entries']);
        $roots = array_map('base64_decode', $b['roots']);
        $checked = 0;
        foreach ($b['consistency'] as $c) {
            $m = $c['m'];
            $n = $c['n'];
            $proof = array_map('base64_decode', $c['proof']);
            $rm = $roots[$m];
            $rn = $roots[$n];
            $has = count($proof) > 0;
            $t = function (bool $ok, int $a, int $b, string $ra, string $rb, array $p) use (&$checked): string {
                if (!$ok) {
                    return '-';
                }
                $checked++;
                return self::verdict('LOG_INCONSISTENT', function () use ($a, $b, $ra, $rb, $p): void {
                    Merkle::verifyConsistency($a, $b, $ra, $rb, $p);
                });
            };
            $this->assertSame('ok', self::code(function () use ($m, $n, $rm, $rn, $proof): void {
                Merkle::verifyConsistency($m, $n, $rm, $rn, $proof);
            }), "$m->$n verifies");
            $each = '';
            foreach ($proof as $k => $_) {
                $each .= $t(true, $m, $n, $rm, $rn, array_map(function ($h, $j) use ($k) {
                    return $j === $k ? self::flipped($h, 8 * $k + 5) : $h;
                }, $proof, array_keys($proof)));
            }
            $got = [
                $t(true, $m, $n, self::flipped($rm), $rn, $proof),
                $t(true, $m, $n, $rm, self::flipped($rn, 100), $proof),
                $t($m !== $n, $m, $n, $rn, $rm, $proof),
                $t($m > 1, $m - 1, $n, $roots[$m - 1], $rn, $proof),
                $t($m < $n, $m + 1, $n, $roots[$m + 1] ?? $rm, $rn, $proof),
                $t($n < $max, $m, $n + 1, $rm, $roots[$n + 1] ?? $rn, $proof),
                $t($n > $m, $m, $n - 1, $rm, $roots[$n - 1], $proof),
                $t($m !== $n, $n, $m, $rn, $rm, $proof),
                $t(true, $m, $n, $rm, $rn, array_merge($proof, [$leaves[0]])),
                $t(true, $m, $n, $rm, $rn, array_merge([$leaves[0]], $proof)),
                $t(true, 0, $n, Merkle::emptyRoot(), $rn, $proof),
                $t($has, $m, $n, $rm, $rn, array_slice($proof, 0, -1)),
                $t($has, $m, $n, $rm, $rn, array_slice($proof, 1)),
                $t($has, $m, $n, $rm, $rn, $has ? array_merge([substr($proof[0], 1)], array_slice($proof, 1)) : []),
                $each === '' ? '-' : $each,
            ];
            $this->assertSame($c['tampers'], implode(' ', $got), "consistency $m->$n: tampers " . implode(', ', $b['consistencyTampers']));
        }
        $this->assertSame(39599, $checked);
    }
}
