<?php

declare(strict_types=1);

namespace Countersign\Log;

/**
 * C2SP tlog-checkpoint (lib/log/checkpoint.ts): the note text "<origin>\n<size>\n<base64 root>\n[extension\n]…",
 * signed by the log as a signed note whose key name is the origin. Malformed texts are BAD_CHECKPOINT.
 */
final class Checkpoint
{
    public const MAX_SAFE_INTEGER = 9007199254740991;

    /** @var string */
    public $origin;
    /** @var int */
    public $size;
    /** @var string */
    public $root;
    /** @var list<string> */
    public $extensions;
    /** @var Note */
    public $note;

    private static function bad(string $message): LogException
    {
        return new LogException('BAD_CHECKPOINT', $message);
    }

    /** A decimal without leading zeros below 2^53, or null. */
    public static function safeDecimal(string $s): ?int
    {
        if (preg_match('/^(0|[1-9][0-9]{0,15})$/D', $s) !== 1 || (float) $s > (float) self::MAX_SAFE_INTEGER) {
            return null;
        }
        return (int) $s;
    }

    /** Parses a signed checkpoint note without verifying a signature. */
    public static function parseSigned(string $note): self
    {
        $parsed = Note::parse($note);
        $cp = self::parseText($parsed->text);
        $cp->note = $parsed;
        return $cp;
    }

    /** Parses a checkpoint's note text (final newline included). */
    public static function parseText(string $text): self
    {
        if (substr($text, -1) !== "\n") {
            throw self::bad('a checkpoint text ends in a newline');
        }
        $lines = explode("\n", substr($text, 0, -1));
        if (count($lines) < 3) {
            throw self::bad('a checkpoint has an origin, a size and a root hash line');
        }
        $cp = new self();
        $cp->origin = $lines[0];
        if ($cp->origin === '') {
            throw self::bad('the checkpoint origin is empty');
        }
        $size = self::safeDecimal($lines[1]);
        if ($size === null) {
            throw self::bad('the checkpoint size "' . $lines[1] . '" is not a decimal below 2^53 without leading zeros');
        }
        $cp->size = $size;
        $cp->root = Note::decodeBase64($lines[2], 'the checkpoint root hash', 'BAD_CHECKPOINT');
        if (strlen($cp->root) !== Merkle::HASH_BYTES) {
            throw self::bad('the checkpoint root hash is not 32 bytes');
        }
        $cp->extensions = array_slice($lines, 3);
        if (in_array('', $cp->extensions, true)) {
            throw self::bad('a checkpoint extension line is empty');
        }
        return $cp;
    }

    /** The log's signature: the origin must be the log key's name (BAD_CHECKPOINT), and the log key must sign it (BAD_NOTE). */
    public function open(NoteVerifier $log): void
    {
        if ($this->origin !== $log->name) {
            throw new LogException('BAD_CHECKPOINT', 'the checkpoint is for origin "' . $this->origin . '", not "' . $log->name . '"', ['origin' => $this->origin, 'expected' => $log->name]);
        }
        $this->note->verify([$log]);
    }
}
