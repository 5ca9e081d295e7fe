<?php

declare(strict_types=1);

namespace Countersign\Tests;

use PHPUnit\Framework\TestCase;

/**
 * The library must run on PHP 7.4 (WordPress's minimum): no syntax or functions of 8.x. Checked on tokens, since only
 * PHP 8.2 is installed here: no match, enum, readonly, nullsafe ?->, named arguments, attributes, union or mixed/static
 * /never types in signatures, no str_contains & co.
 */
final class Php74SyntaxTest extends TestCase
{
    private const FUNCTIONS_8 = ['str_contains', 'str_starts_with', 'str_ends_with', 'array_is_list', 'get_debug_type', 'fdiv', 'get_resource_id', 'array_key_first_8'];

    /** @return iterable<string,array{0:string}> */
    public function files(): iterable
    {
        $root = dirname(__DIR__);
        $it = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($root . '/src'));
        foreach ($it as $f) {
            if ($f->isFile() && substr($f->getFilename(), -4) === '.php') {
                yield substr($f->getPathname(), strlen($root) + 1) => [$f->getPathname()];
            }
        }
        foreach (['autoload.php', 'bin/countersign-verify', 'wordpress/countersign.php', 'wordpress/mu-plugin/countersign-verify-updates.php', 'drupal/countersign-verify.php'] as $f) {
            if (is_file($root . '/' . $f)) {
                yield $f => [$root . '/' . $f];
            }
        }
    }

    /** @dataProvider files */
    public function testPhp74Syntax(string $path): void
    {
        $tokens = token_get_all((string) file_get_contents($path));
        $significant = array_values(array_filter($tokens, function ($t) {
            return !is_array($t) || !in_array($t[0], [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT], true);
        }));
        $banned = [];
        foreach (['T_MATCH', 'T_ENUM', 'T_READONLY', 'T_NULLSAFE_OBJECT_OPERATOR', 'T_ATTRIBUTE'] as $name) {
            if (defined($name)) {
                $banned[constant($name)] = $name;
            }
        }
        foreach ($significant as $i => $t) {
            if (is_array($t) && isset($banned[$t[0]])) {
                $this->fail($path . ':' . $t[2] . ' uses ' . $banned[$t[0]]);
            }
            if (is_array($t) && $t[0] === T_STRING && in_array(strtolower($t[1]), self::FUNCTIONS_8, true)) {
                $this->fail($path . ':' . $t[2] . ' calls ' . $t[1] . ' (PHP 8)');
            }
            if (is_array($t) && in_array(strtolower($t[1]), ['mixed', 'never'], true) && isset($significant[$i - 1]) && in_array($significant[$i - 1], [':', '(', ','], true)) {
                $this->fail($path . ':' . $t[2] . ' uses the type ' . $t[1]);
            }
            // A named argument: an identifier followed by ':' inside a call's parentheses (not '::', not a ternary).
            if (is_array($t) && $t[0] === T_STRING && ($significant[$i + 1] ?? null) === ':' && in_array($significant[$i - 1] ?? null, ['(', ','], true)) {
                $this->fail($path . ':' . $t[2] . ' passes a named argument ' . $t[1]);
            }
            if ($t === '|' && is_array($significant[$i - 1] ?? null) && is_array($significant[$i + 1] ?? null) && $significant[$i + 1][0] === T_VARIABLE) {
                $this->fail($path . ' uses a union type before ' . $significant[$i + 1][1]);
            }
            if (is_array($t) && $t[0] === T_CATCH) {
                $j = $i + 2;
                while (isset($significant[$j]) && $significant[$j] !== ')' && !(is_array($significant[$j]) && $significant[$j][0] === T_VARIABLE)) {
                    $j++;
                }
                $this->assertTrue(is_array($significant[$j]) && $significant[$j][0] === T_VARIABLE, $path . ':' . $t[2] . ' catch without a variable (PHP 8)');
            }
        }
        $this->addToAssertionCount(1);
    }
}
