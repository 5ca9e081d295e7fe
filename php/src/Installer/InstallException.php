<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\CountersignException;

/**
 * An installer failure (lib/core/errors.ts InstallError): LOCAL_CHANGES, PREFLIGHT_FAILED, STAGING_FAILED, SITE_BUSY,
 * PHASE_ORDER, KEEP_LOCAL_REFUSED (nothing touched); COMMIT_FAILED (rolled back); ROLLBACK_FAILED, FINISH_FAILED,
 * POST_UPDATE_FAILED, NEEDS_ATTENTION; JOURNAL_CORRUPT. Exit 1, as in the TypeScript CLI.
 */
final class InstallException extends CountersignException
{
    /** @param list<array{code:string,message:string,path?:string}> $problems @param list<array<string,mixed>> $localChanges */
    public static function preflight(array $problems, array $localChanges = []): self
    {
        $list = [];
        foreach ($problems as $p) {
            $list[] = $p['code'] . ': ' . $p['message'];
        }
        return new self('PREFLIGHT_FAILED', 'preflight refused the update, nothing was touched: ' . implode('; ', $list), ['problems' => $problems, 'localChanges' => $localChanges]);
    }
}
