<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use Countersign\CountersignException;
use Countersign\Installer\Installer;
use Countersign\Installer\Points;
use Countersign\Policy;
use Countersign\Rotation;
use Countersign\Time;
use Countersign\VerificationException;
use PHPUnit\Framework\TestCase;

/**
 * A bundle that fails verification is never staged: every rejected bundle of the shared conformance vectors
 * (spec/vectors/conformance/bundle.json: tampered archives, forged and missing signatures, wrong targets, rollbacks,
 * expired releases, unsafe entries) is run through the runner, which must refuse it with the vector's code before the
 * staging directories exist, the site untouched.
 */
final class AttackTest extends TestCase
{
    public function testEveryRejectedBundleIsRefusedBeforeAnythingIsStaged(): void
    {
        $dir = dirname(__DIR__, 3) . '/spec/vectors/conformance';
        $cases = json_decode((string) file_get_contents($dir . '/bundle.json'), true)['cases'];
        $run = 0;
        foreach ($cases as $c) {
            $site = $c['site'];
            if ($c['expect'] === 'ok' || !isset($site['product'], $site['component'], $site['installed']) || isset($site['highestInstalled']) || count($c['revocations']) > 0 || !is_string($c['bundle'] ?? null)) {
                continue;
            }
            $now = Time::parse($c['now']);
            $s = Support::setup(['core/lib/Drupal.php' => "<?php\nclass Drupal {\n  const VERSION = '" . $site['installed'] . "';\n}\n", 'index.php' => "<?php\n"]);
            $before = Support::snapshot($s['site']);
            $staged = false;
            $points = new Points(function (int $n, string $label) use (&$staged): void {
                $staged = true;
            });
            $codes = null;
            try {
                // A vector whose pinned policy is itself refused (e.g. signer kinds in a format 1 policy) is refused here, as by a site.
                $trusted = Policy::loadTrusted((string) file_get_contents($dir . '/' . $c['trusted']['pin']));
                if (count($c['trusted']['rotations']) > 0) {
                    $trusted = Rotation::walk($trusted, array_map(function ($f) use ($dir) {
                        return (string) file_get_contents($dir . '/' . $f);
                    }, $c['trusted']['rotations']), $now);
                }
                Installer::apply($dir . '/' . $c['bundle'], ['site' => $s['site'], 'trusted' => $trusted, 'installed' => $site['installed'], 'product' => $site['product'], 'component' => $site['component'], 'now' => $now, 'budget' => null, 'points' => $points]);
            } catch (VerificationException $e) {
                $codes = $e->getCodes();
            } catch (CountersignException $e) {
                $codes = [$e->getErrorCode()];
            }
            self::assertNotNull($codes, $c['id'] . ': the runner applied a bundle the vectors reject');
            self::assertContains($c['expect'][0], $codes, $c['id'] . ': refused with ' . implode(', ', (array) $codes) . ', the vector says ' . implode(', ', $c['expect']));
            self::assertFalse($staged, $c['id'] . ': a point of the commit was reached');
            self::assertFalse(is_dir($s['stateDir'] . '/staging'), $c['id'] . ': staged');
            self::assertSame($before, Support::snapshot($s['site']), $c['id']);
            Support::cleanup($s['dir']);
            $run++;
        }
        self::assertGreaterThan(35, $run);
    }
}
