<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use Countersign\BundleFile;
use Countersign\Time;
use Countersign\TrustStore;
use PHPUnit\Framework\TestCase;

/**
 * The fixtures (test/php-runner/gen-fixtures.ts) verify against their store long after today, so the tests that use
 * the real clock (WordPress, Drupal) test the same thing on any date: none of them may skip or change its verdict.
 */
final class FixturesTest extends TestCase
{
    public function testEveryBundleVerifiesUntil2100(): void
    {
        $store = TrustStore::open(Support::fixtures() . '/store');
        foreach (['release', 'post-fail', 'post-ok', 'moderate'] as $name) {
            foreach ([time(), Support::now(), Time::parse('2099-12-31T23:59:59Z')] as $now) {
                $bundle = BundleFile::open(Support::fixtures() . '/' . $name . '.bundle');
                $verified = $store->verify($bundle->envelopeBytes, $bundle->archive, $now);
                self::assertSame('10.2.4', $verified->document['version'], $name . ' at ' . Time::format($now));
            }
        }
    }
}
