<?php

declare(strict_types=1);

namespace Countersign;

/**
 * A strict ustar push parser of our own (lib/core/tar.ts TarReader): it accepts exactly what countersign's writer
 * emits. PharData is never used: it keeps the last of two equal names, hides ../ entries it would still extract,
 * and accepts trailing garbage. Feed chunks with push(), then end(); entry content goes to the callbacks as it
 * streams, so nothing is held in memory and nothing touches the disk.
 */
final class TarReader
{
    private const BLOCK = 512;
    private const UNSAFE_KINDS = ['1' => 'a hard link', '2' => 'a symbolic link', '3' => 'a character device', '4' => 'a block device', '6' => 'a FIFO'];
    private const OTHER_KINDS = ["\0" => 'an old-style (pre-POSIX) regular file', '5' => 'a directory', '7' => 'a contiguous file', 'x' => 'a pax extended header', 'g' => 'a pax global header', 'L' => 'a GNU long name', 'K' => 'a GNU long link name'];

    /** @var callable|null (array header) */
    private $onStart;
    /** @var callable|null (string data) */
    private $onData;
    /** @var callable|null (array header) */
    private $onEnd;
    /** @var int */
    private $maxEntries;
    /** @var string */
    private $block = '';
    /** @var string header|data|padding|end|done */
    private $state = 'header';
    /** @var int */
    private $remaining = 0;
    /** @var array<string,mixed>|null */
    private $current;
    /** @var PathSet */
    private $paths;
    /** @var string|null */
    private $previous;
    /** @var \Throwable|null */
    private $failure;
    /** @var int */
    private $count = 0;
    /** @var int */
    private $offset = 0;

    public function __construct(?callable $onStart = null, ?callable $onData = null, ?callable $onEnd = null, int $maxEntries = 100000)
    {
        $this->onStart = $onStart;
        $this->onData = $onData;
        $this->onEnd = $onEnd;
        $this->maxEntries = $maxEntries;
        $this->paths = new PathSet();
    }

    /** @return never */
    private static function malformed(string $message, array $details = [])
    {
        throw new ArchiveException('ARCHIVE_MALFORMED', $message, $details);
    }

    private static function describe(int $index, ?string $path): string
    {
        return $path === null ? 'entry #' . ($index + 1) : 'entry #' . ($index + 1) . ' (' . Json::quote($path) . ')';
    }

    private static function allZero(string $s): bool
    {
        return strspn($s, "\0") === strlen($s);
    }

    public function push(string $chunk): void
    {
        if ($this->failure !== null) {
            throw $this->failure;
        }
        try {
            $this->consume($chunk);
        } catch (\Throwable $e) {
            $this->failure = $e;
            throw $e;
        }
    }

    public function end(): void
    {
        if ($this->failure !== null) {
            throw $this->failure;
        }
        if ($this->state === 'done') {
            return;
        }
        $where = $this->current !== null ? 'inside ' . self::describe($this->count - 1, $this->current['path']) : ($this->state === 'end' ? 'after the first end-of-archive block' : 'after ' . $this->count . ' entries');
        $this->failure = new ArchiveException('ARCHIVE_MALFORMED', 'archive truncated ' . $where . ' (no end-of-archive marker)', ['offset' => $this->offset]);
        throw $this->failure;
    }

    private function consume(string $chunk): void
    {
        $length = strlen($chunk);
        $at = 0;
        while ($at < $length) {
            switch ($this->state) {
                case 'header':
                case 'end':
                    $need = self::BLOCK - strlen($this->block);
                    $piece = substr($chunk, $at, $need);
                    $at += strlen($piece);
                    $this->block .= $piece;
                    if (strlen($this->block) < self::BLOCK) {
                        break;
                    }
                    $block = $this->block;
                    $this->block = '';
                    $this->offset += self::BLOCK;
                    $this->onBlock($block);
                    break;
                case 'data':
                    $n = min($this->remaining, $length - $at);
                    if ($this->onData !== null) {
                        ($this->onData)($at === 0 && $n === $length ? $chunk : substr($chunk, $at, $n));
                    }
                    $at += $n;
                    $this->offset += $n;
                    $this->remaining -= $n;
                    if ($this->remaining === 0) {
                        $this->afterData();
                    }
                    break;
                case 'padding':
                    $n = min($this->remaining, $length - $at);
                    if (strspn($chunk, "\0", $at, $n) !== $n) {
                        self::malformed(self::describe($this->count - 1, $this->current['path']) . ': padding after the content is not zero', ['offset' => $this->offset]);
                    }
                    $at += $n;
                    $this->offset += $n;
                    $this->remaining -= $n;
                    if ($this->remaining === 0) {
                        $this->endEntry();
                    }
                    break;
                default:
                    self::malformed('data after the end-of-archive marker (at byte ' . $this->offset . ')', ['offset' => $this->offset]);
            }
        }
    }

