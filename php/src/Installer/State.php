<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\Json;
use Countersign\Time;

/** The state directory's contents other than the journal (lib/installer/state.ts): its checks, phase state, the "needs attention" marker, work directories. */
final class State
{
    /** Why the state directory (existing or to be made) is unfit, or null. @return list<array{code:string,path:string,message:string}> */
    public static function problems(SitePaths $p): array
    {
        $parent = dirname($p->stateDir);
        $pst = Fs::lstat($parent);
        $problem = function (string $message) use ($p): array {
            return [['code' => 'STATE_DIR', 'path' => $p->stateDir, 'message' => $message]];
        };
        if (Fs::kind($pst) !== 'dir') {
            return $problem('cannot open its parent ' . $parent . ' (not a directory)');
        }
        if ($pst['uid'] !== 0 && $pst['uid'] !== $p->owner) {
            return $problem('its parent ' . $parent . ' is owned by uid ' . $pst['uid'] . ', neither the site owner (uid ' . $p->owner . ') nor root: its owner could swap the state directory');
        }
        if (($pst['mode'] & 0022) !== 0) {
            return $problem('its parent ' . $parent . ' is writable by ' . (($pst['mode'] & 0002) !== 0 ? 'everyone' : 'its group') . ' (mode ' . decoct($pst['mode'] & 07777) . '), who could swap the state directory; make it writable by its owner only');
        }
        $st = Fs::lstat($p->stateDir);
        if ($st === null) {
            return [];
        }
        if (Fs::kind($st) === 'symlink') {
            return $problem('is a symbolic link; refusing to follow it');
        }
        if (Fs::kind($st) !== 'dir') {
            return $problem('is not a directory');
        }
        $uid = function_exists('posix_geteuid') ? posix_geteuid() : $st['uid'];
        if ($st['uid'] !== $uid || ($st['uid'] !== 0 && $st['uid'] !== $p->owner)) {
            return $problem('is owned by uid ' . $st['uid'] . '; it must be owned by the user that applies updates (uid ' . $uid . '), who must be the site owner (uid ' . $p->owner . ') or root');
        }
        return [];
    }

    /** Creates the state directory (0700) if needed and checks it; PREFLIGHT_FAILED (STATE_DIR) when unfit. */
    public static function ensure(SitePaths $p): void
    {
        $problems = self::problems($p);
        if (count($problems) === 0 && Fs::lstat($p->stateDir) === null) {
            if (!@mkdir($p->stateDir, 0700) && Fs::lstat($p->stateDir) === null) {
                $problems = [['code' => 'STATE_DIR', 'path' => $p->stateDir, 'message' => 'cannot create it; create it owned by the user that applies updates, mode 0700, or pass --state-dir']];
            } else {
                $problems = self::problems($p);
            }
        }
        if (count($problems) > 0) {
            throw new InstallException('PREFLIGHT_FAILED', 'state directory ' . $p->stateDir . ': ' . $problems[0]['message'], ['problems' => $problems]);
        }
        $st = Fs::lstat($p->stateDir);
        if (($st['mode'] & 0077) !== 0) {
            chmod($p->stateDir, 0700);
        }
    }

    /** Still the state directory checked (a real directory, not a link), before anything is written in it. */
    public static function assertPlace(SitePaths $p, string $id): void
    {
        $st = Fs::lstat($p->stateDir);
        if ($st === null || Fs::kind($st) !== 'dir' || Fs::id($st) !== $id) {
            throw new Fault('ESTALE', 'the state directory ' . $p->stateDir . ' was moved or replaced');
        }
    }

    public static function lock(SitePaths $p, int $timeoutMs = 2000): \Countersign\StoreLock
    {
        $lock = new \Countersign\StoreLock($p->at('lock'), $timeoutMs); // the trust store's lock format: TypeScript and PHP exclude each other
        try {
            $lock->acquire();
            return $lock;
        } catch (\Countersign\StoreException $e) {
            throw new InstallException('SITE_BUSY', 'another countersign apply or recover is working on ' . $p->root . ' (lock ' . $p->at('lock') . '); try again later', $e->getDetails());
        }
    }

    public static function removeWorkDirs(SitePaths $p): void
    {
        Fs::removeTree($p->at('staging'));
        Fs::removeTree($p->at('backups'));
        Fs::removeTree($p->at('paused.json'));
    }

    public static function hasWorkDirs(SitePaths $p): bool
    {
        return Fs::lstat($p->at('staging')) !== null || Fs::lstat($p->at('backups')) !== null;
    }

    /** @return array<string,mixed>|null */
    public static function readJson(SitePaths $p, string $name): ?array
    {
        $text = Fs::readSmall($p->at($name), 64 << 20);
        if ($text === null) {
            return null;
        }
        $v = json_decode($text, true);
        return is_array($v) ? $v : null;
    }

    /** @param array<string,mixed> $value */
    public static function writeJson(SitePaths $p, string $name, array $value): void
    {
        Fs::writeDurably($p->at($name), \Countersign\Json::pretty($value) . "\n", 0600);
    }

    /** @return array<string,mixed>|null */
    public static function readPhase(SitePaths $p): ?array
    {
        $v = self::readJson($p, 'state.json');
        if ($v === null || ($v['format'] ?? null) !== 1 || !is_string($v['bundle'] ?? null) || !in_array($v['phase'] ?? null, ['check', 'files', 'post'], true)) {
            return null;
        }
        return $v;
    }

    /** @param array{bundle:string,product:string,component:string,from:?string,to:string,phase:string} $s */
    public static function writePhase(SitePaths $p, array $s, int $now): void
    {
        self::writeJson($p, 'state.json', ['format' => 1, 'bundle' => $s['bundle'], 'product' => $s['product'], 'component' => $s['component'], 'from' => $s['from'], 'to' => $s['to'], 'phase' => $s['phase'], 'updated' => Time::format($now)]);
    }

    /** The marker, or null; a marker that cannot be read still means the site needs attention. @return array<string,mixed>|null */
    public static function readAttention(SitePaths $p): ?array
    {
        if (Fs::lstat($p->at('needs-attention.json')) === null) {
            return null;
        }
        $v = self::readJson($p, 'needs-attention.json');
        if ($v !== null && ($v['format'] ?? null) === 1 && is_string($v['message'] ?? null)) {
            return $v;
        }
        return ['format' => 0, 'code' => 'UNREADABLE', 'message' => $p->at('needs-attention.json') . ' exists but cannot be read'];
    }

    /** @param array<string,mixed> $marker */
    public static function writeAttention(SitePaths $p, array $marker, int $now): void
    {
        self::writeJson($p, 'needs-attention.json', array_merge(['format' => 1], $marker, ['since' => Time::format($now)]));
    }

    public static function clearAttention(SitePaths $p): bool
    {
        if (Fs::lstat($p->at('needs-attention.json')) === null) {
            return false;
        }
        @unlink($p->at('needs-attention.json'));
        return true;
    }

    public static function refuseIfNeedsAttention(SitePaths $p): void
    {
        $m = self::readAttention($p);
        if ($m !== null) {
            throw new InstallException('NEEDS_ATTENTION', 'the site needs attention (' . $m['code'] . ': ' . $m['message'] . '); updates are refused until an operator checks it and runs countersign recover --site ' . $p->root . ' --clear', ['marker' => $m, 'attention' => $p->at('needs-attention.json')]);
        }
    }

    public static function quote(string $s): string
    {
        return Json::quote($s);
    }
}
