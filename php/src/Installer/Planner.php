<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\Paths;

/**
 * Facts about the site (lstat of every path an update touches and of each directory on the way, never following a
 * link; the SHA-256 of each file modified or deleted; listings) and the plan decided from them, in commit order
 * (lib/installer/inspect.ts, plan.ts): mkdirs parents first, the file ops in path byte order with the version file
 * last, then the directories the deletes empty, deepest first. Every problem is collected for PREFLIGHT_FAILED.
 */
final class Planner
{
    /** @var array<string,array<string,mixed>> rel => fact */
    private $nodes = [];
    /** @var array<string,list<string>> */
    private $listings = [];
    /** @var SitePaths */
    private $p;

    private function __construct(SitePaths $p)
    {
        $this->p = $p;
    }

    /** @return array<string,mixed> kind, dev, mode, uid, id (dirs), sha256 (hashed files) */
    private function node(string $rel): array
    {
        if (!isset($this->nodes['k' . $rel])) {
            $st = Fs::lstat($this->p->abs($rel));
            $kind = Fs::kind($st);
            $fact = ['kind' => $kind];
            if ($st !== null) {
                $fact += ['dev' => $st['dev'], 'mode' => $st['mode'], 'uid' => $st['uid'], 'id' => Fs::id($st), 'size' => $st['size']];
            }
            $this->nodes['k' . $rel] = $fact;
        }
        return $this->nodes['k' . $rel];
    }

    private function listing(string $rel): void
    {
        if (!isset($this->listings['k' . $rel])) {
            $names = @scandir($this->p->abs($rel));
            $this->listings['k' . $rel] = $names === false ? [] : array_values(array_diff($names, ['.', '..']));
        }
    }

    /** @return list<string> 'a', 'a/b' for 'a/b/c' */
    public static function ancestors(string $path): array
    {
        $out = [];
        for ($i = strpos($path, '/'); $i !== false; $i = strpos($path, '/', $i + 1)) {
            $out[] = substr($path, 0, $i);
        }
        return $out;
    }

    public static function parentOf(string $path): string
    {
        $i = strrpos($path, '/');
        return $i === false ? '' : substr($path, 0, $i);
    }

    public static function nameOf(string $path): string
    {
        $i = strrpos($path, '/');
        return $i === false ? $path : substr($path, $i + 1);
    }

    /** @param list<array<string,mixed>> $items @return list<array<string,mixed>> */
    public static function sortByPath(array $items): array
    {
        usort($items, function ($a, $b) {
            return strcmp($a['path'], $b['path']);
        });
        return $items;
    }

