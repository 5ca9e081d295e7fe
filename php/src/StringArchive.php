<?php

declare(strict_types=1);

namespace Countersign;

/** An archive already in memory (tests, small inputs). */
final class StringArchive implements ArchiveInput
{
    /** @var string */
    private $bytes;

    public function __construct(string $bytes)
    {
        $this->bytes = $bytes;
    }

    public function size(): int
    {
        return strlen($this->bytes);
    }

    public function chunks(): iterable
    {
        for ($at = 0; $at < strlen($this->bytes); $at += 1048576) {
            yield substr($this->bytes, $at, 1048576);
        }
    }
}
