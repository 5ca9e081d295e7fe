<?php

declare(strict_types=1);

namespace Countersign\Tests;

use Countersign\Canonical;
use Countersign\Ed25519;
use Countersign\Envelope;
use Countersign\HostException;
use Countersign\Json;
use Countersign\Policy;
use Countersign\PolicyException;
use Countersign\FormatException;
use Countersign\Quorum;
use Countersign\SignerKinds\SignerKind;
use PHPUnit\Framework\TestCase;

/**
 * Signer kinds (policy format 2) on PHP alone: signatures built here from PROTOCOL.sshsig, PROTOCOL.u2f and
 * minisign.h, each rule's refusal with its code (test/php-signer-kinds.test.ts holds PHP to lib/core's codes and
 * messages; this suite needs no Node). Each test fails when the rule it names is removed.
 */
final class SignerKindsTest extends TestCase
{
    private const NS = 'countersign-release@v1';

    /** @var string */
    private static $seed;
    /** @var string */
    private static $secret;
    /** @var string */
    private static $pk;

    public static function setUpBeforeClass(): void
    {
        self::$seed = str_repeat("\x07", 32);
        $pair = sodium_crypto_sign_seed_keypair(self::$seed);
        self::$secret = sodium_crypto_sign_secretkey($pair);
        self::$pk = sodium_crypto_sign_publickey($pair);
    }

    protected function tearDown(): void
    {
        Ed25519::useBackend(false);
        \ParagonIE_Sodium_Compat::$verify = null;
    }

    private static function str(string $b): string
    {
        return pack('N', strlen($b)) . $b;
    }

    private static function doc(string $kind = 'manifest'): Envelope
    {
        $doc = new Envelope();
        $doc->kind = $kind;
        $doc->payloadBytes = '{"release":"10.2.4"}';
        $doc->envelope = ['payloadType' => Envelope::TYPES[$kind], 'payload' => base64_encode($doc->payloadBytes), 'signatures' => []];
        return $doc;
    }

    private static function message(string $kind = 'manifest'): string
    {
        $doc = self::doc($kind);
        return Envelope::pae($doc->envelope['payloadType'], $doc->payloadBytes);
    }

    /** An SSHSIG blob, valid in every field $o does not change. @param array<string,mixed> $o */
    private static function ssh(array $o = []): string
    {
        $type = $o['type'] ?? 'ssh-ed25519';
        $sk = $type === 'sk-ssh-ed25519@openssh.com';
        $ns = $o['namespace'] ?? self::NS;
        $hash = $o['hashAlg'] ?? 'sha512';
        $reserved = $o['reserved'] ?? '';
        $app = $o['application'] ?? 'ssh:';
        $flags = $o['flags'] ?? 0x01;
        $counter = $o['counter'] ?? 7;
        $signed = 'SSHSIG' . self::str($ns) . self::str($reserved) . self::str($hash) . self::str(hash($hash, $o['message'] ?? self::message(), true));
        if ($sk) {
            $signed = hash('sha256', $app, true) . chr($flags) . pack('N', $counter) . hash('sha256', $signed, true);
        }
        $sig = sodium_crypto_sign_detached($signed, self::$secret);
        if (isset($o['signature'])) {
            $sig = $o['signature']($sig);
        }
        $key = self::str($type) . self::str(self::$pk) . ($sk ? self::str($app) : '');
        $inner = self::str($type) . self::str($sig) . ($sk ? chr($flags) . pack('N', $counter) : '');
        return 'SSHSIG' . pack('N', $o['version'] ?? 1) . self::str($key) . self::str($ns) . self::str($reserved) . self::str($hash) . self::str($inner);
    }

    /** @param array<string,mixed> $o */
    private static function minisign(array $o = []): string
    {
        $legacy = $o['legacy'] ?? false;
        $comment = $o['comment'] ?? "timestamp:1764000000\tfile:pae.bin\thashed";
        $sig = sodium_crypto_sign_detached($legacy ? self::message() : sodium_crypto_generichash(self::message(), '', 64), self::$secret);
        $global = sodium_crypto_sign_detached($sig . $comment, self::$secret);
        return ($o['alg'] ?? ($legacy ? 'Ed' : 'ED')) . ($o['keynum'] ?? substr(self::$pk, 0, 8)) . $sig . $global . $comment;
    }

