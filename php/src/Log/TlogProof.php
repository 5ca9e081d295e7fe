<?php

declare(strict_types=1);

namespace Countersign\Log;

use Countersign\Bytes;

/**
 * C2SP tlog-proof@v1 (lib/log/proof.ts), the offline proof a bundle carries: the header line, an optional
 * `extra <base64>` (countersign: the entry bytes, unauthenticated until checked against the document),
 * `index <decimal>`, 0-63 base64 inclusion-proof hashes, an empty line, then the checkpoint note verbatim.
 * Anything but that one spelling is BAD_PROOF (a malformed checkpoint inside is BAD_CHECKPOINT or BAD_NOTE).
 */
final class TlogProof
{
    public const HEADER = 'c2sp.org/tlog-proof@v1';
    public const MAX_BYTES = 131072;
    public const MAX_HASHES = 63;

    /** @var string|null */
    public $extra;
    /** @var int */
    public $index;
    /** @var list<string> */
    public $proof;
    /** @var Checkpoint */
    public $checkpoint;

    private static function bad(string $message): LogException
    {
        return new LogException('BAD_PROOF', $message);
    }

    public static function parse(string $bytes): self
    {
        if (strlen($bytes) > self::MAX_BYTES) {
            throw self::bad('the proof is ' . strlen($bytes) . ' bytes; the limit is ' . self::MAX_BYTES);
        }
        if (!Bytes::isUtf8($bytes)) {
            throw self::bad('the proof is not valid UTF-8');
        }
        $blank = strpos($bytes, "\n\n");
        if ($blank === false) {
            throw self::bad('the proof has no empty line before its checkpoint');
        }
        $head = explode("\n", substr($bytes, 0, $blank));
        $note = (string) substr($bytes, $blank + 2);
        // lib/log/proof.ts compares the note's length in UTF-16 code units (a JavaScript string's length).
        if (Bytes::utf16Length($note) > Note::MAX_NOTE_BYTES) {
            throw self::bad('the checkpoint note is too large');
        }
        if ($head[0] !== self::HEADER) {
            throw self::bad('the proof does not start with ' . self::HEADER);
        }
        $p = new self();
        $at = 1;
        if (isset($head[$at]) && strncmp($head[$at], 'extra ', 6) === 0) {
            $p->extra = Note::decodeBase64((string) substr($head[$at], 6), 'the extra data', 'BAD_PROOF');
            if ($p->extra === '') {
                throw self::bad('extra data, when present, is not empty');
            }
            $at++;
        }
        $m = [];
        $index = preg_match('/^index (0|[1-9][0-9]*)$/D', $head[$at] ?? '', $m) === 1 ? Checkpoint::safeDecimal($m[1]) : null;
        if ($index === null) {
            throw self::bad('the proof has no "index <decimal>" line (no leading zeros, below 2^53)');
        }
        $p->index = $index;
        $p->proof = [];
        foreach (array_slice($head, $at + 1) as $line) {
            $h = Note::decodeBase64($line, 'an inclusion proof hash', 'BAD_PROOF');
            if (strlen($h) !== Merkle::HASH_BYTES) {
                throw self::bad('an inclusion proof hash is not 32 bytes');
            }
            $p->proof[] = $h;
        }
        if (count($p->proof) > self::MAX_HASHES) {
            throw self::bad('the inclusion proof has more than 63 hashes');
        }
        $p->checkpoint = Checkpoint::parseSigned($note);
        return $p;
    }
}
