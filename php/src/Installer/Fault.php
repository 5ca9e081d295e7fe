<?php

declare(strict_types=1);

namespace Countersign\Installer;

/** A failed file-system call, with an errno-like code (PHP reports only a warning text; the code is our reading of it). */
final class Fault extends \RuntimeException
{
    /** @var string */
    public $errno;

    public function __construct(string $errno, string $message)
    {
        parent::__construct($errno . ': ' . $message);
        $this->errno = $errno;
    }

    public static function describe(\Throwable $e): string
    {
        return $e->getMessage();
    }
}
