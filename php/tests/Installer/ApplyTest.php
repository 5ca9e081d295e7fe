<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use Countersign\CountersignException;
use Countersign\Installer\Fs;
use Countersign\Installer\InstallException;
use Countersign\Installer\Installer;
use Countersign\Installer\Points;
use Countersign\Installer\Recovery;
use PHPUnit\Framework\TestCase;

/** The runner's rules, each test failing when its rule is removed (as test/installer/apply.test.ts does for TypeScript). */
final class ApplyTest extends TestCase
{
    /** @var array{dir:string,site:string,store:string,stateDir:string} */
    private $s;

    protected function setUp(): void
    {
        $this->s = Support::setup();
    }

    protected function tearDown(): void
    {
        Support::cleanup($this->s['dir']);
    }

    private function apply(string $bundle = 'release.bundle', array $opts = []): array
    {
        return Installer::apply(Support::fixtures() . '/' . $bundle, array_merge(['site' => $this->s['site'], 'store' => $this->s['store'], 'now' => Support::now(), 'budget' => null], $opts));
    }

    private function failing(callable $fn): InstallException
    {
        try {
            $fn();
        } catch (InstallException $e) {
            return $e;
        }
        self::fail('expected an InstallException');
    }

    public function testAppliesAllThreePhasesAndRecordsTheInstall(): void
    {
        $r = $this->apply();
        self::assertSame(['check', 'files', 'post'], $r['phases']);
        self::assertSame(Support::expected('new'), Support::snapshot($this->s['site']));
        self::assertSame('10.2.4', Support::installed($this->s['store']));
        self::assertSame('core/lib/Drupal.php', $r['changes'][count($r['changes']) - 2]['path'], 'the version file is the last file step');
        foreach (['journal', 'staging', 'backups', 'paused.json'] as $left) {
            self::assertFileDoesNotExist($this->s['stateDir'] . '/' . $left);
        }
        self::assertSame(0700, fileperms($this->s['stateDir']) & 0777);
        // Applying it again: the store's floor refuses it (ROLLBACK), nothing staged.
        try {
            $this->apply();
            self::fail('applied twice');
        } catch (CountersignException $e) {
            self::assertContains('ROLLBACK', array_column($e->getDetails()['reasons'] ?? [], 'code'));
        }
    }

    public function testDryRunReportsEveryStepAndWritesNothing(): void
    {
        $r = $this->apply('release.bundle', ['dryRun' => true]);
        self::assertTrue($r['dryRun']);
        self::assertSame(['mkdir' => 4, 'add' => 4, 'modify' => 6, 'delete' => 3, 'rmdir' => 1], $r['counts']);
        self::assertSame([], $r['phases']);
        self::assertFileDoesNotExist($this->s['stateDir'], 'a dry run creates no state directory');
        self::assertSame(Support::expected('old'), Support::snapshot($this->s['site']));
        self::assertSame('10.2.3', Support::installed($this->s['store']));
    }

    public function testLocalChangesListEachFileAndTouchNothing(): void
    {
        file_put_contents($this->s['site'] . '/README.txt', "edited here\n");
        unlink($this->s['site'] . '/core/includes/legacy.inc');
        $before = Support::snapshot($this->s['site']);
        $e = $this->failing(function () {
            $this->apply();
        });
        self::assertSame('LOCAL_CHANGES', $e->getErrorCode());
        $files = $e->getDetails()['files'];
        self::assertSame(['README.txt', 'core/includes/legacy.inc'], array_column($files, 'path'));
        self::assertNull($files[1]['found'], 'a missing file is reported as found: null');
        self::assertSame($before, Support::snapshot($this->s['site']));
        self::assertFalse(is_dir($this->s['stateDir'] . '/staging'));
    }

    public function testKeepLocalKeepsTheFilesAndRecordsAPartialInstall(): void
    {
        file_put_contents($this->s['site'] . '/README.txt', "edited here\n");
        // The test release is rated Highly Critical: keeping files from it needs the explicit override.
        $e = $this->failing(function () {
            $this->apply('release.bundle', ['keepLocal' => true]);
        });
        self::assertSame('KEEP_LOCAL_REFUSED', $e->getErrorCode());
        $r = $this->apply('moderate.bundle', ['keepLocal' => true]);
        self::assertTrue($r['partial']);
        self::assertSame(['README.txt'], array_column($r['kept'], 'path'));
        self::assertSame("edited here\n", file_get_contents($this->s['site'] . '/README.txt'));
        $expected = Support::expected('new');
        $snap = Support::snapshot($this->s['site']);
        unset($expected['README.txt'], $snap['README.txt']);
        self::assertSame($expected, $snap);
        $store = json_decode((string) file_get_contents($this->s['store'] . '/state.json'), true);
        self::assertSame('10.2.3', $store['installed']['drupal/core']['version'], 'a partial install keeps the version before');
        self::assertSame(['version' => '10.2.4', 'kept' => ['README.txt'], 'recorded' => Support::NOW], $store['installed']['drupal/core']['partial']);
    }

