<?php

declare(strict_types=1);

namespace Countersign;

/**
 * JSON as the TypeScript verifier reads and writes it (lib/core/json.ts, lib/core/canonical.ts). json_decode is not
 * used: it keeps the last of two equal keys and turns "1" into an integer key. Values: JsonObject, list arrays,
 * strings (UTF-8; a lone surrogate escape is kept as its 3-byte WTF-8 form), float for every number (as JavaScript),
 * bool, null.
 */
final class Json
{
    public const MAX_DEPTH = 64;
    /** JSON.parse has no depth limit; this one stops a hostile payload from exhausting memory (deeper is MALFORMED anyway). */
    private const LENIENT_MAX_DEPTH = 4096;

    /** @var string */
    private $text;
    /** @var int */
    private $at = 0;
    /** @var string */
    private $what;
    /** @var bool */
    private $strict;

    private function __construct(string $text, string $what, bool $strict)
    {
        $this->text = $text;
        $this->what = $what;
        $this->strict = $strict;
    }

    /**
     * parseStrictJson: RFC 8259, duplicate member names refused, nesting deeper than 64 refused (MALFORMED).
     * $text must be valid UTF-8 (Bytes::utf8 checks it).
     * @return mixed
     */
    public static function parseStrict(string $text, string $what)
    {
        $p = new self($text, $what, true);
        return $p->document();
    }

    /**
     * JSON.parse: duplicate member names allowed (the last wins); for canonical payloads and the trust store.
     * @return mixed
     */
    public static function parseLenient(string $text, string $what)
    {
        // json_decode is used only as a fast path, and only for its shape: objects are rebuilt as JsonObject with
        // string names (never PHP array keys), integers become doubles as in JavaScript, and the last of equal names
        // wins as in JSON.parse. Anything it refuses (lone surrogates, "\u0000" names, deep nesting) goes to our parser.
        try {
            $decoded = json_decode($text, false, self::LENIENT_MAX_DEPTH, JSON_THROW_ON_ERROR);
            return self::fromDecoded($decoded);
        } catch (\JsonException $e) {
            $p = new self($text, $what, false);
            return $p->document();
        }
    }

    /**
     * @param mixed $v
     * @return mixed
     */
    private static function fromDecoded($v)
    {
        if ($v instanceof \stdClass) {
            $o = new JsonObject();
            foreach ($v as $name => $member) {
                $o->set((string) $name, self::fromDecoded($member));
            }
            return $o;
        }
        if (is_array($v)) {
            foreach ($v as $i => $item) {
                $v[$i] = self::fromDecoded($item);
            }
            return $v;
        }
        return is_int($v) ? (float) $v : $v;
    }

    /** @return mixed */
    private function document()
    {
        $value = $this->value(0);
        $this->ws();
        if ($this->at !== strlen($this->text)) {
            $this->fail('trailing characters');
        }
        return $value;
    }

    /** @return never */
    private function fail(string $why)
    {
        if ($this->strict) {
            throw new FormatException('MALFORMED', $this->what . ' is not valid JSON: ' . $why . ' at offset ' . $this->at);
        }
        throw new FormatException('MALFORMED', $this->what . ' is not valid JSON');
    }

    private function ws(): void
    {
        $this->at += strspn($this->text, " \t\n\r", $this->at);
    }

    /** @return mixed */
    private function value(int $depth)
    {
        if ($depth > ($this->strict ? self::MAX_DEPTH : self::LENIENT_MAX_DEPTH)) {
            $this->fail('nested deeper than ' . self::MAX_DEPTH);
        }
        $this->ws();
        $c = $this->text[$this->at] ?? '';
        if ($c === '{') {
            $this->at++;
            $obj = new JsonObject();
            $this->ws();
            if (($this->text[$this->at] ?? '') === '}') {
                $this->at++;
                return $obj;
            }
            for (;;) {
                $this->ws();
                if (($this->text[$this->at] ?? '') !== '"') {
                    $this->fail('expected a string key');
                }
                $key = $this->str();
                if ($this->strict && $obj->has($key)) {
                    $this->fail('duplicate key ' . Json::quote($key));
                }
                $this->ws();
                if (($this->text[$this->at++] ?? '') !== ':') {
                    $this->fail("expected ':'");
                }
                $obj->set($key, $this->value($depth + 1));
                $this->ws();
                $sep = $this->text[$this->at++] ?? '';
                if ($sep === '}') {
                    return $obj;
                }
                if ($sep !== ',') {
                    $this->fail("expected ',' or '}'");
                }
            }
        }
        if ($c === '[') {
            $this->at++;
            $arr = [];
            $this->ws();
            if (($this->text[$this->at] ?? '') === ']') {
                $this->at++;
                return $arr;
            }
            for (;;) {
                $arr[] = $this->value($depth + 1);
                $this->ws();
                $sep = $this->text[$this->at++] ?? '';
                if ($sep === ']') {
                    return $arr;
                }
                if ($sep !== ',') {
                    $this->fail("expected ',' or ']'");
                }
            }
        }
        if ($c === '"') {
            return $this->str();
        }
        // The strict parser matches numbers within the next 400 characters, as lib/core/json.ts does.
        $m = [];
        $token = '/\G(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/';
        $found = $this->strict ? preg_match($token, substr($this->text, $this->at, 400), $m) : preg_match($token, $this->text, $m, 0, $this->at);
        if ($found !== 1) {
            $this->fail('unexpected token');
        }
        $this->at += strlen($m[0]);
        if ($m[0] === 'true') {
            return true;
        }
        if ($m[0] === 'false') {
            return false;
        }
        if ($m[0] === 'null') {
            return null;
        }
        return (float) $m[0];
    }

