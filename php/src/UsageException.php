<?php

declare(strict_types=1);

namespace Countersign;

/** UsageError in lib/core/errors.ts: never a verdict on a document; exit 2. */
final class UsageException extends CountersignException
{
    public function exitCode(): int
    {
        return 2;
    }
}
