<?php

declare(strict_types=1);

namespace Countersign;

/**
 * A parsed JSON object. PHP arrays would turn the key "1" into the integer 1 and cannot tell {} from [],
 * so members are kept as a list of string names and values, in the order parsed.
 */
final class JsonObject
{
    /** @var array<string,int> "k".name => index into $names/$values */
    private $index = [];
    /** @var list<string> */
    private $names = [];
    /** @var list<mixed> */
    private $values = [];

    /** @param mixed $value */
    public function set(string $name, $value): void
    {
        $k = 'k' . $name;
        if (isset($this->index[$k])) {
            $this->values[$this->index[$k]] = $value; // JSON.parse: the last of two equal names wins, in the first's place
            return;
        }
        $this->index[$k] = count($this->names);
        $this->names[] = $name;
        $this->values[] = $value;
    }

    public function has(string $name): bool
    {
        return isset($this->index['k' . $name]);
    }

    /** @return mixed */
    public function get(string $name)
    {
        $k = 'k' . $name;
        return isset($this->index[$k]) ? $this->values[$this->index[$k]] : null;
    }

    /** @return list<string> */
    public function names(): array
    {
        return $this->names;
    }

    public function count(): int
    {
        return count($this->names);
    }
}
