<?php

declare(strict_types=1);

namespace Countersign\Installer;

use Countersign\UsageException;

/**
 * The site root, resolved once (realpath), its identity (DEV:INO) and owner, and the state directory beside it,
 * never inside it: PARENT/.countersign-SITENAME (lib/installer/state.ts), holding lock, journal, staging/, backups/,
 * state.json, needs-attention.json and, for this runner only, paused.json (a run stopped at a step boundary).
 */
final class SitePaths
{
    /** @var string */
    public $root;
    /** @var string */
    public $rootId;
    /** @var int */
    public $owner;
    /** @var int */
    public $dev;
    /** @var string */
    public $stateDir;

    public function __construct(string $site, ?string $stateDir = null)
    {
        $real = realpath($site);
        if ($real === false) {
            throw new UsageException('IO', 'cannot read the site ' . $site . ': ENOENT');
        }
        $st = Fs::lstat($real);
        if (Fs::kind($st) !== 'dir') {
            throw new UsageException('IO', 'the site ' . $site . ' is not a directory');
        }
        if ($real === '/') {
            throw new UsageException('USAGE', 'the site root cannot be /');
        }
        $this->root = $real;
        $this->rootId = Fs::id($st);
        $this->owner = $st['uid'];
        $this->dev = $st['dev'];
        if ($stateDir === null) {
            $this->stateDir = dirname($real) . '/.countersign-' . basename($real);
        } else {
            $abs = $stateDir[0] === '/' ? $stateDir : getcwd() . '/' . $stateDir;
            $parent = realpath(dirname($abs));
            if ($parent === false) {
                throw new UsageException('IO', 'cannot reach the state directory ' . $stateDir . ': ENOENT');
            }
            $resolved = $parent . '/' . basename($abs);
            if ($resolved === $real || strpos($resolved . '/', $real . '/') === 0) {
                throw new UsageException('USAGE', 'the state directory ' . $stateDir . ' is inside the site, where the web server could serve it; choose one outside ' . $real);
            }
            $this->stateDir = $resolved;
        }
    }

    public function at(string $name): string
    {
        return $this->stateDir . '/' . $name;
    }

    public function abs(string $rel): string
    {
        return $rel === '' ? $this->root : $this->root . '/' . $rel;
    }

    /** For the steps: the root still resolves to itself and is the directory pinned at the start (else ESTALE). */
    public function assertRootUnchanged(): void
    {
        $st = Fs::lstat($this->root);
        if ($st === null || Fs::kind($st) !== 'dir' || Fs::id($st) !== $this->rootId || realpath($this->root) !== $this->root) {
            throw new Fault('ESTALE', 'the site root ' . $this->root . ' is no longer the directory this run started with (moved or replaced)');
        }
    }

    /** Still the directory this run started with (realpath and DEV:INO); else PREFLIGHT_FAILED ROOT_REPLACED. */
    public function assertRoot(): void
    {
        $st = Fs::lstat($this->root);
        $real = realpath($this->root);
        if ($st === null || Fs::kind($st) !== 'dir' || Fs::id($st) !== $this->rootId || $real !== $this->root) {
            $message = 'the site root ' . $this->root . ' is no longer the directory this run started with: it was moved or replaced; nothing was touched';
            throw new InstallException('PREFLIGHT_FAILED', $message, ['problems' => [['code' => 'ROOT_REPLACED', 'path' => $this->root, 'message' => $message]]]);
        }
    }
}
