<?php

declare(strict_types=1);

namespace Countersign;

/**
 * DIR/lock as lib/node/lock.ts writes it: "PID\nTHREAD\nTOKEN\n", written beside and hard-linked into place (exclusive
 * create). A holder whose pid is not alive on this host is stale and taken over under a LOCK.takeover guard; a live
 * one past the timeout is STORE_LOCKED (a takeover guard left by a dead process is removed). Without ext-posix a holder
 * is judged by /proc/PID, and only where /proc is readable; elsewhere none is taken over.
 */
final class StoreLock
{
    /** @var string */
    private $path;
    /** @var int */
    private $timeoutMs;
    /** @var string|null */
    private $mine;

    public function __construct(string $path, int $timeoutMs = 5000)
    {
        $this->path = $path;
        $this->timeoutMs = $timeoutMs;
    }

    public function acquire(): void
    {
        $mine = getmypid() . "\n0\n" . bin2hex(random_bytes(16)) . "\n";
        $deadline = microtime(true) + $this->timeoutMs / 1000;
        for (;;) {
            if ($this->createExclusive($this->path, $mine)) {
                $this->mine = $mine;
                return;
            }
            $seen = @file_get_contents($this->path);
            $m = [];
            $holder = is_string($seen) && preg_match('/^([1-9][0-9]{0,9})\n(0|[1-9][0-9]{0,9})\n([0-9a-f]{32})\n$/D', $seen, $m) ? (int) $m[1] : null;
            if ($seen === false) {
                if (microtime(true) < $deadline) {
                    continue;
                }
            } elseif ($holder !== null && $this->isStale($holder) && $this->removeStale($seen, $mine)) {
                continue;
            }
            if (microtime(true) >= $deadline) {
                $who = $holder !== null ? 'process ' . $holder : ($seen === false ? 'other writers' : 'an unknown holder (the lock file is not one countersign wrote)');
                throw new StoreException('STORE_LOCKED', $this->path . ' is held by ' . $who . '; waited ' . $this->timeoutMs . ' ms. If no countersign process is using this store, remove ' . $this->path, ['lock' => $this->path, 'pid' => $holder]);
            }
            usleep(20000 + random_int(0, 20000));
        }
    }

    public function release(): void
    {
        if ($this->mine !== null && @file_get_contents($this->path) === $this->mine) {
            @unlink($this->path);
        }
        $this->mine = null;
    }

    private function createExclusive(string $path, string $text): bool
    {
        $temp = dirname($path) . '/.' . basename($path) . '.' . bin2hex(random_bytes(8)) . '.tmp';
        if (@file_put_contents($temp, $text) === false) {
            throw new UsageException('IO', 'cannot create the lock ' . $path);
        }
        @chmod($temp, 0644);
        $ok = @link($temp, $path);
        @unlink($temp);
        return $ok;
    }

    private function isStale(int $pid): bool
    {
        if ($pid === getmypid()) {
            return false; // this process: only this class takes the lock here, and it waits for itself
        }
        if (!function_exists('posix_kill')) {
            // /proc/PID is gone for a dead process; only trusted where /proc is mounted and readable (not behind open_basedir)
            return @is_dir('/proc/self') && !@file_exists('/proc/' . $pid);
        }
        return !posix_kill($pid, 0) && posix_get_last_error() !== 1; // 1: EPERM, alive as another user
    }

    private function removeStale(string $stale, string $mine): bool
    {
        $guard = $this->path . '.takeover';
        if (!$this->createExclusive($guard, $mine)) {
            // a guard whose holder died mid-takeover would block every later takeover: remove it, take over next round
            $g = @file_get_contents($guard);
            if (is_string($g) && preg_match('/^([1-9][0-9]{0,9})\n/', $g, $m) && $this->isStale((int) $m[1]) && @file_get_contents($guard) === $g) {
                @unlink($guard);
            }
            return false;
        }
        try {
            if (@file_get_contents($this->path) !== $stale) {
                return false;
            }
            return @unlink($this->path);
        } finally {
            @unlink($guard);
        }
    }
}
