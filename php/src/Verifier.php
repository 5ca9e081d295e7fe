<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Verification of a bundle or signed document in the order spec/verification.md gives (lib/core/verify.ts
 * verifyBundle). Steps 1-2 stop at the first failure; from step 3 on every reason is collected, and the archive is
 * streamed only when nothing was found before it. Passes only with no reason at all; never extracts anything.
 */
final class Verifier
{
    public const DEFAULT_LIMITS = ['maxEnvelopeBytes' => Envelope::MAX_BYTES, 'maxArchiveBytes' => 4294967296, 'maxEntries' => 100000];

    /**
     * @param array{trusted:Policy,now:int,site?:array<string,string>,revocations?:list<array<string,mixed>>,limits?:array<string,int>} $opts
     */
    public static function verifyBundle(string $envelopeBytes, ?ArchiveInput $archive, array $opts): Verified
    {
        $backend = Ed25519::requireBackend();
        $limits = array_merge(self::DEFAULT_LIMITS, $opts['limits'] ?? []);
        $site = $opts['site'] ?? [];
        $trusted = $opts['trusted'];
        if (!$trusted->trusted) {
            throw new UsageException('USAGE', 'the policy given is not a trusted one (Policy::loadTrusted or Rotation)');
        }
        $now = $opts['now'];
        foreach (['installed' => 'installed version', 'highestInstalled' => 'highest installed version'] as $field => $what) {
            if (isset($site[$field])) {
                try {
                    Version::parse($site[$field]);
                } catch (CountersignException $e) {
                    throw new UsageException('USAGE', $what . ': ' . $e->getMessage());
                }
            }
        }
        $reasons = [];

        // 1. Size caps before parsing anything.
        if (strlen($envelopeBytes) > $limits['maxEnvelopeBytes']) {
            throw new VerificationException([(new FormatException('SIZE_LIMIT', 'envelope is ' . strlen($envelopeBytes) . ' bytes; the limit is ' . $limits['maxEnvelopeBytes']))->toReason()]);
        }
        if ($archive !== null && $archive->size() > $limits['maxArchiveBytes']) {
            throw new VerificationException([(new ArchiveException('SIZE_LIMIT', 'archive is ' . $archive->size() . ' bytes; the limit is ' . $limits['maxArchiveBytes']))->toReason()]);
        }

        // 2. Strict parsing, schema, canonical payload.
        $policyDoc = null;
        try {
            $opened = Envelope::open($envelopeBytes);
            if ($opened->kind === 'manifest') {
                $document = Manifest::fromPayload($opened->payloadBytes);
            } elseif ($opened->kind === 'policy') {
                $policyDoc = Policy::fromPayload($opened->payloadBytes);
                $document = $policyDoc->policy;
            } else {
                $document = Revocation::fromPayload($opened->payloadBytes);
            }
        } catch (VerificationException $e) {
            throw $e;
        } catch (HostException $e) {
            throw $e;
        } catch (CountersignException $e) {
            throw new VerificationException([$e->toReason()]);
        }
        if ($opened->kind === 'manifest' && count($document['files']) > $limits['maxEntries']) {
            $reasons[] = ['code' => 'SIZE_LIMIT', 'message' => 'manifest lists ' . count($document['files']) . ' files; the limit is ' . $limits['maxEntries']];
        }

        // 3. The trusted policy must still be fresh.
        self::collect($reasons, function () use ($trusted, $now): void {
            Policy::checkFresh($trusted->policy, $now);
        });

        // 4-5. Signatures and quorum over distinct authorised keys.
        $quorum = Quorum::count($opened, $opened->envelope['signatures'], $trusted);
        if (!$quorum['met']) {
            $reasons[] = Quorum::reason($quorum, 'quorum not met');
        }

        // 6. Freshness and applicability; for a policy, the rotation rules.
        if ($opened->kind === 'manifest') {
            $reasons = array_merge($reasons, Manifest::checkRelease($document, $trusted->version(), $site, $now), Revocation::check($document, $opts['revocations'] ?? []));
        } elseif ($policyDoc !== null) {
            $counted = [];
            if ($archive !== null && $archive->size() > 0) {
                $reasons[] = ['code' => 'ARCHIVE_MALFORMED', 'message' => 'a policy carries no archive, but ' . $archive->size() . ' bytes follow it'];
            }
            if (!hash_equals($trusted->payloadBytes, $opened->payloadBytes)) {
                self::collect($reasons, function () use ($trusted, $policyDoc): void {
                    Rotation::checkVersion($trusted, $policyDoc);
                });
                $own = Quorum::count($opened, $opened->envelope['signatures'], $policyDoc);
                if (!$own['met']) {
                    $reasons[] = Quorum::reason($own, 'policy ' . $policyDoc->version() . ' lacks the quorum of its own keys');
                }
                self::collect($reasons, function () use ($policyDoc, $now): void {
                    Policy::checkFresh($policyDoc->policy, $now);
                });
                foreach ($own['signatures'] as $s) {
                    $counted[$s['keyid']] = true;
                }
            }
            $quorum['problems'] = array_values(array_filter($quorum['problems'], function ($p) use ($counted) {
                return !($p['code'] === 'UNKNOWN_KEY' && isset($counted[$p['details']['keyid']]));
            }));
        } elseif ($archive !== null && $archive->size() > 0) {
            $reasons[] = ['code' => 'ARCHIVE_MALFORMED', 'message' => 'a ' . $opened->kind . ' carries no archive, but ' . $archive->size() . ' bytes follow it'];
        }

        // 7. The archive, streamed against the signed digests; only once the envelope is trusted.
        if ($opened->kind === 'manifest' && count($reasons) === 0) {
            $reasons = self::checkArchive($document, $archive, $limits);
        }

        if (count($reasons) > 0) {
            throw new VerificationException($reasons);
        }
        $v = new Verified();
        $v->kind = $opened->kind;
        $v->document = $document;
        $v->quorum = $quorum;
        $v->payloadSha256 = $opened->payloadSha256;
        $v->warnings = $quorum['problems'];
        $v->notChecked = array_values(array_filter(['product', 'component', 'installed'], function ($f) use ($site) {
            return !isset($site[$f]);
        }));
        $v->backend = $backend;
        return $v;
    }

