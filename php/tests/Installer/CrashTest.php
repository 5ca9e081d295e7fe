<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use Countersign\Installer\Installer;
use Countersign\Installer\Points;
use Countersign\Installer\Recovery;
use PHPUnit\Framework\TestCase;

/**
 * SIGKILL at every numbered point of a real update (php-cli killing itself, COUNTERSIGN_TEST_KILL_AT, enabled only by
 * enable-hooks.php), then recovery: the site must be byte-identical to the old release before the commit record and to
 * the new one from it on, the store agreeing; and a recovery killed at each of its own points is finished by the next.
 */
final class CrashTest extends TestCase
{
    /** @return list<string> the labels of the points of one update, learnt in-process (the child counts the same) */
    private static function labels(): array
    {
        $s = Support::setup();
        $labels = [];
        Installer::apply(Support::fixtures() . '/release.bundle', ['site' => $s['site'], 'store' => $s['store'], 'now' => Support::now(), 'budget' => null, 'phase' => 'files', 'points' => new Points(function (int $n, string $label) use (&$labels): void {
            $labels[] = $label;
        })]);
        Support::cleanup($s['dir']);
        return $labels;
    }

    private static function applyChild(array $s, array $env): array
    {
        return Support::run('countersign-apply', [Support::fixtures() . '/release.bundle', '--site', $s['site'], '--store', $s['store'], '--phase', 'files', '--now', Support::NOW, '--json'], $env);
    }

    public function testTheHooksAreIgnoredWithoutTheTestConstant(): void
    {
        $s = Support::setup();
        $cmd = [PHP_BINARY, dirname(__DIR__, 2) . '/bin/countersign-apply', Support::fixtures() . '/release.bundle', '--site', $s['site'], '--store', $s['store'], '--now', Support::NOW, '--json'];
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, array_merge(getenv(), ['COUNTERSIGN_TEST_KILL_AT' => '3']));
        $out = stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        self::assertSame(0, proc_close($proc), (string) $out);
        self::assertSame(Support::expected('new'), Support::snapshot($s['site']));
        Support::cleanup($s['dir']);
    }

    public function testSigkillAtEveryPointThenRecoverGivesTheOldOrTheNewRelease(): void
    {
        $labels = self::labels();
        $commitAt = array_search('logged commit', $labels, true) + 1;
        $journalAt = array_search('journal begin', $labels, true) + 1;
        self::assertGreaterThan(40, count($labels));
        $old = Support::expected('old');
        $new = Support::expected('new');
        for ($k = 1; $k <= count($labels) + 1; $k++) {
            $s = Support::setup();
            $c = self::applyChild($s, ['COUNTERSIGN_TEST_KILL_AT' => (string) $k]);
            $label = 'k=' . $k . ' (' . ($labels[$k - 1] ?? 'no crash') . ')';
            if ($k <= count($labels)) {
                self::assertTrue($c['signaled'], $label . ': the child was killed: ' . $c['stdout'] . $c['stderr']);
            } else {
                self::assertSame(0, $c['code'], $label . $c['stdout'] . $c['stderr']);
            }
            $r = Recovery::site($s['site'], ['store' => $s['store'], 'now' => Support::now()]);
            $wantNew = $k >= $commitAt;
            self::assertSame($wantNew ? $new : $old, Support::snapshot($s['site']), $label . ': the tree after recovery');
            self::assertSame($wantNew ? '10.2.4' : '10.2.3', Support::installed($s['store']), $label . ': the trust store');
            foreach (['journal', 'staging', 'backups'] as $left) {
                self::assertFileDoesNotExist($s['stateDir'] . '/' . $left, $label);
            }
            if ($k < $journalAt) {
                self::assertContains($r['action'], ['cleaned', 'none'], $label);
            } elseif ($k < $commitAt) {
                self::assertSame('rolled-back', $r['action'], $label);
            } elseif ($k < count($labels)) {
                self::assertSame('completed', $r['action'], $label);
            }
            Support::cleanup($s['dir']);
        }
    }

    public function testARecoveryKilledAtEachOfItsPointsIsFinishedByTheNext(): void
    {
        $labels = self::labels();
        $commitAt = array_search('logged commit', $labels, true) + 1;
        $steps = count(array_filter($labels, function ($l) {
            return strncmp($l, 'logged step', 11) === 0;
        }));
        $old = Support::expected('old');
        for ($j = 1; $j <= $steps + 1; $j++) {
            $s = Support::setup();
            $c = self::applyChild($s, ['COUNTERSIGN_TEST_KILL_AT' => (string) ($commitAt - 1)]);
            self::assertTrue($c['signaled'], 'the update was killed');
            $first = Support::run('countersign-recover', ['--site', $s['site'], '--store', $s['store'], '--json'], ['COUNTERSIGN_TEST_KILL_AT' => (string) $j]);
            self::assertTrue($first['signaled'], 'j=' . $j . ': the recovery was killed');
            Recovery::site($s['site'], ['store' => $s['store'], 'now' => Support::now()]);
            self::assertSame($old, Support::snapshot($s['site']), 'j=' . $j);
            self::assertSame('10.2.3', Support::installed($s['store']));
            Support::cleanup($s['dir']);
        }
    }
}
