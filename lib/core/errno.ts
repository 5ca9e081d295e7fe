// The errno code of a failed system call (ENOENT, EEXIST, …), for messages and for deciding what a failure means.
// Here, not at an edge, because it reads a property and touches nothing; every edge and the core use this one.

/** The errno code of an error, or its message when it has none. */
export function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}
