<?php

declare(strict_types=1);

namespace Countersign;

/** Paths of one archive as a set (lib/core/paths.ts PathSet): no duplicates after case folding, no file where a directory is needed. */
final class PathSet
{
    /** @var array<string,string> */
    private $files = [];
    /** @var array<string,string> */
    private $dirs = [];

    /** @return never */
    private static function unsafe(string $path, string $rule)
    {
        throw new ArchiveException('UNSAFE_PATH', 'unsafe path ' . Json::quote($path) . ': ' . $rule, ['path' => $path, 'rule' => $rule]);
    }

    public function add(string $path): void
    {
        Paths::check($path);
        $key = 'k' . Paths::caseFoldKey($path);
        if (isset($this->files[$key])) {
            $same = $this->files[$key];
            self::unsafe($path, $same === $path ? 'listed twice' : 'equals ' . Json::quote($same) . ' after case folding');
        }
        if (isset($this->dirs[$key])) {
            self::unsafe($path, 'is a file but ' . Json::quote($this->dirs[$key]) . ' needs it to be a directory');
        }
        $ancestors = [];
        $plain = substr($key, 1);
        for ($i = strrpos($plain, '/'); $i !== false && $i > 0; $i = $i > 0 ? strrpos(substr($plain, 0, $i), '/') : false) {
            $dir = 'k' . substr($plain, 0, $i);
            if (isset($this->files[$dir])) {
                self::unsafe($path, 'needs ' . Json::quote($this->files[$dir]) . ' to be a directory, but it is a file');
            }
            if (isset($this->dirs[$dir])) {
                break;
            }
            $ancestors[] = $dir;
        }
        foreach ($ancestors as $dir) {
            $this->dirs[$dir] = $path;
        }
        $this->files[$key] = $path;
    }
}
