<?php

namespace Drupal\pathauto;

/**
 * Added in 1.13.0: cleans a string for use in an alias.
 */
class AliasCleaner {

  public function clean(string $text): string {
    return trim(preg_replace('/[^a-z0-9]+/', '-', strtolower($text)), '-');
  }

}