    /**
     * The plan for a verified manifest. @param array<string,mixed> $m
     * @return array{steps:list<array<string,mixed>>,localChanges:list<array>,kept:list<array>,problems:list<array>,versionFile:?string,stagedFiles:int,stagedBytes:int,checkedDirs:array<string,string>}
     */
    public static function plan(SitePaths $p, array $m, bool $keepLocal): array
    {
        $self = new self($p);
        $p->assertRoot();
        $root = Fs::lstat($p->root);
        Paths::checkSet(array_map(function ($f) {
            return $f['path'];
        }, $m['files']));
        $versionFile = VersionFile::of($m);
        $problems = [];
        $seen = [];
        $problem = function (string $code, string $path, string $message) use (&$problems, &$seen): void {
            if (!isset($seen[$code . "\0" . $path])) {
                $seen[$code . "\0" . $path] = true;
                $problems[] = ['code' => $code, 'path' => $path, 'message' => $message];
            }
        };
        $localChanges = [];
        $kept = [];
        $mkdirs = [];
        $fileSteps = [];
        $created = [];
        $createName = function (string $parent, string $name, string $path) use (&$created, $self, $problem): void {
            if (!isset($created['k' . $parent])) {
                $self->listing($parent);
                $created['k' . $parent] = [];
                foreach ($self->listings['k' . $parent] as $n) {
                    $created['k' . $parent][Paths::caseFoldKey($n)] = $n;
                }
            }
            $key = Paths::caseFoldKey($name);
            $other = $created['k' . $parent][$key] ?? null;
            if ($other !== null && $other !== $name) {
                $problem('CASE_COLLISION', $path, $path . ' would sit beside ' . json_encode($parent === '' ? $other : $parent . '/' . $other) . ', the same name after case folding');
            }
            $created['k' . $parent][$key] = $name;
        };
        $ops = self::sortByPath($m['files']);
        foreach ($ops as $slot => $op) {
            $dirs = self::ancestors($op['path']);
            $missingFrom = -1;
            $blocked = false;
            foreach ($dirs as $i => $dir) {
                $node = $self->node($dir);
                if ($node['kind'] === 'missing') {
                    $missingFrom = $i;
                    break;
                }
                if ($node['kind'] === 'symlink') {
                    $problem('SYMLINK', $dir, $dir . ' is a symbolic link; the installer never writes through one (' . $op['path'] . ')');
                    $blocked = true;
                    break;
                }
                if ($node['kind'] !== 'dir') {
                    $problem('NOT_A_DIRECTORY', $dir, $dir . ' is not a directory, but ' . $op['path'] . ' needs it to be one');
                    $blocked = true;
                    break;
                }
                if ($node['dev'] !== $root['dev']) {
                    $problem('OTHER_FILESYSTEM', $dir, $dir . ' is on another file system than the site root (a mount point); files cannot be renamed into it atomically');
                }
            }
            if ($blocked) {
                continue;
            }
            if ($op['op'] === 'add') {
                $self->listing($missingFrom >= 0 ? ($missingFrom === 0 ? '' : $dirs[$missingFrom - 1]) : self::parentOf($op['path']));
            }
            $target = $missingFrom >= 0 ? ['kind' => 'missing'] : $self->node($op['path']);
            if ($op['op'] === 'add') {
                if ($target['kind'] === 'symlink') {
                    $problem('SYMLINK', $op['path'], $op['path'] . ' is a symbolic link where the release adds a file');
                    continue;
                }
                if ($target['kind'] !== 'missing') {
                    $problem('TARGET_EXISTS', $op['path'], $op['path'] . ' already exists, but the release adds it as a new file');
                    continue;
                }
                if ($missingFrom >= 0) {
                    for ($i = $missingFrom; $i < count($dirs); $i++) {
                        $mkdirs[$dirs[$i]] = true;
                        $createName($i === 0 ? '' : $dirs[$i - 1], self::nameOf($dirs[$i]), $dirs[$i]);
                    }
                }
                $createName(self::parentOf($op['path']), self::nameOf($op['path']), $op['path']);
                $fileSteps[] = ['op' => 'add', 'path' => $op['path'], 'slot' => $slot, 'sha256' => $op['sha256'], 'size' => $op['size'], 'mode' => $op['mode']];
                continue;
            }
            if ($op['op'] === 'delete') {
                $self->listing(self::parentOf($op['path']));
                foreach ($dirs as $d) {
                    $self->listing($d);
                }
            }
            if ($target['kind'] === 'symlink') {
                $problem('SYMLINK', $op['path'], $op['path'] . ' is a symbolic link; the release ' . ($op['op'] === 'modify' ? 'modifies' : 'deletes') . ' a regular file there');
                continue;
            }
            if ($target['kind'] === 'dir' || $target['kind'] === 'other') {
                $problem('NOT_A_FILE', $op['path'], $op['path'] . ' is not a regular file');
                continue;
            }
            $found = null;
            if ($target['kind'] === 'file') {
                try {
                    $found = Fs::hashFile($p->abs($op['path']))['sha256'];
                } catch (Fault $e) {
                    if ($e->errno === 'ELOOP') {
                        $problem('SYMLINK', $op['path'], $op['path'] . ' became a symbolic link while it was read');
                        continue;
                    }
                    if ($e->errno !== 'ENOENT') {
                        throw $e;
                    }
                }
            }
            if ($found !== $op['previousSha256']) {
                $change = ['path' => $op['path'], 'op' => $op['op'], 'expected' => $op['previousSha256'], 'found' => $found];
                if ($keepLocal && $op['path'] !== $versionFile) {
                    $kept[] = $change;
                } else {
                    $localChanges[] = $change;
                }
                continue;
            }
            $fileSteps[] = $op['op'] === 'modify'
                ? ['op' => 'modify', 'path' => $op['path'], 'slot' => $slot, 'sha256' => $op['sha256'], 'size' => $op['size'], 'mode' => $op['mode'], 'previousSha256' => $op['previousSha256']]
                : ['op' => 'delete', 'path' => $op['path'], 'slot' => $slot, 'previousSha256' => $op['previousSha256']];
        }
        $rmdirs = $self->emptied($fileSteps, $ops, $kept);
        $last = null;
        foreach ($fileSteps as $i => $s) {
            if ($s['path'] === $versionFile) {
                $last = $i;
            }
        }
        if ($last !== null) {
            $v = $fileSteps[$last];
            array_splice($fileSteps, $last, 1);
            $fileSteps[] = $v;
        }
        $mk = array_map(function ($path) {
            return ['op' => 'mkdir', 'path' => (string) $path];
        }, array_keys($mkdirs));
        $steps = array_merge(self::sortByPath($mk), $fileSteps, $rmdirs);
        $stagedFiles = 0;
        $stagedBytes = 0;
        foreach ($steps as $s) {
            if ($s['op'] === 'add' || $s['op'] === 'modify') {
                $stagedFiles++;
                $stagedBytes += $s['size'];
            }
        }
        $checked = ['' => Fs::id($root)];
        foreach ($self->nodes as $k => $n) {
            if ($n['kind'] === 'dir') {
                $checked[substr($k, 1)] = $n['id'];
            }
        }
        $problems = array_merge($problems, $self->sharedWrite($steps, $root), self::rootParents($p));
        return ['steps' => $steps, 'localChanges' => $localChanges, 'kept' => $kept, 'problems' => $problems, 'versionFile' => $last !== null ? $versionFile : null, 'stagedFiles' => $stagedFiles, 'stagedBytes' => $stagedBytes, 'checkedDirs' => $checked];
    }

