<?php

declare(strict_types=1);

namespace Countersign\Installer;

/**
 * File-system calls as the installer needs them: lstat without PHP's stat cache, errors as Fault (never a warning),
 * streaming SHA-256, fsync of files and directories where PHP has it (8.1+: fsync/fdatasync; on 7.4 the data is
 * left to the kernel's writeback, see php/docs/installer.md), durable replace (temp, fsync, rename, fsync dir).
 */
final class Fs
{
    /** @return array<string,int>|null lstat, never following a link; null when missing */
    public static function lstat(string $path): ?array
    {
        clearstatcache(true, $path);
        $st = @lstat($path);
        return $st === false ? null : $st;
    }

    /** @param array<string,int>|null $st */
    public static function kind(?array $st): string
    {
        if ($st === null) {
            return 'missing';
        }
        switch ($st['mode'] & 0170000) {
            case 0040000:
                return 'dir';
            case 0100000:
                return 'file';
            case 0120000:
                return 'symlink';
            default:
                return 'other';
        }
    }

    /** @param array<string,int> $st */
    public static function id(array $st): string
    {
        return self::unsigned($st['dev']) . ':' . self::unsigned($st['ino']);
    }

    /** PHP ints are signed 64-bit: an inode or device number above 2^63 reads negative; print it as Node's bigint does. */
    public static function unsigned(int $n): string
    {
        return $n >= 0 ? (string) $n : sprintf('%u', $n);
    }

    /** Runs a PHP file-system call, turning false and its warning into a Fault. @return mixed */
    public static function call(string $what, callable $fn)
    {
        $warning = null;
        set_error_handler(function (int $no, string $msg) use (&$warning): bool {
            $warning = $msg;
            return true;
        });
        try {
            $r = $fn();
        } finally {
            restore_error_handler();
        }
        if ($r === false) {
            throw new Fault(self::errnoOf((string) $warning), $what . ($warning !== null ? ' (' . preg_replace('/^[a-z_]+\([^)]*\): /', '', $warning) . ')' : ''));
        }
        return $r;
    }

    public static function errnoOf(string $warning): string
    {
        $map = [
            'No such file or directory' => 'ENOENT',
            'File exists' => 'EEXIST',
            'Directory not empty' => 'ENOTEMPTY',
            'Permission denied' => 'EACCES',
            'Operation not permitted' => 'EPERM',
            'Not a directory' => 'ENOTDIR',
            'Is a directory' => 'EISDIR',
            'No space left on device' => 'ENOSPC',
            'Too many levels of symbolic links' => 'ELOOP',
            'Invalid cross-device link' => 'EXDEV',
            'Input/output error' => 'EIO',
        ];
        foreach ($map as $text => $code) {
            if (strpos($warning, $text) !== false) {
                return $code;
            }
        }
        return 'EIO';
    }

    /** @return resource */
    public static function open(string $path, string $mode)
    {
        return self::call('cannot open ' . $path, function () use ($path, $mode) {
            return fopen($path, $mode);
        });
    }

    /** @param resource $h */
    public static function writeAll($h, string $data, string $path): void
    {
        $done = 0;
        $len = strlen($data);
        while ($done < $len) {
            $n = self::call('cannot write ' . $path, function () use ($h, $data, $done) {
                return fwrite($h, $done === 0 ? $data : substr($data, $done));
            });
            if ($n === 0) {
                throw new Fault('EIO', 'cannot write ' . $path . ' (no progress)');
            }
            $done += $n;
        }
    }

    /** @param resource $h */
    public static function fsync($h, string $path, bool $dataOnly = false): void
    {
        fflush($h);
        if ($dataOnly && function_exists('fdatasync')) {
            self::call('cannot fdatasync ' . $path, function () use ($h) {
                return fdatasync($h);
            });
        } elseif (function_exists('fsync')) {
            self::call('cannot fsync ' . $path, function () use ($h) {
                return fsync($h);
            });
        }
    }

    /** fsync of a directory, so the names created, renamed or removed in it are durable (opened read-only: Linux allows it). */
    public static function fsyncDir(string $dir): void
    {
        if (!function_exists('fsync')) {
            return;
        }
        $h = self::open($dir, 'rb');
        try {
            self::call('cannot fsync ' . $dir, function () use ($h) {
                return fsync($h);
            });
        } finally {
            fclose($h);
        }
    }

    /** @return array{sha256:string,size:int,stat:array<string,int>} SHA-256 of a regular file, streamed; the stat of the very file hashed */
    public static function hashFile(string $path): array
    {
        $before = self::lstat($path);
        if (self::kind($before) !== 'file') {
            throw new Fault($before === null ? 'ENOENT' : (self::kind($before) === 'symlink' ? 'ELOOP' : 'EISDIR'), $path . ' is not a regular file');
        }
        $h = self::open($path, 'rb');
        try {
            $st = fstat($h);
            if ($st === false || $st['ino'] !== $before['ino'] || $st['dev'] !== $before['dev']) {
                throw new Fault('ESTALE', $path . ' was replaced while it was opened');
            }
            $ctx = hash_init('sha256');
            $size = 0;
            while (!feof($h)) {
                $chunk = fread($h, 1 << 16);
                if ($chunk === false) {
                    throw new Fault('EIO', 'cannot read ' . $path);
                }
                $size += strlen($chunk);
                hash_update($ctx, $chunk);
            }
            return ['sha256' => hash_final($ctx), 'size' => $size, 'stat' => $st];
        } finally {
            fclose($h);
        }
    }

    /** Reads a small regular file (not a link), or null when missing or not one. */
    public static function readSmall(string $path, int $max = 1048576): ?string
    {
        if (self::kind(self::lstat($path)) !== 'file') {
            return null;
        }
        $h = @fopen($path, 'rb');
        if ($h === false) {
            return null;
        }
        try {
            $text = fread($h, $max + 1);
            return $text === false || strlen($text) > $max ? null : $text;
        } finally {
            fclose($h);
        }
    }

    /** Replaces $target with $data: temporary file beside it, write, fsync, chmod, rename over, fsync the directory. */
    public static function writeDurably(string $target, string $data, int $mode): void
    {
        $temp = dirname($target) . '/.' . basename($target) . '.' . bin2hex(random_bytes(6)) . '.tmp';
        try {
            $h = self::open($temp, 'xb');
            try {
                self::writeAll($h, $data, $temp);
                self::fsync($h, $temp);
            } finally {
                fclose($h);
            }
            self::call('cannot chmod ' . $temp, function () use ($temp, $mode) {
                return chmod($temp, $mode);
            });
            self::call('cannot rename ' . $temp . ' to ' . $target, function () use ($temp, $target) {
                return rename($temp, $target);
            });
        } catch (\Throwable $e) {
            @unlink($temp);
            throw $e;
        }
        self::fsyncDir(dirname($target));
    }

    /** Removes a tree without following links (a link is unlinked, never entered). */
    public static function removeTree(string $path): void
    {
        $st = self::lstat($path);
        if ($st === null) {
            return;
        }
        if (self::kind($st) !== 'dir') {
            self::call('cannot remove ' . $path, function () use ($path) {
                return unlink($path);
            });
            return;
        }
        $names = self::call('cannot list ' . $path, function () use ($path) {
            return scandir($path);
        });
        foreach ($names as $name) {
            if ($name !== '.' && $name !== '..') {
                self::removeTree($path . '/' . $name);
            }
        }
        self::call('cannot remove ' . $path, function () use ($path) {
            return rmdir($path);
        });
    }
}
