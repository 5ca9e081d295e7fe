<?php

declare(strict_types=1);

namespace Countersign;

/** The archive section: its size, and its bytes streamed once, in chunks, only after the envelope passed every check. */
interface ArchiveInput
{
    public function size(): int;

    /** @return iterable<string> */
    public function chunks(): iterable;
}
