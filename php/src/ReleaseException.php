<?php

declare(strict_types=1);

namespace Countersign;

/** A release rule failed (ReleaseError in lib/core/errors.ts); exit 1. */
final class ReleaseException extends CountersignException
{
}
