<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Bundle files (spec/bundle.md, lib/core/bundle.ts, lib/node/bundle-file.ts): v2 names each section and its length,
 * v1 gives the envelope's length and the archive is the rest; a file not starting "countersign-bundle v" is a bare
 * envelope. The envelope is read now; the archive is streamed later from the same open handle.
 */
final class BundleFile
{
    public const HEADER_MAX = 256;
    /** lib/core/bundle.ts MAX_PROOF_SECTION_BYTES (lib/log/proof.ts MAX_PROOF_BYTES). */
    public const MAX_PROOF_BYTES = 131072;

    /** @var string */
    public $envelopeBytes;
    /** @var ArchiveInput|null */
    public $archive;
    /** @var bool */
    public $isBundle;
    /** @var int|null 1 or 2 */
    public $version;
    /** @var string|null the v2 proof section (a C2SP tlog-proof), when read */
    public $proof;
    /** @var resource|null */
    private $handle;

    /** A v2 proof section is read (as lib/core/bundle.ts does); it is checked only where a log policy requires it. */
    public static function open(string $path, int $maxEnvelope = Envelope::MAX_BYTES): self
    {
        // Never open a FIFO or device: it would block or stream forever.
        if (!is_file($path)) {
            throw new UsageException('IO', file_exists($path) ? $path . ' is not a regular file' : 'cannot read ' . $path . ': ENOENT');
        }
        $h = @fopen($path, 'rb');
        if ($h === false) {
            throw new UsageException('IO', 'cannot read ' . $path . ': EACCES');
        }
        $st = fstat($h);
        if ($st === false || ($st['mode'] & 0170000) !== 0100000) {
            fclose($h);
            throw new UsageException('IO', $path . ' is not a regular file');
        }
        $size = (int) $st['size'];
        $out = new self();
        try {
            $head = $size > 0 ? self::readAt($h, 0, min($size, self::HEADER_MAX), $path) : '';
            if (strncmp($head, 'countersign-bundle v', 20) !== 0) {
                if ($size > $maxEnvelope) {
                    throw new FormatException('SIZE_LIMIT', $path . ' is ' . $size . ' bytes; an envelope may be at most ' . $maxEnvelope);
                }
                $out->envelopeBytes = $size > 0 ? self::readAt($h, 0, $size, $path) : '';
                $out->isBundle = false;
                fclose($h);
                return $out;
            }
            $layout = self::parseHeader($head, $maxEnvelope, $size);
            $out->isBundle = true;
            $out->version = $layout['version'];
            $env = $layout['envelope'];
            $out->envelopeBytes = $env[1] > 0 ? self::readAt($h, $env[0], $env[1], $path) : '';
            $proof = $layout['proof'] ?? null;
            $out->proof = $proof === null ? null : ($proof[1] > 0 ? self::readAt($h, $proof[0], $proof[1], $path) : '');
            if ($layout['archive'] === null) {
                fclose($h);
                return $out;
            }
            $out->handle = $h;
            $out->archive = new FileRangeArchive($h, $layout['archive'][0], $layout['archive'][1]);
            return $out;
        } catch (\Throwable $e) {
            fclose($h);
            throw $e;
        }
    }

    /** An archive file given on its own, beside a bare envelope. */
    public static function openArchive(string $path): self
    {
        if (!is_file($path)) {
            throw new UsageException('IO', file_exists($path) ? $path . ' is not a regular file' : 'cannot read ' . $path . ': ENOENT');
        }
        $h = @fopen($path, 'rb');
        if ($h === false) {
            throw new UsageException('IO', 'cannot read ' . $path . ': EACCES');
        }
        $st = fstat($h);
        $out = new self();
        $out->envelopeBytes = '';
        $out->isBundle = false;
        $out->handle = $h;
        $out->archive = new FileRangeArchive($h, 0, (int) ($st === false ? 0 : $st['size']));
        return $out;
    }

    public function close(): void
    {
        if ($this->handle !== null) {
            fclose($this->handle);
            $this->handle = null;
        }
    }

    /** @param resource $h */
    private static function readAt($h, int $offset, int $length, string $path): string
    {
        fseek($h, $offset);
        $data = '';
        while (strlen($data) < $length) {
            $piece = fread($h, $length - strlen($data));
            if ($piece === false || $piece === '') {
                throw new FormatException('MALFORMED', $path . ' changed while it was being read');
            }
            $data .= $piece;
        }
        return $data;
    }

