<?php

declare(strict_types=1);

namespace Countersign;

/**
 * JSON Schema validation (lib/core/schema.ts) for the few keywords countersign's schemas use, against the very
 * schema files the TypeScript verifier compiles (resources/schemas/ is a byte copy of schemas/; a test says when
 * it is stale). Errors are SCHEMA_INVALID with the first failing instance path, as ajv reports it.
 */
final class Schema
{
    /** @var array<string,array<string,mixed>> */
    private static $schemas = [];
    /** @var array<string,mixed> the schema being applied, for "$ref": "#/$defs/NAME" */
    private static $root = [];

    /**
     * @param mixed $value a parsed value (JsonObject, list, string, float, bool, null)
     * @return mixed $value
     */
    public static function validate(string $name, $value, string $what)
    {
        if (!isset(self::$schemas[$name])) {
            $text = file_get_contents(__DIR__ . '/../resources/schemas/' . $name . '.schema.json');
            self::$schemas[$name] = json_decode((string) $text, true, 64, JSON_THROW_ON_ERROR);
        }
        self::$root = self::$schemas[$name];
        $error = self::check(self::$schemas[$name], $value, '');
        if ($error !== null) {
            $where = $error[0] === '' ? '(top level)' : $error[0];
            throw new FormatException('SCHEMA_INVALID', trim($what . ' does not match the ' . $name . ' schema: ' . $where . ' ' . $error[1]), ['schema' => $name, 'path' => $where]);
        }
        return $value;
    }

    /**
     * @param array<string,mixed> $s
     * @param mixed $v
     * @return array{0:string,1:string}|null
     */
    private static function check(array $s, $v, string $path): ?array
    {
        if (isset($s['$ref'])) {
            $e = self::check(self::$root['$defs'][substr($s['$ref'], strlen('#/$defs/'))], $v, $path);
            if ($e !== null) {
                return $e;
            }
        }
        if (isset($s['oneOf'])) {
            $passed = 0;
            $firstError = null;
            foreach ($s['oneOf'] as $sub) {
                $e = self::check($sub, $v, $path);
                if ($e === null) {
                    $passed++;
                } elseif ($firstError === null) {
                    $firstError = $e;
                }
            }
            if ($passed !== 1) {
                // ajv's first error is the first failing branch's own, before its oneOf error.
                return $firstError ?? [$path, 'must match exactly one schema in oneOf'];
            }
        }
        if (array_key_exists('const', $s) && !self::equal($s['const'], $v)) {
            return [$path, 'must be equal to constant'];
        }
        if (isset($s['enum'])) {
            $found = false;
            foreach ($s['enum'] as $option) {
                $found = $found || self::equal($option, $v);
            }
            if (!$found) {
                return [$path, 'must be equal to one of the allowed values'];
            }
        }
        if (isset($s['type']) && !self::isType($s['type'], $v)) {
            return [$path, 'must be ' . $s['type']];
        }
        if (is_string($v)) {
            $len = Bytes::codePointLength($v);
            if (isset($s['minLength']) && $len < $s['minLength']) {
                return [$path, 'must NOT have fewer than ' . $s['minLength'] . ' characters'];
            }
            if (isset($s['maxLength']) && $len > $s['maxLength']) {
                return [$path, 'must NOT have more than ' . $s['maxLength'] . ' characters'];
            }
            if (isset($s['pattern']) && preg_match(self::regex($s['pattern']), $v) !== 1) {
                return [$path, 'must match pattern "' . $s['pattern'] . '"'];
            }
        }
        if (is_float($v)) {
            if (isset($s['minimum']) && $v < $s['minimum']) {
                return [$path, 'must be >= ' . $s['minimum']];
            }
            if (isset($s['maximum']) && $v > $s['maximum']) {
                return [$path, 'must be <= ' . $s['maximum']];
            }
        }
        if (is_array($v)) {
            if (isset($s['minItems']) && count($v) < $s['minItems']) {
                return [$path, 'must NOT have fewer than ' . $s['minItems'] . ' items'];
            }
            if (isset($s['maxItems']) && count($v) > $s['maxItems']) {
                return [$path, 'must NOT have more than ' . $s['maxItems'] . ' items'];
            }
            if (!empty($s['uniqueItems'])) {
                for ($i = count($v) - 1; $i > 0; $i--) {
                    for ($j = $i - 1; $j >= 0; $j--) {
                        if (self::equal($v[$i], $v[$j])) {
                            return [$path, 'must NOT have duplicate items (items ## ' . $j . ' and ' . $i . ' are identical)'];
                        }
                    }
                }
            }
            if (isset($s['items'])) {
                foreach ($v as $i => $item) {
                    $e = self::check($s['items'], $item, $path . '/' . $i);
                    if ($e !== null) {
                        return $e;
                    }
                }
            }
        }
        if ($v instanceof JsonObject) {
            foreach ($s['required'] ?? [] as $name) {
                if (!$v->has($name)) {
                    return [$path, "must have required property '" . $name . "'"];
                }
            }
            if (isset($s['maxProperties']) && $v->count() > $s['maxProperties']) {
                return [$path, 'must NOT have more than ' . $s['maxProperties'] . ' properties'];
            }
            $props = $s['properties'] ?? [];
            foreach ($v->names() as $name) {
                if (isset($s['propertyNames'])) {
                    $e = self::check($s['propertyNames'], $name, $path);
                    if ($e !== null) {
                        return [$path, 'must match pattern "' . ($s['propertyNames']['pattern'] ?? '') . '"'];
                    }
                }
                if (!array_key_exists($name, $props)) {
                    if (($s['additionalProperties'] ?? true) === false) {
                        return [$path, 'must NOT have additional properties'];
                    }
                    if (is_array($s['additionalProperties'] ?? null)) {
                        $e = self::check($s['additionalProperties'], $v->get($name), $path . '/' . self::pointer($name));
                        if ($e !== null) {
                            return $e;
                        }
                    }
                }
            }
            foreach ($props as $name => $sub) {
                if ($v->has((string) $name)) {
                    $e = self::check($sub, $v->get((string) $name), $path . '/' . self::pointer((string) $name));
                    if ($e !== null) {
                        return $e;
                    }
                }
            }
        }
        return null;
    }

