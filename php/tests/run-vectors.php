<?php

// Runs every vector outside PHPUnit and prints one JSON line per case: {"id", "expect", "got"}. Used to run the suite
// under `php -n` (no ext-intl, no ext-mbstring) and other PHP builds: see tests/HostLimitsTest.php.
declare(strict_types=1);

require __DIR__ . '/bootstrap.php';

$root = dirname(__DIR__, 2);
foreach ([$root . '/spec/vectors/conformance', $root . '/test/vectors/shared'] as $dir) {
    foreach (glob($dir . '/*.json') ?: [] as $path) {
        $family = json_decode((string) file_get_contents($path), true);
        foreach ($family['cases'] as $c) {
            $got = Countersign\Tests\VectorRunner::outcome($c, $dir);
            $ok = $got['expect'] === $c['expect'] && (!array_key_exists('result', $c) || $got['result'] === $c['result']);
            echo json_encode(['id' => $c['id'], 'ok' => $ok, 'expect' => $c['expect'], 'got' => $got['expect']]), "\n";
        }
    }
}
