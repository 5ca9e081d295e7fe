<?php

declare(strict_types=1);

namespace Countersign\Installer;

/**
 * Phase 3: the manifest's post-update steps, each an argv array run with proc_open's array form (PHP >= 7.4: no shell),
 * in the site root, output captured (the last 64 KiB of each stream), killed at the timeout. Where the host disables
 * proc_open, nothing is run and the caller says so (PROC_OPEN_DISABLED) and marks the site as needing attention.
 */
final class Post
{
    public const MAX_CAPTURE = 65536;

    public static function available(): bool
    {
        if (!function_exists('proc_open')) {
            return false;
        }
        $disabled = array_map('trim', explode(',', (string) ini_get('disable_functions')));
        return !in_array('proc_open', $disabled, true) && !in_array('proc_get_status', $disabled, true);
    }

    /** Where $command would be found (a name with a slash: relative to the root; else the PATH), or null. */
    public static function find(string $command, string $cwd): ?string
    {
        if ($command === '') {
            return null;
        }
        if (strpos($command, '/') !== false) {
            $candidates = [$command[0] === '/' ? $command : $cwd . '/' . $command];
        } else {
            $candidates = [];
            foreach (explode(':', (string) getenv('PATH')) as $d) {
                if ($d !== '') {
                    $candidates[] = ($d[0] === '/' ? $d : $cwd . '/' . $d) . '/' . $command;
                }
            }
        }
        foreach ($candidates as $c) {
            clearstatcache(true, $c);
            if (is_file($c) && is_executable($c)) {
                return $c;
            }
        }
        return null;
    }

    /** @param list<list<string>> $steps @return list<array{step:int,command:string}> */
    public static function missing(array $steps, string $cwd): array
    {
        $out = [];
        foreach ($steps as $i => $argv) {
            if (count($argv) === 0 || self::find($argv[0], $cwd) === null) {
                $out[] = ['step' => $i, 'command' => $argv[0] ?? ''];
            }
        }
        return $out;
    }

    /** Runs one step to its end; never throws. @param list<string> $argv @return array<string,mixed> */
    public static function run(array $argv, int $step, string $cwd, float $timeout): array
    {
        $started = microtime(true);
        $result = ['step' => $step, 'argv' => $argv, 'exitCode' => null, 'signal' => null, 'timedOut' => false, 'spawnError' => null, 'durationMs' => 0, 'stdout' => '', 'stderr' => '', 'ok' => false];
        $pipes = [];
        $proc = @proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, $cwd);
        if (!is_resource($proc)) {
            $result['spawnError'] = self::find($argv[0], $cwd) === null ? 'ENOENT' : 'EACCES';
            return $result;
        }
        $out = ['', ''];
        stream_set_blocking($pipes[1], false);
        stream_set_blocking($pipes[2], false);
        $open = [1 => $pipes[1], 2 => $pipes[2]];
        $status = null;
        while (true) {
            $read = array_values($open);
            $w = null;
            $e = null;
            if (count($read) > 0 && @stream_select($read, $w, $e, 0, 100000) > 0) {
                foreach ($read as $r) {
                    $i = array_search($r, $open, true);
                    $chunk = fread($r, 65536);
                    if ($chunk === '' || $chunk === false) {
                        if (feof($r)) {
                            fclose($r);
                            unset($open[$i]);
                        }
                        continue;
                    }
                    $out[$i - 1] = substr($out[$i - 1] . $chunk, -self::MAX_CAPTURE);
                }
            } elseif (count($read) === 0) {
                usleep(20000);
            }
            $now = proc_get_status($proc);
            // PHP reports the exit code only on the first call after the child exits (-1 after that): keep that one.
            if ($status === null || $status['running']) {
                $status = $now;
            }
            if (!$status['running'] && count($open) === 0) {
                break;
            }
            if (!$status['running'] && count($open) > 0 && microtime(true) - $started > $timeout) {
                break; // a grandchild holds the pipes open
            }
            if ($status['running'] && microtime(true) - $started > $timeout) {
                $result['timedOut'] = true;
                proc_terminate($proc, 9);
                usleep(50000);
            }
        }
        foreach ($open as $r) {
            fclose($r);
        }
        $code = proc_close($proc);
        if ($status !== null && !$status['running']) {
            if ($status['signaled']) {
                $result['signal'] = 'SIG' . ($status['termsig'] === 9 ? 'KILL' : $status['termsig']);
            } else {
                $result['exitCode'] = $status['exitcode'] >= 0 ? $status['exitcode'] : $code;
            }
        }
        $result['durationMs'] = (int) round((microtime(true) - $started) * 1000);
        $result['stdout'] = $out[0];
        $result['stderr'] = $out[1];
        $result['ok'] = !$result['timedOut'] && $result['exitCode'] === 0;
        return $result;
    }

    /** @param array<string,mixed> $r */
    public static function describeFailure(array $r): string
    {
        $what = json_encode($r['argv'], JSON_UNESCAPED_SLASHES);
        if ($r['spawnError'] !== null) {
            return $what . ' could not be started (' . $r['spawnError'] . ')';
        }
        if ($r['timedOut']) {
            return $what . ' ran longer than the timeout and was killed';
        }
        if ($r['signal'] !== null) {
            return $what . ' was ended by ' . $r['signal'];
        }
        return $what . ' exited with status ' . $r['exitCode'];
    }
}
