<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\Cli;
use Countersign\Ed25519;
use Countersign\HostException;
use PHPUnit\Framework\TestCase;

/**
 * The Ed25519 backends: with no implementation every verification fails closed (ED25519_UNAVAILABLE, exit 2); the
 * sodium_compat path gives every vector its verdict, and our prechecks and try/catch hold even when the library
 * behind them accepts everything or throws (sodium_compat accepts forgeries under small-order keys without them).
 */
final class Ed25519BackendTest extends TestCase
{
    protected function tearDown(): void
    {
        Ed25519::useBackend(false);
        \ParagonIE_Sodium_Compat::$verify = null;
    }

    /** @return iterable<string,array{0:array<string,mixed>,1:string}> */
    private static function cases(?string $op = null): iterable
    {
        $root = dirname(__DIR__, 2);
        foreach ([$root . '/spec/vectors/conformance', $root . '/test/vectors/shared'] as $dir) {
            foreach (glob($dir . '/*.json') ?: [] as $path) {
                foreach (json_decode((string) file_get_contents($path), true)['cases'] as $c) {
                    if ($op === null || $c['op'] === $op) {
                        yield $c['id'] => [$c, $dir];
                    }
                }
            }
        }
    }

    public function testNoImplementationFailsClosed(): void
    {
        Ed25519::useBackend(null);
        $n = 0;
        foreach (self::cases('verifyBundle') as $id => list($c, $dir)) {
            $this->assertSame(['ED25519_UNAVAILABLE'], VectorRunner::outcome($c, $dir)['expect'], $id);
            $n++;
        }
        foreach (self::cases('verifyWithStore') as $id => list($c, $dir)) {
            $got = VectorRunner::outcome($c, $dir)['expect'];
            $this->assertContains($got, [['ED25519_UNAVAILABLE'], ['STORE_MISSING'], ['STORE_CORRUPT']], $id);
            $this->assertNotSame('ok', $got, $id);
        }
        $this->assertGreaterThan(50, $n);
        $this->expectException(HostException::class);
        Ed25519::verifyStrict(str_repeat("\0", 64), '', str_repeat("\0", 32));
    }

    public function testCliWithoutImplementationExitsTwo(): void
    {
        $root = dirname(__DIR__, 2);
        $dir = $root . '/spec/vectors/conformance';
        $cmd = 'COUNTERSIGN_ED25519=none ' . escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg($root . '/php/bin/countersign-verify') . ' ' . escapeshellarg($dir . '/bundles/a-ok.bundle')
            . ' --policy ' . escapeshellarg($dir . '/documents/policy-v1.json') . ' --now 2026-06-01T00:00:00Z --json';
        $out = [];
        $status = 0;
        exec($cmd, $out, $status);
        $this->assertSame(2, $status);
        $this->assertSame('ED25519_UNAVAILABLE', json_decode($out[0], true)['code']);
    }

    public function testCompatBackendGivesEveryVerdict(): void
    {
        Ed25519::useBackend(Ed25519::BACKEND_COMPAT);
        \ParagonIE_Sodium_Compat::$verify = function (string $sig, string $msg, string $pk): bool {
            return sodium_crypto_sign_verify_detached($sig, $msg, $pk);
        };
        $n = 0;
        foreach (array_merge(iterator_to_array(self::cases('verifyStrict')), iterator_to_array(self::cases('isStrongPublicKey')), iterator_to_array(self::cases('verifyBundle'))) as $id => list($c, $dir)) {
            $got = VectorRunner::outcome($c, $dir);
            $this->assertSame($c['expect'], $got['expect'], (string) $id);
            if (array_key_exists('result', $c)) {
                $this->assertSame($c['result'], $got['result'], (string) $id);
            }
            $n++;
        }
        $this->assertGreaterThan(650, $n);
    }

    public function testPrechecksHoldAgainstALenientOrThrowingLibrary(): void
    {
        Ed25519::useBackend(Ed25519::BACKEND_COMPAT);
        // A library that accepts every signature: only our prechecks stand between it and a forgery.
        \ParagonIE_Sodium_Compat::$verify = function (): bool {
            return true;
        };
        $refusedByPrechecks = 0;
        foreach (self::cases('verifyStrict') as $id => list($c, $dir)) {
            $pk = (string) hex2bin($c['publicKey']);
            $sig = (string) hex2bin($c['signature']);
            if (strlen($pk) !== 32 || strlen($sig) !== 64) {
                continue;
            }
            if (!$this->failsPrecheck($sig, $pk)) {
                continue;
            }
            $this->assertFalse(VectorRunner::outcome($c, $dir)['result'], (string) $id);
            $refusedByPrechecks++;
        }
        $this->assertGreaterThan(20, $refusedByPrechecks);
        // A library that throws (as sodium_compat does on bad points): a verdict of false, never an exception.
        \ParagonIE_Sodium_Compat::$verify = function (): bool {
            throw new \SodiumException('bad point');
        };
        $this->assertFalse(Ed25519::verifyStrict(str_repeat("\x11", 64), 'm', (string) hex2bin('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')));
    }

    private function failsPrecheck(string $sig, string $pk): bool
    {
        $small = ['0000000000000000000000000000000000000000000000000000000000000000', '0100000000000000000000000000000000000000000000000000000000000000', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'];
        $mask = function (string $p): string {
            return bin2hex(substr($p, 0, 31) . chr(ord($p[31]) & 0x7f));
        };
        $sHigh = ord($sig[63]) > 0x10; // S above L for sure (L = 0x10... in its top byte)
        return in_array($mask(substr($sig, 0, 32)), $small, true) || in_array($mask($pk), $small, true) || $sHigh;
    }

    public function testPurePhpSubgroupCheckMatchesSodium(): void
    {
        $this->assertSame('ext-sodium', Ed25519::admissionBackend(), 'this libsodium refuses mixed-order keys in pk_to_curve25519');
        Ed25519::useBackend(Ed25519::BACKEND_COMPAT);
        $this->assertSame('php', Ed25519::admissionBackend());
        Ed25519::useBackend(false);
        // Without ext-sodium, admission computes [L]A in PHP (Curve25519): same answers on random, torsioned and junk keys.
        for ($i = 0; $i < 12; $i++) {
            $pk = sodium_crypto_sign_publickey(sodium_crypto_sign_seed_keypair(hash('sha256', 'k' . $i, true)));
            $candidates = [$pk, random_bytes(32), substr($pk, 0, 31) . chr(ord($pk[31]) ^ 0x80)];
            foreach ($candidates as $key) {
                Ed25519::useBackend(false);
                $sodium = Ed25519::isStrongPublicKey($key);
                Ed25519::useBackend(Ed25519::BACKEND_COMPAT);
                $this->assertSame($sodium, Ed25519::isStrongPublicKey($key), bin2hex($key));
            }
        }
    }

    public function testBackendIsReported(): void
    {
        $this->assertSame(Ed25519::BACKEND_SODIUM, Ed25519::backend());
        $root = dirname(__DIR__, 2);
        $dir = $root . '/spec/vectors/conformance';
        $out = fopen('php://memory', 'w+');
        $err = fopen('php://memory', 'w+');
        $cli = new Cli($out, $err);
        $this->assertSame(0, $cli->run([$dir . '/bundles/a-ok.bundle', '--policy', $dir . '/documents/policy-v1.json', '--now', '2026-06-01T00:00:00Z', '--json']));
        rewind($out);
        $this->assertSame('ext-sodium', json_decode((string) stream_get_contents($out), true)['backend']);
    }
}
