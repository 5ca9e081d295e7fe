<?php

declare(strict_types=1);

namespace Countersign\Installer;

/**
 * The commit: each step announced in the journal (fdatasync'ed) before it is taken, then every touched directory
 * fsynced and the commit record written; undo of each step, idempotent (it looks at the disk first), for a rollback
 * and a recovery (lib/installer/commit.ts: the same steps and undos, so the two languages' journals mean the same).
 *
 * PHP cannot open a directory by descriptor and act relative to it, so where the TypeScript commit pins each directory,
 * this one checks, before and after each step, that every directory on the way (lstat, never followed) is still the
 * one the preflight checked (DEV:INO) and that the root still resolves to itself (realpath). That detects a swap; it
 * cannot prevent a swap in the instant between the check and the call, which is why the preflight refuses any
 * directory on the way that a user other than the site owner or root can write (SHARED_WRITE, ROOT_PARENT): the only
 * one who could race the check is the owner, who can write the code anyway.
 */
final class Commit
{
    /** @var SitePaths */
    private $p;
    /** @var array<string,string> rel => DEV:INO the steps may act in */
    private $dirs;
    /** @var array<string,true> */
    private $touched = [];
    /** @var Points */
    private $points;

    /** @param array<string,string> $dirs */
    public function __construct(SitePaths $p, array $dirs, Points $points)
    {
        $this->p = $p;
        $this->dirs = $dirs;
        $this->points = $points;
    }

    /** @return array<string,string> */
    public function dirs(): array
    {
        return $this->dirs;
    }

    /** Every directory from the root to $rel is a real directory and the one checked (or made by this run). */
    public function assertInPlace(string $rel): void
    {
        $this->p->assertRootUnchanged();
        foreach (array_merge(Planner::ancestors($rel === '' ? '' : $rel . '/x'), []) as $dir) {
            $this->assertDir($dir);
        }
    }

    private function assertDir(string $dir): void
    {
        $st = Fs::lstat($this->p->abs($dir));
        $want = $this->dirs[$dir] ?? null;
        if (Fs::kind($st) !== 'dir' || $want === null || Fs::id($st) !== $want) {
            throw new Fault('ESTALE', ($dir === '' ? 'the site root' : $dir) . ' is no longer the directory the preflight checked (moved, replaced or made a link)');
        }
    }

    public function assertAllInPlace(): void
    {
        $this->p->assertRootUnchanged();
        foreach (array_keys($this->dirs) as $dir) {
            if (Fs::lstat($this->p->abs((string) $dir)) !== null) {
                $this->assertDir((string) $dir);
            }
        }
    }

    /** Journal record of a step (the staged file's identity for add/modify). @param array<string,mixed> $step @param array<int,array{0:string,1:string}> $staged */
    public static function record(array $step, array $staged): array
    {
        switch ($step['op']) {
            case 'mkdir':
                return ['op' => 'mkdir', 'path' => $step['path']];
            case 'add':
            case 'modify':
                $s = $staged[$step['slot']];
                return ['op' => $step['op'], 'path' => $step['path'], 'slot' => $step['slot'], 'dev' => $s[0], 'ino' => $s[1]];
            case 'delete':
                return ['op' => 'delete', 'path' => $step['path'], 'slot' => $step['slot']];
            default:
                return ['op' => 'rmdir', 'path' => $step['path'], 'mode' => sprintf('%04o', $step['mode'])];
        }
    }

    private function staged(array $record): string
    {
        $path = $this->p->at('staging/' . $record['slot']);
        $st = Fs::lstat($path);
        if (Fs::kind($st) !== 'file' || Fs::id($st) !== $record['dev'] . ':' . $record['ino']) {
            throw new Fault('ESTALE', 'staging/' . $record['slot'] . ' is no longer the file staged for ' . $record['path']);
        }
        return $path;
    }

