<?php

declare(strict_types=1);

namespace Countersign;

/**
 * One exception per error family, each carrying a stable code (the TypeScript verifier's lib/core/errors.ts).
 * Callers branch on getErrorCode(), never on the message. PHP's own integer getCode() is left at 0.
 */
class CountersignException extends \RuntimeException
{
    /** @var string */
    private $errorCode;
    /** @var array<string,mixed> */
    private $details;

    /** @param array<string,mixed> $details */
    public function __construct(string $code, string $message, array $details = [])
    {
        parent::__construct($message);
        $this->errorCode = $code;
        $this->details = $details;
    }

    public function getErrorCode(): string
    {
        return $this->errorCode;
    }

    /** @return array<string,mixed> */
    public function getDetails(): array
    {
        return $this->details;
    }

    /** Exit status of the CLI for this error: 1 a document failed a check, 2 usage, I/O, store or host problems. */
    public function exitCode(): int
    {
        return 1;
    }

    /** The --json body of a command this stopped (both CLIs): {ok: false, code, message, details?}; a verification gives reasons. @return array<string,mixed> */
    public function toFailure(): array
    {
        return ['ok' => false] + $this->toReason();
    }

    /** @return array{code:string,message:string,details?:array<string,mixed>} */
    public function toReason(): array
    {
        $reason = ['code' => $this->errorCode, 'message' => $this->getMessage()];
        if (count($this->details) > 0) {
            $reason['details'] = $this->details;
        }
        return $reason;
    }
}
