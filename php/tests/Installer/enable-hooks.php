<?php

// TEST-ONLY: loaded by the crash tests with php -d auto_prepend_file=...; makes Points read COUNTERSIGN_TEST_KILL_AT /
// COUNTERSIGN_TEST_FAIL_AT. Nothing shipped defines this constant, so a real site ignores those variables.
define('COUNTERSIGN_TEST_HOOKS', true);
