<?php

declare(strict_types=1);

namespace Countersign;

/**
 * The site trust store the TypeScript tools write (spec/trust-store.md, lib/core/trust-state.ts, lib/node/trust-store.ts):
 * DIR/state.json, fully re-verified on every open (pinned policy self-signed, each rotation from the one before, each
 * revocation under the policy it was accepted with); anything off is STORE_CORRUPT and is never rewritten. Installs are
 * recorded under DIR/lock (created exclusively by link(), stale holders taken over), by temporary file, fsync where
 * this PHP can (fsync() needs PHP 8.1), chmod 0644 and rename.
 */
final class TrustStore
{
    public const STATE_FILE = 'state.json';
    public const LOCK_FILE = 'lock';
    public const MAX_STATE_BYTES = 67108864;

    /** @var string */
    public $dir;
    /** @var JsonObject the state as parsed (written back member for member) */
    private $raw;
    /** @var list<Policy> pinned, then each rotation */
    public $policies = [];
    /** @var Policy */
    public $trusted;
    /** @var list<array<string,mixed>> */
    public $revocations = [];

    private static function corrupt(string $path, string $what, ?CountersignException $cause = null): StoreException
    {
        $details = ['path' => $path];
        if ($cause !== null) {
            $details['cause'] = $cause->toReason();
        }
        return new StoreException('STORE_CORRUPT', 'the trust store ' . $path . ' ' . $what . '; it was left untouched: restore it from a backup, or init a new store', $details);
    }


    /** @var Log\TlogPolicy|null the store's log policy (`trust init --log-policy`): every document must be logged */
    public $logPolicy;
    /** @var string|null the largest checkpoint the store has accepted (a signed note) */
    public $logLargest;

    public static function open(string $dir): self
    {
        $path = $dir . '/' . self::STATE_FILE;
        if (is_link($path)) {
            throw self::corrupt($path, 'is a symbolic link');
        }
        if (!file_exists($path)) {
            throw new StoreException('STORE_MISSING', 'there is no trust store at ' . $dir . ' (create one with countersign trust init)', ['dir' => $dir]);
        }
        if (!is_file($path)) {
            throw self::corrupt($path, 'is not a regular file');
        }
        $size = filesize($path);
        if ($size !== false && $size > self::MAX_STATE_BYTES) {
            throw self::corrupt($path, 'is ' . $size . ' bytes; a store is at most ' . self::MAX_STATE_BYTES);
        }
        $bytes = @file_get_contents($path);
        if ($bytes === false) {
            throw new UsageException('IO', 'cannot read ' . $path);
        }
        return self::load($dir, $path, $bytes);
    }

    private static function load(string $dir, string $path, string $bytes): self
    {
        try {
            $raw = Json::parseLenient(Bytes::utf8($bytes, 'trust store'), 'trust store');
        } catch (CountersignException $e) {
            throw self::corrupt($path, 'is not valid JSON (' . $e->getMessage() . ')', $e);
        }
        $step = function (string $what, callable $fn) use ($path) {
            try {
                return $fn();
            } catch (HostException $e) {
                throw $e;
            } catch (CountersignException $e) {
                throw self::corrupt($path, $what . ': ' . $e->getErrorCode() . ': ' . $e->getMessage(), $e);
            }
        };
        $step('does not match its schema', function () use ($raw) {
            Schema::validate('store', $raw, 'trust store');
        });
        $store = new self();
        $store->dir = $dir;
        $store->raw = $raw;
        $state = Canonical::plain($raw);
        $pinned = $step('holds a pinned policy that no longer verifies', function () use ($state) {
            return Policy::loadTrusted($state['pinned'], 'pinned policy');
        });
        $store->policies = [$pinned];
        foreach ($state['rotations'] as $i => $text) {
            $store->policies[] = $step('holds rotation ' . ($i + 1) . ' that does not follow from the policy before it', function () use ($store, $text, $i) {
                return Rotation::verify($store->policies[count($store->policies) - 1], $text, 'rotation ' . ($i + 1));
            });
        }
        $store->trusted = $store->policies[count($store->policies) - 1];
        if ($state['highestPolicyVersion'] !== $store->trusted->version()) {
            throw self::corrupt($path, 'records policy version ' . $state['highestPolicyVersion'] . ' as the highest seen, but its chain walks to version ' . $store->trusted->version());
        }
        foreach ($state['installed'] instanceof \stdClass ? [] : $state['installed'] as $key => $entry) {
            $step('records an invalid install of ' . $key, function () use ($entry) {
                Version::parse($entry['version']);
                Version::parse($entry['highest']);
                Time::parse($entry['updated'], 'update time');
                if (isset($entry['partial'])) {
                    Version::parse($entry['partial']['version']);
                    Time::parse($entry['partial']['recorded'], 'partial install time');
                }
            });
            if (!Version::sameScheme($entry['highest'], $entry['version']) || Version::compare($entry['highest'], $entry['version']) < 0) {
                throw self::corrupt($path, 'records ' . $key . ' ' . $entry['version'] . ' installed above its highest ever ' . $entry['highest']);
            }
        }
        $pinnedVersion = $pinned->version();
        foreach ($state['revocations'] as $i => $r) {
            $store->revocations[] = $step('holds revocation ' . ($i + 1) . ' that no longer verifies', function () use ($store, $r, $i, $pinnedVersion) {
                Time::parse($r['accepted'], 'acceptance time');
                $under = $store->policies[$r['policyVersion'] - $pinnedVersion] ?? null;
                if ($under === null) {
                    throw new FormatException('SCHEMA_INVALID', 'it was accepted under policy version ' . $r['policyVersion'] . ', which this store never trusted');
                }
                return Revocation::verify($r['envelope'], $under, 'revocation ' . ($i + 1));
            });
        }
        if (isset($state['log'])) {
            $store->logPolicy = $step('holds a log policy that no longer parses', function () use ($state) {
                return Log\TlogPolicy::parse($state['log']['policy']);
            });
            $store->logLargest = $state['log']['largest'] ?? null;
        }
        return $store;
    }

