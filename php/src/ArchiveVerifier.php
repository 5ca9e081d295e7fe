<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Verification step 7 (lib/core/archive-verify.ts, spec/bundle.md "Archive verification"): the archive is exactly the
 * one the manifest describes, in one pass over the bytes.
 *
 * Format 2 (archive.mtime): the archive is rebuilt from the manifest while it streams (RebuiltArchive). Headers, padding
 * and the end marker are compared with what the signed files and mtime imply, each content is hashed once against
 * its op's SHA-256: together these fix every byte, so the archive's own digest is implied and is not computed
 * (archive.sha256 is for mirrors; a verdict never depends on it). Format 1 (archive.sha512, no mtime): SHA-256 and
 * SHA-512 of the whole archive are checked, the tar is parsed strictly and each entry compared with its op
 * (ParsedArchive), as 0.2.0 did.
 *
 * Reasons in rank order: DIGEST_MISMATCH, then the structural problem (ARCHIVE_MALFORMED, UNSAFE_PATH, SIZE_LIMIT),
 * then ENTRY_EXTRA, ENTRY_MISMATCH, ENTRY_MISSING; at most 100 kept, the count of all given.
 */
final class ArchiveVerifier
{
    public const MAX_REASONS = 100;
    private const RANK = ['DIGEST_MISMATCH' => 0, 'ARCHIVE_MALFORMED' => 1, 'UNSAFE_PATH' => 1, 'SIZE_LIMIT' => 1, 'ENTRY_EXTRA' => 2, 'ENTRY_MISMATCH' => 3, 'ENTRY_MISSING' => 4];

    /**
     * @param array<string,mixed> $expected the manifest's archive member
     * @param list<array<string,mixed>> $ops
     */
    public static function verify(ArchiveInput $archive, array $expected, array $ops, int $maxEntries = 100000): void
    {
        self::checkRef($expected);
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

        $rebuilt = array_key_exists('mtime', $expected);
        $check = $rebuilt ? new RebuiltArchive($wanted, $deleted, $expected['mtime']) : new ParsedArchive($wanted, $deleted, $maxEntries);
        $digests = $rebuilt ? [] : [['SHA-256', hash_init('sha256'), $expected['sha256']], ['SHA-512', hash_init('sha512'), $expected['sha512']]];

        $total = 0;
        $walking = true;
        foreach ($archive->chunks() as $chunk) {
            if ($chunk === '') {
                continue;
            }
            $total += strlen($chunk);
            if ($total > $expected['size']) {
                // The declared size is signed: a hostile mirror must not make us read without bound.
                $longer = self::reason('DIGEST_MISMATCH', 'archive longer than declared (more than ' . $expected['size'] . ' bytes)', ['expectedSize' => $expected['size'], 'bytesRead' => $total]);
                self::fail(array_merge([$longer], $walking ? [] : $check->end()));
            }
            foreach ($digests as $d) {
                hash_update($d[1], $chunk);
            }
            if ($walking) {
                $walking = $check->push($chunk);
            }
            // Nothing left to learn from the rest: stop reading it.
            if (!$walking && count($digests) === 0) {
                break;
            }
        }

        $reasons = [];
        if ($walking || count($digests) > 0) {
            if ($total < $expected['size']) {
                $reasons[] = self::reason('DIGEST_MISMATCH', 'archive shorter than declared (' . $total . ' of ' . $expected['size'] . ' bytes)', ['expectedSize' => $expected['size'], 'bytesRead' => $total]);
            } else {
                $exp = [];
                $act = [];
                $differ = [];
                foreach ($digests as list($name, $context, $want)) {
                    $key = strtolower(str_replace('-', '', $name));
                    $exp[$key] = $want;
                    $act[$key] = hash_final($context);
                    if ($act[$key] !== $want) {
                        $differ[] = $name;
                    }
                }
                if (count($differ) > 0) {
                    $reasons[] = self::reason('DIGEST_MISMATCH', 'archive ' . implode(' and ', $differ) . ' differ from the manifest', ['expected' => $exp, 'actual' => $act]);
                }
            }
        }
        $reasons = array_merge($reasons, $check->end());
        if (count($reasons) > 0) {
            self::fail($reasons);
        }
    }

    /** @param array<string,mixed> $expected */
    private static function checkRef(array $expected): void
    {
        if (!is_int($expected['size'] ?? null) || $expected['size'] < 0) {
            throw new FormatException('MALFORMED', 'archive size is not a non-negative integer');
        }
        if (!is_string($expected['sha256'] ?? null) || !preg_match('/^[0-9a-f]{64}$/D', $expected['sha256'])) {
            throw new FormatException('MALFORMED', 'archive sha256 is not 64 lower-case hex digits');
        }
        if (array_key_exists('mtime', $expected)) {
            if (!is_int($expected['mtime']) || $expected['mtime'] < 0 || $expected['mtime'] > TarReader::MAX_NUMBER) {
                throw new FormatException('MALFORMED', 'archive mtime is not an integer in [0, ' . TarReader::MAX_NUMBER . ']');
            }
        } elseif (!is_string($expected['sha512'] ?? null) || !preg_match('/^[0-9a-f]{128}$/D', $expected['sha512'])) {
            throw new FormatException('MALFORMED', 'archive sha512 is not 128 lower-case hex digits');
        }
    }

    /** @param array<string,mixed>|null $details @return array<string,mixed> */
    public static function reason(string $code, string $message, ?array $details = null): array
    {
        return $details === null ? ['code' => $code, 'message' => $message] : ['code' => $code, 'message' => $message, 'details' => $details];
    }

    /**
     * @param array<string,mixed> $op
     * @param list<string> $differ
     * @param array<string,mixed> $actual
     * @param array<string,mixed> $expected added to the op's size, sha256 and mode
     * @return array<string,mixed>
     */
    public static function mismatch(array $op, array $differ, array $actual, array $expected = []): array
    {
        return self::reason('ENTRY_MISMATCH', 'archive entry ' . Json::quote($op['path']) . ' differs from its ' . $op['op'] . ' op: ' . implode(', ', $differ), [
            'path' => $op['path'],
            'expected' => array_merge(['size' => $op['size'], 'sha256' => $op['sha256'], 'mode' => $op['mode']], $expected),
            'actual' => $actual,
        ]);
    }

    /** @param array<string,mixed> $op @return array<string,mixed> */
    public static function missing(array $op): array
    {
        return self::reason('ENTRY_MISSING', 'no archive entry for ' . $op['op'] . ' op ' . Json::quote($op['path']), ['path' => $op['path']]);
    }

    /** @param array<string,true> $deleted @return array<string,mixed> */
    public static function extra(string $path, array $deleted): array
    {
        $why = isset($deleted['k' . $path]) ? 'the manifest deletes this file' : 'not in the manifest';
        return self::reason('ENTRY_EXTRA', 'archive entry ' . Json::quote($path) . ': ' . $why, ['path' => $path]);
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
