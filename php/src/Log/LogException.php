<?php

declare(strict_types=1);

namespace Countersign\Log;

use Countersign\CountersignException;

/** The transparency log's error family (lib/log/errors.ts, spec/log.md "Codes"): a document under check failed, exit 1. */
final class LogException extends CountersignException
{
}
