<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\CountersignException;
use Countersign\Json;
use Countersign\Paths;

/**
 * The write-ahead journal, format 1, exactly as spec/journal.md and schemas/journal-record.schema.json define it (the
 * version of 2026-12-02: one record per line, each step its own line; no grouped records): the same file the
 * TypeScript installer writes and reads, so either language recovers the other's. Records are written with their
 * members in the spec's order, each line fdatasync'ed before the step it announces is taken.
 */
final class Journal
{
    public const FORMAT = 1;
    public const MAX_BYTES = 268435456;

    /** @var resource|null */
    private $h;
    /** @var string */
    private $path;
    /** @var int */
    private $steps = 0;
    /** @var Points */
    private $points;

    /** @param resource $h */
    private function __construct($h, string $path, Points $points, int $steps)
    {
        $this->h = $h;
        $this->path = $path;
        $this->points = $points;
        $this->steps = $steps;
    }

    /** @return never */
    private static function corrupt(string $message, ?int $line = null)
    {
        throw new InstallException('JOURNAL_CORRUPT', 'the journal is unreadable' . ($line === null ? '' : ' at line ' . $line) . ': ' . $message . '; nothing was touched. Look at the site and the journal, then move the journal away by hand', $line === null ? [] : ['line' => $line]);
    }

    /** Creates the journal (O_CREAT|O_EXCL: 'x') with its begin record, durably. @param array<string,mixed> $begin */
    public static function create(SitePaths $p, array $begin, Points $points): self
    {
        $path = $p->at('journal');
        $h = Fs::open($path, 'xb');
        chmod($path, 0600);
        $j = new self($h, $path, $points, 0);
        try {
            $j->write(Json::stringify($begin) . "\n");
            Fs::fsyncDir($p->stateDir);
        } catch (\Throwable $e) {
            $j->close();
            throw $e;
        }
        $points->hit('journal begin');
        return $j;
    }

    /** Appends to a journal this runner paused (paused.json), after its $steps logged steps. */
    public static function reopen(SitePaths $p, int $steps, Points $points): self
    {
        $path = $p->at('journal');
        if (Fs::kind(Fs::lstat($path)) !== 'file') {
            throw new Fault('ENOENT', $path . ' is missing');
        }
        return new self(Fs::open($path, 'ab'), $path, $points, $steps);
    }

    /** @param array<string,mixed> $step op, path, and its members */
    public function step(array $step): int
    {
        $n = ++$this->steps;
        $this->write(Json::stringify(array_merge(['t' => 'step', 'n' => $n], $step)) . "\n");
        $this->points->hit('logged step ' . $n . ': ' . $step['op'] . ' ' . $step['path']);
        return $n;
    }

    /** Logs the commit; a failed write is cut back so a half-written commit record is never read as one. */
    public function commit(): void
    {
        $st = fstat($this->h);
        $before = $st['size'];
        try {
            $this->write("{\"t\":\"commit\"}\n");
        } catch (\Throwable $e) {
            @ftruncate($this->h, $before);
            try {
                Fs::fsync($this->h, $this->path, true);
            } catch (\Throwable $ignored) {
                // the rollback that follows undoes every step either way
            }
            throw $e;
        }
    }

    public function close(): void
    {
        if ($this->h !== null) {
            fclose($this->h);
        }
        $this->h = null;
    }

    private function write(string $text): void
    {
        Fs::writeAll($this->h, $text, $this->path);
        Fs::fsync($this->h, $this->path, true);
    }

    /** Reads the journal, if any. @return array{begin:?array,steps:list<array>,committed:bool,tornBytes:int}|null */
    public static function read(SitePaths $p): ?array
    {
        $path = $p->at('journal');
        $st = Fs::lstat($path);
        if ($st === null) {
            return null;
        }
        if (Fs::kind($st) !== 'file') {
            throw new InstallException('JOURNAL_CORRUPT', $path . ' is not a regular file; nothing was touched');
        }
        if ($st['size'] > self::MAX_BYTES) {
            throw new InstallException('JOURNAL_CORRUPT', $path . ' is ' . $st['size'] . ' bytes, larger than any journal countersign writes; nothing was touched');
        }
        $text = @file_get_contents($path);
        if ($text === false) {
            throw new InstallException('JOURNAL_CORRUPT', 'cannot read the journal ' . $path . '; nothing was touched');
        }
        return self::parse($text);
    }

    /** parseJournal (lib/installer/journal.ts). @return array{begin:?array,steps:list<array>,committed:bool,tornBytes:int} */
    public static function parse(string $text): array
    {
        $end = strrpos($text, "\n");
        $torn = $end === false ? strlen($text) : strlen($text) - ($end + 1);
        if ($end === false) {
            return ['begin' => null, 'steps' => [], 'committed' => false, 'tornBytes' => $torn];
        }
        $lines = explode("\n", substr($text, 0, $end));
        $begin = null;
        $steps = [];
        $committed = false;
        foreach ($lines as $i => $line) {
            $no = $i + 1;
            try {
                $value = Json::parseLenient(\Countersign\Bytes::utf8($line, 'journal line'), 'journal line');
            } catch (CountersignException $e) {
                self::corrupt('not JSON', $no);
            }
            $r = self::shaped($value, $no);
            if ($no === 1) {
                if ($r['t'] !== 'begin') {
                    self::corrupt('the first record is not "begin"', 1);
                }
                if ($r['format'] !== self::FORMAT) {
                    self::corrupt('format ' . Json::stringify($r['format']) . ' is not ' . self::FORMAT, 1);
                }
                foreach ($r['kept'] ?? [] as $path) {
                    self::safePath($path, 1);
                }
                $begin = $r;
                continue;
            }
            if ($committed) {
                self::corrupt('a record after "commit"', $no);
            }
            if ($r['t'] === 'commit') {
                $committed = true;
            } elseif ($r['t'] === 'step') {
                if ($r['n'] !== count($steps) + 1) {
                    self::corrupt('step number ' . Json::stringify($r['n']) . ' where ' . (count($steps) + 1) . ' was due', $no);
                }
                self::safePath($r['path'], $no);
                unset($r['t'], $r['n']);
                $steps[] = $r;
            } else {
                self::corrupt('a second "begin" record', $no);
            }
        }
        return ['begin' => $begin, 'steps' => $steps, 'committed' => $committed, 'tornBytes' => $torn];
    }

