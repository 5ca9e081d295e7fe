<?php

declare(strict_types=1);

namespace Countersign\Log;

use Countersign\Bytes;
use Countersign\Canonical;
use Countersign\CountersignException;
use Countersign\Envelope;
use Countersign\Json;
use Countersign\JsonObject;
use Countersign\Manifest;

/**
 * What the log holds for each signed document (lib/log/entry.ts): one RFC 8785 canonical JSON object of at most
 * 16 KiB. A policy or revocation is logged as itself; a release as a statement binding product, component, version,
 * the manifest's payload type and SHA-256, the archive's SHA-256 and size, the policy version and the signatures.
 * "This entry is the one for this document" compares everything but the signatures (LOG_ENTRY_MISMATCH).
 */
final class Entry
{
    public const MAX_BYTES = 16384;
    public const RELEASE = 'countersign.release/v1';
    public const TYPES = ['policy' => 'countersign.policy/v1', 'revocation' => 'countersign.revocation/v1', 'manifest' => self::RELEASE];
    private const HEX64 = '/^[0-9a-f]{64}$/D';

    private static function invalid(string $message, array $details = []): LogException
    {
        return new LogException('ENTRY_INVALID', $message, $details);
    }

    /**
     * The entry (a JsonObject) for an envelope's bytes; a document that does not open is ENTRY_INVALID (with the
     * cause), a manifest that does not check throws its own code (as lib/log/entry.ts logEntryFor).
     */
    public static function forEnvelope(string $envelopeBytes): JsonObject
    {
        try {
            $opened = Envelope::open($envelopeBytes);
        } catch (CountersignException $e) {
            throw self::invalid('the document cannot be logged: ' . $e->getMessage(), ['cause' => $e->getErrorCode()]);
        }
        $sigs = [];
        foreach ($opened->envelope['signatures'] as $s) {
            $sigs[] = ['keyid' => $s['keyid'], 'sig' => $s['sig']];
        }
        $signatures = self::signaturesValue(self::canonicalSignatures($sigs));
        if ($opened->kind === 'manifest') {
            $m = Manifest::fromPayload($opened->payloadBytes);
            return self::object([
                'entry' => self::RELEASE,
                'product' => $m['product'],
                'component' => $m['component'],
                'version' => $m['version'],
                'payloadType' => $opened->envelope['payloadType'],
                'payloadSha256' => $opened->payloadSha256,
                'archive' => self::object(['sha256' => $m['archive']['sha256'], 'size' => (float) $m['archive']['size']]),
                'policyVersion' => (float) $m['policyVersion'],
                'signatures' => $signatures,
            ]);
        }
        return self::object([
            'entry' => self::TYPES[$opened->kind],
            'payloadType' => $opened->envelope['payloadType'],
            'payload' => base64_encode($opened->payloadBytes),
            'signatures' => $signatures,
        ]);
    }

    /** The entry's bytes: canonical JSON, at most 16 KiB (ENTRY_INVALID otherwise). */
    public static function encode(JsonObject $entry): string
    {
        $bytes = Json::canonical($entry);
        if (strlen($bytes) > self::MAX_BYTES) {
            throw self::invalid('the entry is ' . strlen($bytes) . ' bytes; the limit is ' . self::MAX_BYTES);
        }
        return $bytes;
    }

    /** Parses and checks an entry's bytes (size, canonical JSON, shape); anything else is ENTRY_INVALID. */
    public static function parse(string $bytes): JsonObject
    {
        if (strlen($bytes) > self::MAX_BYTES) {
            throw self::invalid('the entry is ' . strlen($bytes) . ' bytes; the limit is ' . self::MAX_BYTES);
        }
        try {
            $o = Canonical::parse($bytes, 'log entry');
        } catch (CountersignException $e) {
            throw self::invalid($e->getMessage());
        }
        if (!$o instanceof JsonObject) {
            throw self::invalid('an entry is a JSON object');
        }
        $type = $o->has('entry') ? $o->get('entry') : null;
        if ($type === self::RELEASE) {
            self::exactKeys($o, ['entry', 'product', 'component', 'version', 'payloadType', 'payloadSha256', 'archive', 'policyVersion', 'signatures']);
            foreach (['product', 'component', 'version'] as $k) {
                if (!self::isString($o->get($k))) {
                    throw self::invalid('product, component and version are non-empty strings');
                }
            }
            if ($o->get('payloadType') !== Envelope::TYPES['manifest']) {
                throw self::invalid('a release statement is for a manifest');
            }
            if (!is_string($o->get('payloadSha256')) || preg_match(self::HEX64, $o->get('payloadSha256')) !== 1) {
                throw self::invalid('payloadSha256 is 64 hex digits');
            }
            $a = $o->get('archive');
            if (!$a instanceof JsonObject || self::sortedNames($a) !== ['sha256', 'size']) {
                throw self::invalid('archive is {sha256, size}');
            }
            if (!is_string($a->get('sha256')) || preg_match(self::HEX64, $a->get('sha256')) !== 1 || !self::isSafeInteger($a->get('size'), 0)) {
                throw self::invalid('the archive has a hex sha256 and a size');
            }
            if (!self::isSafeInteger($o->get('policyVersion'), 1)) {
                throw self::invalid('policyVersion is a positive integer');
            }
            self::checkSignatures($o->get('signatures'));
            return $o;
        }
        $kind = array_search($type, self::TYPES, true);
        if ($kind === 'policy' || $kind === 'revocation') {
            self::exactKeys($o, ['entry', 'payloadType', 'payload', 'signatures']);
            if ($o->get('payloadType') !== Envelope::TYPES[$kind]) {
                throw self::invalid('a ' . $kind . ' entry carries a ' . $kind . ' payload');
            }
            $payload = $o->get('payload');
            if (!is_string($payload) || $payload === '') {
                throw self::invalid('the payload is base64');
            }
            try {
                Bytes::fromBase64($payload);
            } catch (CountersignException $e) {
                throw self::invalid('the payload is canonical standard base64');
            }
            self::checkSignatures($o->get('signatures'));
            return $o;
        }
        throw self::invalid('unknown entry type ' . (is_string($type) ? Json::quote($type) : 'undefined'));
    }

