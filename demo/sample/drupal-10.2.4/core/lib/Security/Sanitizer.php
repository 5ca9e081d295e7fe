<?php
// Sample file added by the demo release.
namespace Drupal\Security;
final class Sanitizer {
  public static function text(string $s): string {
    return htmlspecialchars($s, ENT_QUOTES, 'UTF-8');
  }
}