    private static function safePath(string $path, int $line): void
    {
        try {
            Paths::check($path);
        } catch (CountersignException $e) {
            self::corrupt('unsafe path: ' . $e->getMessage(), $line);
        }
    }

    /** The record's shape by schemas/journal-record.schema.json: exact member sets, types, patterns. @param mixed $v @return array<string,mixed> */
    private static function shaped($v, int $line): array
    {
        if (!$v instanceof \Countersign\JsonObject) {
            self::corrupt('the record is not an object', $line);
        }
        $r = [];
        foreach ($v->names() as $name) {
            $x = $v->get($name);
            // JSON.parse numbers: integral ones within 2^53 are the schema's integers
            $r[$name] = is_float($x) && floor($x) === $x && abs($x) <= 9007199254740992 ? (int) $x : $x;
        }
        $text = function ($x): bool {
            return is_string($x) && strlen($x) > 0 && \Countersign\Bytes::utf16Length($x) <= 4096;
        };
        $abs = function ($x) use ($text): bool {
            return $text($x) && $x[0] === '/';
        };
        $digits = function ($x): bool {
            return is_string($x) && preg_match('/^(?:0|[1-9][0-9]{0,19})$/D', $x) === 1;
        };
        $slot = function ($x): bool {
            return is_int($x) && $x >= 0 && $x <= 1000000;
        };
        $n = function ($x): bool {
            return is_int($x) && $x >= 1;
        };
        $t = $r['t'] ?? null;
        $op = $r['op'] ?? null;
        $spec = null;
        if ($t === 'begin') {
            $spec = [
                ['t', 'format', 'site', 'bundle', 'product', 'component', 'from', 'to', 'store', 'created'],
                ['root', 'kept'],
                [
                    'format' => 'is_int',
                    'site' => $abs,
                    'root' => function ($x): bool {
                        return is_string($x) && preg_match('/^(?:0|[1-9][0-9]{0,19}):(?:0|[1-9][0-9]{0,19})$/D', $x) === 1;
                    },
                    'bundle' => function ($x): bool {
                        return is_string($x) && preg_match('/^[0-9a-f]{64}$/D', $x) === 1;
                    },
                    'product' => $text,
                    'component' => $text,
                    'from' => function ($x) use ($text): bool {
                        return $x === null || $text($x);
                    },
                    'to' => $text,
                    'store' => function ($x) use ($abs): bool {
                        return $x === null || $abs($x);
                    },
                    'created' => $text,
                    'kept' => function ($x) use ($text): bool {
                        if (!is_array($x) || count($x) === 0) {
                            return false;
                        }
                        foreach ($x as $k) {
                            if (!$text($k)) {
                                return false;
                            }
                        }
                        return true;
                    },
                ],
            ];
        } elseif ($t === 'commit') {
            $spec = [['t'], [], []];
        } elseif ($t === 'step' && $op === 'mkdir') {
            $spec = [['t', 'n', 'op', 'path'], [], ['n' => $n, 'path' => $text]];
        } elseif ($t === 'step' && ($op === 'add' || $op === 'modify')) {
            $spec = [['t', 'n', 'op', 'path', 'slot', 'dev', 'ino'], [], ['n' => $n, 'path' => $text, 'slot' => $slot, 'dev' => $digits, 'ino' => $digits]];
        } elseif ($t === 'step' && $op === 'delete') {
            $spec = [['t', 'n', 'op', 'path', 'slot'], [], ['n' => $n, 'path' => $text, 'slot' => $slot]];
        } elseif ($t === 'step' && $op === 'rmdir') {
            $spec = [['t', 'n', 'op', 'path', 'mode'], [], ['n' => $n, 'path' => $text, 'mode' => function ($x): bool {
                return is_string($x) && preg_match('/^0[0-7]{3}$/D', $x) === 1;
            }]];
        }
        if ($spec === null) {
            self::corrupt('the record matches no record of the journal schema', $line);
        }
        [$required, $optional, $checks] = $spec;
        foreach ($required as $k) {
            if (!array_key_exists($k, $r)) {
                self::corrupt('the record lacks ' . Json::quote($k), $line);
            }
        }
        foreach ($r as $k => $value) {
            $k = (string) $k;
            if (!in_array($k, $required, true) && !in_array($k, $optional, true)) {
                self::corrupt('the record has an unknown member ' . Json::quote($k), $line);
            }
            if (isset($checks[$k]) && !$checks[$k]($value)) {
                self::corrupt('the record\'s ' . Json::quote($k) . ' is not valid', $line);
            }
        }
        return $r;
    }
}
