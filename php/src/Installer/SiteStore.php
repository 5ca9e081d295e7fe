<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\Bytes;
use Countersign\CountersignException;
use Countersign\Json;
use Countersign\JsonObject;
use Countersign\Policy;
use Countersign\Revocation;
use Countersign\Rotation;
use Countersign\Schema;
use Countersign\StoreException;
use Countersign\Time;
use Countersign\UsageException;
use Countersign\Version;

/**
 * The site trust store the TypeScript tools write (spec/trust-store.md), opened and re-verified as lib/core/trust-state.ts
 * loadStore does, and written as lib/node/trust-store.ts does: under DIR/lock (the same lock format), re-read, the whole
 * state.json replaced (temporary file, fsync, chmod 0644, rename, fsync DIR), JSON.stringify(state, null, 2) + LF.
 */
final class SiteStore
{
    public const MAX_BYTES = 67108864;

    /** @var string */
    public $dir;
    /** @var Policy */
    public $trusted;
    /** @var list<array<string,mixed>> */
    public $revocations = [];
    /** @var JsonObject */
    private $raw;

    public static function open(string $dir): self
    {
        $path = $dir . '/state.json';
        $st = Fs::lstat($path);
        if ($st === null) {
            throw new StoreException('STORE_MISSING', 'there is no trust store at ' . $dir . ' (create one with countersign trust init)', ['dir' => $dir]);
        }
        if (Fs::kind($st) !== 'file') {
            throw self::corrupt($path, Fs::kind($st) === 'symlink' ? 'is a symbolic link' : 'is not a regular file');
        }
        if ($st['size'] > self::MAX_BYTES) {
            throw self::corrupt($path, 'is ' . $st['size'] . ' bytes; a store is at most ' . self::MAX_BYTES);
        }
        $bytes = @file_get_contents($path);
        if ($bytes === false) {
            throw new UsageException('IO', 'cannot read the trust store ' . $path);
        }
        $s = new self();
        $s->dir = $dir;
        $step = function (string $what, callable $fn) use ($path) {
            try {
                return $fn();
            } catch (CountersignException $e) {
                throw self::corrupt($path, $what . ': ' . $e->getErrorCode() . ': ' . $e->getMessage());
            }
        };
        $s->raw = $step('is not valid JSON', function () use ($bytes) {
            return Json::parseLenient(Bytes::utf8($bytes, 'trust store'), 'trust store');
        });
        $state = $step('does not match its schema', function () use ($s) {
            return \Countersign\Canonical::plain(Schema::validate('store', $s->raw, 'trust store'));
        });
        $pinned = $step('holds a pinned policy that no longer verifies', function () use ($state) {
            return Policy::loadTrusted($state['pinned'], 'pinned policy');
        });
        $policies = [$pinned];
        foreach ($state['rotations'] as $i => $text) {
            $policies[] = $step('holds rotation ' . ($i + 1) . ' that does not follow from the policy before it', function () use ($policies, $text, $i) {
                return Rotation::verify($policies[count($policies) - 1], $text, 'rotation ' . ($i + 1));
            });
        }
        $s->trusted = $policies[count($policies) - 1];
        if ($state['highestPolicyVersion'] !== $s->trusted->version()) {
            throw self::corrupt($path, 'records policy version ' . $state['highestPolicyVersion'] . ' as the highest seen, but its chain walks to version ' . $s->trusted->version());
        }
        foreach ($state['installed'] as $key => $e) {
            $step('records an invalid install of ' . $key, function () use ($e) {
                Version::parse($e['version']);
                Version::parse($e['highest']);
                Time::parse($e['updated'], 'update time');
                if (isset($e['partial'])) {
                    Version::parse($e['partial']['version']);
                    Time::parse($e['partial']['recorded'], 'partial install time');
                }
            });
            if (!Version::sameScheme($e['highest'], $e['version']) || Version::compare($e['highest'], $e['version']) < 0) {
                throw self::corrupt($path, 'records ' . $key . ' ' . $e['version'] . ' installed above its highest ever ' . $e['highest']);
            }
        }
        foreach ($state['revocations'] as $i => $r) {
            $s->revocations[] = $step('holds revocation ' . ($i + 1) . ' that no longer verifies', function () use ($r, $policies, $pinned, $i) {
                Time::parse($r['accepted'], 'acceptance time');
                $under = $policies[$r['policyVersion'] - $pinned->version()] ?? null;
                if ($under === null) {
                    throw new \Countersign\FormatException('SCHEMA_INVALID', 'it was accepted under policy version ' . $r['policyVersion'] . ', which this store never trusted');
                }
                return Revocation::verify($r['envelope'], $under, 'revocation ' . ($i + 1));
            });
        }
        return $s;
    }

    private static function corrupt(string $path, string $why): StoreException
    {
        return new StoreException('STORE_CORRUPT', 'the trust store ' . $path . ' ' . $why . '; it was left as it is', ['path' => $path]);
    }

    /** @return array{installed:string,highestInstalled:string}|null */
    public function site(string $product, string $component): ?array
    {
        $installed = $this->raw->get('installed');
        $e = $installed instanceof JsonObject ? $installed->get($product . '/' . $component) : null;
        if (!$e instanceof JsonObject) {
            return null;
        }
        return ['installed' => $e->get('version'), 'highestInstalled' => $e->get('highest')];
    }

    /** @return array<string,mixed>|null the installed entry, as plain arrays */
    public function entry(string $product, string $component): ?array
    {
        $installed = $this->raw->get('installed');
        $e = $installed instanceof JsonObject ? $installed->get($product . '/' . $component) : null;
        return $e instanceof JsonObject ? \Countersign\Canonical::plain($e) : null;
    }

    /** recordInstall (lib/node/trust-store.ts): under the store's lock, on the store re-read. @param list<string> $kept */
    public static function recordInstall(string $dir, string $product, string $component, string $version, array $kept, int $now): void
    {
        if (Fs::lstat($dir . '/state.json') === null) {
            self::open($dir);
        }
        $lock = Lock::acquire($dir . '/lock', 5000);
        try {
            $store = self::open($dir);
            $key = $product . '/' . $component;
            $before = $store->entry($product, $component);
            if (count($kept) === 0) {
                $highest = $before !== null && Version::sameScheme($before['highest'], $version) && Version::compare($before['highest'], $version) > 0 ? $before['highest'] : $version;
                $entry = ['version' => $version, 'highest' => $highest, 'updated' => Time::format($now)];
            } else {
                if ($before === null) {
                    throw new UsageException('USAGE', $key . ' ' . $version . ' cannot be recorded as partly installed: the store records no version of ' . $key . ' before it');
                }
                $entry = ['version' => $before['version'], 'highest' => $before['highest'], 'updated' => Time::format($now), 'partial' => ['version' => $version, 'kept' => array_values($kept), 'recorded' => Time::format($now)]];
            }
            $store->raw->get('installed')->set($key, $entry);
            Schema::validate('store', Json::parseLenient(Json::stringify($store->raw), 'trust store'), 'trust store');
            foreach (scandir($dir) ?: [] as $name) {
                if (strncmp($name, '.state.json.', 12) === 0 && substr($name, -4) === '.tmp') {
                    @unlink($dir . '/' . $name);
                }
            }
            Fs::writeDurably($dir . '/state.json', Fs::pretty($store->raw) . "\n", 0644);
        } finally {
            $lock->release();
        }
    }
}
