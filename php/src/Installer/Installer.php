<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\ArchiveInput;
use Countersign\BundleFile;
use Countersign\CountersignException;
use Countersign\Envelope;
use Countersign\FormatException;
use Countersign\Manifest;
use Countersign\Policy;
use Countersign\Quorum;
use Countersign\TarReader;
use Countersign\Time;
use Countersign\TrustStore;
use Countersign\UsageException;
use Countersign\VerificationException;
use Countersign\Verifier;
use Countersign\Version;

/**
 * The in-process runner in PHP: applies a bundle the verifier accepts, in the three phases of lib/installer/apply.ts:
 *   check  verify completely before any byte of the archive is written; detect the installed version; preflight;
 *          an unfinished journal is recovered first;
 *   files  stage in STATE/staging (0700), read back and re-hash, commit under the write-ahead journal, record the install;
 *   post   the post-update steps, argv without a shell, where proc_open is allowed; otherwise PROC_OPEN_DISABLED and the
 *          site is marked as needing attention.
 * A time budget (shared hosts' max_execution_time) is checked between staged files and between commit steps: when it
 * runs out the run stops at that boundary (paused.json) and the next apply of the same bundle resumes it.
 *
 * @phpstan-type Opts array{site:string,store?:string,trusted?:Policy,installed?:string,product?:string,component?:string,phase?:string,dryRun?:bool,keepLocal?:bool,keepLocalDespiteRisk?:bool,stateDir?:string,now?:int,postTimeout?:float,budget?:float|null,points?:Points}
 */
final class Installer
{
    public const PHASES = ['check', 'files', 'post', 'all'];
    public const RISK_LEVELS = ['Not Critical', 'Less Critical', 'Moderately Critical', 'Critical', 'Highly Critical'];

    /** @var array<string,mixed> */
    private $o;
    /** @var SitePaths */
    private $p;
    /** @var int */
    private $now;
    /** @var Points */
    private $points;
    /** @var float|null */
    private $deadline;
    /** @var string */
    private $stateId = '';

    /** @param array<string,mixed> $opts */
    private function __construct(array $opts)
    {
        if (isset($opts['store']) === isset($opts['trusted'])) {
            throw new UsageException('USAGE', 'give exactly one of a trust store or a trusted policy');
        }
        if (isset($opts['store'], $opts['installed'])) {
            throw new UsageException('USAGE', 'with a trust store, the installed version comes from the store (countersign trust record)');
        }
        if (isset($opts['installed'])) {
            try {
                Version::parse($opts['installed']);
            } catch (CountersignException $e) {
                throw new UsageException('USAGE', 'installed version: ' . $e->getMessage());
            }
        }
        $opts['phase'] = $opts['phase'] ?? 'all';
        if (!in_array($opts['phase'], self::PHASES, true)) {
            throw new UsageException('USAGE', 'phase ' . json_encode($opts['phase']) . ' is not one of ' . implode(', ', self::PHASES));
        }
        if (isset($opts['store'])) {
            $real = realpath($opts['store']);
            $opts['store'] = $real === false ? $opts['store'] : $real;
        }
        $this->o = $opts;
        $this->now = $opts['now'] ?? time();
        $this->points = $opts['points'] ?? new Points();
        $budget = array_key_exists('budget', $opts) ? $opts['budget'] : self::defaultBudget();
        $this->deadline = $budget === null ? null : microtime(true) + $budget;
        $this->p = new SitePaths($opts['site'], $opts['stateDir'] ?? null);
    }

    /** Half of max_execution_time left in this request (WP-Cron gives 30 s), or no budget under the CLI's unlimited time. */
    public static function defaultBudget(): ?float
    {
        $max = (int) ini_get('max_execution_time');
        if ($max <= 0) {
            return null;
        }
        $started = $_SERVER['REQUEST_TIME_FLOAT'] ?? microtime(true);
        return max(1.0, $max / 2 - (microtime(true) - $started));
    }

    private function overBudget(): bool
    {
        return $this->deadline !== null && microtime(true) >= $this->deadline;
    }

    /** @param array<string,mixed> $opts @return array<string,mixed> */
    public static function apply(string $bundlePath, array $opts): array
    {
        $self = new self($opts);
        $bundle = BundleFile::open($bundlePath);
        try {
            return $self->run($bundle);
        } finally {
            $bundle->close();
        }
    }

