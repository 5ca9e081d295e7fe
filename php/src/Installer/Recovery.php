<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\UsageException;

/**
 * Recovery (lib/installer/recover.ts): before every apply, under the lock, and as countersign-recover.
 *   - a journal without its commit record: every logged step undone, last first → the old release;
 *   - with it: the install recorded in the trust store, the work files removed → the new release;
 *   - no journal but staging or backups left over: removed.
 * The journal never says where to write: its site must be the site given, its root the directory there now (DEV:INO),
 * its store the store configured (after realpath); else JOURNAL_CORRUPT and nothing is touched. A journal written by
 * the TypeScript installer is recovered here exactly as one of ours, and the other way round.
 */
final class Recovery
{
    /** @param array<string,mixed> $opts stateDir, store, clear, now, points @return array<string,mixed> */
    public static function site(string $site, array $opts = []): array
    {
        $p = new SitePaths($site, $opts['stateDir'] ?? null);
        if (Fs::lstat($p->stateDir) === null) {
            return ['site' => $p->root, 'stateDir' => $p->stateDir, 'action' => 'none', 'steps' => 0, 'update' => null, 'warnings' => [], 'cleared' => false, 'needsAttention' => null];
        }
        State::ensure($p);
        $lock = State::lock($p);
        try {
            $store = isset($opts['store']) ? $opts['store'] : false;
            $r = self::locked($p, $opts['points'] ?? new Points(), $opts['now'] ?? time(), $store === false ? false : $store, false);
            $r['cleared'] = !empty($opts['clear']) ? State::clearAttention($p) : false;
            $r['needsAttention'] = State::readAttention($p);
            return $r;
        } finally {
            $lock->release();
        }
    }

    private static function key(string $path): string
    {
        $r = realpath($path);
        return $r === false ? $path : $r;
    }

    /**
     * @param string|false|null $store the configured store; null: verified against a bare policy; false: not configured
     * @return array<string,mixed>
     */
    public static function locked(SitePaths $p, Points $points, int $now, $store, bool $inApply): array
    {
        $base = ['site' => $p->root, 'stateDir' => $p->stateDir];
        $j = Journal::read($p);
        if ($j === null) {
            $paused = Fs::lstat($p->at('paused.json')) !== null;
            if (!State::hasWorkDirs($p) && !$paused) {
                return $base + ['action' => 'none', 'steps' => 0, 'update' => null, 'warnings' => []];
            }
            State::removeWorkDirs($p);
            return $base + ['action' => 'cleaned', 'steps' => 0, 'update' => null, 'warnings' => []];
        }
        $begin = $j['begin'];
        if ($begin === null) {
            State::removeWorkDirs($p);
            Commit::removeJournal($p);
            return $base + ['action' => 'cleaned', 'steps' => 0, 'update' => null, 'warnings' => []];
        }
        if ($begin['site'] !== $p->root) {
            throw new InstallException('JOURNAL_CORRUPT', 'the journal in ' . $p->stateDir . ' belongs to the site ' . $begin['site'] . ', not ' . $p->root . '; nothing was touched', ['journalSite' => $begin['site']]);
        }
        if (isset($begin['root']) && $begin['root'] !== $p->rootId) {
            throw new InstallException('JOURNAL_CORRUPT', 'the journal in ' . $p->stateDir . ' was written for the site root directory ' . $begin['root'] . ', but ' . $p->root . ' is now the directory ' . $p->rootId . ' (moved or replaced since); nothing was touched', ['journalRoot' => $begin['root'], 'root' => $p->rootId]);
        }
        $update = ['product' => $begin['product'], 'component' => $begin['component'], 'from' => $begin['from'], 'to' => $begin['to'], 'bundle' => $begin['bundle']];
        $recordIn = null;
        if ($begin['store'] !== null) {
            if ($store === false) {
                if ($j['committed']) {
                    throw new UsageException('USAGE', 'the interrupted update in ' . $p->stateDir . ' is committed and must be recorded in its trust store; run countersign recover --site ' . $p->root . ' --store STORE');
                }
            } elseif ($store === null || self::key($store) !== self::key($begin['store'])) {
                throw new InstallException('JOURNAL_CORRUPT', 'the journal in ' . $p->stateDir . ' names the trust store ' . $begin['store'] . ', but this site\'s is ' . ($store ?? 'none (a trusted policy was given)') . '; nothing was touched', ['journalStore' => $begin['store'], 'store' => $store]);
            } else {
                $recordIn = $store;
            }
        }
        if ($j['committed']) {
            $begin['store'] = $recordIn;
            self::finish($p, $begin, $points, $now);
            return $base + ['action' => 'completed', 'steps' => count($j['steps']), 'update' => $update, 'warnings' => []];
        }
        try {
            $p->assertRootUnchanged();
            $warnings = (new Commit($p, [], $points))->rollback($j['steps'], true);
        } catch (\Throwable $e) {
            throw new InstallException('ROLLBACK_FAILED', 'rolling back the interrupted update of ' . $begin['product'] . ' ' . $begin['component'] . ' to ' . $begin['to'] . ' failed (' . $e->getMessage() . '); the journal is kept, nothing more was done. Fix the cause, then run countersign recover --site ' . $p->root . ' again', ['cause' => $e->getMessage(), 'update' => $update]);
        }
        return $base + ['action' => 'rolled-back', 'steps' => count($j['steps']), 'update' => $update, 'warnings' => $warnings];
    }

    /** Completes a committed update (after the commit, or in a recovery); each stage idempotent. FINISH_FAILED keeps the journal. @param array<string,mixed> $begin */
    public static function finish(SitePaths $p, array $begin, Points $points, int $now): void
    {
        try {
            if ($begin['store'] !== null) {
                \Countersign\TrustStore::recordInstall($begin['store'], $begin['product'], $begin['component'], $begin['to'], $now, 5000, $begin['kept'] ?? []);
                $points->hit('install recorded in the trust store');
            }
            State::writePhase($p, ['bundle' => $begin['bundle'], 'product' => $begin['product'], 'component' => $begin['component'], 'from' => $begin['from'], 'to' => $begin['to'], 'phase' => 'files'], $now);
            $points->hit('phase state written');
            State::removeWorkDirs($p);
            $points->hit('staging and backups removed');
            Commit::removeJournal($p);
            $points->hit('journal removed');
        } catch (\Throwable $e) {
            throw self::finishFailed($p, $begin, $e);
        }
    }

    /** @param array<string,mixed> $begin */
    public static function finishFailed(SitePaths $p, array $begin, \Throwable $e): InstallException
    {
        return new InstallException('FINISH_FAILED', 'the new release (' . $begin['product'] . ' ' . $begin['component'] . ' ' . $begin['to'] . ') is in place, but finishing failed (' . $e->getMessage() . '); run countersign recover --site ' . $p->root . ($begin['store'] === null ? '' : ' --store ' . $begin['store']) . ' to finish', ['cause' => $e->getMessage()]);
    }
}