    private function str(): string
    {
        $this->at++; // opening quote
        $out = '';
        $text = $this->text;
        for (;;) {
            // PHP's strcspn() compares every byte with every byte of the mask; PCRE scans a megabyte payload at once.
            $m = [];
            $n = preg_match('/["\\\\\x00-\x1f]/', $text, $m, PREG_OFFSET_CAPTURE, $this->at) === 1 ? $m[0][1] - $this->at : strlen($text) - $this->at;
            $out .= substr($text, $this->at, $n);
            $this->at += $n;
            if ($this->at >= strlen($text)) {
                $this->fail('unterminated string');
            }
            $c = $text[$this->at];
            if ($c === '"') {
                $this->at++;
                return $out;
            }
            if ($c !== '\\') {
                $this->fail('control character in string');
            }
            $e = $text[$this->at + 1] ?? '';
            $simple = ['"' => '"', '\\' => '\\', '/' => '/', 'b' => "\x08", 'f' => "\x0c", 'n' => "\n", 'r' => "\r", 't' => "\t"];
            if (isset($simple[$e])) {
                $out .= $simple[$e];
                $this->at += 2;
                continue;
            }
            if ($e !== 'u' || !preg_match('/^[0-9A-Fa-f]{4}$/', substr($text, $this->at + 2, 4))) {
                $this->escapeFailure();
            }
            $unit = (int) hexdec(substr($text, $this->at + 2, 4));
            $this->at += 6;
            if ($unit >= 0xd800 && $unit <= 0xdbff && substr($text, $this->at, 2) === '\\u' && preg_match('/^[dD][c-fC-F][0-9A-Fa-f]{2}$/', substr($text, $this->at + 2, 4))) {
                $low = (int) hexdec(substr($text, $this->at + 2, 4));
                $this->at += 6;
                $out .= Bytes::codePointToUtf8(0x10000 + (($unit - 0xd800) << 10) + ($low - 0xdc00));
                continue;
            }
            $out .= Bytes::codePointToUtf8($unit); // a lone surrogate becomes WTF-8, refused by the canonical writer
        }
    }

    /** @return never */
    private function escapeFailure()
    {
        // lib/core/json.ts scans the whole string first, then lets the engine decode it: a control character
        // or a missing closing quote is reported as such rather than as a bad escape.
        $this->at += 2;
        $this->fail('invalid escape in string');
    }

    // -----------------------------------------------------------------------------------------------
    // Writing

    /** True when $s holds the WTF-8 form of a lone UTF-16 surrogate (only a \uD8xx-\uDFxx escape can make one). */
    public static function hasLoneSurrogate(string $s): bool
    {
        return strpos($s, "\xed") !== false && preg_match('/\xed[\xa0-\xbf]/', $s) === 1;
    }

    /** ECMAScript JSON.stringify of a string: \b \t \n \f \r \" \\, \u00xx for other controls, everything else literal. */
    public static function quote(string $s): string
    {
        static $map = null;
        if ($map === null) {
            $map = ['"' => '\\"', '\\' => '\\\\', "\x08" => '\\b', "\t" => '\\t', "\n" => '\\n', "\x0c" => '\\f', "\r" => '\\r'];
            for ($i = 0; $i < 0x20; $i++) {
                if (!isset($map[chr($i)])) {
                    $map[chr($i)] = sprintf('\\u%04x', $i);
                }
            }
        }
        $quoted = strtr($s, $map);
        if (self::hasLoneSurrogate($quoted)) {
            // Well-formed JSON.stringify: a lone surrogate is written as its \udxxx escape, never as raw bytes.
            $quoted = (string) preg_replace_callback('/\xed[\xa0-\xbf][\x80-\xbf]/', function (array $m): string {
                return sprintf('\\u%04x', Bytes::utf8ToCodePoint($m[0]));
            }, $quoted);
        }
        return '"' . $quoted . '"';
    }

