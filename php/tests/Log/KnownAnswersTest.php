<?php

declare(strict_types=1);

namespace Countersign\Tests\Log;

use Countersign\Ed25519;
use Countersign\HostException;
use Countersign\Log\Checkpoint;
use Countersign\Log\Cosignature;
use Countersign\Log\LogException;
use Countersign\Log\Merkle;
use Countersign\Log\Note;
use Countersign\Log\NoteVerifier;
use Countersign\Log\TlogProof;
use PHPUnit\Framework\TestCase;

/**
 * Fixed bytes from /work/shared/docs/LOG.md (the worked example and the signed-note example), written here by hand
 * so they do not depend on the generator; and the Ed25519 path: always Ed25519::verifyStrict, failing closed.
 */
final class KnownAnswersTest extends TestCase
{
    private const LOG_VKEY = 'countersign.example/log+cc310fba+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c';
    private const CHECKPOINT = "countersign.example/log\n3\npkvybgkSj2/i/m+LLYyAHhZrV8BHp82bK4Ceepai8cs=\n\n"
        . "\u{2014} countersign.example/log zDEPujczbSt8wy0+Q8bGrZ6sgfAvrwYZL2EKSv67NzTkm1LPYJvedXmlshRrZ69lXzYgaIMLySEZnAckC5rlJDxRAAs=\n";
    private const NOTE_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
    private const NOTE = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    protected function tearDown(): void
    {
        Ed25519::useBackend(false);
        \ParagonIE_Sodium_Compat::$verify = null;
    }

    public function testWorkedExample(): void
    {
        $leaves = array_map([Merkle::class, 'leafHash'], ['entry-0', 'entry-1', 'entry-2']);
        $root = Merkle::rootOf($leaves);
        $this->assertSame('pkvybgkSj2/i/m+LLYyAHhZrV8BHp82bK4Ceepai8cs=', base64_encode($root));
        $log = Note::parseVkey(self::LOG_VKEY);
        // The log key from the seed 32 x 0x01.
        if (function_exists('sodium_crypto_sign_seed_keypair')) {
            $this->assertSame(sodium_crypto_sign_publickey(sodium_crypto_sign_seed_keypair(str_repeat("\x01", 32))), $log->publicKey);
        }
        $cp = Checkpoint::parseSigned(self::CHECKPOINT);
        $cp->open($log);
        $this->assertSame([3, $root], [$cp->size, $cp->root]);
        $this->assertSame(self::CHECKPOINT, $cp->note->format());
        $proof = [(string) base64_decode('LyelCCwdQq+kiKw1Cp/EOQwIT1T3Hs3/hZ6Y24QptHk=')];
        Merkle::verifyInclusion($leaves[2], 2, 3, $proof, $root);
        $consistency = [(string) base64_decode('BJ19zbVrz+vTEzBMmDnxlqPUtu873AsIKY+TrIGR8Kg=')];
        Merkle::verifyConsistency(2, 3, Merkle::rootOf(array_slice($leaves, 0, 2)), $root, $consistency);
        // The same proof carried as a tlog-proof.
        $p = TlogProof::parse("c2sp.org/tlog-proof@v1\nextra " . base64_encode('entry-2') . "\nindex 2\n" . base64_encode($proof[0]) . "\n\n" . self::CHECKPOINT);
        $this->assertSame(['entry-2', 2, $proof], [$p->extra, $p->index, $p->proof]);
    }

    public function testCheckpointOriginIsTheLogKeysName(): void
    {
        // The worked example's log key under another name: its signature would verify, the origin does not match.
        $log = Note::parseVkey(self::LOG_VKEY);
        $renamed = new NoteVerifier('other.example/log', Note::keyId('other.example/log', 1, $log->publicKey), 1, $log->publicKey);
        try {
            Checkpoint::parseSigned(self::CHECKPOINT)->open($renamed);
            $this->fail('another origin accepted');
        } catch (LogException $e) {
            $this->assertSame('BAD_CHECKPOINT', $e->getErrorCode());
        }
    }

    public function testCosignatureTimestampBelow2To63(): void
    {
        $this->assertSame(PHP_INT_MAX, Cosignature::timestamp("\x7f" . str_repeat("\xff", 7) . str_repeat("\x00", 64)));
        $this->assertNull(Cosignature::timestamp("\x80" . str_repeat("\x00", 71)));
        $this->assertNull(Cosignature::timestamp(str_repeat("\x00", 71)));
        $this->assertSame(1780268400, Cosignature::timestamp(pack('J', 1780268400) . str_repeat("\x00", 64)));
    }

    public function testSignedNoteExample(): void
    {
        $v = Note::parseVkey(self::NOTE_VKEY);
        $this->assertSame([0x530d903a, Note::SIG_ED25519], [$v->keyId, $v->type]);
        $this->assertSame(0x530d903a, Note::keyId('example.com/foo', 1, $v->publicKey));
        $verified = Note::parse(self::NOTE)->verify([$v]);
        $this->assertCount(1, $verified);
        $this->assertSame("This is an example message.\n", Note::parse(self::NOTE)->text);
    }

    public function testNoEd25519FailsClosed(): void
    {
        $v = Note::parseVkey(self::NOTE_VKEY);
        Ed25519::useBackend(null);
        try {
            Note::parse(self::NOTE)->verify([$v]);
            $this->fail('verified without Ed25519');
        } catch (HostException $e) {
            $this->assertSame('ED25519_UNAVAILABLE', $e->getErrorCode());
        }
    }

    public function testSodiumCompatOnlyBehindThePrechecks(): void
    {
        $v = Note::parseVkey(self::NOTE_VKEY);
        // A sodium_compat that accepts everything still never sees a signature whose S is not below L.
        Ed25519::useBackend(Ed25519::BACKEND_COMPAT);
        $calls = 0;
        \ParagonIE_Sodium_Compat::$verify = function () use (&$calls): bool {
            $calls++;
            return true;
        };
        $raw = (string) base64_decode(explode(' ', trim(explode("\n", self::NOTE)[2]))[2]);
        $sig = substr($raw, 4);
        $s = substr($sig, 32);
        $l = "\xed\xd3\xf5\x5c\x1a\x63\x12\x58\xd6\x9c\xf7\xa2\xde\xf9\xde\x14" . str_repeat("\x00", 15) . "\x10";
        $sum = '';
        $carry = 0;
        for ($i = 0; $i < 32; $i++) {
            $t = ord($s[$i]) + ord($l[$i]) + $carry;
            $sum .= chr($t & 0xff);
            $carry = $t >> 8;
        }
        $high = substr($raw, 0, 4) . substr($sig, 0, 32) . $sum;
        $note = "This is an example message.\n\n\u{2014} example.com/foo " . base64_encode($high) . "\n";
        try {
            Note::parse($note)->verify([$v]);
            $this->fail('S + L accepted');
        } catch (LogException $e) {
            $this->assertSame('BAD_NOTE', $e->getErrorCode());
        }
        $this->assertSame(0, $calls);
        // The well-formed signature reaches sodium_compat (and its verdict is the one used).
        Note::parse(self::NOTE)->verify([$v]);
        $this->assertSame(1, $calls);
    }
}
