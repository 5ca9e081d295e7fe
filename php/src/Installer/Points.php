<?php

declare(strict_types=1);

namespace Countersign\Installer;

/**
 * Numbered points in the life of a commit and a recovery, where tests stop the runner (lib/installer/hooks.ts): every
 * durable step counts as one point, in order.
 *
 * TEST-ONLY: COUNTERSIGN_TEST_KILL_AT=k (SIGKILL at point k) and COUNTERSIGN_TEST_FAIL_AT=k (an I/O error at point k)
 * are read only when the constant COUNTERSIGN_TEST_HOOKS is defined and true, which nothing shipped does: the tests
 * define it in php/tests/Installer/enable-hooks.php, loaded with php -d auto_prepend_file=... .
 */
final class Points
{
    /** @var int */
    private $n = 0;
    /** @var callable|null */
    private $hook;

    public function __construct(?callable $hook = null)
    {
        $this->hook = $hook;
    }

    public static function fromEnv(): self
    {
        if (!defined('COUNTERSIGN_TEST_HOOKS') || constant('COUNTERSIGN_TEST_HOOKS') !== true) {
            return new self();
        }
        $kill = self::number(getenv('COUNTERSIGN_TEST_KILL_AT'));
        $fail = self::number(getenv('COUNTERSIGN_TEST_FAIL_AT'));
        if ($kill === null && $fail === null) {
            return new self();
        }
        return new self(function (int $n, string $label) use ($kill, $fail): void {
            if ($n === $kill) {
                posix_kill(getmypid(), 9);
                sleep(10); // the signal is delivered before this returns
            }
            if ($n === $fail) {
                throw new Fault('EIO', 'injected fault at point ' . $n . ' (' . $label . ')');
            }
        });
    }

    /** @param string|false $text */
    private static function number($text): ?int
    {
        return is_string($text) && preg_match('/^[1-9][0-9]{0,8}$/D', $text) ? (int) $text : null;
    }

    public function count(): int
    {
        return $this->n;
    }

    public function hit(string $label): void
    {
        $this->n++;
        if ($this->hook !== null) {
            ($this->hook)($this->n, $label);
        }
    }
}
