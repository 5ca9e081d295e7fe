// The command lines most runs are made of (a command, its positionals, and declared options each given once,
// as `--name value`, `--name=value` or a bare `--flag`) are parsed here, from the command's own yargs
// declarations, without loading yargs: yargs' set-up and parse cost more than a small bundle's verify. Any
// other command line (help, a short or unknown option, a missing value, a quoted or numeric-looking value,
// a broken rule) is declined, and yargs parses it as before, with its own messages.
// test/direct-argv.test.ts holds the two to the same arguments, over every command and a corpus of lines.
import type { CommandModule, Options, PositionalOptions } from 'yargs';

/** What yargs would hand the command's handler. */
export type ParsedArgs = Record<string, unknown> & { _: string[]; $0: string };

export interface Positional {
  name: string;
  required: boolean;
  variadic: boolean;
  type?: string;
}

export interface Declarations {
  positionals: Positional[];
  options: Map<string, Options>;
  conflicts: [string, string][];
  commands: CommandModule<object, any>[];
}

// The option settings whose meaning is fully reproduced below; an option with any other is left to yargs.
const HANDLED_SETTINGS = new Set(['type', 'describe', 'demandOption', 'array', 'default', 'hidden', 'group', 'choices', 'global']);
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const RESERVED = new Set(['help', 'version']);

class Declined extends Error {}

const decline = (): never => {
  throw new Declined();
};

/** The name and positionals of a yargs command string, e.g. 'assemble <doc> <sig..>'; declines any other shape. */
function positionalsOf(command: string): { name: string; positionals: Positional[] } {
  const [name, ...rest] = command.split(' ');
  const positionals = rest.map((word) => {
    const m = /^(<|\[)([a-z][a-z0-9-]*)(\.\.)?(>|\])$/.exec(word) ?? decline();
    if ((m[1] === '<') !== (m[4] === '>')) decline();
    return { name: m[2]!, required: m[1] === '<', variadic: m[3] !== undefined };
  });
  if (!NAME.test(name ?? '')) decline();
  return { name: name!, positionals };
}

/** Runs a command's builder against a recorder of the declarations it makes; declines any it cannot reproduce. */
export function declarationsOf(module: CommandModule<object, any>): Declarations & { name: string } {
  if (typeof module.command !== 'string' || module.aliases !== undefined) decline();
  const { name, positionals } = positionalsOf(module.command as string);
  const declared: Declarations = { positionals, options: new Map(), conflicts: [], commands: [] };
  const option = (key: string, opts: Options) => {
    // yargs reads --no-KEY as KEY negated, and keeps help and version for itself.
    if (!NAME.test(key) || key.startsWith('no-') || RESERVED.has(key) || declared.options.has(key)) decline();
    if (Object.keys(opts).some((s) => !HANDLED_SETTINGS.has(s))) decline();
    // Choices are taken as typed only when yargs would not read one as a number.
    if (opts.choices !== undefined && !(Array.isArray(opts.choices) && opts.choices.every((c) => typeof c === 'string' && Number.isNaN(Number(c))))) decline();
    if (opts.type !== 'string' && opts.type !== 'boolean' && opts.type !== 'number' && !(opts.type === undefined && opts.choices)) decline();
    declared.options.set(key, opts);
  };
  const recorder: Record<string, (...args: any[]) => unknown> = {
    positional: (key: string, opts: PositionalOptions) => {
      const p = declared.positionals.find((q) => q.name === key) ?? decline();
      if (Object.keys(opts).some((s) => !['type', 'describe', 'demandOption', 'array'].includes(s))) decline();
      if (opts.type !== 'string' || (opts.array === true) !== p.variadic) decline();
      p.type = opts.type;
      return recorder;
    },
    option: (key: string, opts: Options) => (option(key, opts), recorder),
    options: (all: Record<string, Options>) => (Object.entries(all).forEach(([key, opts]) => option(key, opts)), recorder),
    conflicts: (a: unknown, b: unknown) => (typeof a === 'string' && typeof b === 'string' ? declared.conflicts.push([a, b]) : decline(), recorder),
    command: (sub: CommandModule<object, any>) => (declared.commands.push(sub), recorder),
    demandCommand: () => recorder,
    epilogue: () => recorder,
  };
  const builder = module.builder;
  if (typeof builder === 'function') builder(new Proxy(recorder, { get: (r, method: string) => r[method] ?? decline() }) as never);
  else if (builder !== undefined) decline();
  // A group takes only its subcommand: options of its own would reach the subcommand in yargs.
  if (declared.commands.length > 0 && (declared.options.size > 0 || declared.positionals.length > 0)) decline();
  // yargs reads an untyped positional that looks like a number as one.
  if (declared.positionals.some((p) => p.type === undefined)) decline();
  // yargs counts an option's default as given, and checks conflicts with positionals too.
  for (const pair of declared.conflicts) for (const key of pair) if (declared.options.get(key)?.default !== undefined || !declared.options.has(key)) decline();
  return { name, ...declared };
}

