<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\CountersignException;
use Countersign\Paths;
use Countersign\Version;

/** The file carrying a release's version (lib/core/version-file.ts): written last, read to detect what is installed. */
final class VersionFile
{
    public const KNOWN_PRODUCTS = ['drupal', 'backdrop', 'wordpress'];

    /** @return list<string> */
    public static function candidates(string $product, string $component): array
    {
        if ($component === 'core') {
            $map = ['drupal' => ['core/lib/Drupal.php', 'includes/bootstrap.inc'], 'backdrop' => ['core/includes/bootstrap.inc'], 'wordpress' => ['wp-includes/version.php']];
            return $map[$product] ?? [];
        }
        $map = ['drupal' => [$component . '.info.yml', $component . '.info'], 'backdrop' => [$component . '.info'], 'wordpress' => [$component . '.php', 'style.css', 'readme.txt']];
        return $map[$product] ?? [];
    }

    /** The file the installer writes last: the manifest's versionFile, or the first candidate an add/modify op writes. @param array<string,mixed> $m */
    public static function of(array $m): ?string
    {
        if ($m['versionFile'] !== null) {
            return $m['versionFile'];
        }
        $written = [];
        foreach ($m['files'] as $f) {
            if ($f['op'] !== 'delete') {
                $written[$f['path']] = true;
            }
        }
        foreach (self::candidates($m['product'], $m['component']) as $c) {
            if (isset($written[$c])) {
                return $c;
            }
        }
        return null;
    }

    /** @param array{product:string,component:string,versionFile:?string} $m @return list<string> */
    public static function toRead(array $m): array
    {
        $c = self::candidates($m['product'], $m['component']);
        if ($m['versionFile'] === null) {
            return $c;
        }
        return array_values(array_unique(array_merge([$m['versionFile']], $c)));
    }

    public static function parseText(string $text): ?string
    {
        $patterns = [
            '/\bconst\s+VERSION\s*=\s*[\'"]([^\'"\n]{1,64})[\'"]/',
            '/\bdefine\(\s*[\'"](?:VERSION|BACKDROP_VERSION)[\'"]\s*,\s*[\'"]([^\'"\n]{1,64})[\'"]/',
            '/\$wp_version\s*=\s*[\'"]([^\'"\n]{1,64})[\'"]/',
            '/^version\s*[:=]\s*[\'"]?([^\'"\s]{1,64})[\'"]?\s*$/m',
            '/^[ \t\/*#@]*Version:[ \t]*([^\s]{1,64})[ \t]*$/im',
        ];
        foreach ($patterns as $re) {
            if (preg_match($re, $text, $m)) {
                try {
                    Version::parse($m[1]);
                    return $m[1];
                } catch (CountersignException $e) {
                    // not a release version: the next spelling
                }
            }
        }
        return null;
    }

    /** What the site's version file states (never through a link), or null. @param array{product:string,component:string,versionFile:?string} $m @return array{path:string,version:string}|null */
    public static function detect(SitePaths $p, array $m): ?array
    {
        foreach (self::toRead($m) as $path) {
            try {
                Paths::check($path);
            } catch (CountersignException $e) {
                continue;
            }
            $ok = true;
            $parts = explode('/', $path);
            for ($i = 1; $i < count($parts); $i++) {
                if (Fs::kind(Fs::lstat($p->abs(implode('/', array_slice($parts, 0, $i))))) !== 'dir') {
                    $ok = false;
                    break;
                }
            }
            $text = $ok ? Fs::readSmall($p->abs($path)) : null;
            if ($text === null) {
                continue;
            }
            $v = self::parseText($text);
            if ($v !== null) {
                return ['path' => $path, 'version' => $v];
            }
        }
        return null;
    }

    /**
     * The target a release must match (lib/installer/target.ts siteTarget): as given, else as the site's version files say.
     * @param array{product?:string,component?:string} $given
     * @return array{target:array<string,string>,problem:?array}
     */
    public static function siteTarget(SitePaths $p, array $release, array $given): array
    {
        $identified = [];
        if (!isset($given['product'], $given['component'])) {
            $component = $given['component'] ?? $release['component'];
            foreach (self::KNOWN_PRODUCTS as $prod) {
                $d = self::detect($p, ['product' => $prod, 'component' => 'core', 'versionFile' => null]);
                if ($d !== null) {
                    $identified[] = ['product' => $prod, 'component' => 'core', 'path' => $d['path']];
                }
            }
            if (count($identified) === 0 && $component !== 'core') {
                foreach (self::KNOWN_PRODUCTS as $prod) {
                    $d = self::detect($p, ['product' => $prod, 'component' => $component, 'versionFile' => null]);
                    if ($d !== null) {
                        $identified[] = ['product' => $prod, 'component' => $component, 'path' => $d['path']];
                    }
                }
            }
        }
        $claims = isset($given['product']) ? array_values(array_filter($identified, function ($s) use ($given) {
            return $s['product'] === $given['product'];
        })) : $identified;
        $products = array_values(array_unique(array_map(function ($s) {
            return $s['product'];
        }, $claims)));
        if (count($products) > 1) {
            $msg = 'the site ' . $p->root . ' holds version files of ' . implode(' and ', $products) . ', so it cannot tell which it is; pass --product and --component';
            return ['target' => [], 'problem' => ['code' => 'TARGET_AMBIGUOUS', 'path' => $p->root, 'message' => $msg]];
        }
        $target = [];
        $product = $given['product'] ?? ($claims[0]['product'] ?? null);
        $component = $given['component'] ?? ($claims[0]['component'] ?? ($identified[0]['component'] ?? null));
        if ($product !== null) {
            $target['product'] = $product;
        }
        if ($component !== null) {
            $target['component'] = $component;
        }
        if ($product === null || $component === null) {
            $msg = 'cannot tell which product and component the site ' . $p->root . ' is (no version file of a known product, nor of ' . ($given['component'] ?? $release['component']) . '); pass --product and --component';
            return ['target' => $target, 'problem' => ['code' => 'TARGET_UNKNOWN', 'path' => $p->root, 'message' => $msg]];
        }
        return ['target' => $target, 'problem' => null];
    }
}
