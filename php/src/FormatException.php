<?php

declare(strict_types=1);

namespace Countersign;

/** A document is not well-formed, not canonical, of the wrong type, too large, or in a newer format (FormatError); exit 1. */
final class FormatException extends CountersignException
{
}
