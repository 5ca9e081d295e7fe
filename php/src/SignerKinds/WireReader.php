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

    public function u32(): int
    {
        return (int) unpack('N', $this->raw(4))[1];
    }

    public function string(): string
    {
        return $this->raw($this->u32());
    }

    public function end(): void
    {
        $left = strlen($this->bytes) - $this->at;
        if ($left !== 0) {
            throw new SignatureException('TRAILING_BYTES', $this->what . ' has ' . $left . ' bytes after its last field');
        }
    }
}
