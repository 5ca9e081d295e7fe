<?php

declare(strict_types=1);

namespace Countersign;

/**
 * A byte range of an open file, read in 1 MiB chunks from the same handle the envelope was read from, so a file
 * replaced meanwhile cannot change the bytes checked. Memory stays flat whatever the size.
 */
final class FileRangeArchive implements ArchiveInput
{
    public const CHUNK = 1048576;

    /** @var resource */
    private $handle;
    /** @var int */
    private $offset;
    /** @var int */
    private $length;

    /** @param resource $handle */
    public function __construct($handle, int $offset, int $length)
    {
        $this->handle = $handle;
        $this->offset = $offset;
        $this->length = $length;
    }

    public function size(): int
    {
        return $this->length;
    }

    public function chunks(): iterable
    {
        if (fseek($this->handle, $this->offset) !== 0) {
            throw new \RuntimeException('EIO');
        }
        $left = $this->length;
        while ($left > 0) {
            $chunk = fread($this->handle, min(self::CHUNK, $left));
            if ($chunk === false || $chunk === '') {
                throw new \RuntimeException('EIO');
            }
            $left -= strlen($chunk);
            yield $chunk;
        }
    }
}
