// Drives the real yargs parser in-process, capturing output and the exit code.
import type { Context } from '../../cli/context.js';
import { run } from '../../cli/parser.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when the command was given --json. */
  json: Record<string, unknown>;
}

export async function runCli(args: string[], opts: { env?: Record<string, string>; now?: Date; interactive?: boolean } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const ctx: Context = {
    out: (t) => (stdout += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (stderr += t.endsWith('\n') ? t : t + '\n'),
    env: opts.env ?? {},
    interactive: opts.interactive ?? false,
    now: opts.now ?? new Date(),
    exitCode: 0,
  };
  const code = await run(args, ctx);
  let json: Record<string, unknown> = {};
  if (args.includes('--json')) {
    try {
      json = JSON.parse(stdout);
    } catch {
      throw new Error(`--json output is not one JSON object:\n${stdout}\nstderr:\n${stderr}`);
    }
  }
  return { code, stdout, stderr, json };
}
