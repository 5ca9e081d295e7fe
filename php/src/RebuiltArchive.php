<?php

declare(strict_types=1);

namespace Countersign;

/**
 * Format 2 (lib/core/archive-verify.ts RebuiltArchive): walks the archive the manifest implies (for each add/modify op
 * in path byte order: its header, its content, zero padding; then the end marker) and compares each block with the one
 * rebuilt from the manifest. Headers must be byte-equal to TarReader::encodeHeader's, each content is hashed once
 * against its op's SHA-256, padding and the two end blocks must be zero. A block that is not the rebuilt one is
 * diagnosed by parsing it, and stops the walk; a content that differs does not.
 */
final class RebuiltArchive implements ArchiveCheck
{
    /** @var list<array<string,mixed>> */
    private $entries;
    /** @var array<string,array<string,mixed>> 'k' . path => op */
    private $wanted;
    /** @var array<string,true> */
    private $deleted;
    /** @var int */
    private $mtime;
    /** @var int */
    private $index = 0;
    /** @var string header|data|padding|end|done */
    private $phase = 'header';
    /** @var int bytes left in the current content or padding; end-marker blocks left in phase 'end' */
    private $remaining = 0;
    /** @var EntryHash|null */
    private $hash;
    /** @var string the current op's header (rebuilt when its turn comes), or an end block */
    private $expected = '';
    /** @var string a header or end block split across chunks */
    private $block = '';
    /** @var int */
    private $offset = 0;
    /** @var bool */
    private $stopped = false;
    /** @var list<array<string,mixed>> */
    private $reasons = [];

    /**
     * @param array<string,array<string,mixed>> $wanted 'k' . path => add/modify op
     * @param array<string,true> $deleted 'k' . path of each delete op
     */
    public function __construct(array $wanted, array $deleted, int $mtime)
    {
        $entries = array_values($wanted);
        usort($entries, function (array $a, array $b): int {
            return strcmp($a['path'], $b['path']);
        });
        $this->entries = $entries;
        $this->wanted = $wanted;
        $this->deleted = $deleted;
        $this->mtime = $mtime;
        $this->startEntry();
    }

    public function push(string $chunk): bool
    {
        $length = strlen($chunk);
        $at = 0;
        while ($at < $length && !$this->stopped) {
            if ($this->phase === 'data') {
                $n = min($this->remaining, $length - $at);
                $this->hash->update($n === $length ? $chunk : substr($chunk, $at, $n));
                $at += $n;
                $this->offset += $n;
                $this->remaining -= $n;
                if ($this->remaining === 0) {
                    $this->endContent();
                }
            } elseif ($this->phase === 'padding') {
                $n = min($this->remaining, $length - $at);
                if (strspn($chunk, "\0", $at, $n) !== $n) {
                    $op = $this->entries[$this->index];
                    return $this->stop([ArchiveVerifier::reason('ARCHIVE_MALFORMED', 'archive entry ' . Json::quote($op['path']) . ': padding after the content is not zero', ['offset' => $this->offset])]);
                }
                $at += $n;
                $this->offset += $n;
                $this->remaining -= $n;
                if ($this->remaining === 0) {
                    $this->nextEntry();
                }
            } elseif ($this->phase === 'done') {
                return $this->stop([ArchiveVerifier::reason('ARCHIVE_MALFORMED', 'data after the end-of-archive marker (at byte ' . $this->offset . ')', ['offset' => $this->offset])]);
            } else {
                if ($this->block === '' && $length - $at >= TarReader::BLOCK) {
                    $block = substr($chunk, $at, TarReader::BLOCK);
                    $at += TarReader::BLOCK;
                } else {
                    $piece = substr($chunk, $at, TarReader::BLOCK - strlen($this->block));
                    $at += strlen($piece);
                    $this->block .= $piece;
                    if (strlen($this->block) < TarReader::BLOCK) {
                        break;
                    }
                    $block = $this->block;
                    $this->block = '';
                }
                $this->onBlock($block);
                $this->offset += TarReader::BLOCK;
            }
        }
        return !$this->stopped;
    }

    public function end(): array
    {
        if (!$this->stopped && $this->phase !== 'done') {
            $at = $this->offset + strlen($this->block);
            $where = $this->phase === 'end' ? 'in the end-of-archive marker' : 'at archive entry ' . Json::quote($this->entries[$this->index]['path']);
            $this->reasons[] = ArchiveVerifier::reason('ARCHIVE_MALFORMED', 'archive truncated ' . $where . ' (byte ' . $at . ')', ['offset' => $at]);
        }
        return $this->reasons;
    }

