<?php

// A minimal stand-in for the WordPress functions the mu-plugin uses (hooks, options, download_url, WP_Error), to run
// php/integrations/wordpress/countersign-updates.php outside WordPress. Run by WordPressTest in a child php:
//   php wp-standin.php ABSPATH STORE PACKAGE HOOK_EXTRA_JSON REQUIRED(0|1)
// (the real clock is used, as the plugin does: the fixture bundles are valid from 2026-11-20 to 2100-01-01)
[, $abspath, $store, $package, $extra, $required] = $argv;

final class WP_Error
{
    public $code;
    public $message;

    public function __construct($code, $message)
    {
        $this->code = $code;
        $this->message = $message;
    }
}

$GLOBALS['cs_hooks'] = [];
$GLOBALS['cs_options'] = [];
function add_filter($hook, $fn, $prio = 10, $args = 1)
{
    $GLOBALS['cs_hooks'][$hook][] = $fn;
}
function add_action($hook, $fn, $prio = 10, $args = 1)
{
    $GLOBALS['cs_hooks'][$hook][] = $fn;
}
function apply_filters($hook, $value, ...$args)
{
    foreach ($GLOBALS['cs_hooks'][$hook] ?? [] as $fn) {
        $value = $fn($value, ...$args);
    }
    return $value;
}
function do_action($hook)
{
    foreach ($GLOBALS['cs_hooks'][$hook] ?? [] as $fn) {
        $fn();
    }
}
function is_wp_error($v)
{
    return $v instanceof WP_Error;
}
function download_url($url)
{
    $tmp = tempnam(sys_get_temp_dir(), 'wpdl');
    return @copy($url, $tmp) ? $tmp : new WP_Error('http_request_failed', 'cannot download ' . $url);
}
function update_option($k, $v, $autoload = null)
{
    $GLOBALS['cs_options'][$k] = $v;
    return true;
}
function get_option($k, $default = false)
{
    return $GLOBALS['cs_options'][$k] ?? $default;
}
function esc_html($s)
{
    return htmlspecialchars((string) $s, ENT_QUOTES, 'UTF-8');
}
function get_theme_root()
{
    return ABSPATH . 'wp-content/themes';
}

define('ABSPATH', rtrim($abspath, '/') . '/');
define('WP_PLUGIN_DIR', ABSPATH . 'wp-content/plugins');
define('COUNTERSIGN_LIB', dirname(__DIR__, 2));
define('COUNTERSIGN_STORE', $store);
define('COUNTERSIGN_REQUIRED', $required === '1');
require dirname(__DIR__, 2) . '/integrations/wordpress/countersign-updates.php';

$reply = apply_filters('upgrader_pre_download', false, $package, null, json_decode($extra, true));
ob_start();
do_action('admin_notices');
$notice = ob_get_clean();
echo json_encode(['reply' => $reply instanceof WP_Error ? ['code' => $reply->code, 'message' => $reply->message] : $reply, 'option' => get_option('countersign_last_result'), 'notice' => $notice]), "\n";
