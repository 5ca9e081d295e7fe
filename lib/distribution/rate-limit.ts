// Abuse limits for the hub's and the site's HTTP endpoints: how often a source address or a credential
// may fail authentication, and how often an address may register. In memory, per process: a hub run as
// several processes limits each one separately (each still bounds its own work).
//
// A credential id is not secret, so failures counted against a credential never lock out a request whose
// MAC verifies: they only change the answer to failing ones (429 instead of 401) and quiet the log.
// An address over its budget is refused before any work, unless the same address authenticated
// successfully inside the window (a site behind a proxy shares the proxy's address with everyone).

export interface LimitOptions {
  /** Events allowed per window before the key is limited. */
  burst: number;
  windowMs: number;
  /** Keys tracked at most; when full, the oldest are forgotten (memory stays bounded under a flood). */
  maxKeys?: number;
}

/** A fixed-window counter per key. */
export class RateLimiter {
  private readonly counts = new Map<string, { start: number; count: number }>();
  constructor(private readonly opts: LimitOptions) {}

  /** Counts one event for `key`; true while the key is within its budget. */
  hit(key: string, now: number): boolean {
    const entry = this.current(key, now);
    entry.count += 1;
    return entry.count <= this.opts.burst;
  }

  /** True when `key` has used its budget in the current window (without counting an event). */
  exhausted(key: string, now: number): boolean {
    const entry = this.counts.get(key);
    return entry !== undefined && now - entry.start < this.opts.windowMs && entry.count >= this.opts.burst;
  }

  /** Milliseconds until `key`'s window ends (for Retry-After). */
  retryAfterMs(key: string, now: number): number {
    const entry = this.counts.get(key);
    return entry ? Math.max(0, entry.start + this.opts.windowMs - now) : 0;
  }

  private current(key: string, now: number) {
    let entry = this.counts.get(key);
    if (!entry || now - entry.start >= this.opts.windowMs) {
      this.counts.delete(key);
      entry = { start: now, count: 0 };
      this.counts.set(key, entry);
      const max = this.opts.maxKeys ?? 100_000;
      if (this.counts.size > max) this.counts.delete(this.counts.keys().next().value as string);
    }
    return entry;
  }
}

/** Failed-authentication limits per source address and per credential, as described above. */
export class AuthLimits {
  private readonly byAddress: RateLimiter;
  private readonly byCredential: RateLimiter;
  /** Address → when it last authenticated; bounded like the counters. */
  private readonly lastGood = new Map<string, number>();
  private readonly windowMs: number;

  constructor(opts: { failuresPerAddress?: number; failuresPerCredential?: number; windowMs?: number } = {}) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.byAddress = new RateLimiter({ burst: opts.failuresPerAddress ?? 30, windowMs: this.windowMs });
    this.byCredential = new RateLimiter({ burst: opts.failuresPerCredential ?? 30, windowMs: this.windowMs });
  }

  /** Refuse before any work: the address failed too often and has not authenticated lately. */
  refuseAddress(address: string, now: number): boolean {
    const good = this.lastGood.get(address);
    return this.byAddress.exhausted(address, now) && (good === undefined || now - good >= this.windowMs);
  }

  succeeded(address: string, now: number): void {
    this.lastGood.delete(address);
    this.lastGood.set(address, now);
    if (this.lastGood.size > 100_000) this.lastGood.delete(this.lastGood.keys().next().value as string);
  }

  /** Records a failure; true when the answer should be 429 (either budget is spent). */
  failed(address: string, credential: string | undefined, now: number): boolean {
    const addressOk = this.byAddress.hit(address, now);
    const credentialOk = credential === undefined || this.byCredential.hit(credential, now);
    return !addressOk || !credentialOk;
  }

  retryAfterSeconds(address: string, now: number): number {
    return Math.max(1, Math.ceil(this.byAddress.retryAfterMs(address, now) / 1000));
  }
}
