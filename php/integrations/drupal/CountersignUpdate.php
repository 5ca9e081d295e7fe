<?php

declare(strict_types=1);

/**
 * The class a Drupal or Backdrop site's update flow calls (Drupal: from a custom module or an automatic-updates
 * subscriber; Backdrop: from a module or bee). A thin shell over Countersign\Installer: it applies a countersign bundle to
 * this site's code with the site's trust store, or hands it to the installer daemon where the web server may not
 * write the code. Every decision is the library's.
 */
final class CountersignUpdate
{
    /**
     * @param string $bundle the bundle file
     * @param string $root the Drupal/Backdrop root (DRUPAL_ROOT, BACKDROP_ROOT), or a module's own directory with $component
     * @param array<string,mixed> $opts store (the trust store), socket + site (the daemon instead), component, phase, dryRun, keepLocal
     * @return array<string,mixed> {ok: true, ...result} or {ok: false, code, message, details}
     */
    public static function apply(string $bundle, string $root, array $opts): array
    {
        try {
            if (isset($opts['socket'])) {
                return \Countersign\Installer\DaemonClient::submit($opts['socket'], $opts['site'], $bundle);
            }
            $run = ['site' => $root, 'store' => $opts['store']];
            foreach (['component', 'phase', 'dryRun', 'keepLocal'] as $k) {
                if (isset($opts[$k])) {
                    $run[$k] = $opts[$k];
                }
            }
            return ['ok' => true] + \Countersign\Installer\Installer::apply($bundle, $run);
        } catch (\Countersign\CountersignException $e) {
            return ['ok' => false, 'code' => $e->getErrorCode(), 'message' => $e->getMessage(), 'details' => $e->getDetails()];
        }
    }
}
