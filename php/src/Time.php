<?php

declare(strict_types=1);

namespace Countersign;

/** Timestamps: UTC, second precision, one spelling only (lib/core/time.ts). Values are Unix seconds. */
final class Time
{
    public static function parse(string $text, string $what = 'timestamp'): int
    {
        $m = [];
        if (preg_match('/^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/D', $text, $m)) {
            list(, $y, $mo, $d, $h, $mi, $s) = array_map('intval', $m);
            $leap = ($y % 4 === 0 && $y % 100 !== 0) || $y % 400 === 0;
            $days = [31, $leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            if ($mo >= 1 && $mo <= 12 && $d >= 1 && $d <= $days[$mo - 1] && $h <= 23 && $mi <= 59 && $s <= 59) {
                return self::daysFromCivil($y, $mo, $d) * 86400 + $h * 3600 + $mi * 60 + $s;
            }
        }
        throw new FormatException('MALFORMED', $what . ' ' . Json::quote($text) . ' is not a UTC timestamp like 2027-01-31T00:00:00Z');
    }

    public static function format(int $seconds): string
    {
        return gmdate('Y-m-d\TH:i:s\Z', $seconds);
    }

    /** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); gmmktime reads years 0-99 as 19xx/20xx. */
    private static function daysFromCivil(int $y, int $m, int $d): int
    {
        $y -= $m <= 2 ? 1 : 0;
        $era = intdiv($y >= 0 ? $y : $y - 399, 400);
        $yoe = $y - $era * 400;
        $doy = intdiv(153 * ($m + ($m > 2 ? -3 : 9)) + 2, 5) + $d - 1;
        $doe = $yoe * 365 + intdiv($yoe, 4) - intdiv($yoe, 100) + $doy;
        return $era * 146097 + $doe - 719468;
    }

    /** Any ISO-8601 date or date-time a person may type (lib/core/time.ts parseUserTime), whole seconds. */
    public static function parseUser(string $text, string $what = 'time'): int
    {
        if (preg_match('/^\d{4}-\d{2}-\d{2}/', $text)) {
            try {
                $d = new \DateTimeImmutable(preg_match('/^\d{4}-\d{2}-\d{2}$/D', $text) ? $text . 'T00:00:00Z' : $text, new \DateTimeZone('UTC'));
                return $d->getTimestamp();
            } catch (\Exception $e) {
                // fall through
            }
        }
        throw new FormatException('MALFORMED', $what . ' ' . Json::quote($text) . ' is not an ISO-8601 date or time');
    }
}