    /** @return array<string,mixed> */
    private function run(BundleFile $bundle): array
    {
        $phase = $this->o['phase'];
        if (!empty($this->o['dryRun'])) {
            return $this->dryRun($bundle, $phase);
        }
        State::ensure($this->p);
        $this->stateId = Fs::id(Fs::lstat($this->p->stateDir));
        $lock = State::lock($this->p);
        try {
            $resumed = null;
            $paused = State::readJson($this->p, 'paused.json');
            if ($paused !== null && $phase !== 'check' && $phase !== 'post') {
                $v = $this->verifyRelease($bundle, 'apply');
                if (($paused['bundle'] ?? null) === $v['verified']->payloadSha256) {
                    $resumed = $this->resume($bundle, $v, $paused);
                    if ($resumed !== null) {
                        return $resumed;
                    }
                }
            }
            $recovery = Recovery::locked($this->p, $this->points, $this->now, $this->o['store'] ?? null, true);
            $recovered = $recovery['action'] === 'none' ? null : ['action' => $recovery['action'], 'steps' => $recovery['steps'], 'update' => $recovery['update'], 'warnings' => $recovery['warnings']];
            State::refuseIfNeedsAttention($this->p);

            if ($phase === 'post') {
                $v = $this->verifyRelease($bundle, 'post');
                $state = State::readPhase($this->p);
                if ($state === null || $state['bundle'] !== $v['verified']->payloadSha256 || ($state['phase'] !== 'files' && $state['phase'] !== 'post')) {
                    throw new InstallException('PHASE_ORDER', 'the post phase runs after the files phase of the same release; ' . ($state !== null ? 'the last phase completed here is ' . $state['phase'] . ' of ' . $state['product'] . ' ' . $state['component'] . ' ' . $state['to'] : 'no phase has completed here'), ['state' => $state]);
                }
                $post = $this->postPhase($v['manifest'], $v['verified']->payloadSha256);
                return $this->result($v, null, ['phases' => ['post'], 'post' => $post, 'recovered' => $recovered, 'from' => $state['from']]);
            }

            $v = $this->verifyRelease($bundle, 'apply');
            $plan = $this->preflight($v, false);
            $this->refuseRiskyKeep($plan, $v['manifest']);
            if ($phase === 'all') {
                $this->checkPostCommands($v['manifest']);
            }
            $begin = $this->begin($v, $plan);
            if ($phase === 'check') {
                State::writePhase($this->p, $begin + ['phase' => 'check'], $this->now);
                return $this->result($v, $plan, ['phases' => ['check'], 'recovered' => $recovered, 'from' => $v['from']]);
            }
            if ($bundle->archive === null) {
                throw new FormatException('MALFORMED', 'the bundle holds no archive');
            }
            try {
                State::removeWorkDirs($this->p);
                $this->makePrivateDir('staging');
                $this->makePrivateDir('backups');
                $this->points->hit('staging directories created');
                $done = $this->stage($bundle->archive, $v['manifest'], $plan, $begin, []);
            } catch (\Throwable $e) {
                State::removeWorkDirs($this->p);
                throw $e;
            }
            $phases = ['check'];
            return $this->afterStaging($bundle, $v, $plan, $begin, $done, 0, $phases, $recovered);
        } finally {
            $lock->release();
        }
    }

    /** @param array<int,array{0:string,1:string}>|null $staged null: paused while staging */
    private function afterStaging(BundleFile $bundle, array $v, array $plan, array $begin, ?array $staged, int $logged, array $phases, ?array $recovered): array
    {
        if ($staged === null) {
            return $this->result($v, $plan, ['phases' => $phases, 'recovered' => $recovered, 'from' => $v['from'], 'paused' => 'staging']);
        }
        $committed = $this->commit($plan, $staged, $begin, $logged);
        if (!$committed) {
            return $this->result($v, $plan, ['phases' => $phases, 'recovered' => $recovered, 'from' => $v['from'], 'paused' => 'commit']);
        }
        Recovery::finish($this->p, $begin, $this->points, $this->now);
        $phases[] = 'files';
        if ($this->o['phase'] === 'files') {
            return $this->result($v, $plan, ['phases' => $phases, 'recovered' => $recovered, 'from' => $v['from']]);
        }
        $post = $this->postPhase($v['manifest'], $begin['bundle']);
        $phases[] = 'post';
        return $this->result($v, $plan, ['phases' => $phases, 'post' => $post, 'recovered' => $recovered, 'from' => $v['from']]);
    }