    /** What the store says the site runs for product/component, or null. @return array<string,string>|null */
    public function siteFor(string $product, string $component): ?array
    {
        $installed = $this->raw->get('installed');
        $entry = $installed instanceof JsonObject ? $installed->get($product . '/' . $component) : null;
        if (!$entry instanceof JsonObject) {
            return null;
        }
        return ['product' => $product, 'component' => $component, 'installed' => $entry->get('version'), 'highestInstalled' => $entry->get('highest')];
    }

    /** @return list<string> */
    public function installedKeys(): array
    {
        $installed = $this->raw->get('installed');
        return $installed instanceof JsonObject ? $installed->names() : [];
    }

    /**
     * Verifies as this site (lib/core/trust-state.ts verifyWithStore): the store's policy and revocations, and what it
     * records as installed for the release's product/component; a release for something not installed is WRONG_TARGET.
     * @param list<array<string,mixed>> $revocations extra, already verified
     */
    /**
     * $checkLog(TlogPolicy, ?string largest) checks the document's log proof for a store with a log policy; without it
     * such a store refuses every document with NOT_LOGGED (lib/core/trust-state.ts verifyWithStore: fail closed).
     */
    public function verify(string $envelopeBytes, ?ArchiveInput $archive, int $now, array $revocations = [], ?callable $checkLog = null): Verified
    {
        if ($this->logPolicy !== null) {
            if ($checkLog === null) {
                throw new VerificationException([['code' => 'NOT_LOGGED', 'message' => 'this trust store requires a logged bundle (it has a log policy), and this command does not check log proofs']]);
            }
            try {
                $checkLog($this->logPolicy, $this->logLargest);
            } catch (Log\LogException $e) {
                throw new VerificationException([$e->toReason()]);
            }
        }
        $target = null;
        try {
            $opened = Envelope::open($envelopeBytes);
            $target = $opened->kind === 'manifest' ? Manifest::fromPayload($opened->payloadBytes) : null;
        } catch (CountersignException $e) {
            $target = null;
        }
        $site = $target !== null ? $this->siteFor($target['product'], $target['component']) : null;
        $extra = [];
        if ($target !== null && $site === null) {
            $extra[] = [
                'code' => 'WRONG_TARGET',
                'message' => $target['product'] . ' ' . $target['component'] . ' is not installed on this site',
                'details' => ['product' => $target['product'], 'component' => $target['component'], 'installed' => $this->installedKeys()],
            ];
        }
        try {
            $verified = Verifier::verifyBundle($envelopeBytes, $archive, ['trusted' => $this->trusted, 'now' => $now, 'site' => $site ?? [], 'revocations' => array_merge($this->revocations, $revocations)]);
        } catch (VerificationException $e) {
            if (count($extra) > 0) {
                throw new VerificationException(array_merge($e->getReasons(), $extra));
            }
            throw $e;
        }
        if (count($extra) > 0) {
            throw new VerificationException($extra);
        }
        return $verified;
    }

