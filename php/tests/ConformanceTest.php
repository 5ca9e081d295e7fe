<?php

declare(strict_types=1);

namespace Countersign\Tests;

use PHPUnit\Framework\TestCase;

/**
 * Every vector of spec/vectors/conformance/ and test/vectors/shared/ must get exactly the verdict and codes written
 * there, which are also what the TypeScript verifier gives (test/conformance/run.test.ts). A disagreement is a
 * security bug; the data set name is the vector's id.
 */
final class ConformanceTest extends TestCase
{
    /** @return iterable<string,array{0:array<string,mixed>,1:string}> */
    public function vectors(): iterable
    {
        $root = dirname(__DIR__, 2);
        foreach ([$root . '/spec/vectors/conformance', $root . '/test/vectors/shared'] as $dir) {
            foreach (glob($dir . '/*.json') ?: [] as $path) {
                $family = json_decode((string) file_get_contents($path), true, 512, JSON_THROW_ON_ERROR);
                if (($family['format'] ?? null) !== 1 || !isset($family['cases'])) {
                    continue;
                }
                foreach ($family['cases'] as $c) {
                    yield $c['id'] => [$c, $dir];
                }
            }
        }
    }

    /**
     * @dataProvider vectors
     * @param array<string,mixed> $c
     */
    public function testVector(array $c, string $dir): void
    {
        $got = VectorRunner::outcome($c, $dir);
        $this->assertSame($c['expect'], $got['expect'], $c['id'] . ': ' . $c['description']);
        if (array_key_exists('result', $c)) {
            $this->assertSame($c['result'], $got['result'], $c['id'] . ' result');
        }
        if (array_key_exists('problems', $c)) {
            $this->assertSame($c['problems'], $got['problems'] ?? $got['result']['problems'] ?? null, $c['id'] . ' problems');
        }
    }
}