    /** Continues a run paused at a step boundary, when everything it left is still as it left it; null: start over. */
    private function resume(BundleFile $bundle, array $v, array $paused): ?array
    {
        $plan = $paused['plan'];
        $begin = $paused['begin'];
        $staged = [];
        foreach ($paused['staged'] as $slot => $id) {
            $staged[(int) $slot] = $id;
        }
        $journal = Journal::read($this->p);
        if ($paused['stage'] === 'staging') {
            if ($journal !== null || Fs::kind(Fs::lstat($this->p->at('staging'))) !== 'dir') {
                return null;
            }
            $done = $this->stage($bundle->archive, $v['manifest'], $plan, $begin, $staged);
            return $this->afterStaging($bundle, $v, $plan, $begin, $done, 0, ['check'], null);
        }
        if ($journal === null || $journal['committed'] || count($journal['steps']) !== $paused['logged'] || $journal['begin']['bundle'] !== $begin['bundle']) {
            return null;
        }
        return $this->afterStaging($bundle, $v, $plan, $begin, $staged, $paused['logged'], ['check'], null);
    }

    private function makePrivateDir(string $name): void
    {
        $path = $this->p->at($name);
        State::assertPlace($this->p, $this->stateId);
        if (!@mkdir($path, 0700)) {
            throw new InstallException('STAGING_FAILED', 'staging failed, nothing in the site was touched: ' . $path . ' already exists (left behind, or planted); refusing to use it', ['path' => $path]);
        }
        chmod($path, 0700);
    }

    /** @param array<string,mixed> $v @return array<string,mixed> */
    private function begin(array $v, array $plan): array
    {
        $b = [
            't' => 'begin',
            'format' => Journal::FORMAT,
            'site' => $this->p->root,
            'root' => $this->p->rootId,
            'bundle' => $v['verified']->payloadSha256,
            'product' => $v['manifest']['product'],
            'component' => $v['manifest']['component'],
            'from' => $v['from'],
            'to' => $v['manifest']['version'],
            'store' => $this->o['store'] ?? null,
            'created' => Time::format($this->now),
        ];
        if (count($plan['kept']) > 0) {
            $b['kept'] = array_map(function ($k) {
                return $k['path'];
            }, $plan['kept']);
        }
        return $b;
    }

    /**
     * Writes every add/modify file of the plan into staging/SLOT (never a name from the archive), streamed again from the
     * file it was verified from and hashed as it goes, fsynced, then read back from disk and compared with the manifest.
     * @param array<int,array{0:string,1:string}> $staged already staged (a resumed run)
     * @return array<int,array{0:string,1:string}>|null null: paused (budget)
     */
    private function stage(ArchiveInput $archive, array $m, array $plan, array $begin, array $staged): ?array
    {
        $wanted = [];
        foreach ($plan['steps'] as $s) {
            if ($s['op'] === 'add' || $s['op'] === 'modify') {
                $wanted[$s['path']] = $s;
            }
        }
        $fail = function (string $message, array $details = []): InstallException {
            return new InstallException('STAGING_FAILED', 'staging failed, nothing in the site was touched: ' . $message, $details);
        };
        $dir = $this->p->at('staging');
        $cur = null;
        $pause = false;
        $new = 0; // files staged by this run: at least one before it may pause, so every run makes progress
        try {
            $reader = new TarReader(
                function (array $h) use (&$cur, &$pause, &$new, $wanted, &$staged, $dir) {
                    $step = $wanted[$h['path']] ?? null;
                    if ($step === null || isset($staged[$step['slot']]) || $pause) {
                        return;
                    }
                    if ($new > 0 && $this->overBudget()) {
                        $pause = true;
                        return;
                    }
                    State::assertPlace($this->p, $this->stateId);
                    $path = $dir . '/' . $step['slot'];
                    $cur = ['h' => Fs::open($path, 'xb'), 'step' => $step, 'path' => $path];
                },
                function (string $data) use (&$cur) {
                    if ($cur !== null) {
                        Fs::writeAll($cur['h'], $data, $cur['path']);
                    }
                },
                function () use (&$cur, &$staged, &$new) {
                    if ($cur === null) {
                        return;
                    }
                    $new++;
                    chmod($cur['path'], intval($cur['step']['mode'], 8));
                    Fs::fsync($cur['h'], $cur['path']);
                    $st = fstat($cur['h']);
                    fclose($cur['h']);
                    $staged[$cur['step']['slot']] = [Fs::unsigned($st['dev']), Fs::unsigned($st['ino'])];
                    $cur = null;
                },
                100000
            );
            $ctx = hash_init('sha256');
            $total = 0;
            foreach ($archive->chunks() as $chunk) {
                $total += strlen($chunk);
                if ($total > $m['archive']['size']) {
                    throw $fail('the archive grew since it was verified');
                }
                hash_update($ctx, $chunk);
                $reader->push($chunk);
            }
            $reader->end();
            if ($total !== $m['archive']['size'] || hash_final($ctx) !== $m['archive']['sha256']) {
                throw $fail('the archive changed since it was verified (size or SHA-256 differ)');
            }
            if ($pause) {
                Fs::fsyncDir($dir);
                State::writeJson($this->p, 'paused.json', ['format' => 1, 'bundle' => $begin['bundle'], 'stage' => 'staging', 'plan' => $plan, 'begin' => $begin, 'staged' => (object) $staged]);
                return null;
            }
            foreach ($wanted as $step) {
                $id = $staged[$step['slot']] ?? null;
                if ($id === null) {
                    throw $fail('the archive holds no entry for ' . $step['path'], ['path' => $step['path']]);
                }
                $back = Fs::hashFile($dir . '/' . $step['slot']);
                if (Fs::unsigned($back['stat']['dev']) !== $id[0] || Fs::unsigned($back['stat']['ino']) !== $id[1]) {
                    throw $fail('staging/' . $step['slot'] . ' (' . $step['path'] . ') is not the file just written', ['path' => $step['path']]);
                }
                if ($back['sha256'] !== $step['sha256'] || $back['size'] !== $step['size']) {
                    throw $fail($step['path'] . ' reads back from disk with other content than the manifest\'s (size ' . $back['size'] . ', SHA-256 ' . $back['sha256'] . ')', ['path' => $step['path']]);
                }
                if (($back['stat']['mode'] & 07777) !== intval($step['mode'], 8)) {
                    throw $fail($step['path'] . ' was staged with mode ' . decoct($back['stat']['mode'] & 07777) . ', not ' . $step['mode'], ['path' => $step['path']]);
                }
            }
            Fs::fsyncDir($dir);
            $this->points->hit('staged and read back');
            return $staged;
        } catch (InstallException $e) {
            throw $e;
        } catch (CountersignException $e) {
            throw $fail('the archive no longer reads as verified: ' . $e->getErrorCode() . ': ' . $e->getMessage(), ['cause' => $e->getErrorCode()]);
        } catch (\Throwable $e) {
            throw $fail($e->getMessage());
        } finally {
            if ($cur !== null) {
                fclose($cur['h']);
            }
        }
    }

