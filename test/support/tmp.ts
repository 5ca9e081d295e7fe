// Temporary directories of a test run: made under os.tmpdir() and removed when the run ends (the root
// hook in test/support/root-hooks.ts, or the process's exit), whatever a test left in them: read-only
// modes included.
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// One set for the process: the root hook and the tests may load this module as two instances.
const REGISTRY = Symbol.for('countersign.test.tempDirs');
const made: Set<string> = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Set<string> | undefined) ?? newRegistry();

function newRegistry(): Set<string> {
  const set = new Set<string>();
  (globalThis as Record<symbol, unknown>)[REGISTRY] = set;
  // Also when mocha runs without the root hook (--no-config) or a test calls process.exit.
  process.once('exit', () => removeTempDirs());
  return set;
}

/** A new directory under os.tmpdir(), removed at the end of the run. */
export function tempDir(prefix = 'countersign-test-'): string {
  return removeAtEnd(mkdtempSync(join(tmpdir(), prefix)));
}

/** Removes `path` (a directory this run made anywhere) at the end of the run. */
export function removeAtEnd(path: string): string {
  made.add(path);
  return path;
}

/** Removes every directory registered so far; returns how many existed. */
export function removeTempDirs(): number {
  let removed = 0;
  for (const dir of made) {
    if (exists(dir)) {
      removeTree(dir);
      removed++;
    }
    made.delete(dir);
  }
  return removed;
}

function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // A test made a directory unreadable or unwritable (as a non-root user, that blocks removal): open it up, then remove.
    makeWritable(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function makeWritable(path: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  chmodSync(path, 0o700);
  for (const name of readdirSync(path)) makeWritable(join(path, name));
}

function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
