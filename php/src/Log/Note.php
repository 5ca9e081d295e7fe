<?php

declare(strict_types=1);

namespace Countersign\Log;

use Countersign\Bytes;
use Countersign\Ed25519;
use Countersign\FormatException;
use Countersign\Json;

/**
 * C2SP signed-note (lib/log/note.ts): the text (ending in a newline), a blank line, then 1-100 signature lines
 * "— <name> base64(keyID[4] ‖ signature)". Verification: lines of unknown (name, key id) are ignored, every line of
 * a known key must verify (else the note is refused), at least one must. Refusals are BAD_NOTE.
 */
final class Note
{
    public const SIG_ED25519 = 0x01;
    public const SIG_COSIGNATURE_V1 = 0x04;
    public const MAX_NOTE_BYTES = 65536;
    public const MAX_SIGNATURES = 100;
    private const SIG_PREFIX = "\u{2014} ";
    // Go's unicode.IsSpace set, as lib/log/note.ts UNICODE_SPACE.
    private const UNICODE_SPACE = '/[\t\n\x{0b}\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]/u';
    private const CONTROL = '/[\x00-\x09\x0b-\x1f]/';

    /** @var string the signed text, final newline included */
    public $text;
    /** @var list<array{name:string,keyId:int,signature:string,line:string}> */
    public $signatures;

    /** @param list<array{name:string,keyId:int,signature:string,line:string}> $signatures */
    public function __construct(string $text, array $signatures)
    {
        $this->text = $text;
        $this->signatures = $signatures;
    }

    /** @param array<string,mixed> $details */
    private static function bad(string $message, array $details = []): LogException
    {
        return new LogException('BAD_NOTE', $message, $details);
    }

    /** Key names: non-empty UTF-8, no Unicode space, no "+", no control character. */
    public static function isValidKeyName(string $name): bool
    {
        return $name !== '' && Bytes::isUtf8($name) && preg_match(self::UNICODE_SPACE, $name) === 0 && strpos($name, '+') === false
            && preg_match(self::CONTROL, $name) === 0;
    }

    /** Strict standard base64 (padded, canonical), refused with $code. */
    public static function decodeBase64(string $text, string $what, string $code = 'BAD_NOTE'): string
    {
        try {
            return Bytes::fromBase64($text, $what);
        } catch (FormatException $e) {
            throw new LogException($code, $what . ' is not canonical padded base64');
        }
    }

    /** SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4] as a big-endian uint32. */
    public static function keyId(string $name, int $type, string $publicKey): int
    {
        $h = hash('sha256', $name . "\n" . chr($type) . $publicKey, true);
        return (int) unpack('N', $h)[1];
    }

    public static function hex8(int $id): string
    {
        return sprintf('%08x', $id);
    }

    /** Splits a note into its text and signature lines; refuses anything the format does not allow. */
    public static function parse(string $bytes): self
    {
        if (strlen($bytes) > self::MAX_NOTE_BYTES) {
            throw self::bad('the note is ' . strlen($bytes) . ' bytes; the limit is ' . self::MAX_NOTE_BYTES);
        }
        if (!Bytes::isUtf8($bytes)) {
            throw self::bad('the note is not valid UTF-8');
        }
        if (preg_match(self::CONTROL, $bytes) === 1) {
            throw self::bad('the note holds a control character other than newline');
        }
        // The text is separated from the signatures by the last blank line.
        $split = strrpos($bytes, "\n\n");
        if ($split === false) {
            throw self::bad('the note has no blank line before its signatures');
        }
        $body = substr($bytes, 0, $split + 1);
        $block = (string) substr($bytes, $split + 2);
        if ($block === '' || substr($block, -1) !== "\n") {
            throw self::bad('the note has no signature lines, or they do not end in a newline');
        }
        $lines = explode("\n", substr($block, 0, -1));
        if (count($lines) > self::MAX_SIGNATURES) {
            throw self::bad('the note has ' . count($lines) . ' signature lines; the limit is ' . self::MAX_SIGNATURES);
        }
        $signatures = [];
        foreach ($lines as $line) {
            if (strncmp($line, self::SIG_PREFIX, strlen(self::SIG_PREFIX)) !== 0) {
                throw self::bad('a signature line does not start with an em dash and a space', ['line' => $line]);
            }
            $rest = (string) substr($line, strlen(self::SIG_PREFIX));
            $space = strpos($rest, ' ');
            $name = $space === false ? $rest : substr($rest, 0, $space);
            if ($space === false || !self::isValidKeyName($name)) {
                throw self::bad('a signature line has no valid key name', ['line' => $line]);
            }
            $raw = self::decodeBase64((string) substr($rest, $space + 1), 'a note signature');
            if (strlen($raw) < 5) {
                throw self::bad('a note signature is shorter than a key id and one byte', ['line' => $line]);
            }
            $signatures[] = ['name' => $name, 'keyId' => (int) unpack('N', $raw)[1], 'signature' => substr($raw, 4), 'line' => $line];
        }
        return new self($body, $signatures);
    }