    /** @return list<array<string,mixed>> */
    private function emptied(array $fileSteps, array $ops, array $kept): array
    {
        $deletes = array_values(array_filter($fileSteps, function ($s) {
            return $s['op'] === 'delete';
        }));
        if (count($deletes) === 0) {
            return [];
        }
        $keptPaths = [];
        foreach ($kept as $k) {
            $keptPaths[$k['path']] = true;
        }
        $stays = [];
        foreach ($ops as $op) {
            if ($op['op'] !== 'delete' || isset($keptPaths[$op['path']])) {
                foreach (self::ancestors($op['path']) as $d) {
                    $stays[$d] = true;
                }
            }
        }
        $gone = [];
        $remove = function (string $path) use (&$gone): void {
            $gone['k' . self::parentOf($path)][self::nameOf($path)] = true;
        };
        $candidates = [];
        foreach ($deletes as $d) {
            $remove($d['path']);
            foreach (self::ancestors($d['path']) as $a) {
                $candidates[$a] = true;
            }
        }
        $candidates = array_map('strval', array_keys($candidates));
        usort($candidates, function ($a, $b) {
            return (substr_count($b, '/') - substr_count($a, '/')) ?: strcmp($a, $b);
        });
        $steps = [];
        foreach ($candidates as $dir) {
            if (isset($stays[$dir]) || !isset($this->listings['k' . $dir])) {
                continue;
            }
            $node = $this->nodes['k' . $dir] ?? null;
            if ($node === null || $node['kind'] !== 'dir') {
                continue;
            }
            $removed = $gone['k' . $dir] ?? [];
            $all = true;
            foreach ($this->listings['k' . $dir] as $name) {
                if (!isset($removed[$name])) {
                    $all = false;
                    break;
                }
            }
            if ($all) {
                $steps[] = ['op' => 'rmdir', 'path' => $dir, 'mode' => $node['mode'] & 07777];
                $remove($dir);
            }
        }
        return $steps;
    }

