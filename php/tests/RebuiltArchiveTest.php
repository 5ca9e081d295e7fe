<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\ArchiveException;
use Countersign\ArchiveInput;
use Countersign\ArchiveVerifier;
use Countersign\FormatException;
use Countersign\TarReader;
use PHPUnit\Framework\TestCase;

/**
 * Format 2 archives (spec/bundle.md "Archive verification", test/archive-rebuilt.test.ts): verify rebuilds every header
 * from the manifest, hashes each entry's content once, requires zero padding and the exact end marker, and never
 * computes the archive's own digests. The exhaustive cases are the proof that this fixes every archive byte: each
 * single-byte change, truncation and extension of a small archive is refused.
 */
final class RebuiltArchiveTest extends TestCase
{
    private const MTIME = 1700000000;
    private const CODES = ['DIGEST_MISMATCH', 'UNSAFE_PATH', 'ENTRY_MISSING', 'ENTRY_EXTRA', 'ENTRY_MISMATCH', 'ARCHIVE_MALFORMED', 'SIZE_LIMIT'];

    /** @return list<array{path:string,mode:string,data:string}> content over two blocks (padded), exactly one block, empty */
    private static function files(): array
    {
        return [
            ['path' => 'core/lib/Drupal.php', 'mode' => '0644', 'data' => str_repeat("<?php const VERSION = \"10.2.4\";\n", 20)],
            ['path' => 'core/empty.txt', 'mode' => '0644', 'data' => ''],
            ['path' => 'vendor/bin/drush', 'mode' => '0755', 'data' => str_repeat('#', 512)],
        ];
    }

    /** @param list<array{path:string,mode:string,data:string}> $files */
    private static function sorted(array $files): array
    {
        usort($files, function ($a, $b) {
            return strcmp($a['path'], $b['path']);
        });
        return $files;
    }

    /** @param array{path:string,mode:string,data:string} $f */
    private static function entry(array $f, int $mtime = self::MTIME): string
    {
        $header = TarReader::encodeHeader(['path' => $f['path'], 'mode' => $f['mode'], 'size' => strlen($f['data']), 'mtime' => $mtime]);
        return $header . $f['data'] . str_repeat("\0", TarReader::paddingOf(strlen($f['data'])));
    }

    /** What countersign's writer emits (lib/core/tar.ts writeTar): entries in path byte order, then two zero blocks. */
    private static function tarOf(array $files, int $mtime = self::MTIME): string
    {
        $out = '';
        foreach (self::sorted($files) as $f) {
            $out .= self::entry($f, $mtime);
        }
        return $out . str_repeat("\0", 1024);
    }

    /** @return array<string,mixed> */
    private static function refOf(string $bytes, int $mtime = self::MTIME): array
    {
        return ['name' => 'release.tar', 'size' => strlen($bytes), 'sha256' => hash('sha256', $bytes), 'mtime' => $mtime];
    }

    private static function addOps(array $files): array
    {
        return array_map(function ($f) {
            return ['op' => 'add', 'path' => $f['path'], 'sha256' => hash('sha256', $f['data']), 'size' => strlen($f['data']), 'mode' => $f['mode']];
        }, $files);
    }

    /** An archive read in chunks of $size, counting the chunks pulled. */
    private static function chunked(string $bytes, int $size): ArchiveInput
    {
        return new class ($bytes, $size) implements ArchiveInput {
            /** @var int */
            public $pulled = 0;
            /** @var string */
            private $bytes;
            /** @var int */
            private $size;

            public function __construct(string $bytes, int $size)
            {
                $this->bytes = $bytes;
                $this->size = max(1, $size);
            }

            public function size(): int
            {
                return strlen($this->bytes);
            }

            public function chunks(): iterable
            {
                for ($at = 0; $at < strlen($this->bytes); $at += $this->size) {
                    $this->pulled++;
                    yield substr($this->bytes, $at, $this->size);
                }
            }
        };
    }

    private static function verify(string $bytes, ?array $ref = null, ?array $ops = null, int $chunk = 1048576): void
    {
        ArchiveVerifier::verify(self::chunked($bytes, $chunk), $ref ?? self::refOf(self::tarOf(self::files())), $ops ?? self::addOps(self::files()));
    }

    private function failure(callable $f): ArchiveException
    {
        try {
            $f();
        } catch (ArchiveException $e) {
            return $e;
        }
        $this->fail('expected an ArchiveException');
    }

