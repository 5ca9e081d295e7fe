<?php

// test/php-signer-kinds.test.ts: reads a JSON list of cases on stdin, answers with what this verifier makes of each,
// for the mocha test to compare with lib/core: a quorum (met, each problem's code and message, signedWith) over a ring
// of policy entries taken as given (so a ring that checkPolicy would refuse can be counted too), a policy payload's
// verdict, or a rotation chain's (ok, or code and message).
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Countersign\Bytes;
use Countersign\CountersignException;
use Countersign\Envelope;
use Countersign\Policy;
use Countersign\Quorum;
use Countersign\Rotation;
use Countersign\Time;

$out = [];
foreach (json_decode((string) stream_get_contents(STDIN), true, 64, JSON_THROW_ON_ERROR) as $c) {
    if (isset($c['pin'])) {
        try {
            $trusted = Rotation::walk(Policy::loadTrusted(base64_decode($c['pin'], true)), array_map(function ($x) {
                return base64_decode($x, true);
            }, $c['chain']), Time::parse($c['now']));
            $out[] = ['ok' => true, 'version' => $trusted->version()];
        } catch (CountersignException $e) {
            $out[] = ['ok' => false, 'code' => $e->getErrorCode(), 'message' => $e->getMessage()];
        }
        continue;
    }
    if (isset($c['policy'])) {
        try {
            Policy::fromPayload(base64_decode($c['policy'], true));
            $out[] = ['ok' => true];
        } catch (CountersignException $e) {
            $out[] = ['ok' => false, 'code' => $e->getErrorCode(), 'message' => $e->getMessage()];
        }
        continue;
    }
    $ring = new Policy();
    $ring->threshold = $c['threshold'];
    foreach ($c['signers'] as $signer) {
        $ring->keys[] = ['signer' => $signer, 'publicKey' => Bytes::fromBase64($signer['publicKey'])];
    }
    $doc = new Envelope();
    $doc->envelope = ['payloadType' => $c['payloadType'], 'payload' => $c['payload'], 'signatures' => $c['signatures']];
    $doc->kind = (string) array_search($c['payloadType'], Envelope::TYPES, true);
    $doc->payloadBytes = base64_decode($c['payload'], true);
    $q = Quorum::count($doc, $c['signatures'], $ring);
    $out[] = [
        'met' => $q['met'],
        'signedBy' => array_map(function ($s) {
            return $s['name'];
        }, $q['signedBy']),
        'signedWith' => $q['signedWith'],
        'problems' => array_map(function ($p) {
            return ['code' => $p['code'], 'message' => $p['message']];
        }, $q['problems']),
    ];
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
