<?php

require __DIR__ . '/../autoload.php';
spl_autoload_register(function ($class) {
    if (strncmp($class, 'Countersign\\Tests\\', 18) === 0) {
        require __DIR__ . '/' . substr($class, 18) . '.php';
    }
});
require __DIR__ . '/FakeSodiumCompat.php';