    private function onBlock(string $block): void
    {
        if ($this->state === 'end') {
            if (!self::allZero($block)) {
                self::malformed('a single zero block followed by data at byte ' . ($this->offset - self::BLOCK), ['offset' => $this->offset - self::BLOCK]);
            }
            $this->state = 'done';
            return;
        }
        if (self::allZero($block)) {
            $this->state = 'end';
            return;
        }
        if ($this->count >= $this->maxEntries) {
            throw new ArchiveException('SIZE_LIMIT', 'archive has more than ' . $this->maxEntries . ' entries', ['maxEntries' => $this->maxEntries]);
        }
        $header = self::parseHeader($block, $this->count);
        $this->paths->add($header['path']);
        if ($this->previous !== null && strcmp($this->previous, $header['path']) >= 0) {
            self::malformed(self::describe($this->count, $header['path']) . ' is out of path byte order', ['path' => $header['path']]);
        }
        $this->previous = $header['path'];
        $this->count++;
        $this->current = $header;
        if ($this->onStart !== null) {
            ($this->onStart)($header);
        }
        $this->remaining = $header['size'];
        if ($header['size'] > 0) {
            $this->state = 'data';
        } else {
            $this->afterData();
        }
    }

    private function afterData(): void
    {
        $pad = (self::BLOCK - $this->current['size'] % self::BLOCK) % self::BLOCK;
        if ($pad > 0) {
            $this->state = 'padding';
            $this->remaining = $pad;
        } else {
            $this->endEntry();
        }
    }

    private function endEntry(): void
    {
        $header = $this->current;
        $this->current = null;
        $this->state = 'header';
        if ($this->onEnd !== null) {
            ($this->onEnd)($header);
        }
    }

    private static function readOctal(string $block, int $offset, int $width, string $field, string $where): int
    {
        $digits = substr($block, $offset, $width - 1);
        if (strspn($digits, '01234567') !== $width - 1 || $block[$offset + $width - 1] !== "\0") {
            self::malformed($where . ': ' . $field . ' field is not ' . ($width - 1) . ' octal digits and a NUL', ['field' => $field]);
        }
        return (int) octdec($digits);
    }

    /** Bytes up to the first NUL, or null when anything but NUL follows it. */
    private static function readString(string $block, int $offset, int $width): ?string
    {
        $field = substr($block, $offset, $width);
        $nul = strpos($field, "\0");
        if ($nul === false) {
            return $field;
        }
        return self::allZero(substr($field, $nul)) ? substr($field, 0, $nul) : null;
    }

    private static function lossy(string $bytes): string
    {
        return Bytes::isUtf8($bytes) ? $bytes : (string) preg_replace('/[\x80-\xff]/', "\u{fffd}", $bytes);
    }

    private static function roughPath(string $block): string
    {
        $cut = function (string $b): string {
            $i = strpos($b, "\0");
            return $i === false ? $b : substr($b, 0, $i);
        };
        $p = $cut(substr($block, 345, 155));
        $n = $cut(substr($block, 0, 100));
        return self::lossy($p !== '' ? $p . '/' . $n : $n);
    }

    public static function checksum(string $block): int
    {
        $sum = 8 * 0x20;
        foreach (count_chars(substr($block, 0, 148) . substr($block, 156, 356), 1) as $byte => $n) {
            $sum += $byte * $n;
        }
        return $sum;
    }

