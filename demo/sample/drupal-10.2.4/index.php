<?php
// Sample site front controller (demo data for countersign).
require_once __DIR__ . '/core/includes/bootstrap.inc';
drupal_bootstrap();