    /**
     * Commits the plan under the journal; true once the commit record is durable, false when paused at a step boundary.
     * COMMIT_FAILED after rolling back; ROLLBACK_FAILED when the rollback could not finish (the journal is kept).
     */
    private function commit(array $plan, array $staged, array $begin, int $logged): bool
    {
        try {
            $journal = $logged === 0 ? Journal::create($this->p, $begin, $this->points) : Journal::reopen($this->p, $logged, $this->points);
        } catch (InstallException $e) {
            throw $e;
        } catch (\Throwable $e) {
            if ($logged === 0) {
                @unlink($this->p->at('journal'));
                State::removeWorkDirs($this->p);
            }
            throw new InstallException('COMMIT_FAILED', 'cannot start the journal ' . $this->p->at('journal') . ' (' . $e->getMessage() . '); nothing in the site was touched', ['cause' => $e instanceof Fault ? $e->errno : 'EIO']);
        }
        $c = new Commit($this->p, $plan['checkedDirs'], $this->points);
        $records = [];
        $current = null;
        try {
            $this->p->assertRootUnchanged();
            if ($plan['checkedDirs'][''] !== $this->p->rootId) {
                throw new Fault('ESTALE', 'the site root ' . $this->p->root . ' is not the directory the preflight checked');
            }
            foreach ($plan['steps'] as $i => $step) {
                $record = Commit::record($step, $staged);
                if ($i < $logged) {
                    $records[] = $record;
                    continue;
                }
                if ($i > $logged && $this->overBudget()) {
                    $c->fsyncTouched();
                    State::writeJson($this->p, 'paused.json', ['format' => 1, 'bundle' => $begin['bundle'], 'stage' => 'commit', 'logged' => $i, 'plan' => array_merge($plan, ['checkedDirs' => $c->dirs()]), 'begin' => $begin, 'staged' => (object) $staged]);
                    $journal->close();
                    return false;
                }
                $current = $step;
                $journal->step($record);
                $records[] = $record;
                $c->take($step, $record, $this->stateId);
            }
            $current = null;
            $c->assertAllInPlace();
            $c->fsyncTouched();
            $this->points->hit('directories fsynced');
            $journal->commit();
        } catch (\Throwable $e) {
            $journal->close();
            $what = $current !== null ? $current['op'] . ' ' . $current['path'] : 'the final fsync and commit record';
            try {
                $steps = Journal::read($this->p)['steps'] ?? $records;
                $c->rollback($steps, false);
            } catch (\Throwable $r) {
                throw new InstallException('ROLLBACK_FAILED', 'the update failed at ' . $what . ' (' . $e->getMessage() . '), and rolling it back failed too (' . $r->getMessage() . '); the journal is kept: run countersign recover --site ' . $this->p->root, ['failedAt' => $what, 'cause' => $e->getMessage(), 'rollbackCause' => $r->getMessage()]);
            }
            $details = ['failedAt' => $current !== null ? ['op' => $current['op'], 'path' => $current['path']] : null, 'cause' => $e->getMessage(), 'rolledBack' => count($records)];
            if ($e instanceof InstallException) {
                $details['causeCode'] = $e->getErrorCode();
                $details['causeDetails'] = $e->getDetails();
            }
            throw new InstallException('COMMIT_FAILED', 'the update failed at ' . $what . ' (' . $e->getMessage() . '); rolled back ' . count($records) . ' step' . (count($records) === 1 ? '' : 's') . ': the site is the old release again', $details);
        }
        $journal->close();
        try {
            $this->points->hit('logged commit');
        } catch (\Throwable $e) {
            throw Recovery::finishFailed($this->p, $begin, $e);
        }
        return true;
    }