    /** ECMAScript Number::toString of a double (RFC 8785 3.2.2.3). */
    public static function number(float $n): string
    {
        if (is_nan($n) || is_infinite($n)) {
            throw new FormatException('MALFORMED', ($n > 0 ? 'Infinity' : (is_nan($n) ? 'NaN' : '-Infinity')) . ' has no JSON representation');
        }
        if ($n == 0.0) {
            return '0';
        }
        if (floor($n) === $n && abs($n) <= 9007199254740992.0) {
            return (string) (int) $n;
        }
        // The shortest digits that round-trip (dtoa mode 0, as ECMAScript), then ECMAScript's layout.
        $old = ini_set('serialize_precision', '-1');
        $repr = var_export($n, true);
        if ($old !== false) {
            ini_set('serialize_precision', $old);
        }
        $m = [];
        if (!preg_match('/^(-?)([0-9]+)(?:\.([0-9]+))?(?:E([+-][0-9]+))?$/D', $repr, $m)) {
            throw new FormatException('MALFORMED', 'cannot format number ' . $repr);
        }
        $sign = $m[1];
        $int = $m[2];
        $frac = $m[3] ?? '';
        $exp = isset($m[4]) ? (int) $m[4] : 0;
        $digits = ltrim($int . $frac, '0');
        $lead = strlen($int . $frac) - strlen($digits); // leading zeros removed
        $n10 = strlen($int) + $exp - $lead; // position of the decimal point relative to the digits
        $digits = rtrim($digits, '0');
        $k = strlen($digits);
        if ($k <= $n10 && $n10 <= 21) {
            return $sign . $digits . str_repeat('0', $n10 - $k);
        }
        if (0 < $n10 && $n10 <= 21) {
            return $sign . substr($digits, 0, $n10) . '.' . substr($digits, $n10);
        }
        if (-6 < $n10 && $n10 <= 0) {
            return $sign . '0.' . str_repeat('0', -$n10) . $digits;
        }
        $e = $n10 - 1;
        $es = ($e < 0 ? '-' : '+') . abs($e);
        return $sign . ($k === 1 ? $digits : $digits[0] . '.' . substr($digits, 1)) . 'e' . $es;
    }

    /**
     * RFC 8785 canonical text of a parsed value (lib/core/canonical.ts canonicalize).
     * @param mixed $value
     */
    public static function canonical($value, int $depth = 0): string
    {
        if ($value === null) {
            return 'null';
        }
        if ($value === true) {
            return 'true';
        }
        if ($value === false) {
            return 'false';
        }
        if (is_float($value)) {
            return self::number($value);
        }
        if (is_int($value)) {
            return self::number((float) $value);
        }
        if (is_string($value)) {
            if (self::hasLoneSurrogate($value)) {
                throw new FormatException('MALFORMED', 'string holds a lone UTF-16 surrogate');
            }
            return self::quote($value);
        }
        if ($depth >= self::MAX_DEPTH) {
            throw new FormatException('MALFORMED', 'JSON nested deeper than ' . self::MAX_DEPTH . ' levels');
        }
        if (is_array($value)) {
            $parts = [];
            foreach ($value as $item) {
                $parts[] = self::canonical($item, $depth + 1);
            }
            return '[' . implode(',', $parts) . ']';
        }
        if ($value instanceof JsonObject) {
            $names = $value->names();
            if (preg_match('/[\xf0-\xf7]/', implode('', $names)) === 1) {
                usort($names, [self::class, 'compareUtf16']);
            } else {
                sort($names, SORT_STRING); // no astral characters: byte order is UTF-16 code unit order
            }
            $parts = [];
            foreach ($names as $name) {
                if (self::hasLoneSurrogate($name)) {
                    throw new FormatException('MALFORMED', 'string holds a lone UTF-16 surrogate');
                }
                $parts[] = self::quote($name) . ':' . self::canonical($value->get($name), $depth + 1);
            }
            return '{' . implode(',', $parts) . '}';
        }
        throw new FormatException('MALFORMED', 'a ' . gettype($value) . ' has no JSON representation');
    }

