<?php

declare(strict_types=1);

namespace Countersign\Tests;

use PHPUnit\Framework\TestCase;

/** Every command-line tool answers --help (and -h) with its usage and an example on stdout, exit 0. */
final class HelpTest extends TestCase
{
    /** @return array<string,array{0:string,1:string}> */
    public function tools(): array
    {
        $cases = [];
        foreach (['countersign-verify', 'countersign-apply', 'countersign-recover', 'countersign-submit'] as $tool) {
            $cases[$tool . ' --help'] = [$tool, '--help'];
            $cases[$tool . ' -h'] = [$tool, '-h'];
        }
        return $cases;
    }

    /** @dataProvider tools */
    public function testHelp(string $tool, string $flag): void
    {
        $bin = dirname(__DIR__) . '/bin/' . $tool;
        $out = [];
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg($bin) . ' ' . $flag . ' 2>/dev/null', $out, $status);
        $text = implode("\n", $out);
        self::assertSame(0, $status, $text);
        self::assertStringContainsString('usage:', $text);
        self::assertMatchesRegularExpression('/^[Ee]xample: php ' . preg_quote($tool, '/') . ' /m', $text);
    }
}
