<?php

declare(strict_types=1);

namespace Countersign;

/** A archive rule failed (ArchiveError in lib/core/errors.ts); exit 1. */
final class ArchiveException extends CountersignException
{
}
