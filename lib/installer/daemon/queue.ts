// One job per site at a time, in arrival order; a bounded number wait. Sites are independent: jobs for
// different sites run concurrently (they touch different trees, as different users, each under its own
// journal), so a slow post-update step on one site never holds up another.
//
// A client takes a place only once its whole bundle is spooled (QUEUE_FULL when `capacity` places are
// taken: the running job and the waiting ones), so slow uploads never hold places that complete bundles
// need. Uploads still arriving are bounded per site by the daemon (maxConnectionsPerSite), so the spool
// never holds more than sites x (capacity + maxConnectionsPerSite) bundles.

export interface Reservation {
  readonly site: string;
  /** Runs `job` when every job that joined the line before it has finished; resolves with its result. */
  run<T>(job: () => Promise<T>): Promise<T>;
  /** Gives the place back without running (the client went away or was refused before its turn). */
  release(): void;
  /** Jobs ahead of this one right now (running or waiting). */
  ahead(): number;
}

export class SiteQueue {
  private reserved = 0;
  private readonly line: Array<() => void> = [];
  private running = false;
  private closed = false;

  constructor(
    readonly site: string,
    private readonly capacity: number,
  ) {}

  /** A place, or undefined when the site is full (or the queue is closed). */
  reserve(): Reservation | undefined {
    if (this.closed || this.reserved >= this.capacity) return undefined;
    return this.place(true);
  }

  /** A place outside the bound, for the daemon's own jobs (recovery at start). */
  reserveInternal(): Reservation {
    return this.place(false);
  }

  /** Jobs waiting or running. */
  get size(): number {
    return this.line.length + (this.running ? 1 : 0);
  }

  /** No new reservations (the daemon is stopping; jobs already in line see that and refuse themselves). */
  close(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private place(counted: boolean): Reservation {
    if (counted) this.reserved++;
    let released = false;
    const giveBack = () => {
      if (released) return;
      released = true;
      if (counted) this.reserved--;
    };
    return {
      site: this.site,
      ahead: () => this.size,
      release: giveBack,
      run: <T>(job: () => Promise<T>) =>
        new Promise<T>((resolveRun, rejectRun) => {
          const start = () => {
            this.running = true;
            job()
              .then(resolveRun, rejectRun)
              .finally(() => {
                this.running = false;
                giveBack();
                this.line.shift()?.();
              });
          };
          if (this.running) this.line.push(start);
          else start();
        }),
    };
  }
}
