<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\CountersignException;
use Countersign\Json;
use Countersign\Policy;
use Countersign\Time;
use Countersign\UsageException;

/** php/bin/countersign-apply and countersign-recover: the flags, output and exit codes of `countersign apply` / `recover`. */
final class Cli
{
    public const APPLY_USAGE = 'usage: countersign-apply BUNDLE --site DIR (--store DIR | --policy FILE) [--phase check|files|post|all] [--dry-run] [--keep-local] [--json]' . "\n" . 'example: php countersign-apply drupal-10.2.4.bundle --site /var/www/example.org --store /var/lib/countersign/example.org --json';
    public const RECOVER_USAGE = 'usage: countersign-recover --site DIR [--store DIR] [--state-dir DIR] [--clear] [--json]' . "\n" . 'example: php countersign-recover --site /var/www/example.org --store /var/lib/countersign/example.org';

    /** `--help` or `-h` anywhere: the usage and an example on stdout, exit 0 (as the TypeScript CLI's help). */
    public static function helpAsked(array $argv, string $usage): bool
    {
        if (!in_array('--help', $argv, true) && !in_array('-h', $argv, true)) {
            return false;
        }
        fwrite(STDOUT, $usage . "\n");
        return true;
    }

    public const APPLY_FLAGS = ['site', 'store', 'policy', 'installed', 'product', 'component', 'phase', 'state-dir', 'now', 'post-timeout', 'time-budget'];
    public const APPLY_SWITCHES = ['dry-run', 'keep-local', 'keep-local-despite-risk', 'json'];

    /** @param list<string> $argv @return array{0:array<string,string|bool>,1:list<string>} */
    public static function parse(array $argv, array $flags, array $switches): array
    {
        $named = [];
        $positional = [];
        for ($i = 0; $i < count($argv); $i++) {
            $a = $argv[$i];
            if (strncmp($a, '--', 2) !== 0) {
                $positional[] = $a;
                continue;
            }
            $name = substr($a, 2);
            $value = null;
            if (strpos($name, '=') !== false) {
                [$name, $value] = explode('=', $name, 2);
            }
            if (in_array($name, $switches, true) && $value === null) {
                $named[$name] = true;
            } elseif (in_array($name, $flags, true)) {
                if ($value === null) {
                    if (!isset($argv[$i + 1])) {
                        throw new UsageException('USAGE', '--' . $name . ' needs a value');
                    }
                    $value = $argv[++$i];
                }
                $named[$name] = $value;
            } else {
                throw new UsageException('USAGE', 'unknown option --' . $name);
            }
        }
        return [$named, $positional];
    }

    /** @param array<string,mixed> $body */
    private static function out(array $body): void
    {
        fwrite(STDOUT, Json::stringifyForOutput($body) . "\n");
    }

    private static function fail(\Throwable $e, bool $json): int
    {
        if (!$e instanceof CountersignException) {
            $e = new UsageException('IO', $e->getMessage());
        }
        $code = $e->exitCode();
        if ($json) {
            self::out($e->toFailure());
        } else {
            fwrite(STDERR, 'error[' . $e->getErrorCode() . ']: ' . $e->getMessage() . "\n");
        }
        return $code;
    }