    /** Takes one step (the table in spec/journal.md). @param array<string,mixed> $step @param array<string,mixed> $record */
    public function take(array $step, array $record, string $stateId): void
    {
        $parent = Planner::parentOf($step['path']);
        $abs = $this->p->abs($step['path']);
        $this->assertInPlace($parent);
        State::assertPlace($this->p, $stateId);
        $this->touched[$parent] = true;
        $p = $this->points;
        switch ($step['op']) {
            case 'mkdir':
                Fs::call('cannot create ' . $step['path'], function () use ($abs) {
                    return mkdir($abs, 0755);
                });
                $p->hit('mkdir ' . $step['path']);
                $st = Fs::lstat($abs);
                if (Fs::kind($st) !== 'dir') {
                    throw new Fault('ESTALE', $step['path'] . ' is not the directory just made');
                }
                chmod($abs, 0755);
                $this->dirs[$step['path']] = Fs::id($st);
                $this->touched[$step['path']] = true;
                break;
            case 'add':
                $from = $this->staged($record);
                Fs::call('cannot link ' . $step['path'], function () use ($from, $abs) {
                    return link($from, $abs); // EEXIST if anything appeared there: never replaced
                });
                $p->hit('linked ' . $step['path']);
                Fs::call('cannot unlink ' . $from, function () use ($from) {
                    return unlink($from);
                });
                break;
            case 'modify':
                $backup = $this->p->at('backups/' . $step['slot']);
                Fs::call('cannot back up ' . $step['path'], function () use ($abs, $backup) {
                    return link($abs, $backup);
                });
                Fs::fsyncDir($this->p->at('backups'));
                $p->hit('backed up ' . $step['path']);
                $h = Fs::hashFile($backup)['sha256'];
                if ($h !== $step['previousSha256']) {
                    throw self::changed($step['path'], $step['previousSha256'], $h);
                }
                $from = $this->staged($record);
                self::rename($from, $abs);
                $p->hit('replaced ' . $step['path']);
                break;
            case 'delete':
                $backup = $this->p->at('backups/' . $step['slot']);
                self::rename($abs, $backup);
                $p->hit('moved ' . $step['path'] . ' to backups');
                $h = Fs::hashFile($backup)['sha256'];
                if ($h !== $step['previousSha256']) {
                    throw self::changed($step['path'], $step['previousSha256'], $h);
                }
                break;
            case 'rmdir':
                try {
                    Fs::call('cannot remove ' . $step['path'], function () use ($abs) {
                        return rmdir($abs);
                    });
                    unset($this->dirs[$step['path']]);
                } catch (Fault $e) {
                    if (!in_array($e->errno, ['ENOTEMPTY', 'EEXIST', 'ENOENT'], true)) {
                        throw $e;
                    }
                }
                $p->hit('rmdir ' . $step['path']);
                break;
        }
        $this->assertInPlace($parent); // nothing was swapped while the step ran
    }

    /** rename(2) only: PHP's rename() copies across file systems, which must never happen here (the preflight checked one device). */
    public static function rename(string $from, string $to): void
    {
        $a = Fs::lstat($from);
        $d = Fs::lstat(dirname($to));
        if ($a === null || $d === null || $a['dev'] !== $d['dev']) {
            throw new Fault('EXDEV', 'refusing to rename ' . $from . ' to ' . $to . ' across file systems');
        }
        Fs::call('cannot rename ' . $from . ' to ' . $to, function () use ($from, $to) {
            return rename($from, $to);
        });
    }

    public function fsyncTouched(): void
    {
        foreach (array_keys($this->touched) as $dir) {
            if (Fs::kind(Fs::lstat($this->p->abs((string) $dir))) === 'dir') {
                Fs::fsyncDir($this->p->abs((string) $dir));
            }
        }
        if (Fs::lstat($this->p->at('backups')) !== null) {
            Fs::fsyncDir($this->p->at('backups'));
        }
    }

    private static function changed(string $path, string $expected, string $found): InstallException
    {
        return new InstallException('LOCAL_CHANGES', $path . ' changed while the update was running (SHA-256 ' . $found . ', expected ' . $expected . ')', ['files' => [['path' => $path, 'expected' => $expected, 'found' => $found]]]);
    }