    /** @param array<string,mixed> $manifest @param array<string,int> $limits @return list<array<string,mixed>> */
    private static function checkArchive(array $manifest, ?ArchiveInput $archive, array $limits): array
    {
        $declared = $manifest['archive'];
        if ($archive === null) {
            return [['code' => 'DIGEST_MISMATCH', 'message' => 'the bundle holds no archive']];
        }
        if ($archive->size() !== $declared['size']) {
            $how = $archive->size() < $declared['size'] ? 'truncated' : 'extended';
            return [['code' => 'DIGEST_MISMATCH', 'message' => 'archive is ' . $how . ': ' . $archive->size() . ' bytes, the manifest says ' . $declared['size']]];
        }
        try {
            ArchiveVerifier::verify($archive, $declared, $manifest['files'], $limits['maxEntries']);
            return [];
        } catch (HostException $e) {
            throw $e;
        } catch (CountersignException $e) {
            $found = $e->getDetails()['reasons'] ?? null;
            return is_array($found) ? $found : [$e->toReason()];
        } catch (\RuntimeException $e) {
            return [['code' => 'IO', 'message' => 'the archive could not be read: ' . $e->getMessage()]];
        }
    }

    /** @param list<array<string,mixed>> $reasons */
    private static function collect(array &$reasons, callable $check): void
    {
        try {
            $check();
        } catch (HostException $e) {
            throw $e;
        } catch (CountersignException $e) {
            $reasons[] = $e->toReason();
        }
    }
}
