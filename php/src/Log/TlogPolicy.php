<?php

declare(strict_types=1);

namespace Countersign\Log;

use Countersign\Bytes;

/**
 * C2SP tlog-policy (lib/log/tlog-policy.ts): `log <vkey> [url]`, `witness <name> <vkey> [url]`,
 * `group <name> all|any|<k> <member>…`, exactly one `quorum <name>|none`; names defined before use, once; one public
 * key listed once across logs and witnesses. Every refusal is BAD_LOG_POLICY naming the line.
 */
final class TlogPolicy
{
    public const MAX_ITEMS = 256;
    public const MAX_BYTES = 262144;

    /** @var list<array{vkey:string,key:NoteVerifier,url?:string}> */
    public $logs = [];
    /** @var array<string,array{name:string,vkey:string,key:NoteVerifier,url?:string}> by policy name, in order */
    public $witnesses = [];
    /** @var array<string,array{name:string,threshold:int,members:list<string>}> */
    public $groups = [];
    /** @var string a witness or group name, or 'none' */
    public $quorum = '';

    public static function parse(string $bytes): self
    {
        if (strlen($bytes) > self::MAX_BYTES) {
            throw new LogException('BAD_LOG_POLICY', 'the log policy is ' . strlen($bytes) . ' bytes; the limit is ' . self::MAX_BYTES);
        }
        $m = [];
        // Octets allowed: tab, newline, 0x20-0x7E and 0x80-0xFF (non-ASCII is opaque: names compare as bytes).
        if (preg_match('/[\x00-\x08\x0b-\x1f\x7f]/', $bytes, $m) === 1) {
            throw new LogException('BAD_LOG_POLICY', 'the log policy holds control byte 0x' . bin2hex($m[0]));
        }
        $p = new self();
        $quorumSeen = false;
        $lines = explode("\n", $bytes);
        if (end($lines) === '') {
            array_pop($lines);
        }
        foreach ($lines as $i => $raw) {
            $fail = function (string $why) use ($i): void {
                throw new LogException('BAD_LOG_POLICY', 'log policy line ' . ($i + 1) . ': ' . $why, ['line' => $i + 1]);
            };
            $items = array_values(array_filter((array) preg_split('/[ \t]+/', $raw), function ($x): bool {
                return $x !== '';
            }));
            if (count($items) === 0 || $items[0][0] === '#') {
                continue;
            }
            $keyword = $items[0];
            $args = array_slice($items, 1);
            $defined = function (string $name) use ($p): bool {
                return isset($p->witnesses[$name]) || isset($p->groups[$name]);
            };
            $newName = function (?string $name) use ($fail, $defined): string {
                // JavaScript's \s on the latin1 text also matches 0xA0 (NBSP); the other spaces cannot be in an item.
                if ($name === null || preg_match('/^[^\s\xa0#]+$/D', $name) !== 1) {
                    $fail('a name is one item without #');
                }
                if ($name === 'none') {
                    $fail('"none" is predefined');
                }
                if ($defined((string) $name)) {
                    $fail($name . ' is already defined');
                }
                return (string) $name;
            };
            $key = function (?string $vkey, int $type) use ($fail, $p): NoteVerifier {
                if ($vkey === null) {
                    $fail('a vkey is missing');
                }
                if (!Bytes::isUtf8((string) $vkey)) {
                    // TypeScript decodes with U+FFFD replacement; no valid vkey holds such bytes.
                    $fail('the vkey is not UTF-8');
                }
                $k = null;
                try {
                    $k = Note::parseVkey((string) $vkey);
                } catch (LogException $e) {
                    $fail($e->getMessage());
                }
                if ($k->type !== $type) {
                    $fail($type === Note::SIG_ED25519 ? 'a log key is Ed25519 (type 1)' : 'a witness key is a cosignature/v1 key (type 4)');
                }
                foreach ($p->logs as $l) {
                    if (hash_equals($l['key']->publicKey, $k->publicKey)) {
                        $fail('the same public key is listed twice');
                    }
                }
                foreach ($p->witnesses as $w) {
                    if (hash_equals($w['key']->publicKey, $k->publicKey)) {
                        $fail('the same public key is listed twice');
                    }
                }
                return $k;
            };
            if (count($p->logs) + count($p->witnesses) + count($p->groups) >= 3 * self::MAX_ITEMS) {
                $fail('too many logs, witnesses and groups');
            }
            switch ($keyword) {
                case 'log':
                    if (count($args) < 1 || count($args) > 2) {
                        $fail('log <vkey> [url]');
                    }
                    if (count($p->logs) >= self::MAX_ITEMS) {
                        $fail('more than ' . self::MAX_ITEMS . ' logs');
                    }
                    $log = ['vkey' => $args[0], 'key' => $key($args[0], Note::SIG_ED25519)];
                    if (isset($args[1])) {
                        $log['url'] = $args[1];
                    }
                    $p->logs[] = $log;
                    break;
                case 'witness':
                    if (count($args) < 2 || count($args) > 3) {
                        $fail('witness <name> <vkey> [url]');
                    }
                    if (count($p->witnesses) >= self::MAX_ITEMS) {
                        $fail('more than ' . self::MAX_ITEMS . ' witnesses');
                    }
                    $name = $newName($args[0]);
                    $w = ['name' => $name, 'vkey' => $args[1], 'key' => $key($args[1], Note::SIG_COSIGNATURE_V1)];
                    if (isset($args[2])) {
                        $w['url'] = $args[2];
                    }
                    $p->witnesses[$name] = $w;
                    break;
                case 'group':
                    if (count($args) < 3) {
                        $fail('group <name> all|any|<k> <member>…');
                    }
                    if (count($p->groups) >= self::MAX_ITEMS) {
                        $fail('more than ' . self::MAX_ITEMS . ' groups');
                    }
                    $name = $newName($args[0]);
                    $members = array_slice($args, 2);
                    foreach ($members as $j => $member) {
                        if ($member === 'none') {
                            $fail('"none" cannot be a group member');
                        }
                        if (!$defined($member)) {
                            $fail($member . ' is not defined on an earlier line');
                        }
                        if (array_search($member, $members, true) !== $j) {
                            $fail($member . ' is listed twice');
                        }
                    }
                    $t = $args[1];
                    if ($t === 'all') {
                        $threshold = count($members);
                    } elseif ($t === 'any') {
                        $threshold = 1;
                    } elseif (preg_match('/^[1-9][0-9]*$/D', $t) === 1 && (float) $t <= count($members)) {
                        $threshold = (int) $t;
                    } else {
                        $fail('the threshold ' . $t . ' is not all, any or a decimal in 1..' . count($members));
                        $threshold = 0;
                    }
                    $p->groups[$name] = ['name' => $name, 'threshold' => $threshold, 'members' => $members];
                    break;
                case 'quorum':
                    if (count($args) !== 1) {
                        $fail('quorum <name>|none');
                    }
                    if ($quorumSeen) {
                        $fail('a policy has exactly one quorum line');
                    }
                    if ($args[0] !== 'none' && !$defined($args[0])) {
                        $fail($args[0] . ' is not defined on an earlier line');
                    }
                    $quorumSeen = true;
                    $p->quorum = $args[0];
                    break;
                default:
                    $fail('unknown keyword "' . substr($keyword, 0, 40) . '"');
            }
        }
        if (!$quorumSeen) {
            throw new LogException('BAD_LOG_POLICY', 'the log policy has no quorum line');
        }
        return $p;
    }

    /** Whether the witnesses named in $cosigned satisfy the quorum ('none' always does). @param array<string,true> $cosigned */
    public function quorumMet(array $cosigned): bool
    {
        return $this->met($this->quorum, $cosigned);
    }

    /** @param array<string,true> $cosigned */
    private function met(string $name, array $cosigned): bool
    {
        if ($name === 'none') {
            return true;
        }
        if (isset($this->witnesses[$name])) {
            return isset($cosigned[$name]);
        }
        if (!isset($this->groups[$name])) {
            return false;
        }
        $n = 0;
        foreach ($this->groups[$name]['members'] as $member) {
            if ($this->met($member, $cosigned)) {
                $n++;
            }
        }
        return $n >= $this->groups[$name]['threshold'];
    }

    /** The policy's log whose key name is $origin (tlog-policy: the log vkey's name is its origin), if any. */
    public function logForOrigin(string $origin): ?NoteVerifier
    {
        foreach ($this->logs as $l) {
            if ($l['key']->name === $origin) {
                return $l['key'];
            }
        }
        return null;
    }
}
