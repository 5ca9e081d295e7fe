<?php

/**
 * countersign for Drupal: verify a release bundle before Package Manager / Automatic Updates applies it.
 *
 *   drush php:script php/drupal/countersign-verify.php -- BUNDLE STORE_DIR PROJECT VERSION [--record]
 *
 * Exit 0 only when BUNDLE passes every check against the site trust store at STORE_DIR and is drupal/PROJECT VERSION
 * (PROJECT: "core" or a module/theme machine name); --record then records the install in the store (under its lock,
 * durably). From PHP code (an event subscriber on Package Manager's PreApplyEvent, say), call
 * Countersign\Integration\UpdateCheck::verify($bundle, $storeDir, 'drupal', $project, $version) and stop the
 * operation on any exception: it fails closed.
 */

require_once __DIR__ . '/../autoload.php';

$args = isset($extra) && is_array($extra) ? $extra : array_slice($argv, 1); // drush php:script passes $extra
$record = in_array('--record', $args, true);
$args = array_values(array_diff($args, array('--record')));
if (count($args) !== 4) {
    fwrite(STDERR, "usage: drush php:script countersign-verify.php -- BUNDLE STORE_DIR PROJECT VERSION [--record]\n");
    exit(2);
}
list($bundle, $store, $project, $version) = $args;
try {
    $verified = Countersign\Integration\UpdateCheck::verify($bundle, $store, 'drupal', $project, $version);
    echo 'OK: drupal ' . $project . ' ' . $version . ' (Ed25519: ' . $verified->backend . ")\n";
    if ($record) {
        Countersign\TrustStore::recordInstall($store, 'drupal', $project, $version);
        echo "recorded in the trust store\n";
    }
    exit(0);
} catch (Countersign\CountersignException $e) {
    fwrite(STDERR, 'REJECTED: ' . $e->getErrorCode() . ': ' . $e->getMessage() . "\n");
    exit($e->exitCode());
}
