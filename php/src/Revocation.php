<?php

declare(strict_types=1);

namespace Countersign;

/** Revocations (lib/core/revocation.ts): a release that must no longer be installed, signed by a quorum. */
final class Revocation
{
    /** @return array<string,mixed> */
    public static function fromPayload(string $payloadBytes, string $what = 'revocation'): array
    {
        $parsed = Canonical::parse($payloadBytes, $what, function ($v): void {
            Canonical::checkPayloadFormat('revocation', $v);
        });
        $r = Canonical::plain(Schema::validate('revocation', $parsed, $what));
        // provider is a format 2 member (lib/core/revocation.ts): in format 1 it would be ignored here.
        if (array_key_exists('provider', $r) && ($r['format'] ?? 1) < 2) {
            throw new FormatException('SCHEMA_INVALID', 'provider needs revocation format 2');
        }
        Version::parse($r['version']);
        Time::parse($r['created'], 'revocation time');
        return $r;
    }

    /** Counts only when a quorum of the trusted policy signed it; revocations do not expire. @return array<string,mixed> */
    public static function verify(string $envelopeBytes, Policy $trusted, string $what = 'revocation'): array
    {
        $opened = Envelope::open($envelopeBytes, $what);
        $opened->expectKind('revocation', $what);
        $r = self::fromPayload($opened->payloadBytes, $what);
        $q = Quorum::count($opened, $opened->envelope['signatures'], $trusted);
        if (!$q['met']) {
            throw new SignatureException('QUORUM_NOT_MET', 'quorum not met: ' . Quorum::describe($q), [
                'signed' => count($q['signedBy']),
                'threshold' => $q['threshold'],
                'signedBy' => array_map([Quorum::class, 'publicSigner'], $q['signedBy']),
                'couldSign' => array_map([Quorum::class, 'publicSigner'], $q['couldSign']),
                'problems' => $q['problems'],
            ]);
        }
        return $r;
    }

    /**
     * @param array<string,mixed> $m
     * @param list<array<string,mixed>> $revocations
     * @return list<array<string,mixed>>
     */
    public static function check(array $m, array $revocations): array
    {
        $reasons = [];
        foreach ($revocations as $r) {
            if ($r['product'] === $m['product'] && $r['component'] === $m['component'] && Version::mayBeSameRelease($r['version'], $m['version'])) {
                $reasons[] = ['code' => 'REVOKED', 'message' => $m['product'] . ' ' . $m['component'] . ' ' . $m['version'] . ' was revoked at ' . $r['created'] . ': ' . $r['reason'], 'details' => ['revoked' => $r]];
            }
        }
        return $reasons;
    }
}