    /** The installed entry of product/component ({version, highest, updated, partial?}) as plain arrays, or null. @return array<string,mixed>|null */
    public function installedEntry(string $product, string $component): ?array
    {
        $installed = $this->raw->get('installed');
        $entry = $installed instanceof JsonObject ? $installed->get($product . '/' . $component) : null;
        return $entry instanceof JsonObject ? Canonical::plain($entry) : null;
    }

    /**
     * Records product/component at version as installed (withInstall in lib/core/trust-state.ts): `highest` is never
     * lowered within a scheme. With `kept` (files apply --keep-local left alone) it is a partial install: the version
     * before and its floor stay, and `partial` records the release and the kept paths (spec/trust-store.md); that needs
     * an earlier entry. Takes the lock, re-reads the store under it, checks the new state against the schema, writes durably.
     * @param list<string> $kept
     */
    public static function recordInstall(string $dir, string $product, string $component, string $version, ?int $now = null, int $lockTimeoutMs = 5000, array $kept = []): void
    {
        foreach (['product' => $product, 'component' => $component] as $field => $value) {
            if (!preg_match('/^[a-z][a-z0-9_]{0,63}$/D', $value)) {
                throw new UsageException('USAGE', $field . ' ' . Json::quote($value) . ' is not a machine name (a-z, 0-9, _; starting with a letter)');
            }
        }
        try {
            Version::parse($version);
        } catch (CountersignException $e) {
            throw new UsageException('USAGE', 'version of ' . $product . '/' . $component . ': ' . $e->getMessage());
        }
        $now = $now ?? time();
        if (!file_exists($dir . '/' . self::STATE_FILE) && !is_link($dir . '/' . self::STATE_FILE)) {
            self::open($dir); // STORE_MISSING, before a lock is made in a directory that holds no store
        }
        $lock = new StoreLock($dir . '/' . self::LOCK_FILE, $lockTimeoutMs);
        $lock->acquire();
        try {
            $store = self::open($dir); // re-read and re-verified under the lock
            $installed = $store->raw->get('installed');
            $key = $product . '/' . $component;
            $before = $installed->get($key);
            $entry = new JsonObject();
            if (count($kept) === 0) {
                $highest = $version;
                if ($before instanceof JsonObject && Version::sameScheme($before->get('highest'), $version) && Version::compare($before->get('highest'), $version) > 0) {
                    $highest = $before->get('highest');
                }
                $entry->set('version', $version);
                $entry->set('highest', $highest);
                $entry->set('updated', Time::format($now));
            } else {
                if (!$before instanceof JsonObject) {
                    throw new UsageException('USAGE', $key . ' ' . $version . ' cannot be recorded as partly installed: the store records no version of ' . $key . ' before it');
                }
                $partial = new JsonObject();
                $partial->set('version', $version);
                $partial->set('kept', array_values($kept));
                $partial->set('recorded', Time::format($now));
                $entry->set('version', $before->get('version'));
                $entry->set('highest', $before->get('highest'));
                $entry->set('updated', Time::format($now));
                $entry->set('partial', $partial);
            }
            $installed->set($key, $entry);
            $text = Json::pretty($store->raw) . "\n";
            Schema::validate('store', Json::parseLenient($text, 'trust store'), 'trust store'); // never write a store that open() would refuse
            self::writeState($dir, $text);
        } finally {
            $lock->release();
        }
    }

    /** The new state.json: to a temporary file beside it, fsync, chmod 0644, rename, fsync DIR (each fsync where this PHP has it: 8.1). */
    private static function writeState(string $dir, string $text): void
    {
        foreach (glob($dir . '/.state.json.*.tmp') ?: [] as $left) {
            @unlink($left); // leftovers of a writer that died; we hold the lock
        }
        $temp = $dir . '/.state.json.' . bin2hex(random_bytes(8)) . '.tmp';
        $h = @fopen($temp, 'xb');
        if ($h === false) {
            throw new UsageException('IO', 'cannot write ' . $temp);
        }
        $ok = fwrite($h, $text) === strlen($text) && fflush($h);
        if ($ok && function_exists('fsync')) {
            $ok = fsync($h);
        }
        fclose($h);
        if (!$ok || !chmod($temp, 0644) || !rename($temp, $dir . '/' . self::STATE_FILE)) {
            @unlink($temp);
            throw new UsageException('IO', 'cannot write the trust store ' . $dir . '/' . self::STATE_FILE);
        }
        $d = function_exists('fsync') ? @fopen($dir, 'rb') : false; // the rename durable too (Linux opens a directory read-only)
        if ($d !== false) {
            $synced = @fsync($d);
            fclose($d);
            if (!$synced) {
                throw new UsageException('IO', 'cannot fsync the trust store directory ' . $dir);
            }
        }
    }
}
