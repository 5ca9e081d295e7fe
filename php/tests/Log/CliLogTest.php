<?php

declare(strict_types=1);

namespace Countersign\Tests\Log;

use Countersign\BundleFile;
use Countersign\Cli;
use PHPUnit\Framework\TestCase;

/**
 * php bin/countersign-verify --log-policy FILE [--log-proof FILE] [--max-age D] on the generated logged bundle
 * (test/vectors/shared/log/release-a.logged.bundle: release A at index 1, its proof section cosigned by W1..W3 an hour
 * before 2026-06-01): the same verdicts and codes as `countersign verify` on the log branch.
 */
final class CliLogTest extends TestCase
{
    /** @var string */
    private static $dir;
    /** @var list<string> */
    private $tmp = [];

    public static function setUpBeforeClass(): void
    {
        self::$dir = dirname(__DIR__, 3) . '/test/vectors/shared/log';
    }

    protected function tearDown(): void
    {
        foreach ($this->tmp as $f) {
            @unlink($f);
        }
    }

    /** @param list<string> $argv @return array{0:int,1:array<string,mixed>|null,2:string} exit, --json body, stderr */
    private function cli(array $argv): array
    {
        $out = fopen('php://memory', 'w+');
        $err = fopen('php://memory', 'w+');
        $code = (new Cli($out, $err))->run(array_merge($argv, ['--json']));
        rewind($out);
        rewind($err);
        $body = json_decode((string) stream_get_contents($out), true);
        return [$code, $body, (string) stream_get_contents($err)];
    }

    /** @param list<string> $extra @return array{0:int,1:array<string,mixed>|null,2:string} */
    private function verify(string $bundle, array $extra, string $now = '2026-06-01T00:00:00Z'): array
    {
        return $this->cli(array_merge([$bundle, '--policy', self::$dir . '/policy-v1.signed.json', '--now', $now], $extra));
    }

    /** The logged bundle rebuilt with another proof section, or none. */
    private function bundleWith(?string $proof): string
    {
        $bytes = (string) file_get_contents(self::$dir . '/release-a.logged.bundle');
        $l = BundleFile::parseHeader(substr($bytes, 0, 256), 1 << 24, strlen($bytes));
        $env = substr($bytes, $l['envelope'][0], $l['envelope'][1]);
        $arc = substr($bytes, $l['archive'][0], $l['archive'][1]);
        $head = $proof === null ? "countersign-bundle v2 2\nenvelope " . strlen($env) . "\narchive " . strlen($arc) . "\n"
            : "countersign-bundle v2 3\nenvelope " . strlen($env) . "\nproof " . strlen($proof) . "\narchive " . strlen($arc) . "\n";
        $path = (string) tempnam(sys_get_temp_dir(), 'cs-log-');
        $this->tmp[] = $path;
        file_put_contents($path, $head . $env . ($proof ?? '') . $arc);
        return $path;
    }

    private function logPolicy(): array
    {
        return ['--log-policy', self::$dir . '/site.log-policy'];
    }

    public function testLoggedBundleVerifies(): void
    {
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', $this->logPolicy());
        $this->assertSame(0, $code);
        $this->assertSame(['index' => 1, 'origin' => 'countersign.example/log', 'size' => 4, 'witnesses' => ['W1', 'W2', 'W3'], 'cosigned' => ['oldest' => 1780268400, 'newest' => 1780268400], 'consistency' => 'first'], $body['log']);
    }

    public function testStaleAndMaxAge(): void
    {
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', $this->logPolicy(), '2026-06-08T23:00:00Z');
        $this->assertSame([1, 'CHECKPOINT_STALE'], [$code, $body['code']]);
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', array_merge($this->logPolicy(), ['--max-age', '30m']));
        $this->assertSame([1, 'CHECKPOINT_STALE'], [$code, $body['code']]);
        [$code] = $this->verify(self::$dir . '/release-a.logged.bundle', array_merge($this->logPolicy(), ['--max-age', '1h']));
        $this->assertSame(0, $code);
    }

    public function testNotLoggedAndDetachedProof(): void
    {
        $bare = $this->bundleWith(null);
        [$code, $body] = $this->verify($bare, $this->logPolicy());
        $this->assertSame([1, 'NOT_LOGGED'], [$code, $body['code']]);
        [$code, $body] = $this->verify($bare, array_merge($this->logPolicy(), ['--log-proof', self::$dir . '/release-a.proof']));
        $this->assertSame(0, $code);
        $this->assertSame(1, $body['log']['index']);
        // Without a log policy the bundle verifies as before.
        [$code] = $this->verify($bare, []);
        $this->assertSame(0, $code);
    }

