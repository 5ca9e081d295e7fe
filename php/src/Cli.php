<?php

declare(strict_types=1);

namespace Countersign;

/**
 * php bin/countersign-verify: the TypeScript `countersign verify` (cli/verify.ts) with the same flags, exit codes
 * (0 ok, 1 a document failed a check, 2 usage, I/O, store or host problems) and --json output. The one addition is
 * "backend" in --json and the human output: the Ed25519 implementation that verified.
 */
final class Cli
{
    private const USAGE = 'usage: php countersign-verify BUNDLE (--policy P | --store DIR) [--archive A] [--product P --component C --installed V] [--chain ROTATION ...] [--revocation R ...] [--log-policy FILE [--log-proof FILE] [--max-age DURATION]] [--now TIME] [--json]';

    /** @var resource */
    private $out;
    /** @var resource */
    private $err;

    /** @param resource $out @param resource $err */
    public function __construct($out, $err)
    {
        $this->out = $out;
        $this->err = $err;
    }

    /** @param list<string> $argv without the program name */
    public function run(array $argv): int
    {
        if (in_array('--help', $argv, true) || in_array('-h', $argv, true)) {
            $this->line($this->out, self::USAGE . "\nExample: php countersign-verify drupal-10.2.4.bundle --policy policy.signed.json --product drupal --component core --installed 10.2.3\nExample: php countersign-verify drupal-10.2.4.bundle --policy policy.signed.json --log-policy log.policy --max-age 36h");
            return 0;
        }
        $json = in_array('--json', $argv, true);
        try {
            return $this->verify($this->parse($argv), $json);
        } catch (CountersignException $e) {
            return $this->fail($e, $json, null, null);
        } catch (\Throwable $e) {
            if ($json) {
                $this->line($this->out, Json::stringifyForOutput(['ok' => false, 'code' => 'INTERNAL', 'message' => $e->getMessage()]));
            } else {
                $this->line($this->err, 'error[INTERNAL]: ' . $e->getMessage());
            }
            return 2;
        }
    }

    /** @param list<string> $argv @return array<string,mixed> */
    private function parse(array $argv): array
    {
        $args = ['chain' => [], 'revocation' => []];
        $single = ['policy', 'store', 'archive', 'product', 'component', 'installed', 'now', 'log-policy', 'log-proof', 'max-age'];
        $positional = [];
        for ($i = 0; $i < count($argv); $i++) {
            $a = $argv[$i];
            if ($a === '--json') {
                continue;
            }

            $m = [];
            if (preg_match('/^--([a-z]+(?:-[a-z]+)*)(?:=(.*))?$/Ds', $a, $m)) {
                $name = $m[1];
                if (!in_array($name, $single, true) && $name !== 'chain' && $name !== 'revocation') {
                    throw new UsageException('USAGE', 'Unknown argument: ' . $name);
                }
                if (isset($m[2])) {
                    $value = $m[2];
                } else {
                    if (!isset($argv[$i + 1])) {
                        throw new UsageException('USAGE', 'Not enough arguments following: ' . $name);
                    }
                    $value = $argv[++$i];
                }
                if ($name === 'chain' || $name === 'revocation') {
                    $args[$name][] = $value;
                } else {
                    $args[$name] = $value;
                }
                continue;
            }
            $positional[] = $a;
        }
        if (count($positional) !== 1) {
            throw new UsageException('USAGE', count($positional) === 0 ? 'Not enough non-option arguments: got 0, need at least 1' : 'Unknown arguments: ' . implode(', ', array_slice($positional, 1)));
        }
        $args['bundle'] = $positional[0];
        return $args;
    }

