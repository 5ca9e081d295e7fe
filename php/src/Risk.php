<?php

declare(strict_types=1);

namespace Countersign;

/** The Drupal security risk calculator (lib/core/risk.ts). */
final class Risk
{
    public const LEVELS = ['Not Critical', 'Less Critical', 'Moderately Critical', 'Critical', 'Highly Critical'];
    private const METRICS = [
        ['AC', 'Access complexity', ['None' => 4, 'Basic' => 2, 'Complex' => 1]],
        ['A', 'Authentication', ['None' => 4, 'User' => 2, 'Admin' => 1]],
        ['CI', 'Confidentiality impact', ['All' => 5, 'Some' => 3, 'None' => 0]],
        ['II', 'Integrity impact', ['All' => 5, 'Some' => 3, 'None' => 0]],
        ['E', 'Exploit (zero-day impact)', ['Exploit' => 4, 'Proof' => 2, 'Theoretical' => 1]],
        ['TD', 'Target distribution', ['All' => 3, 'Default' => 2, 'Uncommon' => 1]],
    ];

    /** @return array{score:int,level:string} */
    public static function compute(string $vector): array
    {
        $bad = function (string $why) use ($vector): ReleaseException {
            return new ReleaseException('BAD_RISK_VECTOR', 'risk vector ' . Json::quote($vector) . ' ' . $why, ['vector' => $vector]);
        };
        if (Bytes::utf16Length($vector) > 200) {
            throw new ReleaseException('BAD_RISK_VECTOR', 'risk vector is too long');
        }
        $parts = explode('/', $vector);
        if (count($parts) !== count(self::METRICS)) {
            throw $bad('has ' . count($parts) . ' metrics, expected AC/A/CI/II/E/TD');
        }
        $score = 0;
        foreach (self::METRICS as $i => $metric) {
            $part = $parts[$i];
            $prefix = $metric[0] . ':';
            if (strncmp($part, $prefix, strlen($prefix)) !== 0) {
                throw $bad('has ' . Json::quote($part) . ' where ' . $metric[0] . ' (' . $metric[1] . ') belongs');
            }
            $value = (string) substr($part, strlen($prefix));
            if (!array_key_exists($value, $metric[2])) {
                throw $bad('has unknown ' . $metric[0] . ' value ' . Json::quote($value) . '; expected one of ' . implode(', ', array_keys($metric[2])));
            }
            $score += $metric[2][$value];
        }
        return ['score' => $score, 'level' => self::LEVELS[min(intdiv($score, 5), 4)]];
    }
}
