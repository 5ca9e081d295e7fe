<?php

declare(strict_types=1);

namespace Countersign;

use Countersign\SignerKinds\SignerKind;

/** Counting a quorum over distinct authorised public-key bytes (lib/core/quorum.ts countQuorum). */
final class Quorum
{
    /**
     * @param list<array{keyid:string,sig:string}> $signatures
     * @return array{threshold:int,signedBy:list<array<string,string>>,couldSign:list<array<string,string>>,signatures:list<array<string,string>>,signedWith:list<array<string,mixed>>,problems:list<array<string,mixed>>,met:bool}
     */
    public static function count(Envelope $doc, array $signatures, Policy $ring): array
    {
        $message = Envelope::pae($doc->envelope['payloadType'], $doc->payloadBytes);
        $byId = [];
        foreach ($ring->keys as $k) {
            $byId['k' . $k['signer']['id']] = $k;
        }
        $counted = [];
        $problems = [];
        foreach ($signatures as $s) {
            $key = $byId['k' . $s['keyid']] ?? null;
            if ($key === null) {
                $problems[] = ['code' => 'UNKNOWN_KEY', 'message' => 'signature by key ' . self::short($s['keyid']) . ' which the policy does not authorise', 'details' => ['keyid' => $s['keyid']]];
                continue;
            }
            $keyHex = bin2hex($key['publicKey']);
            if (isset($counted[$keyHex])) {
                $problems[] = ['code' => 'DUPLICATE_SIGNATURE', 'message' => $key['signer']['name'] . ' is already counted; extra signature ignored', 'details' => ['keyid' => $s['keyid']]];
                continue;
            }
            $sig = null;
            try {
                $sig = Bytes::fromBase64($s['sig'], 'signature');
            } catch (FormatException $e) {
                $sig = null;
            }
            try {
                if ($sig === null || !isset(SignerKind::SSHSIG_NAMESPACES[$doc->kind])) {
                    throw new SignatureException('BAD_SIGNATURE', 'not base64, or over an unknown document type');
                }
                // Read as the trusted entry's kind, never as the signature claims (src/SignerKinds/SignerKind.php).
                $info = SignerKind::verify($key['signer'], $key['publicKey'], $sig, $doc->kind, $message);
            } catch (SignatureException $e) {
                $why = $e->getErrorCode() === 'BAD_SIGNATURE' ? 'does not verify over this document' : 'is refused: ' . $e->getMessage();
                $problems[] = ['code' => $e->getErrorCode(), 'message' => 'signature claiming to be from ' . $key['signer']['name'] . ' ' . $why, 'details' => ['keyid' => $s['keyid']]];
                continue;
            }
            $counted[$keyHex] = ['sig' => ['keyid' => $key['signer']['id'], 'sig' => $s['sig']], 'info' => $info];
        }
        $signedBy = [];
        $couldSign = [];
        $kept = [];
        $signedWith = [];
        foreach ($ring->keys as $k) {
            $keyHex = bin2hex($k['publicKey']);
            if (isset($counted[$keyHex])) {
                $kept[] = $counted[$keyHex]['sig'];
                $signedWith[] = $counted[$keyHex]['info'];
                unset($counted[$keyHex]); // a key listed twice (even as two kinds) still counts once
                $signedBy[] = $k['signer'];
            } else {
                $couldSign[] = $k['signer'];
            }
        }
        return ['threshold' => $ring->threshold, 'signedBy' => $signedBy, 'couldSign' => $couldSign, 'signatures' => $kept, 'signedWith' => $signedWith, 'problems' => $problems, 'met' => count($signedBy) >= $ring->threshold];
    }

    /** @param array<string,mixed> $q */
    public static function describe(array $q): string
    {
        $names = function (array $list): string {
            return count($list) > 0 ? implode(', ', array_map(function ($s) {
                return $s['name'];
            }, $list)) : 'nobody';
        };
        return count($q['signedBy']) . ' of ' . $q['threshold'] . ' required signatures (signed: ' . $names($q['signedBy']) . '; could still sign: ' . $names($q['couldSign']) . ')';
    }

    /** @param array<string,mixed> $q */
    public static function describeSigners(array $q): string
    {
        $n = count($q['signedBy']);
        return $n . ' signer' . ($n === 1 ? '' : 's') . ' (threshold ' . $q['threshold'] . ' of ' . ($n + count($q['couldSign'])) . ')';
    }

    /** @param array<string,string> $s @return array{id:string,name:string} */
    public static function publicSigner(array $s): array
    {
        return ['id' => $s['id'], 'name' => $s['name']];
    }

    /** @param array<string,mixed> $q @return array<string,mixed> */
    public static function reason(array $q, string $what): array
    {
        return [
            'code' => 'QUORUM_NOT_MET',
            'message' => $what . ': ' . self::describe($q),
            'details' => ['signedBy' => array_map([self::class, 'publicSigner'], $q['signedBy']), 'couldSign' => array_map([self::class, 'publicSigner'], $q['couldSign']), 'problems' => $q['problems']],
        ];
    }

    private static function short(string $id): string
    {
        return Bytes::utf16Length($id) > 16 ? substr($id, 0, 16) . '…' : $id;
    }
}