    /** @param list<array<string,mixed>> $found */
    private function stop(array $found): bool
    {
        array_push($this->reasons, ...$found);
        $this->stopped = true;
        return false;
    }

    private function startEntry(): void
    {
        $op = $this->entries[$this->index] ?? null;
        if ($op === null) {
            $this->phase = 'end';
            $this->remaining = 2;
            $this->expected = str_repeat("\0", TarReader::BLOCK);
            return;
        }
        $this->phase = 'header';
        try {
            $this->expected = TarReader::encodeHeader(['path' => $op['path'], 'mode' => $op['mode'], 'size' => $op['size'], 'mtime' => $this->mtime]);
        } catch (ArchiveException $e) {
            $this->stop([$e->toReason()]);
        }
    }

    private function onBlock(string $block): void
    {
        if ($block !== $this->expected) {
            $this->stop($this->phase === 'end' && $this->remaining === 1 ? [$this->badEnd()] : $this->diagnose($block));
            return;
        }
        if ($this->phase === 'end') {
            if (--$this->remaining === 0) {
                $this->phase = 'done';
            }
            return;
        }
        $op = $this->entries[$this->index];
        $this->hash = new EntryHash($op['size']);
        $this->remaining = $op['size'];
        $this->phase = 'data';
        if ($op['size'] === 0) {
            $this->endContent();
        }
    }

    private function endContent(): void
    {
        $op = $this->entries[$this->index];
        $sha256 = $this->hash->final();
        $this->hash = null;
        if ($sha256 !== $op['sha256']) {
            $this->reasons[] = ArchiveVerifier::mismatch($op, ['SHA-256'], ['size' => $op['size'], 'sha256' => $sha256, 'mode' => $op['mode']]);
        }
        $this->remaining = TarReader::paddingOf($op['size']);
        if ($this->remaining > 0) {
            $this->phase = 'padding';
        } else {
            $this->nextEntry();
        }
    }

    private function nextEntry(): void
    {
        $this->index++;
        $this->startEntry();
    }

    /** @return array<string,mixed> */
    private function badEnd(): array
    {
        return ArchiveVerifier::reason('ARCHIVE_MALFORMED', 'the second end-of-archive block (at byte ' . $this->offset . ') is not zero', ['offset' => $this->offset]);
    }

    /** Why a block is not the rebuilt one: parse it as the tar reader would, and compare what it says with the manifest. @return list<array<string,mixed>> */
    private function diagnose(string $block): array
    {
        $op = $this->entries[$this->index] ?? null;
        if ($op !== null && strspn($block, "\0") === TarReader::BLOCK) {
            return array_map([ArchiveVerifier::class, 'missing'], array_slice($this->entries, $this->index));
        }
        try {
            $header = TarReader::parseHeader($block, $this->index);
        } catch (ArchiveException $e) {
            $reason = $e->toReason();
            $reason['details'] = array_merge($e->getDetails(), ['offset' => $this->offset]);
            return [$reason];
        }
        if ($op !== null && $header['path'] === $op['path']) {
            $differ = [];
            if ($header['size'] !== $op['size']) {
                $differ[] = 'size ' . $header['size'] . ' ≠ ' . $op['size'];
            }
            if ($header['mode'] !== $op['mode']) {
                $differ[] = 'mode ' . $header['mode'] . ' ≠ ' . $op['mode'];
            }
            if ($header['mtime'] !== $this->mtime) {
                $differ[] = 'mtime ' . $header['mtime'] . ' ≠ ' . $this->mtime;
            }
            // Unreachable while parseHeader insists on the canonical encoding of what it parsed; kept so a change there fails closed.
            if (count($differ) === 0) {
                return [ArchiveVerifier::reason('ARCHIVE_MALFORMED', 'archive entry ' . Json::quote($op['path']) . ': header is not the one rebuilt from the manifest')];
            }
            return [ArchiveVerifier::mismatch($op, $differ, ['size' => $header['size'], 'mode' => $header['mode'], 'mtime' => $header['mtime']], ['mtime' => $this->mtime])];
        }
        try {
            $seen = new PathSet();
            for ($i = 0; $i < $this->index; $i++) {
                $seen->add($this->entries[$i]['path']);
            }
            $seen->add($header['path']);
        } catch (ArchiveException $e) {
            return [$e->toReason()];
        }
        // Not seen yet: either a path the manifest does not install, or a later op's (so this op's entry was skipped).
        if ($op === null || !isset($this->wanted['k' . $header['path']])) {
            return [ArchiveVerifier::extra($header['path'], $this->deleted)];
        }
        return [ArchiveVerifier::missing($op)];
    }
}
