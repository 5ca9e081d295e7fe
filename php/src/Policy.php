<?php

declare(strict_types=1);

namespace Countersign;

use Countersign\SignerKinds\SignerKind;

/**
 * A checked trust policy (lib/core/policy.ts): the document, its threshold and its keys decoded. $trusted is set only
 * by loadTrusted() and Rotation, so a merely parsed policy is never taken for a trusted one.
 */
final class Policy
{
    /** @var array<string,mixed> */
    public $policy;
    /** @var int */
    public $threshold;
    /** @var list<array{signer:array<string,mixed>,publicKey:string}> signer: the entry (id, publicKey, name; format 2: kind and its members) */
    public $keys = [];
    /** @var bool */
    public $trusted = false;
    /** @var string the canonical payload bytes it was read from */
    public $payloadBytes = '';

    public static function fromPayload(string $payloadBytes, string $what = 'policy'): self
    {
        $parsed = Canonical::parse($payloadBytes, $what, function ($v): void {
            Canonical::checkPayloadFormat('policy', $v);
        });
        $checked = self::check(Canonical::plain(Schema::validate('policy', $parsed, $what)));
        $checked->payloadBytes = $payloadBytes;
        return $checked;
    }

    /** @param array<string,mixed> $policy */
    public static function check(array $policy): self
    {
        $seenKeys = [];
        $seenNames = [];
        $out = new self();
        // Signer kinds are format 2 members: a format 1 policy with them would read differently in a verifier before 0.3.0.
        if (($policy['format'] ?? 1) < 2 && count(array_filter($policy['signers'], function ($s) {
            return isset($s['kind']);
        })) > 0) {
            throw new FormatException('SCHEMA_INVALID', 'signer kinds need policy format 2');
        }
        // Provider members are format 3 members (lib/core/provider-policy.ts): read in a lower format, they would be ignored here.
        $members = array_values(array_filter(['provider', 'roles', 'providers'], function ($m) use ($policy) {
            return array_key_exists($m, $policy);
        }));
        if (($policy['format'] ?? 1) < 3 && count($members) > 0) {
            throw new FormatException('SCHEMA_INVALID', implode(', ', $members) . ' need policy format 3');
        }
        foreach ($policy['signers'] as $signer) {
            $publicKey = Bytes::fromBase64($signer['publicKey'], 'public key of ' . $signer['name']);
            $hex = bin2hex($publicKey);
            if (isset($seenKeys[$hex])) {
                throw new PolicyException('DUPLICATE_KEY', 'the key of ' . $signer['name'] . ' (' . SignerKind::of($signer) . ') is already listed for ' . $seenKeys[$hex], ['id' => $signer['id']]);
            }
            $seenKeys[$hex] = $signer['name'];
            $nameKey = 'k' . self::nameKey($signer['name']);
            if (isset($seenNames[$nameKey])) {
                throw new PolicyException('DUPLICATE_NAME', 'two signers are both named ' . $signer['name'], ['name' => $signer['name']]);
            }
            $seenNames[$nameKey] = true;
            if (!Ed25519::isStrongPublicKey($publicKey)) {
                throw new PolicyException('WEAK_KEY', 'the key of ' . $signer['name'] . ' is non-canonical, of small order, or not in the prime-order subgroup', ['id' => $signer['id']]);
            }
            if (Ed25519::keyId($publicKey) !== $signer['id']) {
                throw new PolicyException('KEY_ID_MISMATCH', 'the id listed for ' . $signer['name'] . ' is not the SHA-256 of its key', ['id' => $signer['id']]);
            }
            $out->keys[] = ['signer' => $signer, 'publicKey' => $publicKey];
        }
        $n = count($out->keys);
        $t = $policy['threshold'];
        if (!is_int($t) || $t < 1 || $t > $n) {
            throw new PolicyException('BAD_THRESHOLD', 'threshold ' . Json::stringify($t) . ' must be between 1 and the ' . $n . ' distinct signers', ['threshold' => $t, 'signers' => $n]);
        }
        Time::parse($policy['expires'], 'policy expiry');
        $out->policy = $policy;
        $out->threshold = $t;
        return $out;
    }

    /** NFKC then lower case: two names shown alike cannot be told apart in a review. */
    private static function nameKey(string $name): string
    {
        if (!preg_match('/[\x80-\xff]/', $name)) {
            return strtolower($name);
        }
        if (!class_exists('Normalizer') || !function_exists('mb_strtolower')) {
            throw new HostException('UNICODE_UNAVAILABLE', 'signer name ' . Json::quote($name) . ' is not ASCII and this PHP lacks ext-intl and ext-mbstring to compare it; install them', ['name' => $name]);
        }
        return mb_strtolower((string) \Normalizer::normalize($name, \Normalizer::FORM_KC), 'UTF-8');
    }

    public function version(): int
    {
        return $this->policy['version'];
    }

    public static function checkFresh(array $policy, int $now): void
    {
        if (!($now < Time::parse($policy['expires'], 'policy expiry'))) {
            throw new PolicyException('POLICY_EXPIRED', 'policy version ' . $policy['version'] . ' expired at ' . $policy['expires'], ['expires' => $policy['expires'], 'now' => Time::format($now)]);
        }
    }

    /** The policy a site pins: well-formed and signed by a quorum of its own keys (else POLICY_UNSIGNED). */
    public static function loadTrusted(string $envelopeBytes, string $what = 'trusted policy'): self
    {
        // Trust rests on the self-signature: without Ed25519 stop here, before any other verdict on the pin.
        Ed25519::requireBackend();
        $opened = Envelope::open($envelopeBytes, $what);
        $opened->expectKind('policy', $what);
        $checked = self::fromPayload($opened->payloadBytes, $what);
        $q = Quorum::count($opened, $opened->envelope['signatures'], $checked);
        if (!$q['met']) {
            throw new PolicyException('POLICY_UNSIGNED', $what . ' is not signed by a quorum of its own keys: ' . Quorum::describe($q), [
                'signedBy' => array_map([Quorum::class, 'publicSigner'], $q['signedBy']),
                'couldSign' => array_map([Quorum::class, 'publicSigner'], $q['couldSign']),
            ]);
        }
        $checked->trusted = true;
        return $checked;
    }
}
