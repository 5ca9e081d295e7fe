<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use PHPUnit\Framework\TestCase;

/** The WordPress mu-plugin against a minimal stand-in for the hooks it uses (wp-standin.php, in a child php). */
final class WordPressTest extends TestCase
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

    private function offer(string $package, array $extra, bool $required): array
    {
        $cmd = [PHP_BINARY, __DIR__ . '/wp-standin.php', $this->s['site'], $this->s['store'], $package, json_encode($extra), $required ? '1' : '0'];
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        self::assertSame(0, proc_close($proc), $out . $err);
        return json_decode((string) $out, true);
    }

    public function testACoreBundleIsVerifiedAndAppliedAndWordPressNeverUnzipsIt(): void
    {
        $r = $this->offer(Support::fixtures() . '/release.bundle', ['type' => 'core'], true);
        self::assertSame('countersign_applied', $r['reply']['code']);
        self::assertTrue($r['option']['ok']);
        self::assertStringContainsString('10.2.3 → 10.2.4 applied', $r['notice']);
        self::assertSame(Support::expected('new'), Support::snapshot($this->s['site']));
        self::assertSame('10.2.4', Support::installed($this->s['store']));
    }

    public function testOptedInAnythingButAValidBundleIsRefused(): void
    {
        $zip = $this->s['dir'] . '/plugin.zip';
        file_put_contents($zip, "PK\x03\x04 not a bundle");
        $r = $this->offer($zip, ['type' => 'core'], true);
        self::assertSame('countersign_refused', $r['reply']['code']);
        $forged = dirname(__DIR__, 3) . '/spec/vectors/conformance/bundles/a-entry-other-content.bundle';
        $r = $this->offer($forged, ['type' => 'core'], true);
        self::assertSame(false, $r['option']['ok']);
        self::assertStringStartsWith('countersign_', $r['reply']['code']);
        self::assertNotSame('countersign_applied', $r['reply']['code']);
        self::assertStringContainsString('notice-error', $r['notice']);
        self::assertSame(Support::expected('old'), Support::snapshot($this->s['site']));
    }

    public function testNotOptedInAZipIsLeftToWordPress(): void
    {
        $zip = $this->s['dir'] . '/plugin.zip';
        file_put_contents($zip, "PK\x03\x04 not a bundle");
        $r = $this->offer($zip, ['plugin' => 'akismet/akismet.php'], false);
        self::assertFalse($r['reply']);
        self::assertFalse($r['option']);
    }
}