    /**
     * Undoes one logged step if it took effect; returns a warning when something is left alone. $fresh: a recovery,
     * walking from the root (every directory on the way a real one, never a link) instead of the ids this run checked.
     * @param array<string,mixed> $step a journal step
     */
    public function undo(array $step, bool $fresh): ?string
    {
        $path = $step['path'];
        $parent = Planner::parentOf($path);
        $abs = $this->p->abs($path);
        $reach = function (bool $missingOk) use ($parent, $fresh): bool {
            $this->p->assertRootUnchanged();
            foreach (Planner::ancestors($parent === '' ? '' : $parent . '/x') as $dir) {
                $st = Fs::lstat($this->p->abs($dir));
                if ($st === null && $missingOk) {
                    return false;
                }
                if (Fs::kind($st) !== 'dir') {
                    throw new Fault('ESTALE', ($dir === '' ? 'the site root' : $dir) . ' is not a directory (a link was planted on the way?)');
                }
                if (!$fresh && isset($this->dirs[$dir]) && Fs::id($st) !== $this->dirs[$dir]) {
                    throw new Fault('ESTALE', $dir . ' is not the directory this update acted in');
                }
            }
            return true;
        };
        switch ($step['op']) {
            case 'mkdir':
                if (!$reach(true)) {
                    return null;
                }
                $st = Fs::lstat($abs);
                if ($st === null) {
                    return null;
                }
                if (Fs::kind($st) !== 'dir') {
                    return 'left ' . $path . ': not the directory this update created';
                }
                try {
                    Fs::call('cannot remove ' . $path, function () use ($abs) {
                        return rmdir($abs);
                    });
                } catch (Fault $e) {
                    if ($e->errno === 'ENOTEMPTY' || $e->errno === 'EEXIST') {
                        return 'left ' . $path . ': the directory this update created holds files it did not put there';
                    }
                    if ($e->errno !== 'ENOENT') {
                        throw $e;
                    }
                }
                return null;
            case 'add':
                if (!$reach(true)) {
                    return null;
                }
                $st = Fs::lstat($abs);
                if ($st === null) {
                    return null;
                }
                if (Fs::kind($st) !== 'file' || Fs::id($st) !== $step['dev'] . ':' . $step['ino']) {
                    return 'left ' . $path . ': not the file this update added';
                }
                Fs::call('cannot remove ' . $path, function () use ($abs) {
                    return unlink($abs);
                });
                return null;
            case 'modify':
            case 'delete':
                $backup = $this->p->at('backups/' . $step['slot']);
                if (Fs::lstat($backup) === null) {
                    return null; // never backed up, so never replaced or moved
                }
                $reach(false);
                self::rename($backup, $abs);
                return null;
            default:
                $reach(false);
                if (Fs::lstat($abs) !== null) {
                    return null;
                }
                $mode = intval($step['mode'], 8);
                Fs::call('cannot create ' . $path, function () use ($abs, $mode) {
                    return mkdir($abs, $mode);
                });
                chmod($abs, $mode);
                return null;
        }
    }

    /** Undoes $steps last first, makes it durable, removes the work files and the journal. @param list<array<string,mixed>> $steps @return list<string> warnings */
    public function rollback(array $steps, bool $fresh): array
    {
        $warnings = [];
        for ($i = count($steps) - 1; $i >= 0; $i--) {
            $w = $this->undo($steps[$i], $fresh);
            if ($w !== null) {
                $warnings[] = $w;
            }
            $this->touched[Planner::parentOf($steps[$i]['path'])] = true;
            $this->points->hit('undone step ' . ($i + 1) . ': ' . $steps[$i]['op'] . ' ' . $steps[$i]['path']);
        }
        $this->fsyncTouched();
        State::removeWorkDirs($this->p);
        self::removeJournal($this->p);
        $this->points->hit('rolled back');
        return $warnings;
    }

    public static function removeJournal(SitePaths $p): void
    {
        if (Fs::lstat($p->at('journal')) !== null) {
            Fs::call('cannot remove the journal', function () use ($p) {
                return unlink($p->at('journal'));
            });
        }
        Fs::fsyncDir($p->stateDir);
    }
}
