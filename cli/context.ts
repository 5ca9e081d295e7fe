// What every command needs from the outside world, injectable so tests drive the parser in-process.

/** Questions to the person at the terminal (inquirer by default). */
export interface Prompter {
  password(message: string): Promise<string>;
  confirm(message: string): Promise<boolean>;
}

export interface Context {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Whether a person is at the keyboard (prompts are allowed). */
  interactive: boolean;
  /** Asks the person at the terminal; absent: inquirer. */
  prompter?: Prompter;
  /** The reference time, fixed once per run. */
  now: Date;
  exitCode: number;
}

// Terminal control characters and bidi overrides, which a hostile document could use to rewrite what a person sees.
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Shows every unprintable character as an escape, so output can never drive the terminal. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

function line(text: string): string {
  const safe = printable(text);
  return safe.endsWith('\n') ? safe : safe + '\n';
}

/** node:tty's isatty, loaded when first asked (node:tty loads node:net, which a verify never needs). */
export function isatty(fd: number): boolean {
  return process.getBuiltinModule('node:tty').isatty(fd);
}

export function processContext(): Context {
  return {
    out: (text) => process.stdout.write(line(text)),
    err: (text) => process.stderr.write(line(text)),
    env: process.env,
    // isatty(0), not process.stdin.isTTY: creating process.stdin would make a piped fd 0 non-blocking.
    get interactive() {
      return isatty(0) && isatty(2);
    },
    now: new Date(),
    exitCode: 0,
  };
}

/** Resolves on SIGTERM or SIGINT: how the long-running commands (serve) are stopped. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
