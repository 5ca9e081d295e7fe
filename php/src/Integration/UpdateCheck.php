<?php

declare(strict_types=1);

namespace Countersign\Integration;

use Countersign\ArchiveException;
use Countersign\BundleFile;
use Countersign\CountersignException;
use Countersign\TarReader;
use Countersign\TrustStore;
use Countersign\UsageException;
use Countersign\Verified;

/**
 * What a CMS update hook needs (WordPress: wordpress/countersign.php; Drupal: drupal/countersign-verify.php): verify a
 * downloaded bundle against the site's trust store as the release the CMS expects, and only then unpack it.
 */
final class UpdateCheck
{
    /**
     * Verifies $file as release $version of $product/$component: every check of the verifier (as this site, from the
     * trust store at $storeDir), and the manifest names exactly that product, component and version. Throws a
     * CountersignException with the code on anything else; never returns unverified.
     */
    public static function verify(string $file, string $storeDir, string $product, string $component, string $version, ?int $now = null): Verified
    {
        $store = TrustStore::open($storeDir);
        $bundle = BundleFile::open($file);
        try {
            $verified = $store->verify($bundle->envelopeBytes, $bundle->archive, $now ?? time());
        } finally {
            $bundle->close();
        }
        $d = $verified->document;
        if ($verified->kind !== 'manifest' || $d['product'] !== $product || $d['component'] !== $component || $d['version'] !== $version) {
            $what = $verified->kind === 'manifest' ? $d['product'] . '/' . $d['component'] . ' ' . $d['version'] : 'a ' . $verified->kind;
            throw new UsageException('WRONG_KIND', $file . ' is ' . $what . ', not ' . $product . '/' . $component . ' ' . $version, ['expected' => [$product, $component, $version]]);
        }
        return $verified;
    }

    /**
     * After verify(): writes the release's add/modify files into a new zip at $zipPath (for installers that unpack
     * zips, as WordPress's). The archive is streamed again from the bundle and every entry's SHA-256 is checked once
     * more against the signed manifest before it is added; any difference removes the zip and throws.
     * @param array<string,mixed> $manifest the verified manifest
     */
    public static function toZip(string $file, array $manifest, string $zipPath): void
    {
        if (!class_exists('ZipArchive')) {
            throw new UsageException('IO', 'ext-zip is not available: a verified release cannot be handed to an installer that needs a zip');
        }
        $ops = [];
        foreach ($manifest['files'] as $op) {
            if ($op['op'] !== 'delete') {
                $ops['k' . $op['path']] = $op;
            }
        }
        $zip = new \ZipArchive();
        if ($zip->open($zipPath, \ZipArchive::CREATE | \ZipArchive::EXCL) !== true) {
            throw new UsageException('IO', 'cannot create ' . $zipPath);
        }
        $bundle = BundleFile::open($file);
        $ok = false;
        try {
            if ($bundle->archive === null) {
                throw new ArchiveException('DIGEST_MISMATCH', 'the bundle holds no archive');
            }
            $content = '';
            $reader = new TarReader(function () use (&$content): void {
                $content = '';
            }, function (string $data) use (&$content): void {
                $content .= $data;
            }, function (array $h) use (&$content, $ops, $zip): void {
                $op = $ops['k' . $h['path']] ?? null;
                if ($op === null || hash('sha256', $content) !== $op['sha256'] || $h['mode'] !== $op['mode']) {
                    throw new ArchiveException('ENTRY_MISMATCH', 'archive entry ' . $h['path'] . ' changed since it was verified');
                }
                $zip->addFromString($h['path'], $content);
                $zip->setExternalAttributesName($h['path'], \ZipArchive::OPSYS_UNIX, ($h['mode'] === '0755' ? 0100755 : 0100644) << 16);
            });
            foreach ($bundle->archive->chunks() as $chunk) {
                $reader->push($chunk);
            }
            $reader->end();
            $ok = $zip->close();
        } catch (CountersignException $e) {
            $zip->close();
            @unlink($zipPath);
            throw $e;
        } finally {
            $bundle->close();
        }
        if (!$ok) {
            @unlink($zipPath);
            throw new UsageException('IO', 'cannot write ' . $zipPath);
        }
    }
}
