<?php

declare(strict_types=1);

namespace Countersign\Tests\Installer;

use Countersign\Installer\Post;
use PHPUnit\Framework\TestCase;

/** A post-update step's exit code as the step gave it (Post::run). */
final class PostTest extends TestCase
{
    /**
     * The step exits while a child it left behind still holds its output pipes: PHP's proc_get_status gives the exit
     * code only on its first call after the exit (-1 after that), so the runner must keep that first answer.
     */
    public function testTheExitCodeOfAStepWhoseChildOutlivesIt(): void
    {
        $r = Post::run(['sh', '-c', '(sleep 0.3) & exit 3'], 0, sys_get_temp_dir(), 10.0);
        self::assertSame(3, $r['exitCode']);
        self::assertFalse($r['ok']);
    }

    public function testTheExitCodeOfAStepThatFails(): void
    {
        self::assertSame(1, Post::run(['false'], 0, sys_get_temp_dir(), 10.0)['exitCode']);
    }
}