    /** @return list<string> */
    private static function codes(ArchiveException $e): array
    {
        return array_map(function ($r) {
            return $r['code'];
        }, $e->getDetails()['reasons']);
    }

    public function testAcceptsTheArchiveTheManifestDescribesInAnyChunking(): void
    {
        $bytes = self::tarOf(self::files());
        foreach ([1, 7, 511, 512, 513, strlen($bytes)] as $size) {
            self::verify($bytes, null, null, $size);
        }
        $this->assertSame(8 * 512, strlen($bytes));
    }

    public function testAnEmptyReleaseIsTheEndMarkerAlone(): void
    {
        $empty = self::tarOf([]);
        $this->assertSame(1024, strlen($empty));
        self::verify($empty, self::refOf($empty), [['op' => 'delete', 'path' => 'old.php', 'previousSha256' => str_repeat('1', 64)]]);
        $this->addToAssertionCount(1);
    }

    public function testTheArchiveSha256IsNeverPartOfAFormat2Verdict(): void
    {
        $bytes = self::tarOf(self::files());
        self::verify($bytes, array_merge(self::refOf($bytes), ['sha256' => str_repeat('0', 64)]));
        $this->addToAssertionCount(1);
    }

    public function testFormat1ChecksBothDigests(): void
    {
        // Format 1 does not sign the entries' mtime: the archive digests are what bind the headers.
        $bytes = self::tarOf(self::files());
        $ref = ['name' => 'release.tar', 'size' => strlen($bytes), 'sha256' => hash('sha256', $bytes), 'sha512' => hash('sha512', $bytes)];
        self::verify($bytes, $ref);
        foreach (['sha256' => 64, 'sha512' => 128] as $digest => $length) {
            $e = $this->failure(function () use ($bytes, $ref, $digest, $length) {
                self::verify($bytes, array_merge($ref, [$digest => str_repeat('0', $length)]));
            });
            $this->assertSame(['DIGEST_MISMATCH'], self::codes($e), $digest);
        }
        $other = self::tarOf(self::files(), self::MTIME + 1);
        $this->assertSame(['DIGEST_MISMATCH'], self::codes($this->failure(function () use ($other, $ref) {
            self::verify($other, $ref);
        })), 'another mtime changes the digests');
    }

    public function testEveryEntryWhoseContentIsNotTheSignedOneIsReported(): void
    {
        $other = array_map(function ($f) {
            if ($f['data'] !== '') {
                $f['data'][0] = 'A';
            }
            return $f;
        }, self::files());
        $e = $this->failure(function () use ($other) {
            self::verify(self::tarOf($other));
        });
        $this->assertSame(['ENTRY_MISMATCH', 'ENTRY_MISMATCH'], self::codes($e));
        $this->assertSame('core/lib/Drupal.php', $e->getDetails()['path']);
    }

    public function testAnotherSizeModeOrMtimeOfTheSamePathIsEntryMismatchNamingEach(): void
    {
        $cases = [
            [array_map(function ($f) {
                return $f['path'] === 'core/empty.txt' ? array_merge($f, ['data' => 'x']) : $f;
            }, self::files()), self::MTIME, 'size 1 ≠ 0'],
            [array_map(function ($f) {
                return $f['path'] === 'vendor/bin/drush' ? array_merge($f, ['mode' => '0644']) : $f;
            }, self::files()), self::MTIME, 'mode 0644 ≠ 0755'],
            [self::files(), self::MTIME + 1, 'mtime ' . (self::MTIME + 1) . ' ≠ ' . self::MTIME],
        ];
        foreach ($cases as list($changed, $mtime, $what)) {
            $t = self::tarOf($changed, $mtime);
            $e = $this->failure(function () use ($t) {
                self::verify($t, array_merge(self::refOf(self::tarOf(self::files())), ['size' => strlen($t)]));
            });
            $this->assertSame(['ENTRY_MISMATCH'], self::codes($e), $what);
            $this->assertStringContainsString($what, $e->getMessage());
        }
    }