    public function testTheVersionFileCannotBeKept(): void
    {
        file_put_contents($this->s['site'] . '/core/lib/Drupal.php', "<?php\nclass Drupal {\n  const VERSION = '10.2.3';\n}\n// patched\n");
        $e = $this->failing(function () {
            $this->apply('moderate.bundle', ['keepLocal' => true]);
        });
        self::assertSame('LOCAL_CHANGES', $e->getErrorCode());
        self::assertSame(Support::expected('old')['README.txt'], Support::snapshot($this->s['site'])['README.txt']);
    }

    public function testAFailedPostStepLeavesTheNewFilesAndTheSiteNeedingAttention(): void
    {
        $e = $this->failing(function () {
            $this->apply('post-fail.bundle');
        });
        self::assertSame('POST_UPDATE_FAILED', $e->getErrorCode());
        self::assertSame(1, $e->getDetails()['exitCode']);
        self::assertSame(Support::expected('new'), Support::snapshot($this->s['site']), 'the files phase completed');
        $marker = json_decode((string) file_get_contents($this->s['stateDir'] . '/needs-attention.json'), true);
        self::assertSame('POST_UPDATE_FAILED', $marker['code']);
        self::assertSame(['false'], $marker['argv']);
        $again = $this->failing(function () {
            $this->apply('post-fail.bundle', ['phase' => 'post']);
        });
        self::assertSame('NEEDS_ATTENTION', $again->getErrorCode());
        $r = Recovery::site($this->s['site'], ['store' => $this->s['store'], 'clear' => true, 'now' => Support::now()]);
        self::assertTrue($r['cleared']);
        self::assertNull($r['needsAttention']);
    }

    public function testPostStepsRunAsArgvWithoutAShell(): void
    {
        $r = $this->apply('post-ok.bundle');
        self::assertCount(2, $r['post']);
        self::assertTrue($r['post'][0]['ok']);
        self::assertSame("ran\n", file_get_contents($this->s['site'] . '/post-ran.txt'), 'run in the site root');
        self::assertFileDoesNotExist($this->s['stateDir'] . '/needs-attention.json');
    }

    public function testWithoutProcOpenThePostPhaseSaysSoAndMarksTheSite(): void
    {
        $c = Support::run('countersign-apply', [Support::fixtures() . '/post-ok.bundle', '--site', $this->s['site'], '--store', $this->s['store'], '--now', Support::NOW, '--json'], [], ['disable_functions=proc_open']);
        self::assertSame(1, $c['code'], $c['stdout'] . $c['stderr']);
        self::assertSame('POST_UPDATE_FAILED', $c['json']['code']);
        self::assertSame('PROC_OPEN_DISABLED', $c['json']['details']['reason']);
        self::assertFileDoesNotExist($this->s['site'] . '/post-ran.txt');
        self::assertFileExists($this->s['stateDir'] . '/needs-attention.json');
        self::assertSame('10.2.4', Support::installed($this->s['store']), 'the files are in and recorded; only the post steps are owed');
    }

    public function testAPausedRunResumesOnTheNextRequestWithinATinyTimeBudget(): void
    {
        $runs = 0;
        $seen = [];
        do {
            $r = $this->apply('release.bundle', ['budget' => 0.000001]);
            $runs++;
            $seen[] = $r['paused'];
            if ($r['paused'] !== null) {
                self::assertSame('10.2.3', Support::installed($this->s['store']));
            }
        } while ($r['paused'] !== null && $runs < 100);
        self::assertSame(['check', 'files', 'post'], $r['phases']);
        self::assertContains('staging', $seen);
        self::assertContains('commit', $seen);
        self::assertGreaterThan(10, $runs, 'one staged file or one commit step per run at the least');
        self::assertSame(Support::expected('new'), Support::snapshot($this->s['site']));
        self::assertSame('10.2.4', Support::installed($this->s['store']));
    }

    public function testAPausedCommitIsRolledBackByARecoveryInstead(): void
    {
        do {
            $r = $this->apply('release.bundle', ['budget' => 0.000001]);
        } while ($r['paused'] === 'staging');
        self::assertSame('commit', $r['paused']);
        $rec = Recovery::site($this->s['site'], ['store' => $this->s['store'], 'now' => Support::now()]);
        self::assertSame('rolled-back', $rec['action']);
        self::assertSame(Support::expected('old'), Support::snapshot($this->s['site']));
        self::assertFileDoesNotExist($this->s['stateDir'] . '/paused.json');
    }

    public function testAnAddTargetThatExistsAndASymlinkOnThePathAreRefused(): void
    {
        file_put_contents($this->s['site'] . '/core/scripts/update.sh', "mine\n");
        rename($this->s['site'] . '/sites/default', $this->s['dir'] . '/elsewhere');
        symlink($this->s['dir'] . '/elsewhere', $this->s['site'] . '/sites/default');
        $e = $this->failing(function () {
            $this->apply();
        });
        self::assertSame('PREFLIGHT_FAILED', $e->getErrorCode());
        $codes = array_column($e->getDetails()['problems'], 'code');
        self::assertContains('TARGET_EXISTS', $codes);
        self::assertContains('SYMLINK', $codes);
    }

