// What every command needs from the outside world, injectable so tests drive the parser in-process.
export interface Context {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Whether a person is at the keyboard (prompts are allowed). */
  interactive: boolean;
  /** The reference time, fixed once per run. */
  now: Date;
  exitCode: number;
}

export function processContext(): Context {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
    env: process.env,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    now: new Date(),
    exitCode: 0,
  };
}
