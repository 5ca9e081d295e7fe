<?php

/**
 * countersign for WordPress: verify an update before WordPress installs it.
 *
 *   require_once WPMU_PLUGIN_DIR . '/countersign/wordpress/countersign.php';
 *   define('COUNTERSIGN_STORE', '/path/outside/the/webroot/countersign-store'); // made by `countersign trust init`
 *
 * countersign_update_is_valid() is true only when the bundle passes every check against the site's trust store AND is
 * exactly $provider/$package $version. Anything else (no store, no Ed25519, a failed check) is false, with the
 * reason's code in $error: it fails closed, never soft-fails.
 */

require_once __DIR__ . '/../autoload.php';

/**
 * @param string $file     the downloaded bundle
 * @param string $provider the product the manifest must name, e.g. "wordpress"
 * @param string $package  the component, e.g. "core" or a plugin slug such as "akismet"
 * @param string $version  the version WordPress is about to install
 * @param string|null $error set to "CODE: message" when false is returned
 */
function countersign_update_is_valid($file, $provider, $package, $version, &$error = null)
{
    $error = null;
    try {
        if (!defined('COUNTERSIGN_STORE')) {
            throw new Countersign\UsageException('USAGE', 'COUNTERSIGN_STORE is not defined (the site trust store directory)');
        }
        Countersign\Integration\UpdateCheck::verify((string) $file, (string) COUNTERSIGN_STORE, (string) $provider, (string) $package, (string) $version);
        return true;
    } catch (Countersign\CountersignException $e) {
        $error = $e->getErrorCode() . ': ' . $e->getMessage();
        return false;
    } catch (\Throwable $e) {
        $error = 'INTERNAL: ' . $e->getMessage();
        return false;
    }
}

/** After a successful countersign_update_is_valid(): the release as a zip WordPress can unpack, or false with $error. */
function countersign_update_zip($file, $provider, $package, $version, &$error = null)
{
    $error = null;
    try {
        $verified = Countersign\Integration\UpdateCheck::verify((string) $file, (string) COUNTERSIGN_STORE, (string) $provider, (string) $package, (string) $version);
        $zip = (string) $file . '.verified.zip';
        Countersign\Integration\UpdateCheck::toZip((string) $file, $verified->document, $zip);
        return $zip;
    } catch (\Throwable $e) {
        $error = ($e instanceof Countersign\CountersignException ? $e->getErrorCode() : 'INTERNAL') . ': ' . $e->getMessage();
        return false;
    }
}
