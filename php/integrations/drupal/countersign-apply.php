<?php

// A drush/bee-callable entry point: applies a countersign bundle to the bootstrapped site.
//   drush php:script /path/to/countersign/php/integrations/drupal/countersign-apply.php -- BUNDLE STORE [--dry-run]
//   bee php-script /path/to/countersign/php/integrations/drupal/countersign-apply.php BUNDLE STORE [--dry-run]
// Prints one JSON object (as countersign apply --json); exits 0 applied, 1 refused or failed, 2 usage or I/O.
require_once dirname(__DIR__, 2) . '/autoload.php';
require_once __DIR__ . '/CountersignUpdate.php';

$args = isset($extra) && is_array($extra) ? $extra : array_slice($_SERVER['argv'] ?? [], 1); // drush passes script args in $extra
$args = array_values(array_filter($args, function ($a) {
    return $a !== '--';
}));
$dry = in_array('--dry-run', $args, true);
$args = array_values(array_diff($args, ['--dry-run']));
$root = defined('DRUPAL_ROOT') ? DRUPAL_ROOT : (defined('BACKDROP_ROOT') ? BACKDROP_ROOT : getcwd());
if (count($args) !== 2) {
    fwrite(STDERR, "usage: countersign-apply.php BUNDLE STORE [--dry-run]\nexample: drush php:script countersign-apply.php -- drupal-10.2.4.bundle /home/site/countersign-store\n");
    exit(2);
}
$r = CountersignUpdate::apply($args[0], $root, ['store' => $args[1], 'dryRun' => $dry]);
echo \Countersign\Json::stringifyForOutput($r), "\n";
exit($r['ok'] ? 0 : (in_array($r['code'], ['USAGE', 'IO'], true) || strncmp($r['code'], 'STORE_', 6) === 0 ? 2 : 1));