    /** @return array{path:string,mode:string,size:int,mtime:int} */
    public static function parseHeader(string $block, int $index): array
    {
        $where = self::describe($index, null);
        if ($block[154] !== "\0" || $block[155] !== ' ') {
            self::malformed($where . ': checksum field is not six octal digits, NUL, space');
        }
        $stored = self::readOctal($block, 148, 7, 'checksum', $where);
        if ($stored !== self::checksum($block)) {
            self::malformed($where . ': header checksum mismatch');
        }
        $rough = self::roughPath($block);
        $where = self::describe($index, $rough);
        if (substr($block, 257, 8) !== "ustar\x0000") {
            self::malformed($where . ': not a POSIX ustar header (magic/version)');
        }
        $type = $block[156];
        if ($type !== '0') {
            if (isset(self::UNSAFE_KINDS[$type])) {
                throw new ArchiveException('UNSAFE_PATH', $where . ' is ' . self::UNSAFE_KINDS[$type] . '; only regular files are allowed', ['path' => $rough, 'typeflag' => $type]);
            }
            self::malformed($where . ' is ' . (self::OTHER_KINDS[$type] ?? 'of unknown type ' . Json::quote(self::lossy($type))) . '; only regular files are allowed', ['typeflag' => self::lossy($type)]);
        }
        $modeBits = self::readOctal($block, 100, 8, 'mode', $where);
        if (($modeBits & 07000) !== 0) {
            throw new ArchiveException('UNSAFE_PATH', $where . ' has setuid, setgid or sticky bits (mode ' . decoct($modeBits) . ')', ['path' => $rough, 'mode' => $modeBits]);
        }
        if ($modeBits !== 0644 && $modeBits !== 0755) {
            self::malformed($where . ': mode ' . str_pad(decoct($modeBits), 4, '0', STR_PAD_LEFT) . ' is not 0644 or 0755');
        }
        $mode = $modeBits === 0755 ? '0755' : '0644';
        if (self::readOctal($block, 108, 8, 'uid', $where) !== 0) {
            self::malformed($where . ': uid is not 0');
        }
        if (self::readOctal($block, 116, 8, 'gid', $where) !== 0) {
            self::malformed($where . ': gid is not 0');
        }
        $size = self::readOctal($block, 124, 12, 'size', $where);
        $mtime = self::readOctal($block, 136, 12, 'mtime', $where);
        if (!self::allZero(substr($block, 157, 100))) {
            self::malformed($where . ': link name is not empty');
        }
        if (!self::allZero(substr($block, 265, 32))) {
            self::malformed($where . ': user name is not empty');
        }
        if (!self::allZero(substr($block, 297, 32))) {
            self::malformed($where . ': group name is not empty');
        }
        self::readOctal($block, 329, 8, 'devmajor', $where);
        self::readOctal($block, 337, 8, 'devminor', $where);
        $name = self::readString($block, 0, 100);
        $prefix = self::readString($block, 345, 155);
        if ($name === null || $prefix === null) {
            self::malformed($where . ': name or prefix field has bytes after its NUL terminator');
        }
        $path = $prefix !== '' ? $prefix . '/' . $name : $name;
        if (!Bytes::isUtf8($path)) {
            throw new ArchiveException('UNSAFE_PATH', $where . ': path is not valid UTF-8', ['path' => $rough]);
        }
        Paths::check($path);
        $header = ['path' => $path, 'mode' => $mode, 'size' => $size, 'mtime' => $mtime];
        if (!hash_equals(self::encodeHeader($header), $block)) {
            self::malformed($where . ': header is not in canonical form');
        }
        return $header;
    }

    /** The one header countersign's writer emits for these facts (lib/core/tar.ts encodeHeader). @param array{path:string,mode:string,size:int,mtime:int} $h */
    public static function encodeHeader(array $h): string
    {
        $split = Paths::ustarSplit($h['path']);
        if ($split === null) {
            self::malformed('path cannot be stored in a canonical ustar header');
        }
        $octal = function (int $v, int $width): string {
            return str_pad(decoct($v), $width - 1, '0', STR_PAD_LEFT) . "\0";
        };
        $block = str_pad($split[1], 100, "\0")
            . $octal($h['mode'] === '0755' ? 0755 : 0644, 8) . $octal(0, 8) . $octal(0, 8)
            . $octal($h['size'], 12) . $octal($h['mtime'], 12)
            . '        ' . '0' . str_repeat("\0", 100) . "ustar\x0000" . str_repeat("\0", 64)
            . $octal(0, 8) . $octal(0, 8) . str_pad($split[0], 155, "\0") . str_repeat("\0", 12);
        return substr($block, 0, 148) . $octal(self::checksum($block), 7) . ' ' . substr($block, 156);
    }
}
