<?php

declare(strict_types=1);

namespace Countersign;

/**
 * This PHP cannot check something a document needs (no Ed25519 implementation: ED25519_UNAVAILABLE; no ext-intl
 * or ext-mbstring for a non-ASCII name or path: UNICODE_UNAVAILABLE). Verification stops and nothing is accepted;
 * exit 2, since it is the host's limit, not a verdict on the document. PHP-only codes.
 */
final class HostException extends CountersignException
{
    public function exitCode(): int
    {
        return 2;
    }
}