    /**
     * Verifies the bundle completely. 'apply': as this site (applicability and rollback: the store's installed versions,
     * else `installed` or the site's version file). 'post': signatures, quorum, expiry, revocations and archive only.
     * @return array{verified:\Countersign\Verified,manifest:array,from:?string,detected:?array}
     */
    private function verifyRelease(BundleFile $bundle, string $mode): array
    {
        $peeked = null;
        try {
            $opened = Envelope::open($bundle->envelopeBytes);
            $peeked = $opened->kind === 'manifest' ? Manifest::fromPayload($opened->payloadBytes) : null;
        } catch (CountersignException $e) {
            $peeked = null;
        }
        $given = array_filter(['product' => $this->o['product'] ?? null, 'component' => $this->o['component'] ?? null], 'is_string');
        $from = null;
        $detected = null;
        $verify = function (Policy $trusted, array $site, array $revocations) use ($bundle): \Countersign\Verified {
            return Verifier::verifyBundle($bundle->envelopeBytes, $bundle->archive, ['trusted' => $trusted, 'now' => $this->now, 'site' => $site, 'revocations' => $revocations]);
        };
        if (isset($this->o['store'])) {
            $store = TrustStore::open($this->o['store']);
            $site = [];
            if ($mode === 'apply' && $peeked !== null) {
                $found = VersionFile::siteTarget($this->p, $peeked, $given);
                if ($found['problem'] !== null) {
                    $verify($store->trusted, [], $store->revocations); // a bad bundle is reported as such, not as an unknown site
                    throw InstallException::preflight([$found['problem']]);
                }
                $site = $found['target'];
                $installed = self::floor($store, $peeked['product'], $peeked['component']);
                if ($installed !== null && ($site['product'] ?? null) === $peeked['product'] && ($site['component'] ?? null) === $peeked['component']) {
                    $site += $installed;
                } elseif ($installed !== null && !isset($site['product'])) {
                    $site += $installed;
                }
            }
            $verified = $verify($store->trusted, $mode === 'apply' ? $site : [], $store->revocations);
            $m = $verified->document;
            $this->requireManifest($verified);
            if ($mode === 'apply') {
                $entry = $store->siteFor($m['product'], $m['component']);
                if ($entry === null) {
                    throw new VerificationException([['code' => 'NOT_INSTALLED', 'message' => 'the trust store records no installed version of ' . $m['product'] . ' ' . $m['component'] . ' (countersign trust record)']]);
                }
                $from = $entry['installed'];
            } else {
                $e = $store->installedEntry($m['product'], $m['component']);
                if (($e['version'] ?? null) !== $m['version'] && (($e['partial'] ?? [])['version'] ?? null) !== $m['version']) {
                    throw new InstallException('PHASE_ORDER', 'the trust store does not record ' . $m['product'] . ' ' . $m['component'] . ' ' . $m['version'] . ' as installed; run the files phase first');
                }
            }
        } else {
            $installed = $this->o['installed'] ?? null;
            $site = [];
            if ($mode === 'apply' && $peeked !== null) {
                $found = VersionFile::siteTarget($this->p, $peeked, $given);
                $site = $found['target'];
                if ($found['problem'] !== null) {
                    $verify($this->o['trusted'], $site, []);
                    throw InstallException::preflight([$found['problem']]);
                }
                $detected = VersionFile::detect($this->p, $peeked);
                $installed = $installed ?? ($detected['version'] ?? null);
                if ($installed === null) {
                    $verify($this->o['trusted'], $site, []);
                    throw InstallException::preflight([['code' => 'VERSION_UNKNOWN', 'message' => 'cannot tell which version of ' . $peeked['product'] . ' ' . $peeked['component'] . ' the site runs (no version file found); pass the installed version']]);
                }
                $site['installed'] = $installed;
            }
            $verified = $verify($this->o['trusted'], $mode === 'apply' ? $site : [], []);
            $this->requireManifest($verified);
            $from = $mode === 'apply' ? $installed : null;
        }
        $m = $verified->document;
        if ($mode === 'apply' && $detected === null) {
            $detected = VersionFile::detect($this->p, $m);
        }
        return ['verified' => $verified, 'manifest' => $m, 'from' => $from, 'detected' => $detected];
    }

