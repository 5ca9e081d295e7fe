<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\Bytes;
use Countersign\BundleFile;
use Countersign\Canonical;
use Countersign\CountersignException;
use Countersign\Ed25519;
use Countersign\Json;
use Countersign\Paths;
use Countersign\Policy;
use Countersign\Revocation;
use Countersign\Rotation;
use Countersign\StringArchive;
use Countersign\TarReader;
use Countersign\Time;
use Countersign\TrustStore;
use Countersign\VerificationException;
use Countersign\Verifier;
use Countersign\Version;

/**
 * Runs one vector case (spec/vectors/README.md operations, plus verifyWithStore of test/vectors/shared) and returns
 * ['expect' => 'ok'|list<code>, 'result' => mixed]: the same outcome test/conformance/run.test.ts computes.
 */
final class VectorRunner
{
    /** @param array<string,mixed> $c */
    public static function outcome(array $c, string $dir): array
    {
        try {
            $result = self::run($c, $dir);
            return ['expect' => 'ok', 'result' => $result];
        } catch (VerificationException $e) {
            return ['expect' => $e->getCodes(), 'problems' => self::quorumProblems($e)];
        } catch (CountersignException $e) {
            return ['expect' => [$e->getErrorCode()]];
        }
    }

    /** @param array<string,mixed> $c @return mixed */
    private static function run(array $c, string $dir)
    {
        $file = function (string $name) use ($dir): string {
            return (string) file_get_contents($dir . '/' . $name);
        };
        switch ($c['op']) {
            case 'verifyBundle':
                $now = Time::parse($c['now']);
                $pinned = Policy::loadTrusted($file($c['trusted']['pin']));
                $trusted = count($c['trusted']['rotations']) === 0 ? $pinned : Rotation::walk($pinned, array_map($file, $c['trusted']['rotations']), $now);
                $revocations = array_map(function ($r) use ($file, $trusted) {
                    return Revocation::verify($file($r), $trusted);
                }, $c['revocations']);
                $opts = ['trusted' => $trusted, 'now' => $now, 'site' => $c['site'], 'revocations' => $revocations];
                if (is_string($c['bundle'] ?? null)) {
                    $bundle = BundleFile::open($dir . '/' . $c['bundle']);
                    try {
                        return self::problemsOf(Verifier::verifyBundle($bundle->envelopeBytes, $bundle->archive, $opts));
                    } finally {
                        $bundle->close();
                    }
                }
                $archive = is_string($c['archive'] ?? null) ? new StringArchive($file($c['archive'])) : null;
                return self::problemsOf(Verifier::verifyBundle($file($c['envelope']), $archive, $opts));
            case 'verifyWithStore':
                $store = TrustStore::open($dir . '/' . $c['store']);
                $bundle = BundleFile::open($dir . '/' . $c['bundle']);
                try {
                    $store->verify($bundle->envelopeBytes, $bundle->archive, Time::parse($c['now']));
                } finally {
                    $bundle->close();
                }
                return null;
            case 'parseVersion':
                Version::parse($c['input']);
                return null;
            case 'compareVersions':
                return Version::compare($c['a'], $c['b']);
            case 'checkPath':
                Paths::check($c['path']);
                return null;
            case 'checkPathSet':
                Paths::checkSet($c['paths']);
                return null;
            case 'readTar':
                $entries = [];
                $hash = null;
                $reader = new TarReader(function () use (&$hash): void {
                    $hash = hash_init('sha256');
                }, function (string $d) use (&$hash): void {
                    hash_update($hash, $d);
                }, function (array $h) use (&$hash, &$entries): void {
                    $entries[] = ['path' => $h['path'], 'mode' => $h['mode'], 'size' => $h['size'], 'sha256' => hash_final($hash)];
                }, isset($c['maxEntries']) ? (int) $c['maxEntries'] : 100000);
                $reader->push((string) base64_decode($c['archive']));
                $reader->end();
                return $entries;
            case 'canonicalize':
                return base64_encode(Json::canonical(Json::parseLenient(Bytes::utf8((string) base64_decode($c['input'])), 'the vector')));
            case 'parseCanonical':
                Canonical::parse((string) base64_decode($c['input']), 'the vector');
                return null;
            case 'parseStrictJson':
                Json::parseStrict(self::lossyUtf8((string) base64_decode($c['input'])), 'the vector');
                return null;
            case 'verifyStrict':
                return Ed25519::verifyStrict((string) hex2bin($c['signature']), (string) hex2bin($c['message']), (string) hex2bin($c['publicKey']));
            case 'isStrongPublicKey':
                return Ed25519::isStrongPublicKey((string) hex2bin($c['publicKey']));
            case 'verifyLogProof':
                // spec/vectors/conformance/log.json (from the log branch): lib/log/verify-proof.ts's verdicts.
                $r = \Countersign\Log\ProofVerifier::verify(
                    $file($c['envelope']),
                    is_string($c['proof'] ?? null) ? $file($c['proof']) : null,
                    \Countersign\Log\TlogPolicy::parse($file($c['logPolicy'])),
                    Time::parse($c['now']),
                    isset($c['maxAgeSeconds']) ? (int) $c['maxAgeSeconds'] : null,
                    is_string($c['largestSeen'] ?? null) ? $file($c['largestSeen']) : null,
                    isset($c['consistency']) ? array_map('base64_decode', $c['consistency']) : null
                );
                return ['index' => $r['index'], 'witnesses' => $r['witnesses'], 'consistency' => $r['consistency']];
        }
        throw new \LogicException('unknown op ' . $c['op']);
    }

    /** The codes of the signatures a failed quorum reported and did not count (spec/vectors/README.md `problems`). @return list<string>|null */
    private static function quorumProblems(VerificationException $e): ?array
    {
        foreach ($e->getReasons() as $r) {
            if ($r['code'] === 'QUORUM_NOT_MET') {
                return self::codes($r['details']['problems'] ?? []);
            }
        }
        return null;
    }

    /** A verified bundle's outcome: the codes of its warnings. @return array{problems:list<string>} */
    private static function problemsOf(\Countersign\Verified $v): array
    {
        return ['problems' => self::codes($v->warnings)];
    }

    /** @param list<array<string,mixed>> $reasons @return list<string> */
    private static function codes(array $reasons): array
    {
        return array_map(function (array $r): string {
            return $r['code'];
        }, $reasons);
    }

    /** Buffer#toString('utf8'): invalid sequences become U+FFFD (the runner decodes before parseStrictJson). */
    private static function lossyUtf8(string $b): string
    {
        if (Bytes::isUtf8($b)) {
            return $b;
        }
        return (string) preg_replace('/[\x80-\xff]/', "\u{fffd}", $b);
    }
}
