<?php

declare(strict_types=1);

namespace Countersign\Tests\Log;

use Countersign\CountersignException;
use Countersign\Log\Checkpoint;
use Countersign\Log\Cosignature;
use Countersign\Log\Entry;
use Countersign\Log\Note;
use Countersign\Log\ProofVerifier;
use Countersign\Log\TlogPolicy;
use Countersign\Log\TlogProof;
use PHPUnit\Framework\TestCase;

/**
 * test/vectors/shared/log/log.json (test/log-vectors/generate.ts): every case is what lib/log gave (vkeys, signed
 * notes, checkpoints, cosignature/v1, tlog-policy and quorums, tlog-proof, entries, verifyLogProof). The PHP verifier
 * must give the same verdict, code and result; the data set name is the case's id.
 */
final class LogVectorsTest extends TestCase
{
    /** @var array<string,mixed>|null */
    private static $file;

    /** @return array<string,mixed> */
    public static function file(): array
    {
        if (self::$file === null) {
            self::$file = json_decode((string) file_get_contents(dirname(__DIR__, 3) . '/test/vectors/shared/log/log.json'), true, 512, JSON_THROW_ON_ERROR);
        }
        return self::$file;
    }

    /** @return iterable<string,array{0:array<string,mixed>}> */
    public function cases(): iterable
    {
        foreach (self::file()['cases'] as $c) {
            yield $c['id'] => [$c];
        }
    }

    /**
     * @dataProvider cases
     * @param array<string,mixed> $c
     */
    public function testCase(array $c): void
    {
        try {
            $result = self::outcome($c);
            $got = $result === null ? ['expect' => 'ok'] : ['expect' => 'ok', 'result' => $result];
        } catch (CountersignException $e) {
            $got = ['expect' => [$e->getErrorCode()]];
        }
        $this->assertSame($c['expect'], $got['expect'], $c['id'] . ': ' . $c['description'] . (isset($e) ? ' (' . $e->getMessage() . ')' : ''));
        $this->assertSame($c['result'] ?? null, $got['result'] ?? null, $c['id'] . ' result');
    }

    private static function document(array $c): string
    {
        return isset($c['documentBytes']) ? (string) base64_decode($c['documentBytes']) : (string) base64_decode(self::file()['documents'][$c['document']]);
    }

    /** @param array<string,mixed> $c @return mixed */
    private static function outcome(array $c)
    {
        $b = function (string $k) use ($c): string {
            return (string) base64_decode($c[$k]);
        };
        switch ($c['op']) {
            case 'parseVkey':
                $k = Note::parseVkey($c['vkey']);
                return ['name' => $k->name, 'keyId' => Note::hex8($k->keyId), 'type' => $k->type, 'publicKey' => bin2hex($k->publicKey)];
            case 'verifyNote':
                $verifiers = array_map([Note::class, 'parseVkey'], $c['vkeys']);
                $n = Note::parse($b('note'));
                $verified = $n->verify($verifiers);
                return ['text' => base64_encode($n->text), 'signatures' => count($n->signatures), 'verified' => array_map(function (array $p): string {
                    return $p[1]['name'] . '+' . Note::hex8($p[1]['keyId']);
                }, $verified)];
            case 'parseCheckpoint':
                $cp = Checkpoint::parseText($b('text'));
                return ['origin' => $cp->origin, 'size' => $cp->size, 'root' => base64_encode($cp->root), 'extensions' => $cp->extensions];
            case 'verifyCosignature':
                $v = Note::parseVkey($c['vkey']);
                $verified = Note::parse($b('note'))->verify([$v]);
                return ['timestamp' => Cosignature::timestamp($verified[0][1]['signature'])];
            case 'parseTlogPolicy':
                $p = TlogPolicy::parse($b('policy'));
                if ($c['id'] === 'policy-latin1-name') {
                    return ['witnesses' => count($p->witnesses)];
                }
                return [
                    'logs' => array_map(function (array $l): array {
                        return ['name' => $l['key']->name] + (isset($l['url']) ? ['url' => $l['url']] : []);
                    }, $p->logs),
                    'witnesses' => array_values(array_map(function (array $w): array {
                        return ['name' => $w['name'], 'key' => $w['key']->name] + (isset($w['url']) ? ['url' => $w['url']] : []);
                    }, $p->witnesses)),
                    'groups' => array_values(array_map(function (array $g): array {
                        return ['name' => $g['name'], 'threshold' => $g['threshold'], 'members' => $g['members']];
                    }, $p->groups)),
                    'quorum' => $p->quorum,
                ];
            case 'quorumMet':
                return ['met' => TlogPolicy::parse($b('policy'))->quorumMet(array_fill_keys($c['cosigned'], true))];
            case 'parseProof':
                $p = TlogProof::parse($b('proof'));
                return ($p->extra !== null ? ['extra' => base64_encode($p->extra)] : []) + [
                    'index' => $p->index,
                    'proof' => array_map('base64_encode', $p->proof),
                    'origin' => $p->checkpoint->origin,
                    'size' => $p->checkpoint->size,
                    'signatures' => count($p->checkpoint->note->signatures),
                ];
            case 'entryForEnvelope':
                return ['entry' => base64_encode(Entry::encode(Entry::forEnvelope(self::document($c))))];
            case 'checkEntry':
                Entry::checkForEnvelope(Entry::parse($b('entry')), self::document($c));
                return null;
            case 'verifyLogProof':
                $r = ProofVerifier::verify(
                    self::document($c),
                    isset($c['proof']) ? $b('proof') : null,
                    TlogPolicy::parse($b('policy')),
                    $c['now'],
                    $c['maxAgeSeconds'] ?? null,
                    isset($c['largestSeen']) ? $b('largestSeen') : null,
                    isset($c['consistency']) ? array_map('base64_decode', $c['consistency']) : null
                );
                return [
                    'index' => $r['index'],
                    'entry' => base64_encode($r['entry']),
                    'witnesses' => $r['witnesses'],
                    'cosigned' => $r['cosigned'],
                    'consistency' => $r['consistency'],
                    'newLargest' => $r['newLargest'] ?? null,
                ];
        }
        throw new \LogicException('unknown op ' . $c['op']);
    }
}