    /** What the store records for product/component as the site fields verifyBundle checks (installed, highestInstalled), or null. @return array{installed:string,highestInstalled:string}|null */
    private static function floor(TrustStore $store, string $product, string $component): ?array
    {
        $site = $store->siteFor($product, $component);
        return $site === null ? null : ['installed' => $site['installed'], 'highestInstalled' => $site['highestInstalled']];
    }

    private function requireManifest(\Countersign\Verified $v): void
    {
        if ($v->kind !== 'manifest') {
            throw new FormatException('WRONG_TYPE', 'this is a signed ' . $v->kind . ', not a release bundle; apply installs releases (a policy or revocation goes to countersign trust update)', ['found' => $v->kind]);
        }
    }

    /** Phase 1's checks of the site (preflight.ts): PREFLIGHT_FAILED (every problem) or LOCAL_CHANGES, else the plan. */
    private function preflight(array $v, bool $dry): array
    {
        $plan = Planner::plan($this->p, $v['manifest'], !empty($this->o['keepLocal']));
        $problems = $plan['problems'];
        if ($dry) {
            $problems = array_merge($problems, State::problems($this->p));
        }
        if ($v['detected'] !== null && $v['from'] !== null && !Version::isSameRelease($v['detected']['version'], $v['from'])) {
            $problems[] = ['code' => 'VERSION_MISMATCH', 'path' => $v['detected']['path'], 'message' => $v['detected']['path'] . ' says ' . $v['detected']['version'] . ', but ' . (isset($this->o['store']) ? 'the trust store records' : 'the installed version given is') . ' ' . $v['from'] . '; if the site was changed by hand, record it (countersign trust record)'];
        }
        $where = $dry && Fs::lstat($this->p->stateDir) === null ? dirname($this->p->stateDir) : $this->p->stateDir;
        $st = Fs::lstat($where);
        if ($st === null) {
            $problems[] = ['code' => 'STATE_DIR', 'path' => $where, 'message' => 'cannot examine ' . $where];
        } else {
            if ($st['dev'] !== $this->p->dev) {
                $problems[] = ['code' => 'OTHER_FILESYSTEM', 'path' => $this->p->stateDir, 'message' => 'the state directory ' . $this->p->stateDir . ' is on another file system than the site; pass a --state-dir on the site\'s file system (outside the web root)'];
            }
            $free = @disk_free_space($where);
            $need = Planner::spaceNeeded($plan);
            if ($free !== false && $free < $need) {
                $problems[] = ['code' => 'NO_SPACE', 'path' => $where, 'message' => 'the update needs ' . $need . ' bytes on the site\'s file system; ' . (int) $free . ' are free'];
            }
        }
        if (!$dry) {
            $probe = $this->p->at('link-probe');
            @unlink($probe);
            @unlink($probe . '.link');
            $ok = @touch($probe) && @link($probe, $probe . '.link');
            @unlink($probe);
            @unlink($probe . '.link');
            if (!$ok) {
                $problems[] = ['code' => 'NO_HARD_LINKS', 'path' => $this->p->stateDir, 'message' => 'cannot make a hard link in ' . $this->p->stateDir . '; backups need a file system with hard links'];
            }
        }
        if (count($problems) > 0) {
            throw InstallException::preflight($problems, $plan['localChanges']);
        }
        if (count($plan['localChanges']) > 0) {
            $list = implode(', ', array_map(function ($c) {
                return $c['path'] . ' (' . ($c['found'] === null ? 'missing' : 'modified') . ')';
            }, $plan['localChanges']));
            $versionFileKept = !empty($this->o['keepLocal']) && count(array_filter($plan['localChanges'], function ($c) use ($plan, $v) {
                return $c['path'] === $plan['versionFile'] || $c['path'] === $v['manifest']['versionFile'];
            })) > 0;
            $n = count($plan['localChanges']);
            throw new InstallException('LOCAL_CHANGES', $versionFileKept
                ? 'the version file cannot be kept: the site would report the new version with an old ' . $list . '; nothing was touched'
                : $n . ' file' . ($n === 1 ? ' was' : 's were') . ' changed on this site since the installed release, nothing was touched: ' . $list . (!empty($this->o['keepLocal']) ? '' : ' (--keep-local keeps them and applies the rest)'), ['files' => $plan['localChanges']]);
        }
        $plan['bundle'] = $v['verified']->payloadSha256;
        return $plan;
    }