    /** Orders two UTF-8 (or WTF-8) strings as arrays of UTF-16 code units, as ECMAScript's default sort does. */
    public static function compareUtf16(string $a, string $b): int
    {
        return strcmp(self::utf16Key($a), self::utf16Key($b));
    }

    private static function utf16Key(string $s): string
    {
        if (!preg_match('/[\xf0-\xf7]/', $s)) {
            return $s; // no astral characters: UTF-8 byte order is code unit order
        }
        // Astral characters (4 UTF-8 bytes) sort as surrogates 0xD800-0xDFFF, below U+E000-U+FFFF.
        return (string) preg_replace_callback('/[\xf0-\xf7][\x80-\xbf]{3}|\xee[\x80-\xbf]{2}|\xef[\x80-\xbf]{2}/', function (array $m): string {
            return strlen($m[0]) === 4 ? "\xed\xa0\x80" . $m[0] : "\xef\xbf\xbf" . $m[0];
        }, $s);
    }

    /**
     * JSON.stringify of PHP values for output (arrays with keys 0..n-1 are lists, other arrays and JsonObject
     * are objects, an empty \stdClass is {}), then lib/core/json.ts stringifyForOutput's escapes of what a
     * terminal could act on.
     * @param mixed $value
     */
    public static function stringifyForOutput($value): string
    {
        $text = self::stringify($value);
        $safe = preg_replace_callback('/[\x{007f}-\x{009f}\x{061c}\x{200b}-\x{200f}\x{2028}\x{2029}\x{202a}-\x{202e}\x{2060}-\x{2069}\x{feff}]/u', function (array $m): string {
            return sprintf('\\u%04x', Bytes::utf8ToCodePoint($m[0]));
        }, $text);
        return is_string($safe) ? $safe : $text;
    }

    /** @param mixed $value */
    public static function stringify($value): string
    {
        if ($value === null) {
            return 'null';
        }
        if (is_bool($value)) {
            return $value ? 'true' : 'false';
        }
        if (is_int($value)) {
            return (string) $value;
        }
        if (is_float($value)) {
            return is_finite($value) ? self::number($value) : 'null';
        }
        if (is_string($value)) {
            return self::quote($value);
        }
        if ($value instanceof JsonObject) {
            $parts = [];
            foreach ($value->names() as $name) {
                $parts[] = self::quote($name) . ':' . self::stringify($value->get($name));
            }
            return '{' . implode(',', $parts) . '}';
        }
        if ($value instanceof \stdClass) {
            $parts = [];
            foreach (get_object_vars($value) as $k => $v) {
                $parts[] = self::quote((string) $k) . ':' . self::stringify($v);
            }
            return '{' . implode(',', $parts) . '}';
        }
        if (is_array($value)) {
            if ($value === [] || array_keys($value) === range(0, count($value) - 1)) {
                return '[' . implode(',', array_map([self::class, 'stringify'], $value)) . ']';
            }
            $parts = [];
            foreach ($value as $k => $v) {
                $parts[] = self::quote((string) $k) . ':' . self::stringify($v);
            }
            return '{' . implode(',', $parts) . '}';
        }
        return 'null';
    }

    /** JSON.stringify(value, null, 2): the values stringify takes, two-space indented (state files, journals). @param mixed $value */
    public static function pretty($value, string $indent = ''): string
    {
        if ($value instanceof JsonObject) {
            $members = [];
            foreach ($value->names() as $name) {
                $members[$name] = $value->get($name);
            }
        } elseif ($value instanceof \stdClass) {
            $members = get_object_vars($value);
        } elseif (is_array($value) && $value !== [] && array_keys($value) !== range(0, count($value) - 1)) {
            $members = $value;
        } elseif (is_array($value)) {
            if ($value === []) {
                return '[]';
            }
            $inner = $indent . '  ';
            $parts = [];
            foreach ($value as $v) {
                $parts[] = $inner . self::pretty($v, $inner);
            }
            return "[\n" . implode(",\n", $parts) . "\n" . $indent . ']';
        } else {
            return self::stringify($value);
        }
        if ($members === []) {
            return '{}';
        }
        $inner = $indent . '  ';
        $parts = [];
        foreach ($members as $k => $v) {
            $parts[] = $inner . self::quote((string) $k) . ': ' . self::pretty($v, $inner);
        }
        return "{\n" . implode(",\n", $parts) . "\n" . $indent . '}';
    }
}
