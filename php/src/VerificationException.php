<?php

declare(strict_types=1);

namespace Countersign;

/** Verification found one or more reasons to reject; getReasons() lists every one, the code is the first's. */
final class VerificationException extends CountersignException
{
    /** @var list<array<string,mixed>> */
    private $reasons;

    /** @param list<array<string,mixed>> $reasons */
    public function __construct(array $reasons)
    {
        $messages = [];
        foreach ($reasons as $r) {
            $messages[] = $r['code'] . ': ' . $r['message'];
        }
        parent::__construct(count($reasons) > 0 ? $reasons[0]['code'] : 'VERIFICATION_FAILED', implode('; ', $messages), ['reasons' => $reasons]);
        $this->reasons = $reasons;
    }

    /** @return list<array<string,mixed>> */
    public function getReasons(): array
    {
        return $this->reasons;
    }

    /** {ok: false, code, message, reasons}: every reason, not the details that repeat them. @return array<string,mixed> */
    public function toFailure(): array
    {
        return ['ok' => false, 'code' => $this->getErrorCode(), 'message' => $this->getMessage(), 'reasons' => $this->reasons];
    }

    /** @return list<string> */
    public function getCodes(): array
    {
        return array_map(function (array $r): string {
            return $r['code'];
        }, $this->reasons);
    }
}
