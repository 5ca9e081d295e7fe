<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\CountersignException;
use Countersign\Integration\UpdateCheck;
use PHPUnit\Framework\TestCase;

/** The CMS entry points: a release is accepted only when verified as this site AND exactly the release expected. */
final class IntegrationTest extends TestCase
{
    private const NOW = 1780272000; // 2026-06-01T00:00:00Z, the fixtures' reference time

    private static function path(string $p): string
    {
        return dirname(__DIR__, 2) . '/' . $p;
    }

    public function testTheExpectedReleaseVerifies(): void
    {
        $v = UpdateCheck::verify(self::path('spec/vectors/conformance/bundles/a-ok.bundle'), self::path('test/vectors/shared/stores/core-10.2.3'), 'drupal', 'core', '10.2.4', self::NOW);
        $this->assertSame('10.2.4', $v->document['version']);
        $this->assertSame('ext-sodium', $v->backend);
    }

    /** @return array<string,array{0:string,1:string,2:string,3:string,4:string}> */
    public function refusals(): array
    {
        return [
            'another version than offered' => ['a-ok', 'core-10.2.3', 'core', '10.2.5', 'WRONG_KIND'],
            'another component than offered' => ['a-ok', 'core-10.2.3', 'webform', '10.2.4', 'WRONG_KIND'],
            'a replay once 10.2.4 is installed' => ['a-ok', 'core-10.2.4', 'core', '10.2.4', 'NOT_APPLICABLE'],
            'a revoked release' => ['a-ok', 'core-revoked', 'core', '10.2.4', 'REVOKED'],
            'an extra archive entry' => ['a-entry-extra', 'core-10.2.3', 'core', '10.2.4', 'ENTRY_EXTRA'],
            'no store' => ['a-ok', 'none', 'core', '10.2.4', 'STORE_MISSING'],
        ];
    }

    /** @dataProvider refusals */
    public function testRefused(string $bundle, string $store, string $component, string $version, string $code): void
    {
        try {
            UpdateCheck::verify(self::path('spec/vectors/conformance/bundles/' . $bundle . '.bundle'), self::path('test/vectors/shared/stores/' . $store), 'drupal', $component, $version, self::NOW);
            $this->fail('accepted');
        } catch (CountersignException $e) {
            $this->assertSame($code, $e->getErrorCode());
        }
    }

    public function testWordPressFunctionFailsClosed(): void
    {
        require_once dirname(__DIR__) . '/wordpress/countersign.php';
        $error = null;
        $this->assertFalse(countersign_update_is_valid(self::path('spec/vectors/conformance/bundles/a-ok.bundle'), 'drupal', 'core', '10.2.4', $error));
        $this->assertStringStartsWith('USAGE: COUNTERSIGN_STORE is not defined', (string) $error);
        define('COUNTERSIGN_STORE', self::path('test/vectors/shared/stores/core-10.2.3'));
        $this->assertFalse(countersign_update_is_valid(self::path('spec/vectors/conformance/bundles/a-entry-extra.bundle'), 'drupal', 'core', '10.2.4', $error));
        $this->assertMatchesRegularExpression('/^(ENTRY_EXTRA|EXPIRED|POLICY_EXPIRED): /', (string) $error);
        $this->assertFalse(countersign_update_is_valid('/nonexistent', 'drupal', 'core', '10.2.4', $error));
        $this->assertStringStartsWith('IO: ', (string) $error);
    }

    public function testDrupalScriptExitCodes(): void
    {
        $out = [];
        $status = 0;
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(dirname(__DIR__) . '/drupal/countersign-verify.php') . ' ' . escapeshellarg(self::path('spec/vectors/conformance/bundles/a-entry-extra.bundle')) . ' ' . escapeshellarg(self::path('test/vectors/shared/stores/core-10.2.3')) . ' core 10.2.4 2>&1', $out, $status);
        $this->assertSame(1, $status, implode("\n", $out));
        $this->assertStringStartsWith('REJECTED: ', $out[0]);
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(dirname(__DIR__) . '/drupal/countersign-verify.php') . ' 2>&1', $out, $status);
        $this->assertSame(2, $status);
    }
}
