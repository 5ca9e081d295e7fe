<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\StoreException;

/**
 * The lock file lib/node/lock.ts writes, in the same format so the two languages exclude each other: "PID\nTHREAD\nTOKEN\n",
 * written beside its name and hard-linked into place (created exclusively, never seen half-written). A holder whose
 * process is gone is stale and taken over under a LOCK.takeover guard; a live one past the timeout is STORE_LOCKED.
 */
final class Lock
{
    /** @var string */
    private $path;
    /** @var string */
    private $mine;
    /** @var bool */
    private $held = true;

    private function __construct(string $path, string $mine)
    {
        $this->path = $path;
        $this->mine = $mine;
    }

    public static function acquire(string $path, int $timeoutMs = 5000): self
    {
        $mine = getmypid() . "\n0\n" . bin2hex(random_bytes(16)) . "\n";
        $deadline = microtime(true) + $timeoutMs / 1000;
        for (;;) {
            if (self::createExclusive($path, $mine)) {
                return new self($path, $mine);
            }
            $seen = @file_get_contents($path);
            $holder = is_string($seen) && preg_match('/^([1-9][0-9]{0,9})\n(0|[1-9][0-9]{0,9})\n([0-9a-f]{32})\n$/D', $seen, $m) ? (int) $m[1] : null;
            if ($seen === false) {
                if (microtime(true) < $deadline) {
                    continue;
                }
            } elseif ($holder !== null && !self::alive($holder) && self::removeStale($path, $seen)) {
                continue;
            }
            if (microtime(true) >= $deadline) {
                throw new StoreException('STORE_LOCKED', $path . ' is held by ' . ($holder !== null ? 'process ' . $holder : 'an unknown holder') . '; waited ' . $timeoutMs . ' ms. If no countersign process is using it, remove ' . $path, ['lock' => $path, 'pid' => $holder]);
            }
            usleep(20000 + random_int(0, 20000));
        }
    }

    private static function createExclusive(string $path, string $text): bool
    {
        $temp = dirname($path) . '/.' . basename($path) . '.' . bin2hex(random_bytes(6)) . '.tmp';
        $h = Fs::open($temp, 'xb');
        try {
            Fs::writeAll($h, $text, $temp);
            Fs::fsync($h, $temp);
        } finally {
            fclose($h);
        }
        try {
            return @link($temp, $path);
        } finally {
            @unlink($temp);
        }
    }

    public static function alive(int $pid): bool
    {
        if ($pid === getmypid()) {
            return true;
        }
        if (function_exists('posix_kill')) {
            return posix_kill($pid, 0) || posix_get_last_error() === 1; // EPERM: alive, as another user
        }
        return file_exists('/proc/' . $pid);
    }

    private static function removeStale(string $path, string $seen): bool
    {
        $guard = $path . '.takeover';
        if (!self::createExclusive($guard, getmypid() . "\n0\n" . bin2hex(random_bytes(16)) . "\n")) {
            $g = @file_get_contents($guard);
            if (is_string($g) && preg_match('/^([1-9][0-9]{0,9})\n/', $g, $m) && !self::alive((int) $m[1])) {
                @unlink($guard);
            }
            return false;
        }
        try {
            if (@file_get_contents($path) === $seen) {
                @unlink($path);
            }
            return true;
        } finally {
            @unlink($guard);
        }
    }

    public function release(): void
    {
        if ($this->held && @file_get_contents($this->path) === $this->mine) {
            @unlink($this->path);
        }
        $this->held = false;
    }
}
