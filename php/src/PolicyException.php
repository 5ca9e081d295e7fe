<?php

declare(strict_types=1);

namespace Countersign;

/** A policy rule failed (PolicyError in lib/core/errors.ts); exit 1. */
final class PolicyException extends CountersignException
{
}
