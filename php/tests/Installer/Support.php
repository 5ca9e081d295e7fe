<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use Countersign\Installer\Fs;
use Countersign\Policy;
use Countersign\Time;

/** Fixtures of the runner's tests: sites written from the TS tests' trees, the store copied, snapshots of trees, child processes. */
final class Support
{
    public const NOW = '2026-11-23T12:00:00Z';

    public static function fixtures(): string
    {
        return __DIR__ . '/fixtures';
    }

    public static function now(): int
    {
        return Time::parse(self::NOW);
    }

    /** @return array<string,mixed> */
    public static function tree(string $name): array
    {
        return json_decode((string) file_get_contents(self::fixtures() . '/' . $name . '.json'), true);
    }

    public static function writeTree(string $root, array $tree): string
    {
        @mkdir($root, 0755, true);
        chmod($root, 0755);
        foreach ($tree as $path => $spec) {
            $abs = $root . '/' . $path;
            $dir = dirname($abs);
            $made = [];
            while ($dir !== $root && !file_exists($dir)) {
                $made[] = $dir;
                $dir = dirname($dir);
            }
            @mkdir(dirname($abs), 0755, true);
            foreach ($made as $d) {
                chmod($d, 0755);
            }
            file_put_contents($abs, is_string($spec) ? $spec : $spec['content']);
            chmod($abs, is_string($spec) ? 0644 : $spec['mode']);
        }
        return $root;
    }

    /** A fresh directory with www/site (OLD) and a store recording 10.2.3. @return array{dir:string,site:string,store:string,stateDir:string} */
    public static function setup(?array $tree = null): array
    {
        $dir = sys_get_temp_dir() . '/countersign-php-runner-' . bin2hex(random_bytes(6));
        mkdir($dir, 0755);
        mkdir($dir . '/www', 0755);
        chmod($dir, 0755);
        chmod($dir . '/www', 0755);
        $site = self::writeTree($dir . '/www/site', $tree ?? self::tree('old'));
        mkdir($dir . '/store', 0755);
        copy(self::fixtures() . '/store/state.json', $dir . '/store/state.json');
        return ['dir' => $dir, 'site' => $site, 'store' => $dir . '/store', 'stateDir' => $dir . '/www/.countersign-site'];
    }

    public static function cleanup(string $dir): void
    {
        Fs::removeTree($dir);
    }

    /** @return array<string,string> path => "dir MODE" | "file MODE SHA256" | "link -> target" */
    public static function snapshot(string $root): array
    {
        $out = [];
        $walk = function (string $dir, string $prefix) use (&$walk, &$out): void {
            $names = array_values(array_diff(scandir($dir), ['.', '..']));
            sort($names, SORT_STRING);
            foreach ($names as $name) {
                $abs = $dir . '/' . $name;
                $rel = $prefix === '' ? $name : $prefix . '/' . $name;
                $st = Fs::lstat($abs);
                $mode = sprintf('%04o', $st['mode'] & 07777);
                $kind = Fs::kind($st);
                if ($kind === 'symlink') {
                    $out[$rel] = 'link -> ' . readlink($abs);
                } elseif ($kind === 'dir') {
                    $out[$rel] = 'dir ' . $mode;
                    $walk($abs, $rel);
                } else {
                    $out[$rel] = 'file ' . $mode . ' ' . hash_file('sha256', $abs);
                }
            }
        };
        $walk($root, '');
        return $out;
    }

    /** The snapshot a tree spec gives when written. */
    public static function expected(string $name): array
    {
        $dir = sys_get_temp_dir() . '/countersign-php-expected-' . bin2hex(random_bytes(6));
        $snap = self::snapshot(self::writeTree($dir, self::tree($name)));
        Fs::removeTree($dir);
        return $snap;
    }

    public static function policy(): Policy
    {
        return Policy::loadTrusted((string) file_get_contents(self::fixtures() . '/policy.signed.json'));
    }

    public static function installed(string $store): string
    {
        $s = json_decode((string) file_get_contents($store . '/state.json'), true);
        return $s['installed']['drupal/core']['version'];
    }

    /**
     * Runs a php/bin script in a child php-cli with the test hooks enabled.
     * @param list<string> $args @param array<string,string> $env @param list<string> $ini
     * @return array{code:int,signaled:bool,stdout:string,stderr:string,json:?array}
     */
    public static function run(string $bin, array $args, array $env = [], array $ini = []): array
    {
        $cmd = [PHP_BINARY, '-d', 'auto_prepend_file=' . __DIR__ . '/enable-hooks.php'];
        foreach ($ini as $i) {
            $cmd[] = '-d';
            $cmd[] = $i;
        }
        $cmd[] = dirname(__DIR__, 2) . '/bin/' . $bin;
        $cmd = array_merge($cmd, $args);
        $base = getenv();
        unset($base['COUNTERSIGN_TEST_KILL_AT'], $base['COUNTERSIGN_TEST_FAIL_AT']);
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, array_merge($base, $env));
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        do {
            $status = proc_get_status($proc);
            if ($status['running']) {
                usleep(2000);
            }
        } while ($status['running']);
        proc_close($proc);
        $signaled = $status['signaled'];
        $code = $signaled ? -1 : $status['exitcode'];
        $json = json_decode(trim((string) $stdout), true);
        return ['code' => $code, 'signaled' => $signaled, 'stdout' => (string) $stdout, 'stderr' => (string) $stderr, 'json' => is_array($json) ? $json : null];
    }
}
