<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Verification step 7 (lib/core/archive-verify.ts) in one pass over the bytes: count them, feed the archive digests
 * the manifest signs (SHA-256, and SHA-512 when the manifest carries one), parse the tar strictly, and SHA-256 each
 * wanted entry's content. Reasons in rank order: DIGEST_MISMATCH, then the first tar problem, then ENTRY_EXTRA,
 * ENTRY_MISMATCH, ENTRY_MISSING; at most 100 kept.
 */
final class ArchiveVerifier
{
    public const MAX_REASONS = 100;
    private const ENTRY_BUFFER = 8388608;
    private const RANK = ['DIGEST_MISMATCH' => 0, 'ARCHIVE_MALFORMED' => 1, 'UNSAFE_PATH' => 1, 'SIZE_LIMIT' => 1, 'ENTRY_EXTRA' => 2, 'ENTRY_MISMATCH' => 3, 'ENTRY_MISSING' => 4];

    /**
     * @param array<string,mixed> $expected the manifest's archive member
     * @param list<array<string,mixed>> $ops
     */
    public static function verify(ArchiveInput $archive, array $expected, array $ops, int $maxEntries = 100000): void
    {
        if (!is_int($expected['size']) || $expected['size'] < 0) {
            throw new FormatException('MALFORMED', 'archive size is not a non-negative integer');
        }
        if (!preg_match('/^[0-9a-f]{64}$/D', $expected['sha256'])) {
            throw new FormatException('MALFORMED', 'archive sha256 is not 64 lower-case hex digits');
        }
        $with512 = array_key_exists('sha512', $expected);
        if ($with512 && !preg_match('/^[0-9a-f]{128}$/D', $expected['sha512'])) {
            throw new FormatException('MALFORMED', 'archive sha512 is not 128 lower-case hex digits');
        }
        Paths::checkSet(array_map(function ($op) {
            return $op['path'];
        }, $ops));
        $wanted = [];
        $deleted = [];
        foreach ($ops as $op) {
            if ($op['op'] === 'delete') {
                $deleted['k' . $op['path']] = true;
            } else {
                $wanted['k' . $op['path']] = $op;
            }
        }
        if (count($wanted) > $maxEntries) {
            throw new ArchiveException('SIZE_LIMIT', 'manifest lists ' . count($wanted) . ' files to install, more than the limit of ' . $maxEntries, ['maxEntries' => $maxEntries]);
        }

        $h256 = hash_init('sha256');
        $h512 = $with512 ? hash_init('sha512') : null;
        $total = 0;
        $seen = [];
        // Entries up to ENTRY_BUFFER bytes are hashed by OpenSSL in one call (SHA-NI where the CPU has it; PHP 8.2's own
        // SHA-256 has no such path and is several times slower); larger ones stream through hash_update. Memory stays bounded.
        $entryHash = null;
        $entryBuffer = null;
        $openssl = function_exists('openssl_digest');
        $reader = new TarReader(
            function (array $header) use (&$entryHash, &$entryBuffer, $wanted, $openssl): void {
                $entryHash = null;
                $entryBuffer = null;
                if (isset($wanted['k' . $header['path']])) {
                    if ($openssl && $header['size'] <= self::ENTRY_BUFFER) {
                        $entryBuffer = '';
                    } else {
                        $entryHash = hash_init('sha256');
                    }
                }
            },
            function (string $data) use (&$entryHash, &$entryBuffer): void {
                if ($entryBuffer !== null) {
                    $entryBuffer .= $data;
                } elseif ($entryHash !== null) {
                    hash_update($entryHash, $data);
                }
            },
            function (array $header) use (&$entryHash, &$entryBuffer, &$seen): void {
                $digest = null;
                if ($entryBuffer !== null) {
                    $digest = openssl_digest($entryBuffer, 'sha256');
                } elseif ($entryHash !== null) {
                    $digest = hash_final($entryHash);
                }
                $seen[] = [$header, $digest === false ? null : $digest];
                $entryHash = null;
                $entryBuffer = null;
            },
            $maxEntries
        );
        $tarError = null;
        foreach ($archive->chunks() as $chunk) {
            if ($chunk === '') {
                continue;
            }
            $total += strlen($chunk);
            if ($total > $expected['size']) {
                $reasons = [['code' => 'DIGEST_MISMATCH', 'message' => 'archive longer than declared (more than ' . $expected['size'] . ' bytes)', 'details' => ['expectedSize' => $expected['size'], 'bytesRead' => $total]]];
                if ($tarError !== null) {
                    $reasons[] = $tarError->toReason();
                }
                self::fail($reasons);
            }
            hash_update($h256, $chunk);
            if ($h512 !== null) {
                hash_update($h512, $chunk);
            }
            if ($tarError === null) {
                try {
                    $reader->push($chunk);
                } catch (ArchiveException $e) {
                    $tarError = $e;
                }
            }
        }
        if ($tarError === null) {
            try {
                $reader->end();
            } catch (ArchiveException $e) {
                $tarError = $e;
            }
        }

        $reasons = [];
        if ($total < $expected['size']) {
            $reasons[] = ['code' => 'DIGEST_MISMATCH', 'message' => 'archive shorter than declared (' . $total . ' of ' . $expected['size'] . ' bytes)', 'details' => ['expectedSize' => $expected['size'], 'bytesRead' => $total]];
        } else {
            $sha256 = hash_final($h256);
            $sha512 = $h512 !== null ? hash_final($h512) : null;
            $differ = [];
            if ($sha256 !== $expected['sha256']) {
                $differ[] = 'SHA-256';
            }
            if ($with512 && $sha512 !== $expected['sha512']) {
                $differ[] = 'SHA-512';
            }
            if (count($differ) > 0) {
                $exp = ['sha256' => $expected['sha256']];
                $act = ['sha256' => $sha256];
                if ($with512) {
                    $exp['sha512'] = $expected['sha512'];
                    $act['sha512'] = $sha512;
                }
                $reasons[] = ['code' => 'DIGEST_MISMATCH', 'message' => 'archive ' . implode(' and ', $differ) . ' differ from the manifest', 'details' => ['expected' => $exp, 'actual' => $act]];
            }
        }
        if ($tarError !== null) {
            $reasons[] = $tarError->toReason();
        } else {
            $found = [];
            foreach ($seen as list($header, $sha256)) {
                $k = 'k' . $header['path'];
                if (!isset($wanted[$k])) {
                    $why = isset($deleted[$k]) ? 'the manifest deletes this file' : 'not in the manifest';
                    $reasons[] = ['code' => 'ENTRY_EXTRA', 'message' => 'archive entry ' . Json::quote($header['path']) . ': ' . $why, 'details' => ['path' => $header['path']]];
                    continue;
                }
                $op = $wanted[$k];
                $found[$k] = true;
                $differ = [];
                if ($header['size'] !== $op['size']) {
                    $differ[] = 'size ' . $header['size'] . ' ≠ ' . $op['size'];
                }
                if ($sha256 !== $op['sha256']) {
                    $differ[] = 'SHA-256';
                }
                if ($header['mode'] !== $op['mode']) {
                    $differ[] = 'mode ' . $header['mode'] . ' ≠ ' . $op['mode'];
                }
                if (count($differ) > 0) {
                    $reasons[] = [
                        'code' => 'ENTRY_MISMATCH',
                        'message' => 'archive entry ' . Json::quote($header['path']) . ' differs from its ' . $op['op'] . ' op: ' . implode(', ', $differ),
                        'details' => ['path' => $header['path'], 'expected' => ['size' => $op['size'], 'sha256' => $op['sha256'], 'mode' => $op['mode']], 'actual' => ['size' => $header['size'], 'sha256' => $sha256, 'mode' => $header['mode']]],
                    ];
                }
            }
            foreach ($wanted as $k => $op) {
                if (!isset($found[$k])) {
                    $reasons[] = ['code' => 'ENTRY_MISSING', 'message' => 'no archive entry for ' . $op['op'] . ' op ' . Json::quote($op['path']), 'details' => ['path' => $op['path']]];
                }
            }
        }
        if (count($reasons) > 0) {
            self::fail($reasons);
        }
    }

    /** @param list<array<string,mixed>> $reasons @return never */
    private static function fail(array $reasons)
    {
        $indexed = [];
        foreach ($reasons as $i => $r) {
            $indexed[] = [self::RANK[$r['code']] ?? 9, $i, $r];
        }
        usort($indexed, function ($a, $b) {
            return $a[0] <=> $b[0] ?: $a[1] <=> $b[1];
        });
        $sorted = array_map(function ($x) {
            return $x[2];
        }, $indexed);
        $first = $sorted[0];
        $more = '';
        if (count($sorted) > 1) {
            $codes = array_values(array_unique(array_map(function ($r) {
                return $r['code'];
            }, array_slice($sorted, 1))));
            $more = ' (and ' . (count($sorted) - 1) . ' more: ' . implode(', ', $codes) . ')';
        }
        throw new ArchiveException($first['code'], $first['message'] . $more, array_merge($first['details'] ?? [], ['reasons' => array_slice($sorted, 0, self::MAX_REASONS), 'reasonCount' => count($sorted)]));
    }
}
