<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Format 1 (lib/core/archive-verify.ts ParsedArchive): the strict tar reader, then every entry compared with its op.
 * The entries' mtime is not signed in format 1; the archive digests ArchiveVerifier checks are what bind the headers.
 */
final class ParsedArchive implements ArchiveCheck
{
    /** @var array<string,array<string,mixed>> */
    private $wanted;
    /** @var array<string,true> */
    private $deleted;
    /** @var TarReader */
    private $reader;
    /** @var list<array{0:array<string,mixed>,1:string|null}> */
    private $seen = [];
    /** @var EntryHash|null */
    private $entryHash;
    /** @var ArchiveException|null */
    private $tarError;

    /**
     * @param array<string,array<string,mixed>> $wanted 'k' . path => add/modify op
     * @param array<string,true> $deleted
     */
    public function __construct(array $wanted, array $deleted, int $maxEntries)
    {
        $this->wanted = $wanted;
        $this->deleted = $deleted;
        $this->reader = new TarReader(
            function (array $header): void {
                $this->entryHash = isset($this->wanted['k' . $header['path']]) ? new EntryHash($header['size']) : null;
            },
            function (string $data): void {
                if ($this->entryHash !== null) {
                    $this->entryHash->update($data);
                }
            },
            function (array $header): void {
                $this->seen[] = [$header, $this->entryHash === null ? null : $this->entryHash->final()];
                $this->entryHash = null;
            },
            $maxEntries
        );
    }

    public function push(string $chunk): bool
    {
        if ($this->tarError === null) {
            try {
                $this->reader->push($chunk);
            } catch (ArchiveException $e) {
                $this->tarError = $e;
            }
        }
        return $this->tarError === null;
    }

    public function end(): array
    {
        if ($this->tarError === null) {
            try {
                $this->reader->end();
            } catch (ArchiveException $e) {
                $this->tarError = $e;
            }
        }
        if ($this->tarError !== null) {
            return [$this->tarError->toReason()];
        }
        $reasons = [];
        $found = [];
        foreach ($this->seen as list($header, $sha256)) {
            $k = 'k' . $header['path'];
            if (!isset($this->wanted[$k])) {
                $reasons[] = ArchiveVerifier::extra($header['path'], $this->deleted);
                continue;
            }
            $op = $this->wanted[$k];
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
                $reasons[] = ArchiveVerifier::mismatch($op, $differ, ['size' => $header['size'], 'sha256' => $sha256, 'mode' => $header['mode']]);
            }
        }
        foreach ($this->wanted as $k => $op) {
            if (!isset($found[$k])) {
                $reasons[] = ArchiveVerifier::missing($op);
            }
        }
        return $reasons;
    }
}