    /**
     * SHARED_WRITE for each existing directory the plan writes in, or passes on the way, that another user could write
     * (group/other-writable, or owned by someone other than the site owner or root). PHP cannot pin directories by
     * descriptor, so this is never waived here: it is what makes the path checks before and after each step hold.
     * @return list<array<string,mixed>>
     */
    private function sharedWrite(array $steps, array $root): array
    {
        $owner = $root['uid'];
        $out = [];
        $seen = [];
        foreach ($steps as $s) {
            foreach (array_merge([''], self::ancestors($s['path'])) as $dir) {
                if (isset($seen['k' . $dir])) {
                    continue;
                }
                $seen['k' . $dir] = true;
                $node = $dir === '' ? ['kind' => 'dir', 'mode' => $root['mode'], 'uid' => $root['uid']] : ($this->nodes['k' . $dir] ?? null);
                if ($node === null || $node['kind'] !== 'dir') {
                    continue;
                }
                $where = $dir === '' ? 'the site root' : $dir;
                if (($node['mode'] & 0022) !== 0) {
                    $out[] = ['code' => 'SHARED_WRITE', 'path' => $dir, 'message' => $where . ' is writable by ' . (($node['mode'] & 0002) !== 0 ? 'everyone' : 'its group') . ' (mode ' . decoct($node['mode'] & 07777) . '), so another user could swap what the update writes to; the PHP runner cannot pin directories, so it refuses: make it writable by the site owner only'];
                } elseif ($node['uid'] !== $owner && $node['uid'] !== 0) {
                    $out[] = ['code' => 'SHARED_WRITE', 'path' => $dir, 'message' => $where . ' is owned by uid ' . $node['uid'] . ', not by the site owner (uid ' . $owner . '), so that user could swap what the update writes to; chown it to the site owner'];
                }
            }
        }
        return $out;
    }

    /** ROOT_PARENT (plan.ts rootParentProblems): a directory above the root another user could change. @return list<array<string,mixed>> */
    public static function rootParents(SitePaths $p): array
    {
        $out = [];
        $child = $p->root;
        $trusted = function (int $uid) use ($p): bool {
            return $uid === 0 || $uid === $p->owner;
        };
        while ($child !== '/') {
            $dir = dirname($child);
            $st = Fs::lstat($dir);
            $entry = Fs::lstat($child);
            $refuse = function (string $why) use (&$out, $dir, $p): void {
                $out[] = ['code' => 'ROOT_PARENT', 'path' => $dir, 'message' => $dir . ', above the site root, ' . $why . ', so they could swap the site root for a decoy the update would go into; the site must sit below directories only the site owner or root can change'];
            };
            if (Fs::kind($st) !== 'dir' || $entry === null) {
                $refuse('is no longer a directory (a link was put there)');
            } elseif (!$trusted($st['uid'])) {
                $refuse('is owned by uid ' . $st['uid'] . ', neither the site owner (uid ' . $p->owner . ') nor root');
            } elseif (($st['mode'] & 0022) !== 0 && !(($st['mode'] & 01000) !== 0 && $trusted($entry['uid']))) {
                $refuse('is writable by ' . (($st['mode'] & 0002) !== 0 ? 'everyone' : 'its group') . ' (mode ' . decoct($st['mode'] & 07777) . ')');
            }
            $child = $dir;
        }
        return $out;
    }

    /** Bytes an update needs: staged files in whole blocks, the journal, a margin. */
    public static function spaceNeeded(array $plan): int
    {
        $bytes = 0;
        foreach ($plan['steps'] as $s) {
            if ($s['op'] === 'add' || $s['op'] === 'modify') {
                $bytes += intdiv($s['size'] + 4095, 4096) * 4096;
            }
        }
        return $bytes + count($plan['steps']) * 1024 + (1 << 20);
    }
}
