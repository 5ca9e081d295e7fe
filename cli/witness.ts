// `countersign witness …`: a C2SP tlog-witness for the logs it is given.
import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/core/errors.js';
import { errnoOf } from '../lib/core/errno.js';
import { secretKeyIsEncrypted } from '../lib/core/keyfile.js';
import { untilSignal, type Context } from './context.js';
import { examples, SUBCOMMAND_NEEDED, succeed } from './output.js';
import { unlockSecretKey } from './passphrase.js';

export interface KeyArgs {
  key: string;
  name: string;
  passphraseFile?: string;
  json?: boolean;
}

interface ServeArgs extends KeyArgs {
  listen: string;
  log: string[];
  db?: string;
}

const keyOptions = {
  key: { type: 'string', demandOption: true, describe: 'The witness key: a countersign secret key file (countersign keygen)' },
  name: { type: 'string', demandOption: true, describe: "The witness's name in its cosignatures and vkey, e.g. witness.example.org/w1" },
  'passphrase-file': { type: 'string', describe: "Read the key's passphrase from the first line of this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)" },
} as const;

export function witnessCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'witness',
    describe: 'A C2SP witness: cosign checkpoints of the logs it follows, refusing any that fork from what it cosigned',
    builder: (y) =>
      y
        .command(serveCommand(ctx))
        .command(vkeyCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(
          examples(
            'countersign witness serve --key w1.key --name witness.example.org/w1 --listen 0.0.0.0:8081 --log log.example.org/countersign+1234abcd+BASE64',
          ),
        ),
    handler: () => undefined,
  };
}

/** The cosigner of --key and --name (a witness's, or a state auditor's: log audit). */
export async function loadCosigner(ctx: Context, args: KeyArgs) {
  const { isValidKeyName } = await import('../lib/log/note.js');
  if (!isValidKeyName(args.name)) throw new UsageError('USAGE', `--name ${JSON.stringify(args.name)} must be one word with no space or +`);
  let text: string;
  try {
    text = readFileSync(args.key, 'utf8');
  } catch (err) {
    throw new UsageError('IO', `cannot read the witness key ${args.key}: ${errnoOf(err)}`);
  }
  const key = await unlockSecretKey(ctx, args, text, secretKeyIsEncrypted(text));
  const { cosigner } = await import('../lib/log/cosignature.js');
  return cosigner(args.name, key.seed);
}

function vkeyCommand(ctx: Context): CommandModule<object, KeyArgs> {
  return {
    command: 'vkey',
    describe: "Print the witness's vkey (cosignature/v1), for log serve --witness and log policies",
    builder: (y) => y.options(keyOptions).epilogue(examples('countersign witness vkey --key w1.key --name witness.example.org/w1')),
    handler: async (args) => {
      const c = await loadCosigner(ctx, args);
      succeed(ctx, args, { name: c.name, vkey: c.vkey }, c.vkey);
    },
  };
}

function serveCommand(ctx: Context): CommandModule<object, ServeArgs> {
  return {
    command: 'serve',
    describe: 'Serve POST /add-checkpoint (C2SP tlog-witness) for the logs given',
    builder: (y) =>
      y
        .options(keyOptions)
        .option('listen', { type: 'string', demandOption: true, describe: 'HOST:PORT to listen on' })
        .option('log', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: "A log's vkey (repeat): the witness cosigns only checkpoints signed by it",
        })
        .option('db', { type: 'string', describe: 'Its state: sqlite:PATH or postgres://… (default: sqlite:W.witness.db beside the key)' })
        .epilogue(
          'For each origin the witness keeps the latest checkpoint it cosigned, updated in one transaction before it answers, so a ' +
            'SIGKILL never rolls it back. It cosigns a checkpoint only when a consistency proof shows it extends that one; a fork ' +
            '(another root at the same size, or a proof that fails) is refused with 409 or 422 and the log-signed request kept as evidence. ' +
            'SIGTERM or SIGINT stops it.',
        )
        .epilogue(
          examples(
            'countersign witness serve --key w1.key --name witness.example.org/w1 --listen 127.0.0.1:8081 --log log.example.org/countersign+1234abcd+BASE64',
          ),
        ),
    handler: async (args) => {
      const [{ openWitnessStore, defaultWitnessDb }, { Witness }, { listen, parseListen }, { ed25519Verifier }, { hooksFromEnv }] = await Promise.all([
        import('../lib/log/witness-store.js'),
        import('../lib/log/witness.js'),
        import('../lib/distribution/listen.js'),
        import('../lib/log/note.js'),
        import('../lib/installer/hooks.js'),
      ]);
      const address = parseListen(args.listen);
      for (const v of args.log) {
        try {
          ed25519Verifier(v);
        } catch (err) {
          throw new UsageError('USAGE', `--log: ${(err as Error).message}`);
        }
      }
      const c = await loadCosigner(ctx, args);
      const store = await openWitnessStore(args.db ?? defaultWitnessDb(args.key));
      try {
        const witness = new Witness({ cosigner: c, logs: args.log, store, hooks: hooksFromEnv(ctx.env) });
        const listening = await listen(witness.handler(), address);
        const url = `http://${listening.host.includes(':') ? `[${listening.host}]` : listening.host}:${listening.port}`;
        ctx.err(`${new Date().toISOString()} witness ${c.name} serving at ${url} for ${args.log.length} log(s); state in ${store.label}`);
        succeed(ctx, args, { name: c.name, vkey: c.vkey, url }, [c.vkey, url]);
        await untilSignal();
        await listening.close();
      } finally {
        await store.close();
      }
    },
  };
}
