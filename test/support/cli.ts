// Drives the real yargs parser in-process, capturing output and the exit code.
import { readdirSync, readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import type { Context, Prompter } from '../../cli/context.js';
import { run } from '../../cli/parser.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when the command was given --json. */
  json: Record<string, unknown>;
}

export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; now?: Date; interactive?: boolean; prompter?: Prompter } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const ctx: Context = {
    out: (t) => (stdout += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (stderr += t.endsWith('\n') ? t : t + '\n'),
    env: opts.env ?? {},
    interactive: opts.interactive ?? false,
    prompter: opts.prompter,
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

// ---- helpers for the CLI contract tests (test/cli-*.test.ts) ----

/** Runs a command that must succeed; on failure the error carries the whole output. */
export async function runCliOk(args: string[], opts: Parameters<typeof runCli>[1] = {}): Promise<CliResult> {
  const r = await runCli(args, opts);
  if (r.code !== 0) throw new Error(`countersign ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** Every name in a directory, hidden temporary files included, sorted. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** The decoded payload of an envelope file (a manifest or policy written by the CLI). */
export function envelopePayload(path: string): Record<string, any> {
  const envelope = JSON.parse(readFileSync(path, 'utf8')) as { payload: string };
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<string, any>;
}

export interface CliKey {
  name: string;
  key: string;
  pub: string;
  keyid: string;
}

/** Generates UNENCRYPTED (test-only, fast) key pairs under `dir` with the real keygen command. */
export async function makeCliKeys(dir: string, names: string[]): Promise<Record<string, CliKey>> {
  const keys: Record<string, CliKey> = {};
  for (const name of names) {
    const prefix = joinPath(dir, name);
    const r = await runCliOk(['keygen', '--out', prefix, '--name', name, '--unencrypted', '--json']);
    keys[name] = { name, key: `${prefix}.key`, pub: `${prefix}.pub`, keyid: String(r.json.keyid) };
  }
  return keys;
}

/**
 * A policy over `signers` written by `policy init`, signed by the first `threshold` of them and
 * assembled against itself. Returns the unsigned and the self-signed policy paths.
 */
export async function makeCliPolicy(
  dir: string,
  signers: CliKey[],
  opts: { threshold: number; expires: string; now: Date; name?: string },
): Promise<{ unsigned: string; signed: string }> {
  const base = joinPath(dir, opts.name ?? 'policy');
  const unsigned = `${base}.json`;
  const signed = `${base}.signed.json`;
  await runCliOk(
    ['policy', 'init', '--threshold', String(opts.threshold), ...signers.flatMap((s) => ['--signer', s.pub]), '--expires', opts.expires, '--out', unsigned],
    { now: opts.now },
  );
  const sigs: string[] = [];
  for (const s of signers.slice(0, opts.threshold)) {
    const sig = `${base}.${s.name}.sig`;
    await runCliOk(['sign', unsigned, '--key', s.key, '--yes', '--out', sig], { now: opts.now });
    sigs.push(sig);
  }
  await runCliOk(['assemble', unsigned, '--policy', unsigned, '--out', signed, ...sigs], { now: opts.now });
  return { unsigned, signed };
}

/** A prompter that answers from `answers` in order and records each question in `asked`. */
export function scriptedPrompter(asked: string[], answers: Array<string | boolean | Error>): Prompter {
  const next = async (message: string) => {
    asked.push(message);
    const a = answers.shift();
    if (a === undefined) throw new Error(`unexpected prompt ${message}`);
    if (a instanceof Error) throw a;
    return a;
  };
  return { password: next as (m: string) => Promise<string>, confirm: next as (m: string) => Promise<boolean> };
}