    /** @param mixed $v */
    private static function isType(string $type, $v): bool
    {
        switch ($type) {
            case 'object':
                return $v instanceof JsonObject;
            case 'array':
                return is_array($v);
            case 'string':
                return is_string($v);
            case 'integer':
                return is_float($v) && is_finite($v) && floor($v) === $v;
            case 'number':
                return is_float($v);
            case 'null':
                return $v === null;
            case 'boolean':
                return is_bool($v);
        }
        return false;
    }

    /**
     * Deep equality of a schema constant (json_decode form) or parsed value with a parsed value.
     * @param mixed $a
     * @param mixed $b
     */
    private static function equal($a, $b): bool
    {
        if (is_int($a)) {
            $a = (float) $a;
        }
        if ($a instanceof JsonObject && $b instanceof JsonObject) {
            if ($a->count() !== $b->count()) {
                return false;
            }
            foreach ($a->names() as $n) {
                if (!$b->has($n) || !self::equal($a->get($n), $b->get($n))) {
                    return false;
                }
            }
            return true;
        }
        if (is_array($a) && is_array($b)) {
            if (count($a) !== count($b)) {
                return false;
            }
            foreach ($a as $i => $x) {
                if (!self::equal($x, $b[$i])) {
                    return false;
                }
            }
            return true;
        }
        return $a === $b;
    }

    private static function pointer(string $name): string
    {
        return str_replace(['~', '/'], ['~0', '~1'], $name);
    }

    /** A JavaScript (u-flag) pattern as PCRE: \uXXXX becomes \x{XXXX}; $ is the end of the text only (D). */
    private static function regex(string $pattern): string
    {
        static $cache = [];
        if (!isset($cache[$pattern])) {
            $cache[$pattern] = '/' . str_replace('/', '\\/', (string) preg_replace('/\\\\u([0-9a-fA-F]{4})/', '\\x{$1}', $pattern)) . '/Du';
        }
        return $cache[$pattern];
    }
}