    public function testStoreWithLogPolicyFailsClosed(): void
    {
        // The log branch's `verify --store S --log-policy F` ignores F when S has no log policy of its own (it accepted
        // this unlogged bundle, exit 0, on 2be9d3d); here the log policy given is always checked.
        $store = dirname(__DIR__, 3) . '/test/vectors/shared/stores/core-10.2.3';
        $bare = $this->bundleWith(null);
        [$code, $body] = $this->cli([$bare, '--store', $store, '--now', '2026-06-01T00:00:00Z']);
        $this->assertSame(0, $code);
        [$code, $body] = $this->cli(array_merge([$bare, '--store', $store, '--now', '2026-06-01T00:00:00Z'], $this->logPolicy()));
        $this->assertSame([1, 'NOT_LOGGED'], [$code, $body['code']]);
        [$code, $body] = $this->cli(array_merge([self::$dir . '/release-a.logged.bundle', '--store', $store, '--now', '2026-06-01T00:00:00Z'], $this->logPolicy()));
        $this->assertSame(0, $code);
        $this->assertSame(1, $body['log']['index']);
    }

    /**
     * A store with a `log` member (trust init --log-policy on the log branch) must never pass an unlogged bundle: today
     * main's store schema refuses the member (STORE_CORRUPT); once it admits it, TrustStore::verify requires the proof.
     */
    public function testStoreWithItsOwnLogPolicyFailsClosed(): void
    {
        $dir = sys_get_temp_dir() . '/cs-log-store-' . getmypid();
        @mkdir($dir);
        $this->tmp[] = $dir . '/state.json';
        $state = json_decode((string) file_get_contents(dirname(__DIR__, 3) . '/test/vectors/shared/stores/core-10.2.3/state.json'), true);
        $state['log'] = ['policy' => (string) file_get_contents(self::$dir . '/site.log-policy'), 'forks' => []];
        file_put_contents($dir . '/state.json', json_encode($state, JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT) . "\n");
        [$code, $body] = $this->cli([$this->bundleWith(null), '--store', $dir, '--now', '2026-06-01T00:00:00Z']);
        if ($code === 2) {
            $this->assertSame('STORE_CORRUPT', $body['code']);
            $this->assertStringContainsString('does not match its schema', $body['message']);
        } else {
            $this->assertSame([1, 'NOT_LOGGED'], [$code, $body['code']]);
            [$code, $body] = $this->cli([self::$dir . '/release-a.logged.bundle', '--store', $dir, '--now', '2026-06-01T00:00:00Z']);
            $this->assertSame([0, 1, false], [$code, $body['log']['index'], $body['log']['recorded']]);
            [$code, $body] = $this->cli([self::$dir . '/release-a.logged.bundle', '--store', $dir, '--now', '2026-06-01T00:00:00Z', '--log-policy', self::$dir . '/site.log-policy']);
            $this->assertSame([2, 'USAGE'], [$code, $body['code']]);
        }
        @rmdir($dir);
    }

    public function testTamperedProofSection(): void
    {
        $proof = (string) file_get_contents(self::$dir . '/release-a.proof');
        $bad = (string) preg_replace_callback('/\nindex 1\n(.)/', function (array $m): string {
            return "\nindex 1\n" . ($m[1] === 'A' ? 'B' : 'A');
        }, $proof);
        [$code, $body] = $this->verify($this->bundleWith($bad), $this->logPolicy());
        $this->assertSame([1, 'BAD_PROOF'], [$code, $body['code']]);
        [$code, $body] = $this->verify($this->bundleWith(str_replace("\nindex 1\n", "\nindex 2\n", $proof)), $this->logPolicy());
        $this->assertSame([1, 'BAD_PROOF'], [$code, $body['code']]);
    }

    public function testUsage(): void
    {
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', array_merge($this->logPolicy(), ['--max-age', '7 days']));
        $this->assertSame([2, 'USAGE'], [$code, $body['code']]);
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', ['--max-age', '7d']);
        $this->assertSame([2, 'USAGE'], [$code, $body['code']]);
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', ['--log-policy', self::$dir . '/missing']);
        $this->assertSame([2, 'IO'], [$code, $body['code']]);
        // Without a log policy a carried proof is read, not checked, and said so (as cli/verify.ts says it).
        [$code, $body] = $this->verify(self::$dir . '/release-a.logged.bundle', []);
        $this->assertSame([0, 'carried, not checked (no log policy)'], [$code, $body['log']]);
    }
}