    private function refuseRiskyKeep(array $plan, array $m): void
    {
        if (count($plan['kept']) === 0 || !empty($this->o['keepLocalDespiteRisk']) || $m['risk'] === null || array_search($m['risk']['level'], self::RISK_LEVELS, true) < 3) {
            return;
        }
        throw new InstallException('KEEP_LOCAL_REFUSED', $m['product'] . ' ' . $m['component'] . ' ' . $m['version'] . ' is rated ' . $m['risk']['level'] . '; keeping ' . implode(', ', array_map(function ($k) {
            return $k['path'];
        }, $plan['kept'])) . ' may keep the vulnerable code, so --keep-local is refused for it (--keep-local-despite-risk keeps them anyway); nothing was touched', ['level' => $m['risk']['level'], 'files' => $plan['kept']]);
    }

    /** Every post-update program must exist before any file is touched (POST_COMMAND_MISSING); not checkable without proc_open, which the post phase then reports. */
    private function checkPostCommands(array $m): void
    {
        if (count($m['postUpdate']) === 0 || !Post::available()) {
            return;
        }
        $missing = Post::missing($m['postUpdate'], $this->p->root);
        if (count($missing) === 0) {
            return;
        }
        throw InstallException::preflight(array_map(function ($x) {
            return ['code' => 'POST_COMMAND_MISSING', 'message' => 'post-update step ' . ($x['step'] + 1) . ' runs ' . json_encode($x['command']) . ', which is not found here; install it, or run --phase files and the steps by hand'];
        }, $missing));
    }

    /** Everything a real run checks, nothing written (not the state directory, not the lock). */
    private function dryRun(BundleFile $bundle, string $phase): array
    {
        if (Fs::lstat($this->p->stateDir) !== null) {
            State::refuseIfNeedsAttention($this->p);
            $j = Journal::read($this->p);
            if ($j !== null && $j['begin'] !== null) {
                throw InstallException::preflight([['code' => 'UNFINISHED_JOURNAL', 'path' => $this->p->at('journal'), 'message' => 'an interrupted update (' . $j['begin']['product'] . ' ' . $j['begin']['component'] . ' ' . $j['begin']['to'] . ') awaits recovery; a real apply would roll it back first (countersign recover --site ' . $this->p->root . ')']]);
            }
        }
        if ($phase === 'post') {
            $v = $this->verifyRelease($bundle, 'post');
            $state = State::readPhase($this->p);
            if ($state === null || $state['bundle'] !== $v['verified']->payloadSha256 || ($state['phase'] !== 'files' && $state['phase'] !== 'post')) {
                throw new InstallException('PHASE_ORDER', 'the post phase runs after the files phase of the same release', ['state' => $state]);
            }
            return $this->result($v, null, ['dryRun' => true, 'post' => self::planned($v['manifest']), 'from' => $state['from']]);
        }
        $v = $this->verifyRelease($bundle, 'apply');
        $plan = $this->preflight($v, true);
        $this->refuseRiskyKeep($plan, $v['manifest']);
        if ($phase !== 'check') {
            $this->checkPostCommands($v['manifest']);
        }
        return $this->result($v, $plan, ['dryRun' => true, 'post' => $phase === 'check' ? [] : self::planned($v['manifest']), 'from' => $v['from']]);
    }

    private static function planned(array $m): array
    {
        $out = [];
        foreach ($m['postUpdate'] as $i => $argv) {
            $out[] = ['step' => $i, 'argv' => $argv, 'exitCode' => null, 'signal' => null, 'timedOut' => false, 'spawnError' => null, 'durationMs' => 0, 'stdout' => '', 'stderr' => '', 'ok' => false];
        }
        return $out;
    }

