<?php

declare(strict_types=1);

namespace Countersign;

/** Policy rotation (lib/core/rotation.ts): N+1 is trusted when a quorum of N and of N+1 signed it. */
final class Rotation
{
    public const MAX_CHAIN = 128;
    public const MAX_POLICY_BYTES = 262144;

    public static function checkVersion(Policy $current, Policy $next): void
    {
        $from = $current->version();
        $to = $next->version();
        if ($to <= $from) {
            throw new PolicyException('POLICY_ROLLBACK', 'policy version ' . $to . ' is not newer than the trusted version ' . $from, ['trusted' => $from, 'offered' => $to]);
        }
        if ($to !== $from + 1) {
            throw new PolicyException('POLICY_VERSION_GAP', 'policy version ' . $to . ' cannot follow version ' . $from . ': each rotation must be exactly +1', ['trusted' => $from, 'offered' => $to]);
        }
    }

    public static function verify(Policy $current, string $nextBytes, string $what = 'policy rotation'): Policy
    {
        if (strlen($nextBytes) > self::MAX_POLICY_BYTES) {
            throw new FormatException('SIZE_LIMIT', $what . ' is ' . strlen($nextBytes) . ' bytes; a policy may be at most ' . self::MAX_POLICY_BYTES);
        }
        $opened = Envelope::open($nextBytes, $what);
        $opened->expectKind('policy', $what);
        $next = Policy::fromPayload($opened->payloadBytes, $what);
        self::checkVersion($current, $next);
        $from = $current->version();
        foreach ([['current', $current, $from], ['next', $next, $from + 1]] as $side) {
            $q = Quorum::count($opened, $opened->envelope['signatures'], $side[1]);
            if (!$q['met']) {
                throw new SignatureException('QUORUM_NOT_MET', 'rotation to policy ' . ($from + 1) . ' lacks the quorum of policy ' . $side[2] . ': ' . Quorum::describe($q), [
                    'side' => $side[0],
                    'policyVersion' => $side[2],
                    'signedBy' => array_map([Quorum::class, 'publicSigner'], $q['signedBy']),
                    'couldSign' => array_map([Quorum::class, 'publicSigner'], $q['couldSign']),
                ]);
            }
        }
        $next->trusted = true;
        return $next;
    }

    /** @param list<string> $chain */
    public static function walk(Policy $pinned, array $chain, ?int $now = null): Policy
    {
        if (count($chain) > self::MAX_CHAIN) {
            throw new FormatException('SIZE_LIMIT', 'policy chain has ' . count($chain) . ' steps; the limit is ' . self::MAX_CHAIN);
        }
        $trusted = $pinned;
        foreach ($chain as $i => $step) {
            $trusted = self::verify($trusted, $step, 'policy rotation ' . ($i + 1));
        }
        if ($now !== null) {
            Policy::checkFresh($trusted->policy, $now);
        }
        return $trusted;
    }
}