    private static function signify(string $keynum = ''): string
    {
        return 'Ed' . ($keynum !== '' ? $keynum : substr(self::$pk, 0, 8)) . sodium_crypto_sign_detached(self::message(), self::$secret);
    }

    /** @param array<string,mixed> $members @return array<string,mixed> */
    private static function entry(string $name, array $members = [], ?string $pk = null): array
    {
        $pk = $pk ?? self::$pk;
        return ['id' => hash('sha256', $pk), 'publicKey' => base64_encode($pk), 'name' => $name] + $members;
    }

    /** The codes a 1-of-n ring of $entries reports for $sigs; [] when the quorum is met. @param list<array<string,mixed>> $entries @param list<string> $sigs */
    private static function verdict(array $entries, array $sigs, string $kind = 'manifest', int $threshold = 1): array
    {
        $ring = new Policy();
        $ring->threshold = $threshold;
        foreach ($entries as $e) {
            $ring->keys[] = ['signer' => $e, 'publicKey' => base64_decode($e['publicKey'])];
        }
        $q = Quorum::count(self::doc($kind), array_map(function (string $s) {
            return ['keyid' => hash('sha256', self::$pk), 'sig' => base64_encode($s)];
        }, $sigs), $ring);
        return $q['met'] ? [] : array_column($q['problems'], 'code');
    }

    /** @param array<string,mixed> $o */
    private static function sshVerdict(array $o, ?array $entry = null): array
    {
        return self::verdict([$entry ?? self::entry('ssh', ['kind' => 'ssh-ed25519'])], [self::ssh($o)]);
    }

