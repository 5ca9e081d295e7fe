<?php

require __DIR__ . '/../autoload.php';
// Countersign\Tests\X\Y -> tests/X/Y.php, separators mapped to '/' as autoload.php does.
spl_autoload_register(function ($class) {
    if (strncmp($class, 'Countersign\\Tests\\', 18) === 0) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, 18)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
require __DIR__ . '/FakeSodiumCompat.php';