    /** The post-update steps; a failure (or no proc_open) leaves the files new and the site marked "needs attention". */
    private function postPhase(array $m, string $bundle): array
    {
        $release = ['bundle' => $bundle, 'product' => $m['product'], 'component' => $m['component'], 'version' => $m['version']];
        $done = function () use ($m, $bundle): void {
            $state = State::readPhase($this->p);
            State::writePhase($this->p, ['bundle' => $bundle, 'product' => $m['product'], 'component' => $m['component'], 'from' => ($state['bundle'] ?? null) === $bundle ? $state['from'] : null, 'to' => $m['version'], 'phase' => 'post'], $this->now);
        };
        if (count($m['postUpdate']) === 0) {
            $done();
            return [];
        }
        $what = $m['product'] . ' ' . $m['component'] . ' ' . $m['version'];
        $clear = 'the site needs attention, and updates are refused until an operator runs countersign recover --site ' . $this->p->root . ' --clear';
        State::writeAttention($this->p, ['code' => 'POST_UPDATE_INTERRUPTED', 'message' => 'the post-update steps of ' . $what . ' were started and did not finish'] + $release, $this->now);
        if (!Post::available()) {
            $message = 'the post-update steps of ' . $what . ' were not run: this PHP host disables proc_open (PROC_OPEN_DISABLED); run them by hand: ' . json_encode($m['postUpdate'], JSON_UNESCAPED_SLASHES);
            State::writeAttention($this->p, ['code' => 'POST_UPDATE_FAILED', 'message' => $message] + $release, $this->now);
            throw new InstallException('POST_UPDATE_FAILED', $message . '; ' . $clear, ['reason' => 'PROC_OPEN_DISABLED', 'post' => [], 'postUpdate' => $m['postUpdate'], 'attention' => $this->p->at('needs-attention.json')]);
        }
        try {
            $this->p->assertRootUnchanged();
        } catch (Fault $e) {
            $message = 'the post-update steps of ' . $what . ' were not run: ' . $e->getMessage();
            State::writeAttention($this->p, ['code' => 'POST_UPDATE_FAILED', 'message' => $message] + $release, $this->now);
            throw new InstallException('POST_UPDATE_FAILED', $message . '; ' . $clear, ['cause' => $e->getMessage(), 'post' => [], 'attention' => $this->p->at('needs-attention.json')]);
        }
        $results = [];
        foreach ($m['postUpdate'] as $i => $argv) {
            $r = Post::run($argv, $i, $this->p->root, $this->o['postTimeout'] ?? 300.0);
            $results[] = $r;
            if (!$r['ok']) {
                $message = 'post-update step ' . ($i + 1) . ' of ' . count($m['postUpdate']) . ' failed: ' . Post::describeFailure($r);
                State::writeAttention($this->p, ['code' => 'POST_UPDATE_FAILED', 'message' => $message, 'step' => $i, 'argv' => $argv] + $release, $this->now);
                throw new InstallException('POST_UPDATE_FAILED', $message . '. The new files of ' . $what . ' stay in place; ' . $clear . ' (then apply --phase post runs the steps again)', ['step' => $i, 'argv' => $argv, 'exitCode' => $r['exitCode'], 'signal' => $r['signal'], 'timedOut' => $r['timedOut'], 'spawnError' => $r['spawnError'], 'stdout' => $r['stdout'], 'stderr' => $r['stderr'], 'post' => $results, 'attention' => $this->p->at('needs-attention.json')]);
            }
        }
        $done();
        State::clearAttention($this->p);
        return $results;
    }

    /** @return array<string,mixed> the shape of lib/installer/apply.ts ApplyResult (plus paused, for this runner) */
    private function result(array $v, ?array $plan, array $extra): array
    {
        $steps = $plan['steps'] ?? [];
        $counts = ['mkdir' => 0, 'add' => 0, 'modify' => 0, 'delete' => 0, 'rmdir' => 0];
        $changes = [];
        foreach ($steps as $s) {
            $counts[$s['op']]++;
            $changes[] = ['op' => $s['op'], 'path' => $s['path']];
        }
        $m = $v['manifest'];
        return [
            'site' => $this->p->root,
            'stateDir' => $this->p->stateDir,
            'product' => $m['product'],
            'component' => $m['component'],
            'from' => $extra['from'] ?? null,
            'to' => $m['version'],
            'bundle' => $v['verified']->payloadSha256,
            'signedBy' => array_map([Quorum::class, 'publicSigner'], $v['verified']->quorum['signedBy']),
            'phases' => $extra['phases'] ?? [],
            'dryRun' => $extra['dryRun'] ?? false,
            'paused' => $extra['paused'] ?? null,
            'detected' => $v['detected'] ?? null,
            'versionFile' => $plan['versionFile'] ?? null,
            'changes' => $changes,
            'counts' => $counts,
            'kept' => $plan['kept'] ?? [],
            'partial' => count($plan['kept'] ?? []) > 0,
            'post' => $extra['post'] ?? [],
            'postUpdate' => $m['postUpdate'],
            'recovered' => $extra['recovered'] ?? null,
            'backend' => $v['verified']->backend,
        ];
    }
}