    public function testAPathTheManifestDoesNotInstallOrDeletesIsEntryExtra(): void
    {
        $extra = ['path' => 'core/backdoor.php', 'mode' => '0644', 'data' => '<?php eval($_POST["x"]);'];
        $t = self::tarOf(array_merge(self::files(), [$extra]));
        $e = $this->failure(function () use ($t) {
            self::verify($t, self::refOf($t));
        });
        $this->assertSame(['ENTRY_EXTRA'], self::codes($e));
        $this->assertSame('core/backdoor.php', $e->getDetails()['path']);
        $deleting = array_merge(self::addOps(self::files()), [['op' => 'delete', 'path' => 'core/backdoor.php', 'previousSha256' => str_repeat('1', 64)]]);
        $this->assertStringContainsString('the manifest deletes this file', $this->failure(function () use ($t, $deleting) {
            self::verify($t, self::refOf($t), $deleting);
        })->getMessage());
        // After the last entry, where the end marker belongs.
        $last = self::tarOf(array_merge(self::files(), [array_merge($extra, ['path' => 'zz.php'])]));
        $this->assertSame(['ENTRY_EXTRA'], self::codes($this->failure(function () use ($last) {
            self::verify($last, self::refOf($last));
        })));
    }

    public function testASkippedEntryIsEntryMissing(): void
    {
        $t = self::tarOf(array_values(array_filter(self::files(), function ($f) {
            return $f['path'] !== 'core/empty.txt';
        })));
        $e = $this->failure(function () use ($t) {
            self::verify($t, self::refOf($t));
        });
        $this->assertSame(['ENTRY_MISSING'], self::codes($e));
        $this->assertSame('core/empty.txt', $e->getDetails()['path']);
        // The end marker where headers belong: every op left is missing.
        $only = self::tarOf([self::files()[1]]);
        $this->assertSame(['ENTRY_MISSING', 'ENTRY_MISSING'], self::codes($this->failure(function () use ($only) {
            self::verify($only, self::refOf($only));
        })));
    }

    public function testAPathSeenAlreadyExactlyOrAfterCaseFoldingIsUnsafePath(): void
    {
        list($a, $b, $c) = self::sorted(self::files());
        foreach ([$b, array_merge($b, ['path' => strtoupper($b['path'])])] as $again) {
            $t = self::entry($a) . self::entry($b) . self::entry($again) . self::entry($c) . str_repeat("\0", 1024);
            $this->assertSame(['UNSAFE_PATH'], self::codes($this->failure(function () use ($t) {
                self::verify($t, self::refOf($t));
            })), $again['path']);
        }
    }

    public function testALinkOrAHeaderThatDoesNotParseGetsTheTarReadersCode(): void
    {
        list($a, $b, $c) = self::sorted(self::files());
        $link = TarReader::encodeHeader(['path' => $b['path'], 'mode' => '0644', 'size' => 0, 'mtime' => self::MTIME]);
        $link[156] = '2';
        $link = substr_replace($link, '/etc/passwd', 157, 11);
        $link = substr_replace($link, sprintf('%06o', TarReader::checksum($link)), 148, 6);
        $t = self::entry($a) . $link . self::entry($c) . str_repeat("\0", 1024);
        $this->assertSame(['UNSAFE_PATH'], self::codes($this->failure(function () use ($t) {
            self::verify($t, self::refOf($t));
        })));
        $garbage = substr_replace(self::tarOf(self::files()), str_repeat('A', 512), 0, 512);
        $this->assertSame(['ARCHIVE_MALFORMED'], self::codes($this->failure(function () use ($garbage) {
            self::verify($garbage);
        })));
    }

    public function testStopsReadingAtTheFirstStructuralProblem(): void
    {
        $big = self::tarOf(array_merge(self::files(), [['path' => 'z/big.bin', 'mode' => '0644', 'data' => str_repeat("\0", 64 * 512)]]));
        $input = self::chunked($big, 512);
        try {
            ArchiveVerifier::verify($input, self::refOf($big), self::addOps(self::files()));
            $this->fail('accepted');
        } catch (ArchiveException $e) {
            $this->assertSame('ENTRY_EXTRA', $e->getErrorCode());
        }
        $this->assertLessThan(strlen($big) / 512 / 2, $input->pulled);
    }

    public function testAStreamLongerThanDeclaredStopsAtOnce(): void
    {
        $bytes = self::tarOf(self::files());
        $input = self::chunked($bytes . str_repeat("\0", 100 * 512), 512);
        $e = $this->failure(function () use ($input, $bytes) {
            ArchiveVerifier::verify($input, self::refOf($bytes), self::addOps(self::files()));
        });
        $this->assertSame(['DIGEST_MISMATCH'], self::codes($e));
        $this->assertSame(strlen($bytes) / 512 + 1, $input->pulled);
    }