    /** @return array{version:int,envelope:array{0:int,1:int},proof?:array{0:int,1:int}|null,archive:array{0:int,1:int}|null} offsets and lengths */
    public static function parseHeader(string $head, int $maxEnvelope, int $fileSize): array
    {
        $text = substr($head, 0, self::HEADER_MAX);
        $m = [];
        if (!preg_match('/^countersign-bundle v([1-9][0-9]{0,8}) /', $text, $m)) {
            throw new FormatException('MALFORMED', 'not a countersign bundle (bad header line)');
        }
        if ($m[1] === '1') {
            if (!preg_match('/^countersign-bundle v1 ([1-9][0-9]{0,8})\n/', $text, $m)) {
                throw new FormatException('MALFORMED', 'not a countersign bundle (bad header line)');
            }
            $env = [strlen($m[0]), (int) $m[1]];
            self::checkEnvelopeSize($env[1], $maxEnvelope);
            $archiveAt = $env[0] + $env[1];
            if ($archiveAt > $fileSize) {
                throw new FormatException('MALFORMED', 'the bundle is truncated inside its envelope');
            }
            return ['version' => 1, 'envelope' => $env, 'archive' => [$archiveAt, $fileSize - $archiveAt]];
        }
        if ($m[1] !== '2') {
            throw Canonical::unsupported('bundle', (int) $m[1], 'bundle v' . $m[1]);
        }
        if (!preg_match('/^countersign-bundle v2 ([1-9])\n/', $text, $m)) {
            throw new FormatException('MALFORMED', 'bad bundle v2 header line (countersign-bundle v2 <count>)');
        }
        $at = strlen($m[0]);
        $lines = [];
        for ($i = 0; $i < (int) $m[1]; $i++) {
            $line = [];
            if (!preg_match('/\G([a-z]{1,16}) (0|[1-9][0-9]{0,14})\n/', $text, $line, 0, $at)) {
                throw new FormatException('MALFORMED', 'bundle section line ' . ($i + 1) . ' is not "<name> <length>" within the first ' . self::HEADER_MAX . ' bytes');
            }
            $at += strlen($line[0]);
            $name = $line[1];
            // The proof section is defined but no verifier reads it yet: refused rather than skipped unchecked.
            if (!in_array($name, ['envelope', 'proof', 'archive'], true)) {
                throw Canonical::unsupported('bundle', 2, 'bundle section "' . $name . '"');
            }
            foreach ($lines as $l) {
                if ($l[0] === $name) {
                    throw Canonical::unsupported('bundle', 2, 'a duplicated bundle section "' . $name . '"');
                }
            }
            $lines[] = [$name, (int) $line[2]];
        }
        if ($lines[0][0] !== 'envelope') {
            throw new FormatException('MALFORMED', 'the first bundle section must be the envelope');
        }
        $archiveIndex = null;
        foreach ($lines as $i => $l) {
            if ($l[0] === 'archive') {
                $archiveIndex = $i;
            }
        }
        if ($archiveIndex !== null && $archiveIndex !== count($lines) - 1) {
            throw new FormatException('MALFORMED', 'the archive must be the last bundle section');
        }
        foreach ($lines as $l) {
            if ($l[0] === 'proof' && $l[1] > self::MAX_PROOF_BYTES) {
                throw new FormatException('SIZE_LIMIT', "the bundle's proof section is " . $l[1] . ' bytes; the limit is ' . self::MAX_PROOF_BYTES);
            }
        }
        $offset = $at;
        $sections = [];
        foreach ($lines as $l) {
            $sections[$l[0]] = [$offset, $l[1]];
            $offset += $l[1];
        }
        self::checkEnvelopeSize($sections['envelope'][1], $maxEnvelope);
        if ($offset !== $fileSize) {
            throw new FormatException('MALFORMED', "the bundle's sections add up to " . $offset . ' bytes, but it has ' . $fileSize);
        }
        return ['version' => 2, 'envelope' => $sections['envelope'], 'proof' => $sections['proof'] ?? null, 'archive' => $sections['archive'] ?? null];
    }

    private static function checkEnvelopeSize(int $length, int $max): void
    {
        if ($length > $max) {
            throw new FormatException('SIZE_LIMIT', 'bundle envelope is ' . $length . ' bytes; the limit is ' . $max);
        }
    }
}
