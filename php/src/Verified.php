<?php

declare(strict_types=1);

namespace Countersign;

/** A document that passed every check: what it is, who signed it, and which Ed25519 implementation verified it. */
final class Verified
{
    /** @var string manifest, policy or revocation */
    public $kind;
    /** @var array<string,mixed> the payload as parsed */
    public $document;
    /** @var array<string,mixed> the quorum counted (Quorum::count) */
    public $quorum;
    /** @var string */
    public $payloadSha256;
    /** @var list<array<string,mixed>> unknown keys, bad and duplicate signatures that did not affect the verdict */
    public $warnings;
    /** @var list<string> site checks skipped because the caller did not say what the site runs */
    public $notChecked;
    /** @var string ext-sodium or sodium_compat */
    public $backend;
}
