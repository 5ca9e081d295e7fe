<?php

declare(strict_types=1);

namespace Countersign;

/** A signature rule failed (SignatureError in lib/core/errors.ts); exit 1. */
final class SignatureException extends CountersignException
{
}
