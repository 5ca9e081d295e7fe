<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\UsageException;

/**
 * A client of the installer daemon's Unix socket (lib/installer/daemon/protocol.ts, client.ts), for sites where the web
 * server may not write the code: one header line {"site","size"}, then exactly `size` bytes of the bundle file; the
 * daemon answers JSON lines, progress first, then one final line with "ok" and "exit". The daemon verifies and applies
 * as the site owner; this client decides nothing.
 */
final class DaemonClient
{
    public const MAX_LINE_BYTES = 8388608;

    /** @return array<string,mixed> the final line (ok, exit, code, message, result, ...) */
    public static function submit(string $socket, string $site, string $bundle, ?callable $onProgress = null, float $timeout = 600.0): array
    {
        if (!preg_match('/^[a-z0-9][a-z0-9._-]{0,63}$/D', $site)) {
            throw new UsageException('USAGE', 'the site name ' . json_encode($site) . ' is not one the daemon can have configured');
        }
        $st = Fs::lstat($bundle);
        if (Fs::kind($st) !== 'file') {
            throw new UsageException('IO', $bundle . ' is not a regular file');
        }
        if ($st['size'] === 0) {
            throw new UsageException('IO', $bundle . ' is empty');
        }
        $errno = 0;
        $errstr = '';
        $conn = @stream_socket_client('unix://' . $socket, $errno, $errstr, 10.0);
        if ($conn === false) {
            throw new UsageException('IO', 'cannot reach the installer at ' . $socket . ': ' . $errstr);
        }
        $in = Fs::open($bundle, 'rb');
        try {
            stream_set_timeout($conn, (int) ceil($timeout));
            $answer = '';
            $write = function (string $data) use ($conn): bool {
                $done = 0;
                while ($done < strlen($data)) {
                    $n = @fwrite($conn, substr($data, $done));
                    if ($n === false || $n === 0) {
                        return false; // refused early: the daemon stopped reading; its answer is still there to read
                    }
                    $done += $n;
                }
                return true;
            };
            $sent = $write(json_encode(['site' => $site, 'size' => $st['size']]) . "\n");
            $left = $st['size'];
            while ($sent && $left > 0) {
                $chunk = fread($in, min(1 << 16, $left));
                if ($chunk === false || $chunk === '') {
                    throw new UsageException('IO', $bundle . ' changed while it was sent');
                }
                $left -= strlen($chunk);
                $sent = $write($chunk);
            }
            while (!feof($conn)) {
                $line = fgets($conn, self::MAX_LINE_BYTES + 1);
                if ($line === false) {
                    $meta = stream_get_meta_data($conn);
                    if ($meta['timed_out']) {
                        throw new UsageException('IO', 'the installer at ' . $socket . ' did not answer within ' . $timeout . ' s');
                    }
                    break;
                }
                if (trim($line) === '') {
                    continue;
                }
                $value = json_decode($line, true);
                if (!is_array($value)) {
                    throw new UsageException('IO', 'the installer at ' . $socket . ' answered something that is not JSON');
                }
                if (array_key_exists('ok', $value) && is_bool($value['ok']) && isset($value['exit'])) {
                    return $value;
                }
                if (isset($value['progress']) && $onProgress !== null) {
                    $onProgress($value);
                }
            }
            throw new UsageException('IO', 'the installer at ' . $socket . ' closed the connection without an answer');
        } finally {
            fclose($in);
            fclose($conn);
        }
    }
}
