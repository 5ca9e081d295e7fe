<?php

// countersign's PHP verifier without Composer (WordPress, Backdrop, any PHP >= 7.4 site):
//   require_once __DIR__ . '/countersign/autoload.php';
// Maps the Countersign\ namespace to src/ (PSR-4), as composer.json does.
spl_autoload_register(function ($class) {
    if (strncmp($class, 'Countersign\\', 12) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 12)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
