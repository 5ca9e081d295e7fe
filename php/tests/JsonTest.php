<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\FormatException;
use Countersign\Json;
use Countersign\JsonObject;
use Countersign\Schema;
use PHPUnit\Framework\TestCase;

/** The PHP traps PHP.md names, each refused or avoided (the vectors cover the rest). */
final class JsonTest extends TestCase
{
    public function testNumericKeysStayStrings(): void
    {
        $v = Json::parseStrict('{"1":"a","01":"b","10":"c","9":"d"}', 'x');
        $this->assertInstanceOf(JsonObject::class, $v);
        $this->assertSame(['1', '01', '10', '9'], $v->names());
        $this->assertSame('{"01":"b","1":"a","10":"c","9":"d"}', Json::canonical($v));
        $lenient = Json::parseLenient('{"1":"a","01":"b","10":"c","9":"d","":{},"x":[]}', 'x');
        $this->assertSame(['1', '01', '10', '9', '', 'x'], $lenient->names());
        $this->assertSame('{"":{},"01":"b","1":"a","10":"c","9":"d","x":[]}', Json::canonical($lenient));
        $this->assertSame('{"a":1}', Json::canonical(Json::parseLenient('{"a":1,"a":1}', 'x')), 'the last of equal names wins, as in JSON.parse');
        $this->assertSame('9007199254740992', Json::canonical(Json::parseLenient('9007199254740993', 'x')), 'integers are doubles, as in JavaScript');
    }

    public function testDuplicateKeysRefusedInEnvelopesLastWinsInPayloads(): void
    {
        $this->assertSame('b', Json::parseLenient('{"a":"x","a":"b"}', 'x')->get('a'));
        $this->expectException(FormatException::class);
        Json::parseStrict('{"a":"x","a":"b"}', 'x');
    }

    /** @return array<string,array{0:float,1:string}> */
    public function numbers(): array
    {
        // ECMAScript Number::toString, as JSON.stringify writes them.
        return [
            'integer' => [123.0, '123'],
            'negative zero' => [-0.0, '0'],
            '2^53' => [9007199254740992.0, '9007199254740992'],
            '2^60' => [1152921504606846976.0, '1152921504606847000'],
            '1e21' => [1e21, '1e+21'],
            'below 1e21' => [123456789012345680000.0, '123456789012345680000'],
            '0.1' => [0.1, '0.1'],
            '1e-7' => [1e-7, '1e-7'],
            '1e-6' => [0.000001, '0.000001'],
            'min subnormal' => [5e-324, '5e-324'],
            'max' => [1.7976931348623157e308, '1.7976931348623157e+308'],
            'fraction' => [-1.5e-10, '-1.5e-10'],
            '1/3' => [1 / 3, '0.3333333333333333'],
        ];
    }

    /** @dataProvider numbers */
    public function testEcmaScriptNumbers(float $n, string $text): void
    {
        $this->assertSame($text, Json::number($n));
    }

    public function testUtf16KeyOrder(): void
    {
        // U+FF61 sorts after U+1F600 by code point but before it by UTF-16 code unit (0xD83D).
        $v = Json::parseStrict('{"\uff61":1,"\ud83d\ude00":2}', 'x');
        $this->assertSame("{\"\u{1f600}\":2,\"\u{ff61}\":1}", Json::canonical($v));
    }

    public function testPatternsMatchTheWholeStringNotBeforeAFinalNewline(): void
    {
        // PCRE's $ matches before a trailing LF; JavaScript's does not. Schema patterns are compiled with D.
        $e = Json::parseStrict('{"payloadType":"t","payload":"","signatures":[{"keyid":"' . str_repeat('a', 64) . '\n","sig":"' . str_repeat('A', 86) . '=="}]}', 'x');
        $this->expectException(FormatException::class);
        Schema::validate('envelope', $e, 'x');
    }

    public function testLoneSurrogatesAreNotCanonical(): void
    {
        $this->expectException(FormatException::class);
        Json::canonical(Json::parseLenient('"\ud800"', 'x'));
    }

    public function testMegabytePayloadsDecode(): void
    {
        // A manifest of 20,000 files is a payload of megabytes: a regular expression over it hits PCRE's limits.
        $text = str_repeat('QUFB', 2000000) . 'QQ==';
        $this->assertSame(6000001, strlen(\Countersign\Bytes::fromBase64($text)));
        $this->assertTrue(\Countersign\Bytes::isUtf8(str_repeat("\u{e9}", 4000000)));
    }
}
