<?php

declare(strict_types=1);

namespace Countersign;

/** DSSE envelopes (lib/core/envelope.ts): a payload's exact bytes and signatures over PAE(payloadType, payload). */
final class Envelope
{
    public const MAX_BYTES = 16777216;
    public const TYPES = [
        'policy' => 'application/vnd.countersign.policy+json',
        'manifest' => 'application/vnd.countersign.manifest+json',
        'revocation' => 'application/vnd.countersign.revocation+json',
    ];

    /** @var array{payloadType:string,payload:string,signatures:list<array{keyid:string,sig:string}>} */
    public $envelope;
    /** @var string policy, manifest or revocation */
    public $kind;
    /** @var string the decoded payload: the signed bytes */
    public $payloadBytes;
    /** @var string */
    public $payloadSha256;

    public static function pae(string $payloadType, string $payload): string
    {
        return 'DSSEv1 ' . strlen($payloadType) . ' ' . $payloadType . ' ' . strlen($payload) . ' ' . $payload;
    }

    /** @return mixed */
    public static function parseJsonBytes(string $bytes, string $what, int $max = self::MAX_BYTES)
    {
        if (strlen($bytes) > $max) {
            throw new FormatException('SIZE_LIMIT', $what . ' is ' . strlen($bytes) . ' bytes; the limit is ' . $max);
        }
        return Json::parseStrict(Bytes::utf8($bytes, $what), $what);
    }

    public static function open(string $bytes, string $what = 'envelope'): self
    {
        $envelope = Canonical::plain(Schema::validate('envelope', self::parseJsonBytes($bytes, $what), $what));
        $kind = array_search($envelope['payloadType'], self::TYPES, true);
        if ($kind === false) {
            throw new FormatException('WRONG_TYPE', $what . ' has unknown payloadType ' . Json::quote($envelope['payloadType']));
        }
        $opened = new self();
        $opened->envelope = $envelope;
        $opened->kind = (string) $kind;
        $opened->payloadBytes = Bytes::fromBase64($envelope['payload'], $what . ' payload');
        $opened->payloadSha256 = hash('sha256', $opened->payloadBytes);
        return $opened;
    }

    public function expectKind(string $kind, string $what): void
    {
        if ($this->kind !== $kind) {
            throw new FormatException('WRONG_TYPE', $what . ' is a ' . $this->kind . ', not a ' . $kind, ['expected' => $kind, 'found' => $this->kind]);
        }
    }
}