const camelCase = (key: string) => key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
// yargs unquotes a value in matching quotes.
const QUOTED = /^["']/;

/** Parses the leaf command's part of the command line; `words` are the command words already matched. */
function parseLeaf(declared: Declarations, words: string[], rest: string[], globals: Map<string, Options>): ParsedArgs {
  if ([...declared.options.keys()].some((key) => globals.has(key))) decline();
  const options = new Map([...globals, ...declared.options]);
  const given = new Map<string, unknown>();
  const values: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('-')) {
      // yargs shows the help page for a positional `help`.
      if (QUOTED.test(token) || token === 'help') decline();
      values.push(token);
      continue;
    }
    const m = /^--([^=]+)(?:=([\s\S]*))?$/.exec(token) ?? decline();
    const [key, inline] = [m[1]!, m[2]];
    const opts = options.get(key) ?? decline();
    if (opts.type === 'boolean') {
      // yargs would take a following 'true' or 'false' as the flag's value.
      if (inline !== undefined || given.has(key) || /^(true|false)$/.test(rest[i + 1] ?? '')) decline();
      given.set(key, true);
      continue;
    }
    const taken: string[] = inline !== undefined ? [inline] : [];
    // An array takes every value up to the next option, as yargs does; any other option takes one.
    while (inline === undefined && i + 1 < rest.length && !rest[i + 1]!.startsWith('-') && (opts.array || taken.length === 0)) taken.push(rest[++i]!);
    if (taken.length === 0 || (inline !== undefined && opts.array)) decline();
    if (taken.some((value) => QUOTED.test(value))) decline();
    if (opts.type === 'number') {
      if (opts.array || !/^(0|[1-9]\d{0,14})$/.test(taken[0]!)) decline();
      if (given.has(key)) decline();
      given.set(key, Number(taken[0]));
    } else if (opts.array) given.set(key, [...((given.get(key) as string[] | undefined) ?? []), ...taken]);
    else if (given.has(key)) decline();
    else given.set(key, taken[0]);
  }
  for (const [key, opts] of options) {
    if (!given.has(key) && opts.demandOption !== undefined && opts.demandOption !== false) decline();
    if (opts.choices !== undefined && given.has(key) && !(opts.choices as unknown[]).includes(given.get(key))) decline();
  }
  for (const [a, b] of declared.conflicts) if (given.has(a) && given.has(b)) decline();
  const args: ParsedArgs = { _: words, $0: 'countersign' };
  const set = (key: string, value: unknown) => {
    args[key] = value;
    args[camelCase(key)] = value;
  };
  for (const [key, opts] of options) {
    if (given.has(key)) set(key, given.get(key));
    else if (opts.default !== undefined) set(key, opts.default);
  }
  for (const p of declared.positionals) {
    if (p.variadic) {
      if (values.length === 0) decline(); // yargs gives an optional one that is absent as []
      set(p.name, values.splice(0));
    } else if (values.length > 0) set(p.name, values.shift());
    else if (p.required) decline();
  }
  if (values.length > 0) decline();
  return args;
}

/**
 * The handler and its arguments for `argv`, parsed from the declarations of `top` (the command its first
 * word names) and of `globals`; undefined when yargs must parse it.
 */
export function parseDirectly(
  top: CommandModule<object, any>,
  argv: readonly string[],
  globals: Record<string, Options>,
): { handler: (args: ParsedArgs) => unknown; args: ParsedArgs } | undefined {
  try {
    let module = top;
    let declared = declarationsOf(module);
    const words = [declared.name];
    if (argv[0] !== declared.name) decline();
    let rest = argv.slice(1);
    while (declared.commands.length > 0) {
      const next = rest[0] ?? decline();
      module = declared.commands.find((c) => typeof c.command === 'string' && c.command.split(' ')[0] === next) ?? decline();
      declared = declarationsOf(module);
      words.push(declared.name);
      rest = rest.slice(1);
    }
    const handler = module.handler ?? decline();
    return { handler: handler as (args: ParsedArgs) => unknown, args: parseLeaf(declared, words, rest, new Map(Object.entries(globals))) };
  } catch (err) {
    if (err instanceof Declined) return undefined;
    throw err;
  }
}
