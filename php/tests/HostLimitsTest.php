<?php

declare(strict_types=1);

namespace Countersign\Tests;

use PHPUnit\Framework\TestCase;

/**
 * The suite on a PHP without ext-intl and ext-mbstring (`php -n`: Debian builds both as modules, ext-sodium is built
 * in): every case gets its expected verdict, or UNICODE_UNAVAILABLE when a non-ASCII name or path cannot be
 * checked; never a pass where a failure is expected.
 */
final class HostLimitsTest extends TestCase
{
    public function testSuiteWithoutIntlOrMbstring(): void
    {
        $out = [];
        $status = 0;
        exec(escapeshellarg(PHP_BINARY) . ' -n ' . escapeshellarg(__DIR__ . '/run-vectors.php'), $out, $status);
        $this->assertSame(0, $status, implode("\n", array_slice($out, -5)));
        $probe = [];
        exec(escapeshellarg(PHP_BINARY) . ' -n -r ' . escapeshellarg('echo class_exists("Normalizer") ? "intl" : "none";'), $probe);
        $this->assertSame(['none'], $probe, 'php -n still loads ext-intl here; this test needs a PHP without it');
        $unavailable = 0;
        foreach ($out as $line) {
            $r = json_decode($line, true);
            if ($r['ok']) {
                continue;
            }
            $this->assertSame(['UNICODE_UNAVAILABLE'], $r['got'], $r['id'] . ': expected ' . json_encode($r['expect']) . ', got ' . json_encode($r['got']));
            $unavailable++;
        }
        $this->assertGreaterThan(500, count($out));
        $this->assertGreaterThan(0, $unavailable, 'some vectors have non-ASCII paths or names');
    }
}
