<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

require_once dirname(__DIR__, 2) . '/integrations/drupal/CountersignUpdate.php';

use PHPUnit\Framework\TestCase;

/** The Drupal/Backdrop entry points: the class a site's update flow calls, and the drush/bee script. */
final class DrupalTest extends TestCase
{
    public function testTheClassAndTheScriptApplyWithTheTrustStore(): void
    {
        $s = Support::setup();
        $dry = \CountersignUpdate::apply(Support::fixtures() . '/moderate.bundle', $s['site'], ['store' => $s['store'], 'dryRun' => true]);
        self::assertTrue($dry['ok']);
        self::assertTrue($dry['dryRun']);
        self::assertSame(Support::expected('old'), Support::snapshot($s['site']));
        $cwd = getcwd();
        chdir($s['site']); // drush/bee run with the site root as DRUPAL_ROOT; without it, the working directory
        try {
            $cmd = [PHP_BINARY, dirname(__DIR__, 2) . '/integrations/drupal/countersign-apply.php', Support::fixtures() . '/release.bundle', $s['store']];
            $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
            $out = stream_get_contents($pipes[1]);
            fclose($pipes[1]);
            fclose($pipes[2]);
            $code = proc_close($proc);
        } finally {
            chdir($cwd);
        }
        self::assertSame(0, $code, (string) $out); // the real clock, as on a site: the fixtures are valid until 2100
        self::assertSame(Support::expected('new'), Support::snapshot($s['site']));
        $bad = \CountersignUpdate::apply(Support::fixtures() . '/release.bundle', $s['site'], ['store' => $s['dir'] . '/nostore']);
        self::assertSame('STORE_MISSING', $bad['code']);
        Support::cleanup($s['dir']);
    }
}
