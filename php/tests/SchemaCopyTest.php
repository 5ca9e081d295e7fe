<?php

declare(strict_types=1);

namespace Countersign\Tests;

use PHPUnit\Framework\TestCase;

/** php/resources/schemas/ holds byte copies of the schemas the TypeScript verifier compiles (cp schemas/NAME.schema.json php/resources/schemas/). */
final class SchemaCopyTest extends TestCase
{
    public function testSchemasAreCurrent(): void
    {
        $root = dirname(__DIR__, 2);
        foreach (['envelope', 'policy', 'manifest', 'revocation', 'store'] as $name) {
            $this->assertSame(file_get_contents($root . '/schemas/' . $name . '.schema.json'), file_get_contents($root . '/php/resources/schemas/' . $name . '.schema.json'), $name . ' is stale: cp schemas/' . $name . '.schema.json php/resources/schemas/');
        }
    }
}