    /** @param array<string,mixed> $args */
    private function verify(array $args, bool $json): int
    {
        $now = time();
        if (isset($args['now'])) {
            $now = self::flag('--now', function () use ($args) {
                return Time::parseUser($args['now'], '--now');
            });
        }
        if (isset($args['installed'])) {
            self::flag('--installed', function () use ($args) {
                return Version::parse($args['installed']);
            });
        }
        if (isset($args['policy']) === isset($args['store'])) {
            throw new UsageException('USAGE', 'give exactly one of --policy or --store');
        }
        if (isset($args['store'])) {
            $given = array_values(array_filter(['product', 'component', 'installed'], function ($f) use ($args) {
                return isset($args[$f]);
            }));
            if (count($given) > 0) {
                throw new UsageException('USAGE', '--' . implode(', --', $given) . ': with --store, what the site runs comes from the store (countersign trust record)');
            }
            if (count($args['chain']) > 0) {
                throw new UsageException('USAGE', '--chain: with --store, accept rotations into the store first (countersign trust update)');
            }
        }
        $site = [];
        foreach (['product', 'component', 'installed'] as $f) {
            if (isset($args[$f])) {
                $site[$f] = $args[$f];
            }
        }
        $store = isset($args['store']) ? TrustStore::open($args['store']) : null;
        $log = self::logOptions($args, $store !== null && $store->logPolicy !== null);
        $logged = null;
        $carriesProof = false;
        $bundle = null;
        $separate = null;
        try {
            $pinned = $store !== null ? $store->trusted : Policy::loadTrusted(self::readDocument($args['policy'], 'policy'), $args['policy']);
            $trusted = Rotation::walk($pinned, array_map(function ($f) {
                return self::readDocument($f, 'policy');
            }, $args['chain']));
            $revocations = array_map(function ($f) use ($trusted) {
                return Revocation::verify(self::readDocument($f, 'revocation'), $trusted, $f);
            }, $args['revocation']);
            $bundle = BundleFile::open($args['bundle']);
            if (!$bundle->isBundle) {
                $found = self::sniff($bundle->envelopeBytes);
                if ($found === 'envelope') {
                    throw new UsageException('WRONG_KIND', $args['bundle'] . ' is a signed-document envelope of an unknown type, not a bundle or a signed document', ['file' => $args['bundle'], 'found' => 'envelope', 'expected' => ['bundle', 'manifest', 'policy', 'revocation', 'enrolment', 'key-revocation']]);
                }
            }
            // Read once under the file's own name first, as the TypeScript CLI does: a broken envelope is reported by path.
            Envelope::open($bundle->envelopeBytes, $args['bundle']);
            // The log is checked first (cli/verify.ts): it reads no archive, so an unlogged bundle is refused before one is streamed.
            if ($log !== null && $log['policy'] !== null) {
                $logged = Log\ProofVerifier::describe(Log\ProofVerifier::verify($bundle->envelopeBytes, $log['detached'] ?? $bundle->proof, $log['policy'], $now, $log['maxAge']));
            }
            $archive = $bundle->archive;
            $archivePath = $args['archive'] ?? null;
            if ($archivePath === null && $archive === null && !$bundle->isBundle) {
                $archivePath = self::siblingArchive($args['bundle'], $bundle->envelopeBytes);
            }
            if ($archivePath !== null) {
                $separate = BundleFile::openArchive($archivePath);
                $archive = $separate->archive;
            }
            $proof = $log['detached'] ?? $bundle->proof;
            $carriesProof = $proof !== null;
            $maxAge = $log['maxAge'] ?? null;
            $checkLog = function (Log\TlogPolicy $policy, ?string $largest) use ($bundle, $proof, $now, $maxAge, &$logged): void {
                $r = Log\ProofVerifier::verify($bundle->envelopeBytes, $proof, $policy, $now, $maxAge, $largest);
                // A larger checkpoint is not written back to the store here (TypeScript records it): said, as TypeScript
                // says when it may not write the store.
                $logged = Log\ProofVerifier::describe($r) + (isset($r['newLargest']) ? ['recorded' => false] : []);
            };
            $verified = $store !== null
                ? $store->verify($bundle->envelopeBytes, $archive, $now, $revocations, $checkLog)
                : Verifier::verifyBundle($bundle->envelopeBytes, $archive, ['trusted' => $trusted, 'now' => $now, 'site' => $site, 'revocations' => $revocations]);
        } catch (CountersignException $e) {
            if ($e->exitCode() === 2) {
                throw $e;
            }
            return $this->fail($e, $json, $args['bundle'], true);
        } finally {
            if ($separate !== null) {
                $separate->close();
            }
            if ($bundle !== null) {
                $bundle->close();
            }
        }
        $q = $verified->quorum;
        if ($json) {
            $this->line($this->out, Json::stringifyForOutput([
                'ok' => true,
                'kind' => $verified->kind,
                'document' => $verified->document,
                'payloadSha256' => $verified->payloadSha256,
                'signedBy' => array_map([Quorum::class, 'publicSigner'], $q['signedBy']),
                'signedWith' => $q['signedWith'],
                'threshold' => $q['threshold'],
                'warnings' => $verified->warnings,
                'notChecked' => $verified->kind === 'manifest' ? $verified->notChecked : [],
            ] + ($logged !== null ? ['log' => $logged] : ($carriesProof ? ['log' => 'carried, not checked (no log policy)'] : [])) + [
                'backend' => $verified->backend,
            ]));
            return 0;
        }
        $lines = ['OK: ' . self::describe($verified), 'Signed by ' . Quorum::describeSigners($q) . ': ' . implode(', ', array_map(function ($s) {
            return $s['name'];
        }, $q['signedBy']))];
        // Signatures made with another tool than countersign: which, and what they said (a security key's counter).
        foreach ($q['signedBy'] as $i => $s) {
            $info = $q['signedWith'][$i];
            if ($info['kind'] !== 'countersign') {
                $extra = SignerKinds\SignerKind::describe($info);
                $lines[] = '  ' . $s['name'] . ': ' . $info['kind'] . ($extra !== '' ? ', ' . $extra : '');
            }
        }
        if ($logged !== null) {
            $c = $logged['cosigned'];
            $lines[] = 'Logged: entry ' . $logged['index'] . ' of ' . $logged['origin'] . ' (size ' . $logged['size'] . '), cosigned by '
                . (count($logged['witnesses']) > 0 ? implode(', ', $logged['witnesses']) : 'no witness (quorum none)')
                . ($c !== null ? ' at ' . gmdate('Y-m-d\TH:i:s.000\Z', $c['newest']) : '') . '; consistency with the largest seen: ' . $logged['consistency'];
        } elseif ($carriesProof) {
            $lines[] = '  note: it carries a log proof, not checked (no --log-policy)';
        }
        foreach ($verified->warnings as $w) {
            $lines[] = '  note ' . $w['code'] . ': ' . $w['message'];
        }
        if ($verified->kind === 'manifest' && count($verified->notChecked) > 0) {
            $lines[] = '  not checked against a site: ' . implode(', ', $verified->notChecked) . ' (pass --' . implode(', --', $verified->notChecked) . ')';
        }
        $lines[] = '  Ed25519: ' . $verified->backend;
        $this->line($this->out, implode("\n", $lines));
        return 0;
    }

