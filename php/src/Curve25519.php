<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Edwards25519 point arithmetic in pure PHP (TweetNaCl's radix-2^16 field, 64-bit integers), only for key admission
 * when ext-sodium is absent: is a public key in the prime-order subgroup ([L]A = identity)? Never used for signature
 * verdicts. About 0.1-0.3 s per key on PHP 8; keys are checked once per policy load.
 */
final class Curve25519
{
    private const D = [0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070, 0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203];
    private const D2 = [0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0, 0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406];
    private const SQRTM1 = [0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43, 0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83];
    /** L = 2^252 + 27742317777372353535851937790883648493, big-endian hex. */
    private const L_HEX = '1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed';

    /** True when the 32 bytes decode (y < p, on the curve) to a point P with [L]P = identity and [8]P != identity. */
    public static function inPrimeOrderSubgroup(string $key): bool
    {
        if (strlen($key) !== 32) {
            return false;
        }
        $p = self::decode($key);
        if ($p === null) {
            return false;
        }
        $q = $p;
        for ($i = 0; $i < 3; $i++) {
            $q = self::add($q, $q);
        }
        if (self::isIdentity($q)) {
            return false;
        }
        $acc = [self::gf(0), self::gf(1), self::gf(1), self::gf(0)];
        foreach (str_split(self::lBits()) as $bit) {
            $acc = self::add($acc, $acc);
            if ($bit === '1') {
                $acc = self::add($acc, $p);
            }
        }
        return self::isIdentity($acc);
    }

    private static function lBits(): string
    {
        $bits = '';
        foreach (str_split(self::L_HEX) as $h) {
            $bits .= str_pad(decbin((int) hexdec($h)), 4, '0', STR_PAD_LEFT);
        }
        return ltrim($bits, '0');
    }

    /** @return list<int> */
    private static function gf(int $v): array
    {
        $o = array_fill(0, 16, 0);
        $o[0] = $v;
        return $o;
    }

    /** @param list<int> $o @return list<int> */
    private static function car(array $o): array
    {
        $c = 1;
        for ($i = 0; $i < 16; $i++) {
            $v = $o[$i] + $c + 65535;
            $c = $v >> 16;
            $o[$i] = $v - ($c << 16);
        }
        $o[0] += $c - 1 + 37 * ($c - 1);
        return $o;
    }

    /** @param list<int> $a @param list<int> $b @return list<int> */
    private static function add25519(array $a, array $b): array
    {
        $o = [];
        for ($i = 0; $i < 16; $i++) {
            $o[] = $a[$i] + $b[$i];
        }
        return $o;
    }

    /** @param list<int> $a @param list<int> $b @return list<int> */
    private static function sub25519(array $a, array $b): array
    {
        $o = [];
        for ($i = 0; $i < 16; $i++) {
            $o[] = $a[$i] - $b[$i];
        }
        return $o;
    }

    /** @param list<int> $a @param list<int> $b @return list<int> */
    private static function mul(array $a, array $b): array
    {
        $t = array_fill(0, 31, 0);
        for ($i = 0; $i < 16; $i++) {
            $ai = $a[$i];
            for ($j = 0; $j < 16; $j++) {
                $t[$i + $j] += $ai * $b[$j];
            }
        }
        for ($i = 0; $i < 15; $i++) {
            $t[$i] += 38 * $t[$i + 16];
        }
        return self::car(self::car(array_slice($t, 0, 16)));
    }

    /** @param list<int> $i @return list<int> */
    private static function pow2523(array $i): array
    {
        $c = $i;
        for ($a = 250; $a >= 0; $a--) {
            $c = self::mul($c, $c);
            if ($a !== 1) {
                $c = self::mul($c, $i);
            }
        }
        return $c;
    }

    /** @param list<int> $n */
    private static function pack(array $n): string
    {
        $t = self::car(self::car(self::car($n)));
        for ($j = 0; $j < 2; $j++) {
            $m = array_fill(0, 16, 0);
            $m[0] = $t[0] - 0xffed;
            for ($i = 1; $i < 15; $i++) {
                $m[$i] = $t[$i] - 0xffff - (($m[$i - 1] >> 16) & 1);
                $m[$i - 1] &= 0xffff;
            }
            $m[15] = $t[15] - 0x7fff - (($m[14] >> 16) & 1);
            $b = ($m[15] >> 16) & 1;
            $m[14] &= 0xffff;
            if ($b === 0) {
                $t = $m;
            }
        }
        $o = '';
        for ($i = 0; $i < 16; $i++) {
            $o .= chr($t[$i] & 0xff) . chr(($t[$i] >> 8) & 0xff);
        }
        return $o;
    }

    /** @return list<list<int>>|null extended coordinates [X, Y, Z, T] */
    private static function decode(string $key): ?array
    {
        $b = array_values((array) unpack('C*', $key));
        // y must be canonical (< p = 2^255 - 19), as libsodium's ge25519_is_canonical.
        $high = true;
        for ($i = 1; $i < 31; $i++) {
            $high = $high && $b[$i] === 0xff;
        }
        if ($high && ($b[31] & 0x7f) === 0x7f && $b[0] >= 0xed) {
            return null;
        }
        $y = [];
        for ($i = 0; $i < 16; $i++) {
            $y[] = $b[2 * $i] + ($b[2 * $i + 1] << 8);
        }
        $y[15] &= 0x7fff;
        $one = self::gf(1);
        $num = self::mul($y, $y);
        $den = self::mul($num, self::D);
        $num = self::sub25519($num, $one);
        $den = self::add25519($one, $den);
        $den2 = self::mul($den, $den);
        $den4 = self::mul($den2, $den2);
        $den6 = self::mul($den4, $den2);
        $t = self::mul(self::mul($den6, $num), $den);
        $t = self::mul(self::mul(self::mul(self::pow2523($t), $num), $den), $den);
        $x = self::mul($t, $den);
        $chk = self::mul(self::mul($x, $x), $den);
        if (self::pack($chk) !== self::pack($num)) {
            $x = self::mul($x, self::SQRTM1);
        }
        $chk = self::mul(self::mul($x, $x), $den);
        if (self::pack($chk) !== self::pack($num)) {
            return null; // not on the curve
        }
        $xBytes = self::pack($x);
        if ($xBytes === str_repeat("\0", 32) && ($b[31] >> 7) === 1) {
            return null; // x = 0 with the sign bit set has no point (libsodium: small order anyway)
        }
        if ((ord($xBytes[0]) & 1) !== ($b[31] >> 7)) {
            $x = self::sub25519(self::gf(0), $x);
        }
        return [$x, $y, $one, self::mul($x, $y)];
    }

    /** @param list<list<int>> $p @param list<list<int>> $q @return list<list<int>> */
    private static function add(array $p, array $q): array
    {
        $a = self::mul(self::sub25519($p[1], $p[0]), self::sub25519($q[1], $q[0]));
        $b = self::mul(self::add25519($p[0], $p[1]), self::add25519($q[0], $q[1]));
        $c = self::mul(self::mul($p[3], $q[3]), self::D2);
        $d = self::mul($p[2], $q[2]);
        $d = self::add25519($d, $d);
        $e = self::sub25519($b, $a);
        $f = self::sub25519($d, $c);
        $g = self::add25519($d, $c);
        $h = self::add25519($b, $a);
        return [self::mul($e, $f), self::mul($h, $g), self::mul($g, $f), self::mul($e, $h)];
    }

    /** @param list<list<int>> $p */
    private static function isIdentity(array $p): bool
    {
        return self::pack($p[0]) === str_repeat("\0", 32) && self::pack($p[1]) === self::pack($p[2]);
    }
}
