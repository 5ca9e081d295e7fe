// The size of libuv's thread pool, chosen per command before anything starts the pool.
import { stat } from 'node:fs';

/** The commands that stage and fsync many files at once on libuv's thread pool (lib/installer/stage.ts, commit.ts). */
const FSYNCING_COMMANDS = new Set(['apply', 'recover']);

/**
 * Gives apply and recover a thread pool of 16 (libuv's default is 4): their fsyncs wait on the disk, not the CPU.
 * libuv reads UV_THREADPOOL_SIZE once, when the first job starts the pool; the variable is removed again then, so
 * the hooks and workers these commands start inherit the environment they were given. A size set by the user stands.
 */
export async function startThreadPool(argv: readonly string[]): Promise<void> {
  const command = argv.find((a) => !a.startsWith('-'));
  if (command === undefined || !FSYNCING_COMMANDS.has(command) || process.env.UV_THREADPOOL_SIZE !== undefined) return;
  process.env.UV_THREADPOOL_SIZE = '16';
  await new Promise<void>((resolve) => stat('.', () => resolve()));
  delete process.env.UV_THREADPOOL_SIZE;
}
