<?php

namespace Drupal\pathauto;

/**
 * Cleans (1.13.1: no leading or trailing dashes) a string for use in an alias.
 */
class AliasCleaner {

  public function clean(string $text): string {
    return trim(preg_replace('/[^a-z0-9]+/', '-', strtolower($text)), '-');
  }

}
