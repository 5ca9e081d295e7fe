<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\Format;
use Countersign\FormatException;
use Countersign\Json;
use PHPUnit\Framework\TestCase;

/** The per-document format table (Format.php) is lib/core/format.ts's, and every value outside it is FORMAT_UNSUPPORTED. */
final class FormatTest extends TestCase
{
    public function testTheTableIsTheTypeScriptOne(): void
    {
        $ts = (string) file_get_contents(dirname(__DIR__, 2) . '/lib/core/format.ts');
        $this->assertSame(1, preg_match('/const INTRODUCED = \{(.*?)\n\} as const/s', $ts, $m), 'INTRODUCED not found in lib/core/format.ts');
        $table = [];
        preg_match_all("/^\s*'?([a-z-]+)'?: \{([^}]*)\}/m", $m[1], $rows, PREG_SET_ORDER);
        foreach ($rows as $row) {
            preg_match_all("/(\d+): '([0-9.]+)'/", $row[2], $cells, PREG_SET_ORDER);
            foreach ($cells as $cell) {
                $table[$row[1]][(int) $cell[1]] = $cell[2];
            }
        }
        $this->assertSame(Format::INTRODUCED, $table, 'php/src/Format.php INTRODUCED differs from lib/core/format.ts');
        $this->assertSame(1, preg_match("/const NEXT_RELEASE = '([0-9.]+)'/", $ts, $next));
        $this->assertSame($next[1], Format::NEXT_RELEASE);
    }

    /** @return array<string,array{0:string,1:string,2:bool}> */
    public function payloads(): array
    {
        return [
            'policy 2 (signer kinds)' => ['policy', '{"format":2}', true],
            'manifest 2 (rebuilt archive)' => ['manifest', '{"format":2}', true],
            'manifest 1' => ['manifest', '{"format":1}', true],
            'manifest without format' => ['manifest', '{}', true],
            'manifest "2"' => ['manifest', '{"format":"2"}', false],
            'manifest null' => ['manifest', '{"format":null}', false],
            'manifest 2.5' => ['manifest', '{"format":2.5}', false],
            'manifest 0' => ['manifest', '{"format":0}', false],
            'revocation 3' => ['revocation', '{"format":3}', false],
            'partial 2' => ['partial-signature', '{"format":2}', true],
            'policy 4' => ['policy', '{"format":4}', false],
            'manifest 4' => ['manifest', '{"format":4}', false],
        ];
    }

    /** @dataProvider payloads */
    public function testPayloadFormats(string $document, string $json, bool $read): void
    {
        try {
            Format::checkPayload($document, Json::parseLenient($json, 'x'));
            $this->assertTrue($read, $json . ' was read');
        } catch (FormatException $e) {
            $this->assertFalse($read, $json . ': ' . $e->getMessage());
            $this->assertSame('FORMAT_UNSUPPORTED', $e->getErrorCode());
            $this->assertSame(Format::supported($document), $e->getDetails()['supported']);
            $this->assertStringEndsWith('update countersign to >= 0.5.0', $e->getMessage());
        }
    }

    /** @return array<string,array{0:string,1:int,2:list<int>}> */
    public function providerFormats(): array
    {
        return [
            'policy 3' => ['policy', 3, [1, 2]],
            'manifest 3' => ['manifest', 3, [1, 2]],
            'revocation 2' => ['revocation', 2, [1]],
        ];
    }

    /** Providers' formats are in the table but not read here: FORMAT_UNSUPPORTED naming what is. @dataProvider providerFormats */
    public function testProviderFormatsAreRefused(string $document, int $format, array $read): void
    {
        try {
            Format::checkPayload($document, Json::parseLenient('{"format":' . $format . '}', 'x'));
            $this->fail($document . ' format ' . $format . ' was read');
        } catch (FormatException $e) {
            $this->assertSame('FORMAT_UNSUPPORTED', $e->getErrorCode());
            $this->assertSame($read, $e->getDetails()['supported']);
            $this->assertStringContainsString('not read by the PHP verifier', $e->getMessage());
        }
    }
}
