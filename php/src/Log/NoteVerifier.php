<?php

declare(strict_types=1);

namespace Countersign\Log;

use Countersign\Ed25519;

/**
 * A parsed vkey that checks signature lines: type 1 is strict Ed25519 over the note text; type 4 is cosignature/v1
 * (lib/log/cosignature.ts), a 72-byte signature (u64 big-endian timestamp ‖ Ed25519) over
 * "cosignature/v1\ntime <T>\n" followed by the text. Always through Ed25519::verifyStrict (prechecks, then sodium).
 */
final class NoteVerifier
{
    /** @var string */
    public $name;
    /** @var int */
    public $keyId;
    /** @var int */
    public $type;
    /** @var string */
    public $publicKey;

    public function __construct(string $name, int $keyId, int $type, string $publicKey)
    {
        $this->name = $name;
        $this->keyId = $keyId;
        $this->type = $type;
        $this->publicKey = $publicKey;
    }

    public function verify(string $text, string $signature): bool
    {
        if ($this->type === Note::SIG_ED25519) {
            return Ed25519::verifyStrict($signature, $text, $this->publicKey);
        }
        $t = Cosignature::timestamp($signature);
        if ($t === null) {
            return false;
        }
        return Ed25519::verifyStrict(substr($signature, 8), Cosignature::message($text, $t), $this->publicKey);
    }
}
