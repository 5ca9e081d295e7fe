<?php

declare(strict_types=1);

namespace Countersign;

/** StoreError in lib/core/errors.ts: never a verdict on a document; exit 2. */
final class StoreException extends CountersignException
{
    public function exitCode(): int
    {
        return 2;
    }
}
