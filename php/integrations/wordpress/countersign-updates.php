<?php
/**
 * Plugin Name: countersign updates (must-use)
 * Description: Routes core, plugin and theme updates offered as countersign bundles through quorum verification and the crash-safe countersign runner; when the site opts in, refuses (fails closed) every package that is not a valid bundle for it. Shows the result in the admin.
 *
 * Install: copy this file to wp-content/mu-plugins/, the countersign php/ directory beside it (or anywhere), and set in wp-config.php:
 *   define('COUNTERSIGN_LIB', '/path/to/countersign/php');           // where autoload.php is
 *   define('COUNTERSIGN_STORE', '/home/site/countersign-store');      // the trust store (countersign trust init), outside the web root
 *   define('COUNTERSIGN_REQUIRED', true);                            // opt in: refuse every update that is not a valid bundle
 * Where the web server may not write the code, hand bundles to the installer daemon instead:
 *   define('COUNTERSIGN_DAEMON_SOCKET', '/run/countersign/installer.sock');
 *   define('COUNTERSIGN_DAEMON_SITE', 'example');                    // the site's name in the daemon's configuration
 * A thin shell: every decision is the library's (php/src/Installer, php/docs/installer.md).
 */

if (!defined('ABSPATH')) {
    exit;
}

if (defined('COUNTERSIGN_LIB')) {
    require_once COUNTERSIGN_LIB . '/autoload.php';
}

/** Where an update of this kind goes, and what it is: [site root, component] (core: ABSPATH; a plugin or theme: its own directory). */
function countersign_update_target(array $hook_extra): ?array
{
    if (!empty($hook_extra['plugin'])) {
        $slug = dirname((string) $hook_extra['plugin']);
        return $slug === '.' ? null : [WP_PLUGIN_DIR . '/' . $slug, $slug];
    }
    if (!empty($hook_extra['theme'])) {
        return [get_theme_root() . '/' . $hook_extra['theme'], (string) $hook_extra['theme']];
    }
    if (($hook_extra['type'] ?? null) === 'core' || !empty($hook_extra['core'])) {
        return [rtrim(ABSPATH, '/'), 'core'];
    }
    return null;
}

/** A countersign bundle starts "countersign-bundle v" (spec/bundle.md); anything else (a zip) is not one. */
function countersign_is_bundle(string $file): bool
{
    $h = @fopen($file, 'rb');
    if ($h === false) {
        return false;
    }
    $head = (string) fread($h, 20);
    fclose($h);
    return $head === 'countersign-bundle v';
}

function countersign_record(array $result): void
{
    update_option('countersign_last_result', $result + ['time' => time()], false);
}

/**
 * upgrader_pre_download: takes over the download of a countersign bundle, verifies and applies it (or hands it to the
 * daemon), and answers a WP_Error either way so that WordPress's own unzip never runs over the site: 'countersign_applied'
 * when it is in place (the admin notice says so), the failure's code otherwise. Not a bundle: refused when opted in.
 */
function countersign_pre_download($reply, $package, $upgrader = null, $hook_extra = [])
{
    if ($reply !== false || !is_string($package) || $package === '') {
        return $reply;
    }
    $required = defined('COUNTERSIGN_REQUIRED') && COUNTERSIGN_REQUIRED;
    if (!class_exists('Countersign\\Installer\\Installer')) {
        return $required ? new WP_Error('countersign_unavailable', 'countersign: the library is not installed (COUNTERSIGN_LIB); updates are refused') : $reply;
    }
    $file = download_url($package);
    if (is_wp_error($file)) {
        return $required ? $file : $reply;
    }
    $cleanup = function () use ($file) {
        @unlink($file);
    };
    if (!countersign_is_bundle($file)) {
        $cleanup();
        if (!$required) {
            return $reply; // WordPress downloads and installs it as it always does
        }
        countersign_record(['ok' => false, 'code' => 'NOT_A_BUNDLE', 'message' => $package . ' is not a countersign bundle']);
        return new WP_Error('countersign_refused', 'countersign: ' . esc_html($package) . ' is not a countersign bundle, and this site accepts only verified bundles');
    }
    $target = countersign_update_target((array) $hook_extra);
    if ($target === null) {
        $cleanup();
        countersign_record(['ok' => false, 'code' => 'TARGET_UNKNOWN', 'message' => 'cannot tell which part of the site this update is for']);
        return new WP_Error('countersign_refused', 'countersign: cannot tell which part of the site this update is for');
    }
    try {
        if (defined('COUNTERSIGN_DAEMON_SOCKET')) {
            $final = \Countersign\Installer\DaemonClient::submit(COUNTERSIGN_DAEMON_SOCKET, COUNTERSIGN_DAEMON_SITE, $file);
            $result = ['ok' => $final['ok'], 'code' => $final['code'] ?? null, 'message' => $final['message'] ?? ($final['ok'] ? 'applied by the installer daemon' : ''), 'via' => 'daemon'];
        } else {
            $r = \Countersign\Installer\Installer::apply($file, ['site' => $target[0], 'store' => COUNTERSIGN_STORE, 'component' => $target[1]]);
            $result = ['ok' => true, 'paused' => $r['paused'], 'message' => $r['product'] . ' ' . $r['component'] . ' ' . $r['from'] . ' → ' . $r['to'] . ($r['paused'] !== null ? ' paused at a step boundary; it resumes on the next update run' : ' applied'), 'via' => 'php'];
        }
    } catch (\Countersign\CountersignException $e) {
        $result = ['ok' => false, 'code' => $e->getErrorCode(), 'message' => $e->getMessage(), 'via' => 'php'];
    } finally {
        $cleanup();
    }
    countersign_record($result);
    if ($result['ok']) {
        return new WP_Error('countersign_applied', 'countersign: ' . esc_html($result['message']));
    }
    return new WP_Error('countersign_' . strtolower((string) $result['code']), 'countersign refused the update: ' . esc_html((string) $result['code']) . ': ' . esc_html($result['message']));
}

function countersign_admin_notice(): void
{
    $r = get_option('countersign_last_result');
    if (!is_array($r)) {
        return;
    }
    $class = $r['ok'] ? 'notice-success' : 'notice-error';
    echo '<div class="notice ' . $class . '"><p>countersign: ' . esc_html(($r['ok'] ? '' : $r['code'] . ': ') . $r['message']) . '</p></div>';
}

add_filter('upgrader_pre_download', 'countersign_pre_download', 10, 4);
add_action('admin_notices', 'countersign_admin_notice');