    public function testAMalformedMtimeOrSizeInTheReference(): void
    {
        $bytes = self::tarOf(self::files());
        foreach ([-1, 1.5, 8 ** 11, '0'] as $mtime) {
            try {
                self::verify($bytes, array_merge(self::refOf($bytes), ['mtime' => $mtime]));
                $this->fail('accepted mtime ' . json_encode($mtime));
            } catch (FormatException $e) {
                $this->assertSame('MALFORMED', $e->getErrorCode());
            }
        }
        // An op whose size no ustar header can hold: the header cannot be rebuilt.
        $ops = self::addOps(self::files());
        $ops[0]['size'] = 8 ** 11;
        $this->assertSame(['ARCHIVE_MALFORMED'], self::codes($this->failure(function () use ($bytes, $ops) {
            self::verify($bytes, null, $ops);
        })));
    }

    /** @param array<string,mixed>|null $ref */
    private function refused(string $mutated, string $what, int $chunk = 0, ?array $ref = null): void
    {
        try {
            self::verify($mutated, $ref, null, $chunk > 0 ? $chunk : max(1, strlen($mutated)));
        } catch (ArchiveException $e) {
            $this->assertContains($e->getErrorCode(), self::CODES, $what);
            return;
        }
        $this->fail($what . ': accepted');
    }

    public function testEverySingleByteChangeIsRefused(): void
    {
        $bytes = self::tarOf(self::files());
        foreach ([[0x01, 7], [0x80, strlen($bytes)], [0xff, 513]] as list($flip, $chunk)) {
            for ($offset = 0; $offset < strlen($bytes); $offset++) {
                $mutated = $bytes;
                $mutated[$offset] = chr(ord($mutated[$offset]) ^ $flip);
                $this->refused($mutated, 'byte ' . $offset . ' ^ ' . dechex($flip), $chunk);
            }
        }
    }

    public function testEveryHeaderByteChangeWithItsChecksumRecomputedIsRefused(): void
    {
        $bytes = self::tarOf(self::files());
        $starts = [];
        $at = 0;
        foreach (self::sorted(self::files()) as $f) {
            $starts[] = $at;
            $at += 512 + strlen($f['data']) + TarReader::paddingOf(strlen($f['data']));
        }
        foreach ($starts as $start) {
            for ($i = 0; $i < 512; $i++) {
                if ($i >= 148 && $i < 156) {
                    continue; // the checksum field itself is what gets recomputed
                }
                foreach ([0x01, 0x80] as $flip) {
                    $header = substr($bytes, $start, 512);
                    $header[$i] = chr(ord($header[$i]) ^ $flip);
                    $header = substr_replace($header, sprintf('%06o', TarReader::checksum($header)), 148, 6);
                    $this->refused(substr_replace($bytes, $header, $start, 512), 'header at ' . $start . ', byte ' . $i . ' ^ ' . dechex($flip) . ', checksum fixed');
                }
            }
        }
    }

    public function testEveryTruncationIsRefusedAlsoWithTheDeclaredSizeLowered(): void
    {
        $bytes = self::tarOf(self::files());
        $ref = self::refOf($bytes);
        for ($length = 0; $length < strlen($bytes); $length++) {
            $this->refused(substr($bytes, 0, $length), 'truncated to ' . $length);
            $this->refused(substr($bytes, 0, $length), 'truncated to ' . $length . ', declared ' . $length, 0, array_merge($ref, ['size' => $length]));
        }
    }

    public function testExtensionsAreRefused(): void
    {
        $bytes = self::tarOf(self::files());
        for ($value = 0; $value < 256; $value++) {
            $this->refused($bytes . chr($value), 'extended by ' . dechex($value));
        }
        foreach ([1, 2, 3] as $n) {
            $this->refused($bytes . str_repeat("\0", $n * 512), 'extended by ' . $n . ' zero blocks');
        }
        $this->refused($bytes . self::tarOf([['path' => 'zz.php', 'mode' => '0644', 'data' => 'x']]), 'an extra archive appended');
        // The declared size raised to match: nothing after the end marker is ever accepted.
        $longer = $bytes . str_repeat("\0", 512);
        $this->assertSame(['ARCHIVE_MALFORMED'], self::codes($this->failure(function () use ($longer) {
            self::verify($longer, self::refOf($longer));
        })));
    }
}