    /** LOG_ENTRY_MISMATCH unless $entry is the one for the document in $envelopeBytes (signatures aside). */
    public static function checkForEnvelope(JsonObject $entry, string $envelopeBytes): void
    {
        $want = self::forEnvelope($envelopeBytes);
        if (self::identity($want) !== self::identity($entry)) {
            throw new LogException('LOG_ENTRY_MISMATCH', 'the log entry in the proof is not the one for this document', [
                'expected' => self::describe($want),
                'found' => self::describe($entry),
            ]);
        }
    }

    private static function identity(JsonObject $e): string
    {
        $copy = new JsonObject();
        foreach ($e->names() as $n) {
            $copy->set($n, $n === 'signatures' ? [] : $e->get($n));
        }
        return Json::canonical($copy);
    }

    public static function describe(JsonObject $e): string
    {
        if ($e->get('entry') === self::RELEASE) {
            return 'release ' . $e->get('product') . '/' . $e->get('component') . ' ' . $e->get('version') . ' (manifest ' . substr((string) $e->get('payloadSha256'), 0, 12) . '…)';
        }
        return ($e->get('entry') === self::TYPES['policy'] ? 'policy' : 'revocation') . ' (payload ' . strlen((string) $e->get('payload')) . ' base64 chars)';
    }

    /** @param array<string,mixed> $members */
    private static function object(array $members): JsonObject
    {
        $o = new JsonObject();
        foreach ($members as $k => $v) {
            $o->set((string) $k, $v);
        }
        return $o;
    }

    /** @param list<array{keyid:string,sig:string}> $sigs @return list<JsonObject> */
    private static function signaturesValue(array $sigs): array
    {
        return array_map(function (array $s): JsonObject {
            return self::object($s);
        }, $sigs);
    }

    /** Signatures in one order (keyid, then sig, as JavaScript compares strings) without repeats. @param list<array{keyid:string,sig:string}> $sigs @return list<array{keyid:string,sig:string}> */
    private static function canonicalSignatures(array $sigs): array
    {
        usort($sigs, function (array $a, array $b): int {
            $c = Json::compareUtf16($a['keyid'], $b['keyid']);
            return $c !== 0 ? $c : Json::compareUtf16($a['sig'], $b['sig']);
        });
        $out = [];
        $seen = [];
        foreach ($sigs as $s) {
            $k = $s['keyid'] . ' ' . $s['sig'];
            if (!isset($seen[$k])) {
                $seen[$k] = true;
                $out[] = $s;
            }
        }
        return $out;
    }

    /** @param mixed $v */
    private static function checkSignatures($v): void
    {
        if (!is_array($v)) {
            throw self::invalid('an entry lists its signatures');
        }
        $sigs = [];
        foreach ($v as $s) {
            if (!$s instanceof JsonObject || self::sortedNames($s) !== ['keyid', 'sig']) {
                throw self::invalid('an entry signature is {keyid, sig}');
            }
            $keyid = $s->get('keyid');
            $sig = $s->get('sig');
            if (!is_string($keyid) || preg_match(self::HEX64, $keyid) !== 1 || !self::isString($sig)) {
                throw self::invalid('an entry signature has a hex keyid and a sig');
            }
            $sigs[] = ['keyid' => $keyid, 'sig' => $sig];
        }
        if (self::canonicalSignatures($sigs) !== $sigs) {
            throw self::invalid('entry signatures are sorted by keyid and sig, without repeats');
        }
    }

    /** @param list<string> $keys */
    private static function exactKeys(JsonObject $o, array $keys): void
    {
        $have = self::sortedNames($o);
        sort($keys, SORT_STRING);
        if ($have !== $keys) {
            throw self::invalid('the entry members are ' . implode(', ', $keys) . ', not ' . implode(',', $have));
        }
    }

    /** @return list<string> */
    private static function sortedNames(JsonObject $o): array
    {
        $names = $o->names();
        usort($names, [Json::class, 'compareUtf16']);
        return $names;
    }

    /** @param mixed $v */
    private static function isString($v): bool
    {
        return is_string($v) && $v !== '' && Bytes::utf16Length($v) <= 1024;
    }

    /** @param mixed $v */
    private static function isSafeInteger($v, int $min): bool
    {
        return is_float($v) && is_finite($v) && floor($v) === $v && abs($v) <= 9007199254740991.0 && $v >= $min;
    }
}
