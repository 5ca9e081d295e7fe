<?php

declare(strict_types=1);

namespace Countersign\SignerKinds;

use Countersign\SignatureException;

/** RFC 4251 reading (lib/core/sshsig.ts WireReader): u32 big-endian lengths; an overrun is SIGNATURE_MALFORMED. */
final class WireReader
{
    /** @var string */
    private $bytes;
    /** @var string */
    private $what;
    /** @var int */
    private $at = 0;

    public function __construct(string $bytes, string $what)
    {
        $this->bytes = $bytes;
        $this->what = $what;
    }

    public function raw(int $n): string
    {
        if ($this->at + $n > strlen($this->bytes)) {
            throw new SignatureException('SIGNATURE_MALFORMED', $this->what . ' is truncated');
        }
        $out = (string) substr($this->bytes, $this->at, $n);
        $this->at += $n;
        return $out;
    }

    public function u8(): int
    {
        return ord($this->raw(1));
    }

    /** @return int|float a float only on 32-bit PHP, for values of 2^31 and more */
    public function u32()
    {
        $v = unpack('N', $this->raw(4))[1];
        return $v < 0 ? $v + 4294967296 : $v;
    }

    public function string(): string
    {
        $n = $this->u32();
        if (!is_int($n)) {
            throw new SignatureException('SIGNATURE_MALFORMED', $this->what . ' is truncated');
        }
        return $this->raw($n);
    }

    public function end(): void
    {
        $left = strlen($this->bytes) - $this->at;
        if ($left !== 0) {
            throw new SignatureException('TRAILING_BYTES', $this->what . ' has ' . $left . ' bytes after its last field');
        }
    }
}
