<?php

declare(strict_types=1);

namespace Countersign;

/**
 * SHA-256 of one archive entry's content, fed in pieces. Entries up to BUFFER bytes are collected and hashed by OpenSSL
 * in one call (SHA-NI where the CPU has it; PHP 8.2's own SHA-256 has no such path and is several times slower); larger
 * ones stream through hash_update, so memory stays bounded whatever the entry size.
 */
final class EntryHash
{
    public const BUFFER = 8388608;

    /** @var string|null */
    private $buffer;
    /** @var \HashContext|resource|null */
    private $context;

    public function __construct(int $size)
    {
        if ($size <= self::BUFFER && function_exists('openssl_digest')) {
            $this->buffer = '';
        } else {
            $this->context = hash_init('sha256');
        }
    }

    public function update(string $piece): void
    {
        if ($this->buffer !== null) {
            $this->buffer .= $piece;
        } else {
            hash_update($this->context, $piece);
        }
    }

    /** Lower-case hex. */
    public function final(): string
    {
        if ($this->buffer !== null) {
            $digest = openssl_digest($this->buffer, 'sha256');
            $digest = is_string($digest) ? $digest : hash('sha256', $this->buffer);
            $this->buffer = null;
            return $digest;
        }
        return hash_final($this->context);
    }
}
