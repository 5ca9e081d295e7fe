<?php

declare(strict_types=1);

namespace Countersign;

/** The structure check of one manifest format (lib/core/archive-verify.ts ArchiveCheck): fed every chunk in order, then asked what it found. */
interface ArchiveCheck
{
    /** False once nothing after this chunk can change the verdict (the walk has stopped). */
    public function push(string $chunk): bool;

    /** The input is over: every reason found (empty: the structure is exactly as expected). @return list<array<string,mixed>> */
    public function end(): array;
}
