<?php

declare(strict_types=1);

namespace Countersign\Log;

/**
 * A site's check that a document is logged (lib/log/verify-proof.ts, spec/log.md), in this order, each with its code:
 *   1. the proof's entry is the one for this document            NOT_LOGGED (no proof) / LOG_ENTRY_MISMATCH
 *   2. the inclusion proof verifies against the checkpoint root   BAD_PROOF
 *   3. the checkpoint is signed by a log of the policy            BAD_CHECKPOINT (origin) / BAD_NOTE (key)
 *      and cosigned by the policy's witness quorum                WITNESS_QUORUM_NOT_MET
 *   4. that quorum is met by cosignatures no older than max-age   CHECKPOINT_STALE
 *   5. the checkpoint is not smaller than the largest seen        LOG_INCONSISTENT (kind rollback)
 *   6. it is consistent with the largest seen                     LOG_INCONSISTENT (kind fork; both checkpoints kept)
 * Pure: the caller passes the largest checkpoint it holds and, when it has one, the consistency proof to it.
 */
final class ProofVerifier
{
    public const DEFAULT_MAX_AGE_SECONDS = 604800;
    public const MAX_CLOCK_SKEW_SECONDS = 600;

    /**
     * @param string|null $proof the tlog-proof, or null when the document carries none
     * @param int $now POSIX seconds
     * @param list<string>|null $consistency a consistency proof from $largestSeen's size to the checkpoint's
     * @return array{index:int,entry:string,checkpoint:Checkpoint,checkpointNote:string,witnesses:list<string>,cosigned:array{oldest:int,newest:int}|null,consistency:string,newLargest?:string}
     */
    public static function verify(string $envelopeBytes, ?string $proof, TlogPolicy $policy, int $now, ?int $maxAgeSeconds = null, ?string $largestSeen = null, ?array $consistency = null): array
    {
        $maxAge = $maxAgeSeconds ?? self::DEFAULT_MAX_AGE_SECONDS;
        if ($maxAge <= 0 || $maxAge > Checkpoint::MAX_SAFE_INTEGER) {
            throw new LogException('BAD_LOG_POLICY', 'the reference time and max-age must be valid');
        }
        if (count($policy->logs) === 0) {
            throw new LogException('BAD_LOG_POLICY', 'the log policy names no log');
        }

        // 1. The entry: carried as the proof's extra data, or rebuilt from the document.
        if ($proof === null) {
            throw new LogException('NOT_LOGGED', 'the document carries no log proof, and the log policy requires one');
        }
        $p = TlogProof::parse($proof);
        if ($p->extra !== null) {
            $entry = $p->extra;
            Entry::checkForEnvelope(Entry::parse($entry), $envelopeBytes);
        } else {
            $entry = Entry::encode(Entry::forEnvelope($envelopeBytes));
        }

        // 2. Inclusion in the checkpoint's tree.
        $cp = $p->checkpoint;
        Merkle::verifyInclusion(Merkle::leafHash($entry), $p->index, $cp->size, $p->proof, $cp->root);

        // 3. The log's signature, then the witnesses' cosignatures.
        $log = $policy->logForOrigin($cp->origin);
        if ($log === null) {
            throw new LogException('BAD_CHECKPOINT', 'the checkpoint is from origin "' . $cp->origin . '", which is not a log of the policy', ['origin' => $cp->origin]);
        }
        $cp->open($log);
        $times = [];
        if (count($policy->witnesses) > 0) {
            $known = [];
            $byVerifier = [];
            foreach ($policy->witnesses as $w) {
                $known[] = $w['key'];
                $byVerifier[spl_object_id($w['key'])] = $w['name'];
            }
            // Only the witness lines: the note verifier needs one known key, and a checkpoint may carry no cosignature.
            $lines = array_values(array_filter($cp->note->signatures, function (array $s) use ($known): bool {
                foreach ($known as $k) {
                    if ($k->name === $s['name'] && $k->keyId === $s['keyId']) {
                        return true;
                    }
                }
                return false;
            }));
            if (count($lines) > 0) {
                foreach ((new Note($cp->note->text, $lines))->verify($known) as $pair) {
                    $times[$byVerifier[spl_object_id($pair[0])]] = (int) Cosignature::timestamp($pair[1]['signature']);
                }
            }
        }
        $all = [];
        $future = [];
        foreach ($times as $name => $t) {
            if ($t <= $now + self::MAX_CLOCK_SKEW_SECONDS) {
                $all[(string) $name] = true;
            } else {
                $future[] = (string) $name;
            }
        }
        if (!$policy->quorumMet($all)) {
            $names = array_map('strval', array_keys($all));
            throw new LogException('WITNESS_QUORUM_NOT_MET', "the checkpoint's cosignatures (" . (count($names) > 0 ? implode(', ', $names) : 'none') . ') do not meet the quorum ' . $policy->quorum, [
                'cosigned' => $names,
                'quorum' => $policy->quorum,
                'future' => $future,
            ]);
        }

        // 4. Freshness: the quorum must hold with cosignatures no older than max-age.
        $fresh = [];
        foreach ($all as $name => $_) {
            if ($now - $times[$name] <= $maxAge) {
                $fresh[(string) $name] = true;
            }
        }
        if (!$policy->quorumMet($fresh)) {
            $newest = max(array_map(function ($n) use ($times): int {
                return $times[$n];
            }, array_keys($all)));
            throw new LogException('CHECKPOINT_STALE', "the witness quorum's cosignatures are older than " . $maxAge . ' s (newest ' . ($now - $newest) . ' s ago)', [
                'maxAgeSeconds' => $maxAge,
                'newestAgeSeconds' => $now - $newest,
            ]);
        }
        $counted = array_map(function ($n) use ($times): int {
            return $times[$n];
        }, array_keys($fresh));
        $cosigned = count($counted) === 0 ? null : ['oldest' => min($counted), 'newest' => max($counted)];
        $checkpointNote = $cp->note->format();

        // 5-6. Against the largest checkpoint seen: never smaller, never another root at one size, consistent when larger.
        $relation = 'first';
        $newLargest = $checkpointNote;
        if ($largestSeen !== null) {
            $seen = Checkpoint::parseSigned($largestSeen);
            $evidence = ['seen' => $largestSeen, 'presented' => $checkpointNote, 'kind' => 'fork'];
            if ($seen->origin !== $cp->origin) {
                throw new LogException('BAD_CHECKPOINT', 'the largest checkpoint seen is for ' . $seen->origin . ', this one for ' . $cp->origin, ['origin' => $cp->origin]);
            }
            if ($cp->size < $seen->size) {
                throw new LogException('LOG_INCONSISTENT', 'the checkpoint has size ' . $cp->size . ', smaller than the largest seen (' . $seen->size . '): a rolled-back log, or an old proof', array_merge($evidence, ['kind' => 'rollback']));
            }
            if ($cp->size === $seen->size) {
                if (!hash_equals($seen->root, $cp->root)) {
                    throw new LogException('LOG_INCONSISTENT', 'two checkpoints of size ' . $cp->size . ' with different roots: the log is forked', $evidence + ['roots' => [base64_encode($seen->root), base64_encode($cp->root)]]);
                }
                $relation = 'same';
                $newLargest = null;
            } elseif ($seen->size === 0) {
                // Every tree extends the empty one, provided the stored checkpoint really is of the empty tree.
                if (!hash_equals(Merkle::emptyRoot(), $seen->root)) {
                    throw new LogException('LOG_INCONSISTENT', 'the largest checkpoint seen has size 0 but not the empty root', $evidence);
                }
                $relation = 'proved';
            } elseif ($consistency !== null) {
                try {
                    Merkle::verifyConsistency($seen->size, $cp->size, $seen->root, $cp->root, $consistency);
                } catch (LogException $e) {
                    throw new LogException('LOG_INCONSISTENT', $e->getMessage() . ': the log is forked', $evidence);
                }
                $relation = 'proved';
            } else {
                // Accepted for this document, never recorded (lib/log/verify-proof.ts): a forked larger tree must not replace the proved largest.
                $relation = 'unchecked';
                $newLargest = null;
            }
        }
        $witnesses = array_map('strval', array_keys($fresh));
        sort($witnesses, SORT_STRING);
        $result = [
            'index' => $p->index,
            'entry' => $entry,
            'checkpoint' => $cp,
            'checkpointNote' => $checkpointNote,
            'witnesses' => $witnesses,
            'cosigned' => $cosigned,
            'consistency' => $relation,
        ];
        if ($newLargest !== null) {
            $result['newLargest'] = $newLargest;
        }
        return $result;
    }

    /** What a verify command reports about the log (lib/log/check-logged.ts describeLogged). @param array<string,mixed> $r @return array<string,mixed> */
    public static function describe(array $r): array
    {
        return [
            'index' => $r['index'],
            'origin' => $r['checkpoint']->origin,
            'size' => $r['checkpoint']->size,
            'witnesses' => $r['witnesses'],
            'cosigned' => $r['cosigned'],
            'consistency' => $r['consistency'],
        ];
    }

    /** `--max-age`: a positive number of seconds, or with a unit s, m, h, d (7d, 36h); null for anything else. */
    public static function parseDuration(string $text): ?int
    {
        $m = [];
        if (preg_match('/^([1-9][0-9]{0,9})(s|m|h|d)?$/D', $text, $m) !== 1) {
            return null;
        }
        $unit = ['s' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400][($m[2] ?? '') === '' ? 's' : $m[2]];
        return (int) $m[1] * $unit;
    }
}
