<?php

/**
 * Plugin Name: countersign: verified updates only
 * Description: Refuses every core, plugin and theme update that is not a countersign bundle passing every check against this site's trust store. Example; see php/README.md.
 *
 * Install: copy php/ to wp-content/mu-plugins/countersign/ and this file to wp-content/mu-plugins/, then in
 * wp-config.php: define('COUNTERSIGN_STORE', '/srv/countersign-store'); (outside the web root, written by
 * `countersign trust init` or the PHP recorder, readable by the web server user, writable only by its owner).
 *
 * WordPress's own signature check is 1-of-n over SHA-384 and soft-fails; this hook runs before it and fails
 * closed: any download it cannot verify is a WP_Error, so WordPress installs nothing.
 */

require_once __DIR__ . '/countersign/wordpress/countersign.php';

add_filter('upgrader_pre_download', 'countersign_upgrader_pre_download', 1, 4);

/**
 * @param bool|string|WP_Error $reply   false to let WordPress download; a path or WP_Error short-circuits
 * @param string               $package the package URL
 * @param WP_Upgrader          $upgrader
 * @param array                $hook_extra plugin / theme / core details WordPress passes
 */
function countersign_upgrader_pre_download($reply, $package, $upgrader, $hook_extra = array())
{
    if ($reply !== false) {
        return $reply; // another filter already answered (an error stays an error)
    }
    $target = countersign_update_target($upgrader, $hook_extra);
    if ($target === null) {
        return new WP_Error('countersign_unknown_target', 'countersign: cannot tell which release this download is; refused');
    }
    $file = download_url($package);
    if (is_wp_error($file)) {
        return $file;
    }
    $error = null;
    if (!countersign_update_is_valid($file, $target[0], $target[1], $target[2], $error)) {
        @unlink($file);
        return new WP_Error('countersign_unverified', 'countersign refused this update: ' . $error);
    }
    $zip = countersign_update_zip($file, $target[0], $target[1], $target[2], $error);
    @unlink($file);
    if ($zip === false) {
        return new WP_Error('countersign_unverified', 'countersign could not unpack the verified update: ' . $error);
    }
    return $zip;
}

/** [product, component, version] WordPress is updating, from what it says about the offer; null when unknown. */
function countersign_update_target($upgrader, $hook_extra)
{
    if (!empty($hook_extra['plugin'])) {
        $slug = dirname($hook_extra['plugin']) === '.' ? basename($hook_extra['plugin'], '.php') : dirname($hook_extra['plugin']);
        $offer = get_site_transient('update_plugins');
        $version = isset($offer->response[$hook_extra['plugin']]->new_version) ? $offer->response[$hook_extra['plugin']]->new_version : null;
        return $version === null ? null : array('wordpress', str_replace('-', '_', $slug), $version);
    }
    if (!empty($hook_extra['theme'])) {
        $offer = get_site_transient('update_themes');
        $version = isset($offer->response[$hook_extra['theme']]['new_version']) ? $offer->response[$hook_extra['theme']]['new_version'] : null;
        return $version === null ? null : array('wordpress', str_replace('-', '_', $hook_extra['theme']), $version);
    }
    if (isset($upgrader->skin->options['version'])) {
        return array('wordpress', 'core', $upgrader->skin->options['version']);
    }
    return null;
}