    /** The note's text, a blank line and its signature lines. */
    public function format(): string
    {
        $out = $this->text . "\n";
        foreach ($this->signatures as $s) {
            $out .= $s['line'] . "\n";
        }
        return $out;
    }

    /**
     * Verifies the note with $verifiers; returns the signatures a known key verified, one per key (its first line),
     * in note order, as [verifier, signature] pairs.
     * @param list<NoteVerifier> $verifiers
     * @return list<array{0:NoteVerifier,1:array{name:string,keyId:int,signature:string,line:string}}>
     */
    public function verify(array $verifiers): array
    {
        $verified = [];
        foreach ($this->signatures as $sig) {
            $verifier = null;
            foreach ($verifiers as $v) {
                if ($v->name === $sig['name'] && $v->keyId === $sig['keyId']) {
                    $verifier = $v;
                    break;
                }
            }
            if ($verifier === null) {
                continue;
            }
            if (!$verifier->verify($this->text, $sig['signature'])) {
                throw self::bad('the signature by ' . $sig['name'] . ' (key id ' . self::hex8($sig['keyId']) . ') does not verify', ['name' => $sig['name'], 'keyId' => self::hex8($sig['keyId'])]);
            }
            $seen = false;
            foreach ($verified as $pair) {
                $seen = $seen || $pair[0] === $verifier;
            }
            if (!$seen) {
                $verified[] = [$verifier, $sig];
            }
        }
        if (count($verified) === 0) {
            throw self::bad('no known key signed the note', ['signers' => array_map(function (array $s): string {
                return $s['name'] . '+' . self::hex8($s['keyId']);
            }, $this->signatures)]);
        }
        return $verified;
    }

    /**
     * Parses a vkey "<name>+<hex8 key id>+base64(type ‖ key)", split at the first two "+" only (the base64 may hold
     * more): type 1 or 4, a 32-byte key a policy may admit (Ed25519::isStrongPublicKey), the key id the one the name,
     * type and key give. Refusals are BAD_VKEY.
     */
    public static function parseVkey(string $text): NoteVerifier
    {
        $fail = function (string $why) use ($text): void {
            throw new LogException('BAD_VKEY', 'vkey ' . Json::quote(Bytes::isUtf8($text) ? (string) substr($text, 0, 200) : '(not UTF-8)') . ': ' . $why);
        };
        $first = strpos($text, '+');
        $second = $first === false ? false : strpos($text, '+', $first + 1);
        if ($first === false || $second === false) {
            $fail('not <name>+<key id>+<key>');
        }
        $name = substr($text, 0, (int) $first);
        $id = substr($text, (int) $first + 1, (int) $second - (int) $first - 1);
        $key = (string) substr($text, (int) $second + 1);
        if (!self::isValidKeyName($name)) {
            $fail('the key name is empty or holds a space or control character');
        }
        if (preg_match('/^[0-9a-f]{8}$/D', $id) !== 1) {
            $fail('the key id is not 8 lower-case hex digits');
        }
        $raw = '';
        try {
            $raw = self::decodeBase64($key, 'the key', 'BAD_VKEY');
        } catch (LogException $e) {
            $fail($e->getMessage());
        }
        $type = $raw === '' ? -1 : ord($raw[0]);
        if ($type !== self::SIG_ED25519 && $type !== self::SIG_COSIGNATURE_V1) {
            $fail('signature type ' . ($type < 0 ? 'undefined' : (string) $type) . ' is not Ed25519 (1) or cosignature/v1 (4)');
        }
        $publicKey = (string) substr($raw, 1);
        if (strlen($publicKey) !== 32) {
            $fail('an Ed25519 key is 32 bytes');
        }
        if (!Ed25519::isStrongPublicKey($publicKey)) {
            $fail('the key is not canonical, of small order, or outside the prime-order subgroup');
        }
        $keyId = self::keyId($name, $type, $publicKey);
        if (self::hex8($keyId) !== $id) {
            $fail('the key id is ' . self::hex8($keyId) . ', not ' . $id);
        }
        return new NoteVerifier($name, $keyId, $type, $publicKey);
    }
}
