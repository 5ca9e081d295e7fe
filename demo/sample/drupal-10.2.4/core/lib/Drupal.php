<?php
// Sample of the file that carries the version number (demo data for countersign).
class Drupal {
  const VERSION = '10.2.4';
}
