<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\StoreException;
use Countersign\TrustStore;
use PHPUnit\Framework\TestCase;

/** Recording installs in a store the TypeScript tools wrote: under the lock, durably, never lowering the floor. */
final class TrustStoreWriteTest extends TestCase
{
    /** @var string */
    private $dir;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/countersign-php-store-' . bin2hex(random_bytes(6));
        mkdir($this->dir);
        copy(dirname(__DIR__, 2) . '/test/vectors/shared/stores/core-10.2.3/state.json', $this->dir . '/state.json');
    }

    protected function tearDown(): void
    {
        foreach (glob($this->dir . '/{,.}*', GLOB_BRACE) ?: [] as $f) {
            if (is_file($f)) {
                unlink($f);
            }
        }
        rmdir($this->dir);
    }

    public function testRecordInstallKeepsTheHighestAndReverifies(): void
    {
        TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4', 1780000000);
        $site = TrustStore::open($this->dir)->siteFor('drupal', 'core');
        $this->assertSame(['product' => 'drupal', 'component' => 'core', 'installed' => '10.2.4', 'highestInstalled' => '10.2.4'], $site);
        TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.3', 1780000001); // a downgrade by hand
        $site = TrustStore::open($this->dir)->siteFor('drupal', 'core');
        $this->assertSame('10.2.3', $site['installed']);
        $this->assertSame('10.2.4', $site['highestInstalled'], 'the rollback floor is never lowered');
        $this->assertFileDoesNotExist($this->dir . '/lock');
        $this->assertSame([], glob($this->dir . '/.state.json.*.tmp'));
        $this->assertSame('0644', substr(sprintf('%o', fileperms($this->dir . '/state.json')), -4));
        $text = (string) file_get_contents($this->dir . '/state.json');
        $this->assertSame("\n", substr($text, -1));
        $this->assertStringContainsString("\n  \"installed\": {\n    \"drupal/core\": {\n      \"version\": \"10.2.3\",\n      \"highest\": \"10.2.4\",", $text);
    }

    public function testALiveHolderIsStoreLocked(): void
    {
        file_put_contents($this->dir . '/lock', getmypid() . "\n0\n" . str_repeat('ab', 16) . "\n");
        try {
            TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4', null, 100);
            $this->fail('expected STORE_LOCKED');
        } catch (StoreException $e) {
            $this->assertSame('STORE_LOCKED', $e->getErrorCode());
        }
        $this->assertStringContainsString('"version": "10.2.3"', (string) file_get_contents($this->dir . '/state.json'), 'nothing written');
    }

    public function testADeadHoldersLockIsTakenOver(): void
    {
        file_put_contents($this->dir . '/lock', "999999999\n0\n" . str_repeat('cd', 16) . "\n");
        TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4', null, 1000);
        $this->assertSame('10.2.4', TrustStore::open($this->dir)->siteFor('drupal', 'core')['installed']);
        $this->assertFileDoesNotExist($this->dir . '/lock');
    }

    public function testATakeoverGuardLeftByADeadProcessDoesNotBlockTheTakeover(): void
    {
        file_put_contents($this->dir . '/lock', "999999999\n0\n" . str_repeat('cd', 16) . "\n");
        file_put_contents($this->dir . '/lock.takeover', "999999998\n0\n" . str_repeat('ef', 16) . "\n");
        TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4', null, 1000);
        $this->assertSame('10.2.4', TrustStore::open($this->dir)->siteFor('drupal', 'core')['installed']);
        $this->assertFileDoesNotExist($this->dir . '/lock');
        $this->assertFileDoesNotExist($this->dir . '/lock.takeover');
    }

    public function testWithoutExtPosixADeadHolderIsJudgedByProc(): void
    {
        if (!is_dir('/proc/self')) {
            $this->markTestSkipped('no /proc on this host: without ext-posix no holder is judged dead here');
        }
        file_put_contents($this->dir . '/lock', "999999999\n0\n" . str_repeat('cd', 16) . "\n");
        $script = 'require ' . var_export(dirname(__DIR__) . '/autoload.php', true) . '; echo function_exists("posix_kill") ? "posix" : "none"; '
            . 'Countersign\\TrustStore::recordInstall($argv[1], "drupal", "core", "10.2.4", 1780000000, 1000);';
        $out = [];
        exec(escapeshellarg(PHP_BINARY) . ' -n -r ' . escapeshellarg($script) . ' ' . escapeshellarg($this->dir) . ' 2>&1', $out, $code);
        if (($out[0] ?? '') === 'posix') {
            $this->markTestSkipped('php -n still loads ext-posix here');
        }
        $this->assertSame(0, $code, implode("\n", $out));
        $this->assertSame('10.2.4', TrustStore::open($this->dir)->siteFor('drupal', 'core')['installed']);
    }

    public function testKeptFilesRecordAPartialInstallAndKeepTheVersionBefore(): void
    {
        TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4', 1780000000, 5000, ['README.txt', 'sites/default/x.php']);
        $store = TrustStore::open($this->dir);
        $this->assertSame('10.2.3', $store->siteFor('drupal', 'core')['installed'], 'a partial install does not move the site to the new version');
        $entry = $store->installedEntry('drupal', 'core');
        $this->assertSame(['version' => '10.2.4', 'kept' => ['README.txt', 'sites/default/x.php'], 'recorded' => '2026-05-28T20:26:40Z'], $entry['partial']);
        $this->assertSame('10.2.3', $entry['highest']);
        TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4', 1780000001);
        $this->assertArrayNotHasKey('partial', TrustStore::open($this->dir)->installedEntry('drupal', 'core'), 'a full install clears it');
    }

    public function testAPartialInstallNeedsAnEarlierEntryAndKeptPathsTheSchemaTakes(): void
    {
        foreach ([['webform', 'webform', ['x.php']], ['drupal', 'core', ['']]] as [$product, $component, $kept]) {
            try {
                TrustStore::recordInstall($this->dir, $product, $component, '6.2.1', 1780000000, 5000, $kept);
                $this->fail('expected a refusal for ' . $product . '/' . $component);
            } catch (\Countersign\CountersignException $e) {
                $this->assertContains($e->getErrorCode(), ['USAGE', 'SCHEMA_INVALID']);
            }
        }
        $this->assertStringContainsString('"version": "10.2.3"', (string) file_get_contents($this->dir . '/state.json'), 'nothing written');
        $this->assertFileDoesNotExist($this->dir . '/lock');
    }

    public function testAMissingStoreDirectoryIsStoreMissing(): void
    {
        try {
            TrustStore::recordInstall($this->dir . '/nostore', 'drupal', 'core', '10.2.4');
            $this->fail('expected STORE_MISSING');
        } catch (StoreException $e) {
            $this->assertSame('STORE_MISSING', $e->getErrorCode());
        }
    }

    public function testACorruptStoreIsNeverRewritten(): void
    {
        file_put_contents($this->dir . '/state.json', '{"format": 1,');
        try {
            TrustStore::recordInstall($this->dir, 'drupal', 'core', '10.2.4');
            $this->fail('expected STORE_CORRUPT');
        } catch (StoreException $e) {
            $this->assertSame('STORE_CORRUPT', $e->getErrorCode());
        }
        $this->assertSame('{"format": 1,', file_get_contents($this->dir . '/state.json'));
    }
}