    /** @param list<string> $argv */
    public static function apply(array $argv): int
    {
        if (self::helpAsked($argv, self::APPLY_USAGE)) {
            return 0;
        }
        $json = in_array('--json', $argv, true);
        try {
            [$f, $pos] = self::parse($argv, self::APPLY_FLAGS, self::APPLY_SWITCHES);
            if (count($pos) !== 1 || !isset($f['site'])) {
                throw new UsageException('USAGE', self::APPLY_USAGE);
            }
            if (isset($f['store']) === isset($f['policy'])) {
                throw new UsageException('USAGE', 'give exactly one of --store or --policy');
            }
            $opts = ['site' => $f['site'], 'phase' => $f['phase'] ?? 'all', 'points' => Points::fromEnv()];
            foreach (['store' => 'store', 'installed' => 'installed', 'product' => 'product', 'component' => 'component', 'state-dir' => 'stateDir'] as $flag => $key) {
                if (isset($f[$flag])) {
                    $opts[$key] = $f[$flag];
                }
            }
            if (isset($f['policy'])) {
                $bytes = @file_get_contents($f['policy']);
                if ($bytes === false) {
                    throw new UsageException('IO', 'cannot read ' . $f['policy']);
                }
                $opts['trusted'] = Policy::loadTrusted($bytes, $f['policy']);
            }
            foreach (['dry-run' => 'dryRun', 'keep-local' => 'keepLocal', 'keep-local-despite-risk' => 'keepLocalDespiteRisk'] as $flag => $key) {
                $opts[$key] = !empty($f[$flag]);
            }
            if (isset($f['now'])) {
                $opts['now'] = Time::parseUser($f['now'], '--now');
            }
            if (isset($f['post-timeout'])) {
                $opts['postTimeout'] = self::positive($f['post-timeout'], '--post-timeout');
            }
            if (isset($f['time-budget'])) {
                $opts['budget'] = self::positive($f['time-budget'], '--time-budget');
            }
            $r = Installer::apply($pos[0], $opts);
            if ($json) {
                self::out(['ok' => true] + $r);
            } else {
                fwrite(STDOUT, self::human($r) . "\n");
            }
            return 0;
        } catch (\Throwable $e) {
            return self::fail($e, $json);
        }
    }

    private static function positive(string $text, string $flag): float
    {
        if (!is_numeric($text) || (float) $text <= 0) {
            throw new UsageException('USAGE', $flag . ' must be a positive number of seconds');
        }
        return (float) $text;
    }

    /** @param array<string,mixed> $r */
    private static function human(array $r): string
    {
        $c = $r['counts'];
        $release = $r['product'] . ' ' . $r['component'] . ' ' . ($r['from'] ?? '?') . ' → ' . $r['to'];
        $files = $c['add'] . ' added, ' . $c['modify'] . ' modified, ' . $c['delete'] . ' deleted; ' . $c['mkdir'] . ' directories created, ' . $c['rmdir'] . ' removed';
        if ($r['dryRun']) {
            $lines = ['Dry run, nothing was written. Applying ' . $release . ' to ' . $r['site'] . ' would take these steps:'];
            foreach ($r['changes'] as $s) {
                $lines[] = '  ' . str_pad($s['op'], 6) . ' ' . $s['path'];
            }
            $lines[] = '  (' . $files . ')';
            return implode("\n", $lines);
        }
        if ($r['paused'] !== null) {
            return 'Paused ' . $release . ' in ' . $r['site'] . ' at a step boundary (' . $r['paused'] . ') to stay within the time budget; run the same apply again to resume';
        }
        return 'Applied ' . $release . ' to ' . $r['site'] . ' (' . implode(', ', $r['phases']) . '): ' . $files;
    }

    /** @param list<string> $argv */
    public static function recover(array $argv): int
    {
        if (self::helpAsked($argv, self::RECOVER_USAGE)) {
            return 0;
        }
        $json = in_array('--json', $argv, true);
        try {
            [$f, $pos] = self::parse($argv, ['site', 'state-dir', 'store', 'now'], ['clear', 'json']);
            if (count($pos) !== 0 || !isset($f['site'])) {
                throw new UsageException('USAGE', self::RECOVER_USAGE);
            }
            $opts = ['points' => Points::fromEnv(), 'clear' => !empty($f['clear'])];
            if (isset($f['store'])) {
                $opts['store'] = $f['store'];
            }
            if (isset($f['state-dir'])) {
                $opts['stateDir'] = $f['state-dir'];
            }
            if (isset($f['now'])) {
                $opts['now'] = Time::parseUser($f['now'], '--now');
            }
            $r = Recovery::site($f['site'], $opts);
            if ($json) {
                self::out(['ok' => true] + $r);
            } else {
                fwrite(STDOUT, ($r['action'] === 'none' ? 'Nothing to recover in ' . $r['site'] : ucfirst($r['action']) . ' in ' . $r['site'] . ' (' . $r['steps'] . ' journal steps)') . "\n");
            }
            return 0;
        } catch (\Throwable $e) {
            return self::fail($e, $json);
        }
    }
}
