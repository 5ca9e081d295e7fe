// Numbered points in the life of a commit and a recovery, where tests stop the installer.
import { errnoOf } from '../core/errno.js';
//
// Every step of a commit counts as one point, in order: staging, the journal's records written, each backup
// link, the one flush of the journal, backups/ and the staged files, each action a step takes (mkdir, link,
// rename, unlink, rmdir), the directories' fsync, the commit record, and each stage of finishing (recording the
// install, the phase state, removing staging and backups, removing the journal); in a rollback or recovery, each undo action.
//
// TEST-ONLY environment variables, read by the tests' CLI (`apply`, `recover`) and by nothing else:
//   COUNTERSIGN_TEST_CRASH_AT_STEP=k   the process SIGKILLs itself at point k (as a power cut or an OOM kill would)
//   COUNTERSIGN_TEST_FAIL_AT_STEP=k    point k throws an I/O error (EIO), as a failing disk would
// They can only make an update stop; recovery then rolls it back (or finishes it, after the commit record).
// A daemon should start its workers with a clean environment, which leaves them unset.

export interface InstallHooks {
  /** Called at each point with its number (from 1, counted per process) and a label saying where it is. */
  point?(n: number, label: string): void;
}

export class Points {
  private n = 0;
  constructor(private readonly hooks: InstallHooks | undefined) {}

  /** Points passed so far. */
  get count(): number {
    return this.n;
  }

  hit(label: string): void {
    this.n++;
    this.hooks?.point?.(this.n, label);
  }
}

export const CRASH_ENV = 'COUNTERSIGN_TEST_CRASH_AT_STEP';
export const FAIL_ENV = 'COUNTERSIGN_TEST_FAIL_AT_STEP';

// Defined by scripts/bundle-cli.mjs: false in the shipped CLI (the variables are then ignored, whatever
// else happens), true in the tests' CLI bundle. Unbundled code honours them only in a process that called
// enableTestHooks() (test/support/root-hooks.ts); a process-wide flag, since a test runner may load this
// module more than once.
declare const COUNTERSIGN_TEST_HOOKS: boolean | undefined;
const ENABLED = Symbol.for('countersign.installer.testHooks');

function testHooksEnabled(): boolean {
  if (typeof COUNTERSIGN_TEST_HOOKS !== 'undefined') return COUNTERSIGN_TEST_HOOKS;
  return (globalThis as Record<symbol, unknown>)[ENABLED] === true;
}

/** Lets hooksFromEnv read the TEST-ONLY variables in this process (tests only). */
export function enableTestHooks(): void {
  (globalThis as Record<symbol, unknown>)[ENABLED] = true;
}

/** The test-only hooks the environment asks for, or undefined (always, unless test hooks are enabled). */
export function hooksFromEnv(env: Record<string, string | undefined>): InstallHooks | undefined {
  if (!testHooksEnabled()) return undefined;
  const crashAt = stepNumber(env[CRASH_ENV]);
  const failAt = stepNumber(env[FAIL_ENV]);
  if (crashAt === undefined && failAt === undefined) return undefined;
  return {
    point(n, label) {
      if (n === crashAt) process.kill(process.pid, 'SIGKILL');
      if (n === failAt) throw Object.assign(new Error(`injected fault at step ${n} (${label}) by ${FAIL_ENV}`), { code: 'EIO' });
    },
  };
}

function stepNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** An injected or real errno error as the short text an InstallError carries. */
export function describeFault(err: unknown): string {
  const code = errnoOf(err);
  const message = (err as Error)?.message;
  return message && message !== code && !message.startsWith(`${code}:`) ? `${code}: ${message}` : (message ?? code);
}