    /**
     * --log-policy [--log-proof] [--max-age] (cli/verify.ts logOptions): the tlog-policy and how old the witness
     * quorum's cosignatures may be; null without them. --log-policy is checked with --store too (fail closed); a store
     * with its own log policy (policy null here) is checked by TrustStore::verify.
     * @param array<string,mixed> $args
     * @return array{policy:Log\TlogPolicy|null,maxAge:int|null,detached:string|null}|null
     */
    private static function logOptions(array $args, bool $storeHasLog): ?array
    {
        if (!isset($args['log-policy']) && !isset($args['log-proof']) && !isset($args['max-age'])) {
            return null;
        }
        if (isset($args['log-policy']) && $storeHasLog) {
            throw new UsageException('USAGE', 'this store has its own log policy (trust init --log-policy); drop --log-policy');
        }
        $maxAge = isset($args['max-age']) ? Log\ProofVerifier::parseDuration($args['max-age']) : null;
        if (isset($args['max-age']) && $maxAge === null) {
            throw new UsageException('USAGE', '--max-age ' . $args['max-age'] . ' is not a duration such as 3600, 90m, 36h or 7d');
        }
        if (!isset($args['log-policy']) && !$storeHasLog) {
            throw new UsageException('USAGE', '--log-proof and --max-age need --log-policy (or a --store made with trust init --log-policy)');
        }
        $detached = isset($args['log-proof']) ? self::readInput($args['log-proof'], 'log proof', 256 * 1024) : null;
        if ($storeHasLog) {
            return ['policy' => null, 'maxAge' => $maxAge, 'detached' => $detached];
        }
        return ['policy' => Log\TlogPolicy::parse(self::readInput($args['log-policy'], 'log policy', 256 * 1024)), 'maxAge' => $maxAge, 'detached' => $detached];
    }

    /** A small input file, at most $max bytes (IO otherwise, exit 2). */
    private static function readInput(string $path, string $what, int $max): string
    {
        if (!is_file($path)) {
            throw new UsageException('IO', 'cannot read ' . $path . ': ' . (file_exists($path) ? 'not a regular file' : 'ENOENT'));
        }
        $bytes = @file_get_contents($path, false, null, 0, $max + 1);
        if ($bytes === false || strlen($bytes) > $max) {
            throw new UsageException('IO', $what . ' ' . $path . ' is unreadable or over ' . $max . ' bytes');
        }
        return $bytes;
    }