    public function testSshValidAndEveryRefusal(): void
    {
        $this->assertSame([], self::sshVerdict([]));
        $this->assertSame(['WRONG_NAMESPACE'], self::sshVerdict(['namespace' => 'git']));
        $this->assertSame(['WRONG_HASH_ALG'], self::sshVerdict(['hashAlg' => 'sha256']));
        $this->assertSame(['SIGNATURE_VERSION'], self::sshVerdict(['version' => 2]));
        $this->assertSame(['RESERVED_NOT_EMPTY'], self::sshVerdict(['reserved' => 'tag']));
        $this->assertSame(['BAD_SIGNATURE_LENGTH'], self::sshVerdict(['signature' => function (string $s): string {
            return substr($s, 0, 63);
        }]));
        $this->assertSame(['BAD_SIGNATURE'], self::sshVerdict(['signature' => function (string $s): string {
            return $s ^ ("\x01" . str_repeat("\0", 63));
        }]));
        $entry = self::entry('ssh', ['kind' => 'ssh-ed25519']);
        $this->assertSame(['TRAILING_BYTES'], self::verdict([$entry], [self::ssh() . "\0"]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$entry], [substr(self::ssh(), 0, 40)]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$entry], ['SSHSIH' . substr(self::ssh(), 6)]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$entry], [sodium_crypto_sign_detached(self::message(), self::$secret)]), 'a raw signature for an SSH entry');
        $this->assertSame(['WRONG_SIGNATURE_ALG'], self::verdict([$entry], [self::ssh(['type' => 'sk-ssh-ed25519@openssh.com'])]));
    }

    public function testNamespacePerDocumentType(): void
    {
        $entry = self::entry('ssh', ['kind' => 'ssh-ed25519']);
        foreach (SignerKind::SSHSIG_NAMESPACES as $kind => $ns) {
            $this->assertSame([], self::verdict([$entry], [self::ssh(['namespace' => $ns, 'message' => self::message($kind)])], $kind), $kind);
            foreach (SignerKind::SSHSIG_NAMESPACES as $other => $otherNs) {
                if ($other !== $kind) {
                    $this->assertSame(['WRONG_NAMESPACE'], self::verdict([$entry], [self::ssh(['namespace' => $otherNs, 'message' => self::message($kind)])], $kind), $other . ' signature under a ' . $kind);
                }
            }
        }
    }

    public function testSecurityKeyFlagsApplicationAndUserVerification(): void
    {
        $sk = ['type' => 'sk-ssh-ed25519@openssh.com'];
        $entry = self::entry('sk', ['kind' => 'sk-ssh-ed25519@openssh.com', 'application' => 'ssh:']);
        $uv = self::entry('sk', ['kind' => 'sk-ssh-ed25519@openssh.com', 'application' => 'ssh:', 'userVerification' => true]);
        $this->assertSame([], self::sshVerdict($sk, $entry));
        $this->assertSame(['USER_NOT_PRESENT'], self::sshVerdict($sk + ['flags' => 0x00], $entry));
        $this->assertSame(['USER_NOT_PRESENT'], self::sshVerdict($sk + ['flags' => 0x04], $uv));
        $this->assertSame(['USER_NOT_VERIFIED'], self::sshVerdict($sk + ['flags' => 0x01], $uv));
        $this->assertSame([], self::sshVerdict($sk + ['flags' => 0x05], $uv));
        $this->assertSame(['WRONG_APPLICATION'], self::sshVerdict($sk + ['application' => 'ssh:other'], $entry));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::sshVerdict($sk + ['application' => ''], $entry));
        $this->assertSame(['WRONG_SIGNATURE_ALG'], self::sshVerdict([], $entry), 'a plain SSH signature never counts for a security key');
        $ring = new Policy();
        $ring->threshold = 1;
        $ring->keys[] = ['signer' => $uv, 'publicKey' => self::$pk];
        $q = Quorum::count(self::doc(), [['keyid' => $uv['id'], 'sig' => base64_encode(self::ssh($sk + ['flags' => 0x05, 'counter' => 4294967295]))]], $ring);
        $this->assertSame([['kind' => 'sk-ssh-ed25519@openssh.com', 'flags' => 5, 'counter' => 4294967295]], $q['signedWith']);
    }

    public function testMinisignAndSignify(): void
    {
        $mini = self::entry('m', ['kind' => 'minisign', 'keynum' => bin2hex(substr(self::$pk, 0, 8))]);
        $this->assertSame([], self::verdict([$mini], [self::minisign()]), 'ED: Ed25519 over BLAKE2b-512');
        $this->assertSame([], self::verdict([$mini], [self::minisign(['legacy' => true])]), 'Ed: over the bytes');
        $this->assertSame(['BAD_SIGNATURE'], self::verdict([$mini], [self::minisign(['alg' => 'Ed'])]), 'a prehashed signature labelled legacy');
        $changed = self::minisign();
        $changed[strlen($changed) - 1] = 'X';
        $this->assertSame(['BAD_SIGNATURE'], self::verdict([$mini], [$changed]), 'the trusted comment is signed (global signature)');
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$mini], [self::minisign(['comment' => "a\x01b"])]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$mini], [self::minisign(['comment' => str_repeat('c', 1025)])]));
        $this->assertSame([], self::verdict([$mini], [self::minisign(['comment' => str_repeat('c', 1024)])]));
        $this->assertSame(['WRONG_SIGNATURE_ALG'], self::verdict([$mini], [self::minisign(['alg' => 'Ee'])]));
        $this->assertSame(['WRONG_SIGNER_KEY'], self::verdict([$mini], [self::minisign(['keynum' => str_repeat("\x01", 8)])]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$mini], [substr(self::minisign(), 0, 137)]));
        $ring = new Policy();
        $ring->threshold = 1;
        $ring->keys[] = ['signer' => $mini, 'publicKey' => self::$pk];
        $q = Quorum::count(self::doc(), [['keyid' => $mini['id'], 'sig' => base64_encode(self::minisign(['comment' => 'ok']))]], $ring);
        $this->assertSame([['kind' => 'minisign', 'trustedComment' => 'ok', 'prehashed' => true]], $q['signedWith']);

        $sfy = self::entry('s', ['kind' => 'signify', 'keynum' => bin2hex(substr(self::$pk, 0, 8))]);
        $this->assertSame([], self::verdict([$sfy], [self::signify()]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$sfy], [self::signify() . "\0"]));
        $this->assertSame(['WRONG_SIGNATURE_ALG'], self::verdict([$sfy], ['ED' . substr(self::signify(), 2)]));
        $this->assertSame(['WRONG_SIGNER_KEY'], self::verdict([$sfy], [self::signify(str_repeat("\x01", 8))]));
        $this->assertSame(['SIGNATURE_MALFORMED'], self::verdict([$sfy], [self::minisign(['legacy' => true])]), 'a minisign signature for a signify entry');
    }

    public function testMinisignPrehashThroughSodiumCompat(): void
    {
        Ed25519::useBackend(Ed25519::BACKEND_COMPAT);
        \ParagonIE_Sodium_Compat::$verify = function (string $sig, string $msg, string $pk): bool {
            return sodium_crypto_sign_verify_detached($sig, $msg, $pk);
        };
        $mini = self::entry('m', ['kind' => 'minisign', 'keynum' => bin2hex(substr(self::$pk, 0, 8))]);
        $this->assertSame([], self::verdict([$mini], [self::minisign()]));
    }

    public function testNoEd25519IsNeverAQuorumProblem(): void
    {
        Ed25519::useBackend(null);
        $this->expectException(HostException::class);
        self::verdict([self::entry('ssh', ['kind' => 'ssh-ed25519'])], [self::ssh()]);
    }

    public function testOneKeyUnderTwoKindsCountsOnce(): void
    {
        $entries = [self::entry('as countersign'), self::entry('as ssh', ['kind' => 'ssh-ed25519'])];
        $this->assertSame(['DUPLICATE_SIGNATURE'], self::verdict($entries, [self::ssh(), sodium_crypto_sign_detached(self::message(), self::$secret)], 'manifest', 2));
        $e = null;
        try {
            Policy::check(['format' => 2, 'version' => 1, 'expires' => '2030-01-01T00:00:00Z', 'threshold' => 1, 'signers' => $entries]);
        } catch (PolicyException $e) {
        }
        $this->assertNotNull($e);
        $this->assertSame('DUPLICATE_KEY', $e->getErrorCode());
        $this->assertSame('the key of as ssh (ssh-ed25519) is already listed for as countersign', $e->getMessage());
    }

    public function testKindsNeedPolicyFormatTwo(): void
    {
        $policy = ['format' => 1, 'version' => 1, 'expires' => '2030-01-01T00:00:00Z', 'threshold' => 1, 'signers' => [self::entry('A', ['kind' => 'ssh-ed25519'])]];
        foreach ([1, null] as $format) {
            if ($format === null) {
                unset($policy['format']);
            }
            try {
                Policy::fromPayload(Json::canonical(Json::parseLenient((string) json_encode($policy), 'p')));
                $this->fail('a kind in a format 1 policy was read');
            } catch (FormatException $e) {
                $this->assertSame('SCHEMA_INVALID', $e->getErrorCode());
            }
        }
        $policy['format'] = 2;
        $this->assertSame(1, Policy::fromPayload(Json::canonical(Json::parseLenient((string) json_encode($policy), 'p')))->threshold);
        $policy['format'] = 3;
        try {
            Policy::fromPayload(Json::canonical(Json::parseLenient((string) json_encode($policy), 'p')));
            $this->fail('a format 3 policy was read');
        } catch (FormatException $e) {
            $this->assertSame('FORMAT_UNSUPPORTED', $e->getErrorCode());
            $this->assertSame([1, 2], $e->getDetails()['supported']);
        }
        $this->assertSame('countersign', SignerKind::of(self::entry('A')));
        Canonical::checkPayloadFormat('policy', Json::parseLenient('{"format":2}', 'p'));
    }
}
