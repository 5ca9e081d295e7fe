<?php

declare(strict_types=1);

namespace Countersign;

/** The update manifest (lib/core/manifest.ts): decoding, the rules a schema cannot state, and step 6's site checks. */
final class Manifest
{
    /** @return array<string,mixed> */
    public static function fromPayload(string $payloadBytes, string $what = 'manifest'): array
    {
        $parsed = Canonical::parse($payloadBytes, $what, function ($v): void {
            Canonical::checkPayloadFormat('manifest', $v);
        });
        $m = Canonical::plain(Schema::validate('manifest', $parsed, $what));
        self::check($m);
        return $m;
    }

    /** @param array<string,mixed> $m */
    public static function check(array $m): void
    {
        Version::parse($m['version']);
        // provider is a format 3 member (lib/core/manifest.ts): in a lower format it would be ignored here.
        if (array_key_exists('provider', $m) && ($m['format'] ?? 1) < 3) {
            throw new FormatException('SCHEMA_INVALID', 'provider needs manifest format 3');
        }
        self::checkArchiveRef($m);
        foreach ($m['appliesTo'] as $v) {
            if (!Version::sameScheme($v, $m['version'])) {
                throw new ReleaseException('VERSION_SCHEME_MISMATCH', $m['version'] . ' cannot apply to ' . $v . ': legacy (N.x-) and numeric versions are never compared', ['version' => $m['version'], 'appliesTo' => $v]);
            }
        }
        $created = Time::parse($m['created'], 'manifest creation time');
        $expires = Time::parse($m['expires'], 'manifest expiry');
        if ($expires <= $created) {
            throw new FormatException('SCHEMA_INVALID', 'manifest expires (' . $m['expires'] . ') before it was created (' . $m['created'] . ')');
        }
        if ($m['risk'] !== null) {
            $r = $m['risk'];
            $computed = Risk::compute($r['vector']);
            if ($computed['score'] !== $r['score'] || $computed['level'] !== $r['level']) {
                throw new ReleaseException('BAD_RISK_VECTOR', 'risk ' . $r['score'] . ' (' . $r['level'] . ') is not what ' . $r['vector'] . ' scores (' . $computed['score'] . ', ' . $computed['level'] . ')');
            }
        }
        Paths::checkSet(array_map(function ($f) {
            return $f['path'];
        }, $m['files']));
        if ($m['versionFile'] !== null) {
            Paths::check($m['versionFile']);
            foreach ($m['files'] as $f) {
                if ($f['op'] === 'delete' && $f['path'] === $m['versionFile']) {
                    throw new FormatException('SCHEMA_INVALID', 'versionFile ' . Json::quote($m['versionFile']) . ' is a file this release deletes', ['versionFile' => $m['versionFile']]);
                }
            }
        }
    }

    /** The archive member has the shape of the manifest's format: sha512 in format 1, mtime in format 2. @param array<string,mixed> $m */
    private static function checkArchiveRef(array $m): void
    {
        $format = $m['format'] ?? 1;
        if (($format === 2) !== array_key_exists('mtime', $m['archive'])) {
            throw new FormatException('SCHEMA_INVALID', 'a format ' . $format . " manifest's archive must name " . ($format === 2 ? 'mtime, not sha512' : 'sha512, not mtime'), ['format' => $format]);
        }
    }

    /**
     * @param array<string,mixed> $m
     * @param array<string,string> $site product, component, installed, highestInstalled (each optional)
     * @return list<array<string,mixed>>
     */
    public static function checkRelease(array $m, int $policyVersion, array $site, int $now): array
    {
        $reasons = [];
        if (!($now < Time::parse($m['expires']))) {
            $reasons[] = ['code' => 'EXPIRED', 'message' => 'manifest for ' . $m['product'] . ' ' . $m['version'] . ' expired at ' . $m['expires'], 'details' => ['expires' => $m['expires']]];
        }
        foreach (['product', 'component'] as $field) {
            if (isset($site[$field]) && $m[$field] !== $site[$field]) {
                $reasons[] = ['code' => 'WRONG_TARGET', 'message' => 'this release is for ' . $field . ' ' . $m[$field] . ', not ' . $site[$field], 'details' => ['field' => $field, 'expected' => $site[$field], 'found' => $m[$field]]];
            }
        }
        $known = [];
        if (isset($site['installed'])) {
            $known[] = ['the installed', $site['installed']];
        }
        if (isset($site['highestInstalled']) && $site['highestInstalled'] !== ($site['installed'] ?? null)) {
            $known[] = ['the highest ever installed', $site['highestInstalled']];
        }
        $floors = [];
        foreach ($known as $k) {
            if (!Version::sameScheme($k[1], $m['version'])) {
                $reasons[] = [
                    'code' => 'VERSION_SCHEME_MISMATCH',
                    'message' => $m['version'] . ' and ' . $k[0] . ' ' . $k[1] . ' are of different version schemes (legacy N.x- and numeric), which are never compared; a site changes scheme only by countersign trust record',
                    'details' => ['version' => $m['version'], ($k[0] === 'the installed' ? 'installed' : 'highestInstalled') => $k[1]],
                ];
            } else {
                $floors[] = $k;
            }
        }
        if (isset($site['installed']) && Version::sameScheme($site['installed'], $m['version'])) {
            $installed = $site['installed'];
            $applies = false;
            foreach ($m['appliesTo'] as $v) {
                $applies = $applies || Version::isSameRelease($v, $installed);
            }
            if (count($m['appliesTo']) > 0 && !$applies) {
                $reasons[] = ['code' => 'NOT_APPLICABLE', 'message' => $m['product'] . ' ' . $m['version'] . ' applies to ' . implode(', ', $m['appliesTo']) . ', not to the installed ' . $installed, 'details' => ['installed' => $installed, 'appliesTo' => $m['appliesTo']]];
            }
        }
        $floor = null;
        foreach ($floors as $f) {
            if ($floor === null || Version::compare($f[1], $floor[1]) > 0) {
                $floor = $f;
            }
        }
        if ($floor !== null && Version::compare($m['version'], $floor[1]) <= 0) {
            $details = [];
            if (isset($site['installed'])) {
                $details['installed'] = $site['installed'];
            }
            if (isset($site['highestInstalled'])) {
                $details['highestInstalled'] = $site['highestInstalled'];
            }
            $details['version'] = $m['version'];
            $reasons[] = ['code' => 'ROLLBACK', 'message' => $m['version'] . ' is not newer than ' . $floor[0] . ' ' . $floor[1], 'details' => $details];
        }
        if ($m['policyVersion'] > $policyVersion) {
            $reasons[] = [
                'code' => 'POLICY_STALE',
                'message' => 'the manifest expects policy version ' . $m['policyVersion'] . '; this site trusts version ' . $policyVersion . ' and needs the rotation chain',
                'details' => ['expected' => $m['policyVersion'], 'trusted' => $policyVersion],
            ];
        }
        return $reasons;
    }
}