    private function fail(CountersignException $e, bool $json, ?string $bundle, ?bool $verdict): int
    {
        if ($verdict === true && !$e instanceof VerificationException) {
            $e = new VerificationException([$e->toReason()]);
        }
        if ($json) {
            $this->line($this->out, Json::stringifyForOutput($e->toFailure()));
        } elseif ($verdict === true && $e instanceof VerificationException) {
            $lines = ['REJECTED: ' . $bundle];
            foreach ($e->getReasons() as $r) {
                $lines[] = '  ' . $r['code'] . ': ' . $r['message'];
            }
            $this->line($this->err, implode("\n", $lines));
        } else {
            $this->line($this->err, 'error[' . $e->getErrorCode() . ']: ' . $e->getMessage());
        }
        return $e->exitCode();
    }

    /** @param resource $to */
    private function line($to, string $text): void
    {
        fwrite($to, $text . "\n");
    }

    /** @return mixed */
    private static function flag(string $flag, callable $parse)
    {
        try {
            return $parse();
        } catch (UsageException $e) {
            throw $e;
        } catch (CountersignException $e) {
            $message = strncmp($e->getMessage(), $flag, strlen($flag)) === 0 ? $e->getMessage() : $flag . ': ' . $e->getMessage();
            throw new UsageException('USAGE', $message, ['flag' => $flag, 'cause' => $e->getErrorCode()]);
        }
    }

    /** A signed policy or revocation file (at most 64 MiB); another kind of countersign file is WRONG_KIND, exit 2. */
    private static function readDocument(string $path, string $kind): string
    {
        if (!is_file($path)) {
            throw new UsageException('IO', 'cannot read ' . $path . ': ' . (file_exists($path) ? 'not a regular file' : 'ENOENT'));
        }
        $bytes = @file_get_contents($path, false, null, 0, 64 * 1024 * 1024 + 1);
        if ($bytes === false || strlen($bytes) > 64 * 1024 * 1024) {
            throw new UsageException('IO', 'cannot read ' . $path);
        }
        $found = self::sniff($bytes);
        if ($found !== null && $found !== $kind) {
            throw new UsageException('WRONG_KIND', basename($path) . ' is ' . $found . ', not a ' . $kind, ['file' => $path, 'found' => $found, 'expected' => [$kind]]);
        }
        return $bytes;
    }

    private static function sniff(string $bytes): ?string
    {
        if (strncmp($bytes, 'countersign-bundle v', 20) === 0) {
            return 'bundle';
        }
        try {
            $v = Json::parseLenient(Bytes::utf8($bytes), 'file');
        } catch (CountersignException $e) {
            return null;
        }
        if (!$v instanceof JsonObject || !is_string($v->get('payloadType'))) {
            return null;
        }
        $kind = array_search($v->get('payloadType'), Envelope::TYPES, true);
        return $kind === false ? 'envelope' : (string) $kind;
    }

    /** A bare manifest's archive, when it sits beside it under the name the manifest gives (as `build` leaves them). */
    private static function siblingArchive(string $path, string $envelopeBytes): ?string
    {
        try {
            $opened = Envelope::open($envelopeBytes);
            if ($opened->kind !== 'manifest') {
                return null;
            }
            $sibling = dirname($path) . '/' . Manifest::fromPayload($opened->payloadBytes)['archive']['name'];
            return is_file($sibling) ? $sibling : null;
        } catch (CountersignException $e) {
            return null;
        }
    }

    private static function describe(Verified $v): string
    {
        $d = $v->document;
        if ($v->kind === 'manifest') {
            return $d['product'] . ' ' . $d['component'] . ' ' . $d['version'] . ' (risk: ' . ($d['risk']['level'] ?? 'not rated') . '; expires ' . $d['expires'] . ')';
        }
        if ($v->kind === 'policy') {
            return 'policy version ' . $d['version'] . ' (expires ' . $d['expires'] . ')';
        }
        return 'revocation of ' . $d['product'] . ' ' . $d['component'] . ' ' . $d['version'] . ' (' . $d['reason'] . ')';
    }
}