    public function testADirectoryOthersCanWriteIsRefused(): void
    {
        chmod($this->s['site'] . '/core/modules', 0777);
        $e = $this->failing(function () {
            $this->apply();
        });
        self::assertSame(['SHARED_WRITE'], array_column($e->getDetails()['problems'], 'code'));
        chmod($this->s['site'] . '/core/modules', 0755);
        chmod($this->s['dir'] . '/www', 0777);
        $e = $this->failing(function () {
            $this->apply('release.bundle', ['dryRun' => true]);
        });
        self::assertContains('ROOT_PARENT', array_column($e->getDetails()['problems'], 'code'));
    }

    public function testAnUnfinishedJournalIsReportedByADryRunAndRolledBackByTheNextApply(): void
    {
        mkdir($this->s['stateDir'], 0700);
        $st = Fs::lstat($this->s['site']);
        $begin = ['t' => 'begin', 'format' => 1, 'site' => realpath($this->s['site']), 'root' => Fs::id($st), 'bundle' => str_repeat('a', 64), 'product' => 'drupal', 'component' => 'core', 'from' => '10.2.3', 'to' => '10.2.4', 'store' => realpath($this->s['store']), 'created' => Support::NOW];
        file_put_contents($this->s['stateDir'] . '/journal', json_encode($begin, JSON_UNESCAPED_SLASHES) . "\n" . '{"t":"step","n":1,"op":"mkdir","path":"core/lib/Security"}' . "\n");
        mkdir($this->s['site'] . '/core/lib/Security', 0755);
        $e = $this->failing(function () {
            $this->apply('release.bundle', ['dryRun' => true]);
        });
        self::assertSame(['UNFINISHED_JOURNAL'], array_column($e->getDetails()['problems'], 'code'));
        $r = $this->apply();
        self::assertSame('rolled-back', $r['recovered']['action']);
        self::assertSame(Support::expected('new'), Support::snapshot($this->s['site']));
    }

    public function testACorruptJournalTouchesNothing(): void
    {
        mkdir($this->s['stateDir'], 0700);
        file_put_contents($this->s['stateDir'] . '/journal', '{"t":"begin","format":2}' . "\n");
        $e = $this->failing(function () {
            $this->apply();
        });
        self::assertSame('JOURNAL_CORRUPT', $e->getErrorCode());
        self::assertSame(Support::expected('old'), Support::snapshot($this->s['site']));
    }

    public function testAFailureDuringTheCommitRollsBack(): void
    {
        $labels = [];
        $fail = null;
        $points = new Points(function (int $n, string $label) use (&$fail): void {
            if (strpos($label, 'replaced core/modules/system') === 0) {
                throw new \Countersign\Installer\Fault('EIO', 'injected');
            }
        });
        $e = $this->failing(function () use ($points) {
            $this->apply('release.bundle', ['points' => $points]);
        });
        self::assertSame('COMMIT_FAILED', $e->getErrorCode());
        self::assertSame(Support::expected('old'), Support::snapshot($this->s['site']));
        self::assertSame('10.2.3', Support::installed($this->s['store']));
        self::assertFileDoesNotExist($this->s['stateDir'] . '/journal');
    }

    public function testAFileChangedAfterThePreflightIsCaughtAtItsBackupAndTheCommitRolledBack(): void
    {
        $site = $this->s['site'];
        $points = new Points(function (int $n, string $label) use ($site): void {
            if ($label === 'logged step 5: modify README.txt') {
                file_put_contents($site . '/README.txt', "changed meanwhile\n");
            }
        });
        $e = $this->failing(function () use ($points) {
            $this->apply('release.bundle', ['points' => $points]);
        });
        self::assertSame('COMMIT_FAILED', $e->getErrorCode());
        self::assertSame('LOCAL_CHANGES', $e->getDetails()['causeCode']);
        self::assertSame("changed meanwhile\n", file_get_contents($site . '/README.txt'));
        $expected = Support::expected('old');
        $snap = Support::snapshot($site);
        unset($expected['README.txt'], $snap['README.txt']);
        self::assertSame($expected, $snap);
    }

    public function testWithAPolicyTheInstalledVersionComesFromTheVersionFile(): void
    {
        $r = Installer::apply(Support::fixtures() . '/release.bundle', ['site' => $this->s['site'], 'trusted' => Support::policy(), 'now' => Support::now(), 'budget' => null]);
        self::assertSame('10.2.3', $r['from']);
        self::assertSame(['path' => 'core/lib/Drupal.php', 'version' => '10.2.3'], $r['detected']);
        self::assertSame(Support::expected('new'), Support::snapshot($this->s['site']));
    }
}
