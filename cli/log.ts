// `countersign log …`: run the transparency log (init, add, serve), attach proofs (prove), follow it (monitor, mirror).
import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CountersignError, DistributionError, KeyError, UsageError } from '../lib/core/errors.js';
import { errnoOf } from '../lib/core/errno.js';
import { secretKeyIsEncrypted } from '../lib/core/keyfile.js';
import { untilSignal, type Context } from './context.js';
import { FORCE_OPTION } from './flags.js';
import { examples, fail, SUBCOMMAND_NEEDED, succeed } from './output.js';
import { unlockSecretKey } from './passphrase.js';
import { lazyImport } from './lazy-import.js';

const HOW =
  'The log holds every signed policy, release and revocation in an RFC 6962 Merkle tree served as C2SP tlog-tiles: any static ' +
  'HTTP server, mirror or CDN can serve DIR. Checkpoints are C2SP signed notes by the log key; witnesses (countersign witness ' +
  'serve, or any C2SP witness) cosign them. The database (SQLite beside DIR by default, or PostgreSQL via --db so several ' +
  'sequencer processes share one log) holds the entries and the checkpoint lock, and is never on the read path.';

const PASSPHRASE_OPTION = {
  type: 'string',
  describe: "Read the log key's passphrase from the first line of this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)",
} as const;

interface DbArgs {
  tiles: string;
  db?: string;
  json?: boolean;
}

export function logCommand(ctx: Context): CommandModule<object, object> {
  return {
    command: 'log',
    describe: 'The transparency log: create it, add signed documents, serve it, attach proofs to bundles, monitor and mirror it',
    builder: (y) =>
      y
        .command(initCommand(ctx))
        .command(addCommand(ctx))
        .command(serveCommand(ctx))
        .command(proveCommand(ctx))
        .command(monitorCommand(ctx))
        .command(mirrorCommand(ctx))
        .command(syncCommand(ctx))
        .command(auditCommand(ctx))
        .demandCommand(1, SUBCOMMAND_NEEDED)
        .epilogue(HOW)
        .epilogue(
          examples(
            'countersign log init --origin log.example.org/countersign --key log.key --tiles /srv/log',
            'countersign log add policy.signed.json drupal-10.2.4.bundle --tiles /srv/log',
            'countersign log serve --tiles /srv/log --listen 0.0.0.0:8080 --witness w1=https://w1.example/=w1+1234abcd+BASE64',
          ),
        ),
    handler: () => undefined,
  };
}

function dbUrl(args: { tiles: string; db?: string }): string {
  if (args.db) return args.db;
  return `sqlite:${resolve(args.tiles).replace(/\/+$/, '')}.db`;
}

/** The log key as a note signer named `origin`. */
async function loadLogSigner(ctx: Context, keyPath: string, origin: string, flags: { passphraseFile?: string }) {
  let text: string;
  try {
    text = readFileSync(keyPath, 'utf8');
  } catch (err) {
    throw new UsageError('IO', `cannot read the log key ${keyPath}: ${errnoOf(err)}`);
  }
  const key = await unlockSecretKey(ctx, flags, text, secretKeyIsEncrypted(text));
  const { ed25519Signer } = await import('../lib/log/note.js');
  return ed25519Signer(origin, key.seed);
}

interface InitArgs extends DbArgs {
  origin: string;
  key: string;
  passphraseFile?: string;
}

function initCommand(ctx: Context): CommandModule<object, InitArgs> {
  return {
    command: 'init',
    describe: "Create a log: its database and DIR with the signed empty checkpoint; prints the log's vkey",
    builder: (y) =>
      y
        .option('origin', {
          type: 'string',
          demandOption: true,
          describe: "The log's name: its checkpoints' origin line and its key name, e.g. log.example.org/countersign",
        })
        .option('key', { type: 'string', demandOption: true, describe: 'The log key: a countersign secret key file (countersign keygen)' })
        .option('tiles', { type: 'string', demandOption: true, describe: 'The directory the log is published in (served read-only as is)' })
        .option('db', { type: 'string', describe: 'sqlite:PATH or postgres://… (default: sqlite:DIR.db beside the tiles)' })
        .option('passphrase-file', PASSPHRASE_OPTION)
        .epilogue('Put the vkey in the log policy (log VKEY URL) that sites and monitors use, and give it to the witnesses (--log VKEY).')
        .epilogue(examples('countersign log init --origin log.example.org/countersign --key log.key --tiles /srv/log')),
    handler: async (args) => {
      const { isValidKeyName } = await import('../lib/log/note.js');
      if (!isValidKeyName(args.origin)) throw new UsageError('USAGE', `--origin ${JSON.stringify(args.origin)} must be one word with no space or +`);
      const signer = await loadLogSigner(ctx, args.key, args.origin, args);
      const { initLog } = await import('../lib/log/sequencer.js');
      const db = dbUrl(args);
      const store = await initLog({ db, tiles: args.tiles, signer, keyPath: resolve(args.key), now: ctx.now });
      await store.close();
      succeed(ctx, args, { origin: args.origin, vkey: signer.vkey, tiles: args.tiles, db: store.label }, [
        signer.vkey,
        `Created log ${args.origin} in ${args.tiles} (database ${store.label}).`,
      ]);
    },
  };
}

interface AddArgs extends DbArgs {
  file: string[];
  key?: string;
  passphraseFile?: string;
}

function addCommand(ctx: Context): CommandModule<object, AddArgs> {
  return {
    command: 'add <file..>',
    describe:
      'Sequence signed documents (signed policies, bundles or signed manifests, signed revocations, provider enrolments and key revocations) and publish them',
    builder: (y) =>
      y
        .positional('file', { type: 'string', array: true, demandOption: true, describe: 'Bundles or signed envelopes, logged in this order' })
        .option('tiles', { type: 'string', demandOption: true, describe: 'The log directory (log init)' })
        .option('db', { type: 'string', describe: 'sqlite:PATH or postgres://… (default: sqlite:DIR.db)' })
        .option('key', { type: 'string', describe: 'The log key (default: the one log init was given)' })
        .option('passphrase-file', PASSPHRASE_OPTION)
        .epilogue(
          'Each document is checked against the logged state first: a policy must be the first or extend the chain (N+1, both quorums); ' +
            'a release or revocation needs a quorum of the logged policy; the first release for a product, component and version wins ' +
            "forever (RELEASE_EXISTS). A provider document needs its provider's quorum from the logged state (keys active after the " +
            "root policy's activation delay, not revoked) or the root quorum; an enrolment the root quorum or its registry role. " +
            'A log with providers ends each batch with a state entry. The same document again prints the index it has. ' +
            'Exit 1 when any document was refused.',
        )
        .epilogue(examples('countersign log add policy.signed.json drupal-10.2.4.bundle --tiles /srv/log')),
    handler: async (args) => {
      const [{ openSequencerStore }, { Sequencer, submissionFor }, { TileDir }, { openBundleFile }, { hooksFromEnv }] = await Promise.all([
        import('../lib/log/sequencer-store.js'),
        import('../lib/log/sequencer.js'),
        import('../lib/log/publish.js'),
        import('../lib/node/bundle-file.js'),
        import('../lib/installer/hooks.js'),
      ]);
      // Every file is read (and refused if unreadable) before the key is unlocked.
      const docs: Array<{ file: string; envelopeBytes: Uint8Array }> = [];
      for (const file of args.file) {
        const opened = await openBundleFile(file);
        await opened.close();
        docs.push({ file, envelopeBytes: opened.envelopeBytes });
      }
      const store = await openSequencerStore(dbUrl(args));
      try {
        const meta = await store.meta();
        const signer = await loadLogSigner(ctx, args.key ?? meta.keyPath, meta.origin, args);
        if (signer.vkey !== meta.vkey) throw new KeyError('KEY_FORMAT', `the key is not this log's key (the log's vkey is ${meta.vkey})`);
        const results: Array<Record<string, unknown>> = [];
        const subs: Array<ReturnType<typeof submissionFor> | CountersignError> = docs.map((d) => {
          try {
            return submissionFor(d.envelopeBytes);
          } catch (err) {
            if (err instanceof CountersignError) return err;
            throw err;
          }
        });
        const valid = subs.filter((s): s is ReturnType<typeof submissionFor> => !(s instanceof CountersignError));
        const sequencer = new Sequencer({ store, tiles: new TileDir(args.tiles), signer, hooks: hooksFromEnv(ctx.env), now: () => ctx.now });
        const outcomes = await sequencer.add(valid);
        let next = 0;
        let refused: CountersignError | undefined;
        subs.forEach((s, i) => {
          const file = docs[i]!.file;
          const o = s instanceof CountersignError ? ({ ok: false, error: s } as const) : outcomes[next++]!;
          if (o.ok) results.push({ file, index: o.index, duplicate: o.duplicate });
          else {
            refused ??= o.error;
            // Why a key did not count (KEY_NOT_ACTIVE, KEY_REVOKED, …): the quorum's own message only says who signed.
            const problems = ((o.error.details as { problems?: Array<{ code: string; message: string }> } | undefined)?.problems ?? []).map((p) => ({
              code: p.code,
              message: p.message,
            }));
            results.push({ file, code: o.error.code, message: o.error.message, ...(problems.length ? { problems } : {}) });
          }
        });
        const cp = await store.checkpoint();
        const lines = results.map((r) =>
          'index' in r
            ? `${r.file}: ${r.duplicate ? 'already logged at' : 'logged at'} index ${r.index}`
            : [
                `${r.file}: refused: error[${r.code}]: ${r.message}`,
                ...((r.problems as Array<{ code: string; message: string }> | undefined) ?? []).map((p) => `  ${p.code}: ${p.message}`),
              ].join('\n'),
        );
        lines.push(`Published checkpoint: size ${cp.size}`);
        if (refused) {
          fail(ctx, args, new LogRefusal(refused, results), lines);
          return;
        }
        succeed(ctx, args, { entries: results, size: cp.size }, lines);
      } finally {
        await store.close();
      }
    },
  };
}

/** Some documents were refused: exit 1 with every result, under the first refusal's code. */
class LogRefusal extends CountersignError {
  constructor(first: CountersignError, results: Array<Record<string, unknown>>) {
    super(first.code, `${results.filter((r) => !('index' in r)).length} of ${results.length} documents refused; the first: ${first.message}`, {
      entries: results,
    });
  }
}

interface ServeArgs extends DbArgs {
  listen: string;
  witness?: string[];
  witnessQuorum?: number;
  key?: string;
  passphraseFile?: string;
  'batch-ms': number;
}

function serveCommand(ctx: Context): CommandModule<object, ServeArgs> {
  return {
    command: 'serve',
    describe: 'Run the log as a service: POST /add, batches about once a second, witnessed checkpoints, the tiles read-only',
    builder: (y) =>
      y
        .option('tiles', { type: 'string', demandOption: true, describe: 'The log directory (log init)' })
        .option('listen', { type: 'string', demandOption: true, describe: 'HOST:PORT to listen on' })
        .option('db', { type: 'string', describe: 'sqlite:PATH or postgres://… (default: sqlite:DIR.db); with PostgreSQL several processes may serve one log' })
        .option('witness', {
          type: 'string',
          array: true,
          describe: 'NAME=URL=VKEY of a C2SP witness (repeat); checkpoints are published only once the quorum cosigned',
        })
        .option('witness-quorum', { type: 'number', describe: 'Cosignatures required before a checkpoint is published (default: every --witness)' })
        .option('key', { type: 'string', describe: 'The log key (default: the one log init was given)' })
        .option('passphrase-file', PASSPHRASE_OPTION)
        .option('batch-ms', { type: 'number', default: 1000, describe: 'How long submissions wait to be sequenced together' })
        .epilogue(
          'POST /add takes a signed document (the envelope; bundles: its envelope), at most 4 MiB, rate-limited per address, and answers ' +
            'once the entry is published: {"index": N}. With witnesses the log fails closed: a checkpoint the quorum has not cosigned is ' +
            'never published (the output says so) and submitters get 503 with their index, to retry. The newest checkpoint is re-cosigned ' +
            'hourly. GET /checkpoint (no-cache), /tile/… and /manifest/… (immutable). SIGTERM or SIGINT stops it.',
        )
        .epilogue(
          examples('countersign log serve --tiles /srv/log --listen 127.0.0.1:8080 --witness w1=http://127.0.0.1:8081=w1+1234abcd+BASE64 --witness-quorum 1'),
        ),
    handler: async (args) => {
      const [{ openSequencerStore }, { Sequencer }, { TileDir }, { LogServer, parseWitnessFlag }, { listen, parseListen }] = await Promise.all([
        import('../lib/log/sequencer-store.js'),
        import('../lib/log/sequencer.js'),
        import('../lib/log/publish.js'),
        import('../lib/log/server.js'),
        import('../lib/distribution/listen.js'),
      ]);
      const address = parseListen(args.listen);
      const witnesses = (args.witness ?? []).map((w) => {
        try {
          return parseWitnessFlag(w);
        } catch (err) {
          throw new UsageError('USAGE', (err as Error).message);
        }
      });
      const quorum = args.witnessQuorum ?? witnesses.length;
      if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnesses.length || (witnesses.length > 0 && quorum === 0)) {
        throw new UsageError('USAGE', `--witness-quorum ${quorum} must be between 1 and the ${witnesses.length} witnesses given`);
      }
      const store = await openSequencerStore(dbUrl(args));
      try {
        const meta = await store.meta();
        const signer = await loadLogSigner(ctx, args.key ?? meta.keyPath, meta.origin, args);
        if (signer.vkey !== meta.vkey) throw new KeyError('KEY_FORMAT', `the key is not this log's key (the log's vkey is ${meta.vkey})`);
        const sequencer = new Sequencer({ store, tiles: new TileDir(args.tiles), signer, witnessed: witnesses.length > 0 });
        const say = (line: string) => ctx.err(`${new Date().toISOString()} ${line}`);
        const server = new LogServer({ sequencer, witnesses, quorum, batchMs: args['batch-ms'], log: say });
        await server.start();
        const listening = await listen(server.handler(), address);
        const url = `http://${listening.host.includes(':') ? `[${listening.host}]` : listening.host}:${listening.port}`;
        say(
          witnesses.length > 0
            ? `log ${meta.origin} serving at ${url}; checkpoints are published only when ${quorum} of ${witnesses.length} witnesses cosign (fail closed)`
            : `log ${meta.origin} serving at ${url}; no witnesses: checkpoints are published signed by the log alone`,
        );
        succeed(ctx, args, { origin: meta.origin, vkey: meta.vkey, url, witnesses: witnesses.map((w) => w.name), quorum }, `${url}`);
        await untilSignal();
        await listening.close();
        await server.stop();
      } finally {
        await store.close();
      }
    },
  };
}

interface ProveArgs {
  bundle: string;
  log: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

function proveCommand(ctx: Context): CommandModule<object, ProveArgs> {
  return {
    command: 'prove <bundle>',
    describe: "Fetch a logged document's offline proof (entry, inclusion proof, cosigned checkpoint) from the log",
    builder: (y) =>
      y
        .positional('bundle', { type: 'string', demandOption: true, describe: 'A bundle, or a signed policy or revocation' })
        .option('log', { type: 'string', demandOption: true, describe: "The log's URL (its tiles) or directory" })
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'For a bundle: the bundle with its proof section; for a policy or revocation: its C2SP tlog-proof',
        })
        .option('force', FORCE_OPTION)
        .epilogue(
          "NOT_LOGGED (exit 1) when the log has not published the document yet. The proof is checked before it is written. A provider's release bundle also gets its state section (the checkpoint's state entry and map proofs that it is current and not revoked: verify --root --provider), from the log replayed off its tiles.",
        )
        .epilogue(examples('countersign log prove drupal-10.2.4.bundle --log https://log.example.org/ --out drupal-10.2.4.logged.bundle')),
    handler: async (args) => {
      const [
        { refuseExisting, writeFilesAtomically },
        { openBundleFile, writeBundleFile },
        { openLogSource },
        { proveDocument, proveState, needsStateProof },
        { openEnvelope },
      ] = await Promise.all([
        import('../lib/node/durable.js'),
        import('../lib/node/bundle-file.js'),
        import('../lib/log/tile-reader.js'),
        lazyImport('../lib/log/prove.js', () => import('../lib/log/prove.js')),
        import('../lib/core/envelope.js'),
      ]);
      refuseExisting([args.out], args.force);
      const opened = await openBundleFile(args.bundle);
      try {
        const source = openLogSource(args.log);
        const proved = await proveDocument(source, opened.envelopeBytes);
        const proof = Buffer.from(proved.proof, 'utf8');
        const state = opened.archive && needsStateProof(proved.entry) ? await proveState(source, proved) : undefined;
        if (opened.archive)
          await writeBundleFile(args.out, openEnvelope(opened.envelopeBytes).envelope, opened.archive, {
            force: args.force,
            proof,
            ...(state ? { state } : {}),
          });
        else writeFilesAtomically([{ path: args.out, data: proof }], { force: args.force });
        const what = opened.archive ? `the bundle with its proof${state ? ' and state proof' : ''}` : 'the proof';
        succeed(
          ctx,
          args,
          {
            out: args.out,
            index: proved.index,
            size: proved.size,
            bundle: Boolean(opened.archive),
            ...(state ? { state: { bytes: state.length, proofBytes: proof.length } } : {}),
          },
          `Wrote ${args.out} (${what}): entry ${proved.index} in the checkpoint of size ${proved.size}${state ? `; proof ${proof.length} + state ${state.length} bytes` : ''}`,
        );
      } finally {
        await opened.close();
      }
    },
  };
}

interface MonitorArgs {
  log: string;
  'log-policy': string;
  state: string;
  watchKey?: string[];
  watchProduct?: string[];
  once?: boolean;
  interval: number;
  json?: boolean;
}

function monitorCommand(ctx: Context): CommandModule<object, MonitorArgs> {
  return {
    command: 'monitor',
    describe: 'Follow the log: check every checkpoint and entry, report entries touching watched keys or products, exit 1 on any anomaly',
    builder: (y) =>
      y
        .option('log', { type: 'string', demandOption: true, describe: "The log's URL (its tiles) or directory (a mirror will do)" })
        .option('log-policy', { type: 'string', demandOption: true, describe: 'C2SP tlog-policy file: the log key, its witnesses and their quorum' })
        .option('state', { type: 'string', demandOption: true, describe: 'Where the monitor keeps what it has checked, and the evidence of anomalies' })
        .option('watch-key', {
          type: 'string',
          array: true,
          describe: 'A public key file (.pub): report every entry signed with it or a policy listing it (repeat)',
        })
        .option('watch-product', { type: 'string', array: true, describe: 'Report every release and revocation of this product (repeat)' })
        .option('once', { type: 'boolean', describe: 'Check once and exit (for cron); else keep following' })
        .option('interval', { type: 'number', default: 60, describe: 'Seconds between checks when following' })
        .epilogue(
          'Checks: the checkpoint is signed by the log and cosigned by the witness quorum, never smaller than the last one, the same root ' +
            'at the same size, consistent with it (proof from the tiles); every entry replayed with the log rules (the quorum of the logged ' +
            'policy chain, the first release for a version wins, revocations), and the entries hash to the root. An anomaly exits 1 with ' +
            'its code and evidence files (both checkpoints of a fork) under STATE/evidence; the state never moves past it.',
        )
        .epilogue(
          examples(
            'countersign log monitor --log https://log.example.org/ --log-policy log.policy --state ~/.countersign/monitor --watch-key alice.pub --once',
          ),
        ),
    handler: async (args) => {
      const [{ parseTlogPolicy }, { openLogSource }, { monitorOnce }, { parsePublicKeyFile }] = await Promise.all([
        import('../lib/log/tlog-policy.js'),
        import('../lib/log/tile-reader.js'),
        import('../lib/log/monitor.js'),
        import('../lib/core/keyfile.js'),
      ]);
      const policy = parseTlogPolicy(readText(args['log-policy'], 'log policy'));
      const watchKeys = (args.watchKey ?? []).map((f) => parsePublicKeyFile(readText(f, 'public key')).keyid);
      const source = openLogSource(args.log);
      for (;;) {
        const report = await monitorOnce({
          source,
          policy,
          stateDir: args.state,
          watchKeys,
          watchProducts: args.watchProduct,
          now: new Date(),
          onWatched: args.json ? undefined : (w) => ctx.out(`entry ${w.index}: ${w.what}: ${w.because.join('; ')}`),
        });
        const head = `${report.origin || args.log}: checked entries ${report.from}..${report.size} (${report.entries} new)`;
        if (report.anomalies.length > 0) {
          const first = report.anomalies[0]!;
          const err = new MonitorAnomaly(first.code, `${report.anomalies.length} anomal${report.anomalies.length === 1 ? 'y' : 'ies'}: ${first.message}`, {
            report,
          });
          fail(ctx, args, err, [
            head,
            ...report.anomalies.flatMap((a) => [`ANOMALY error[${a.code}]: ${a.message}`, ...a.evidence.map((e) => `  evidence: ${e}`)]),
          ]);
          return;
        }
        if (args.once) {
          succeed(ctx, args, { report }, head);
          return;
        }
        if (!args.json) ctx.out(head);
        else ctx.out(JSON.stringify({ ok: true, report }));
        await new Promise((r) => setTimeout(r, args.interval * 1000));
      }
    },
  };
}

/** A monitor's finding: exit 1 with the anomaly's own code (LOG_INCONSISTENT, QUORUM_NOT_MET, RELEASE_EXISTS, …). */
class MonitorAnomaly extends CountersignError {
  constructor(code: string, message: string, details: Record<string, unknown>) {
    super(code as CountersignError['code'], message, details);
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError('IO', `cannot read the ${what} ${path}: ${errnoOf(err)}`);
  }
}

interface MirrorArgs {
  from: string;
  to: string;
  logPolicy?: string;
  every?: number;
  json?: boolean;
}

function mirrorCommand(ctx: Context): CommandModule<object, MirrorArgs> {
  return {
    command: 'mirror',
    describe: 'Keep an untrusted copy of a log in DIR, exposing a new checkpoint only once its tree is checked to extend the last',
    builder: (y) =>
      y
        .option('from', { type: 'string', demandOption: true, describe: "The log's URL (or directory)" })
        .option('to', { type: 'string', demandOption: true, describe: 'The mirror directory (serve it with any static HTTP server)' })
        .option('log-policy', { type: 'string', describe: 'Also require the log signature and witness quorum of this tlog-policy' })
        .option('every', { type: 'number', describe: 'Keep mirroring every this many seconds (default: once)' })
        .epilogue(
          'The mirror reads the checkpoint and entry bundles, rebuilds the Merkle tiles itself and publishes the checkpoint last, only when ' +
            'its own tree has that root (so it extends what the mirror served). A fork or rollback is LOG_INCONSISTENT (exit 1); nothing new is exposed.',
        )
        .epilogue(examples('countersign log mirror --from https://log.example.org/ --to /srv/log-mirror --every 300')),
    handler: async (args) => {
      const [{ parseTlogPolicy }, { openLogSource }, { mirrorOnce }] = await Promise.all([
        import('../lib/log/tlog-policy.js'),
        import('../lib/log/tile-reader.js'),
        import('../lib/log/mirror.js'),
      ]);
      const policy = args.logPolicy ? parseTlogPolicy(readText(args.logPolicy, 'log policy')) : undefined;
      const source = openLogSource(args.from);
      for (;;) {
        const r = await mirrorOnce(source, args.to, { policy });
        const line = r.advanced ? `${r.origin}: mirrored entries ${r.from}..${r.size}` : `${r.origin}: up to date at size ${r.size}`;
        if (!args.every) {
          succeed(ctx, args, { ...r }, line);
          return;
        }
        ctx.out(args.json ? JSON.stringify({ ok: true, ...r }) : line);
        await new Promise((res) => setTimeout(res, args.every! * 1000));
      }
    },
  };
}

interface SyncArgs {
  store: string;
  log: string;
  maxAge?: string;
  json?: boolean;
}

function syncCommand(ctx: Context): CommandModule<object, SyncArgs> {
  return {
    command: 'sync',
    describe: "Local trust: replay the log into the site's trust store with proofs, stopping at the first invalid entry",
    builder: (y) =>
      y
        .option('store', { type: 'string', demandOption: true, describe: 'The trust store (trust init --log-policy FILE)' })
        .option('log', { type: 'string', demandOption: true, describe: "The log's URL (its tiles) or directory; a mirror will do" })
        .option('max-age', { type: 'string', describe: 'The oldest witness quorum accepted, e.g. 36h (default 7d)' })
        .epilogue(
          "The checkpoint must carry the store's log signature and witness quorum (a policy that lists auditors requires their " +
            'cosignatures too), never be smaller than the largest the store has seen, and be consistent with it (a fork: LOG_INCONSISTENT, ' +
            'both checkpoints kept). Every entry after the state already replayed is proved against it and replayed with the log rules ' +
            '(providers, keys, revocations, state entries: STATE_MISMATCH); the first invalid one stops the sync with its code and index ' +
            '(exit 1) and nothing is kept. The replayed state is kept beside state.json (replay.json) for verify --store --provider.',
        )
        .epilogue(examples('countersign log sync --store /etc/countersign/site --log https://log.example.org/')),
    handler: async (args) => {
      const [{ openLogSource }, { syncStore }, { parseDuration }] = await Promise.all([
        lazyImport('../lib/log/tile-reader.js', () => import('../lib/log/tile-reader.js')),
        lazyImport('../lib/log/sync.js', () => import('../lib/log/sync.js')),
        lazyImport('../lib/log/check-logged.js', () => import('../lib/log/check-logged.js')),
      ]);
      const maxAgeSeconds = args.maxAge === undefined ? undefined : parseDuration(args.maxAge);
      if (args.maxAge !== undefined && maxAgeSeconds === undefined)
        throw new UsageError('USAGE', `--max-age ${JSON.stringify(args.maxAge)} is not a duration like 36h or 7d`);
      const r = await syncStore(args.store, openLogSource(args.log), {
        now: ctx.now,
        ...(maxAgeSeconds ? { maxAgeSeconds } : {}),
        onProgress: (p) => ctx.err(`log sync: ${p.done} of ${p.total} entries replayed (${p.entriesPerSecond} entries/s)`),
      });
      const line = r.advanced
        ? `${r.origin}: replayed entries ${r.from}..${r.size} (${r.entries} in ${r.seconds.toFixed(1)} s, ${r.entriesPerSecond} entries/s) into ${args.store}`
        : `${r.origin}: ${args.store} is up to date at size ${r.size}`;
      succeed(ctx, args, { ...r }, line);
    },
  };
}

interface AuditArgs {
  log: string;
  'log-vkey': string;
  key: string;
  name: string;
  state: string;
  serve?: boolean;
  listen?: string;
  passphraseFile?: string;
  json?: boolean;
}

function auditCommand(ctx: Context): CommandModule<object, AuditArgs> {
  return {
    command: 'audit',
    describe: 'A state auditor: replay the log and cosign its checkpoint only when every entry and state entry replays correctly',
    builder: (y) =>
      y
        .option('log', { type: 'string', demandOption: true, describe: "The log's URL (its tiles) or directory, where the entries are read" })
        .option('log-vkey', { type: 'string', demandOption: true, describe: "The log's vkey (log init prints it): the key its checkpoints are signed with" })
        .option('key', { type: 'string', demandOption: true, describe: "The auditor's key: a countersign secret key file (countersign keygen)" })
        .option('name', { type: 'string', demandOption: true, describe: "The auditor's name in its cosignatures and vkey, e.g. auditor.example.org/a1" })
        .option('state', { type: 'string', demandOption: true, describe: 'Where the auditor keeps its witness state and the state it replayed' })
        .option('serve', { type: 'boolean', describe: 'Serve POST /add-checkpoint (C2SP tlog-witness) for log serve --witness, instead of one audit' })
        .option('listen', { type: 'string', describe: 'HOST:PORT to listen on (with --serve)' })
        .option('passphrase-file', {
          type: 'string',
          describe: "Read the key's passphrase from the first line of this file (else $COUNTERSIGN_PASSPHRASE, else a prompt)",
        })
        .epilogue(
          'An auditor is a witness that also replays: it cosigns (cosignature/v1) a checkpoint only when it extends the one it cosigned ' +
            'before, every entry up to it is proved against its root and replays with the log rules, every state entry commits to ' +
            'exactly the replayed state, and the last entry is a state entry. Otherwise it refuses with the code (STATE_MISMATCH, ' +
            'QUORUM_NOT_MET, …; exit 1). Once: prints the cosignature line. --serve: the log asks it like any witness ' +
            '(log serve --witness NAME=URL=VKEY). Sites require auditors by listing their vkeys as witnesses in the tlog-policy quorum ' +
            "(group both all witnesses auditors). The auditor's vkey: countersign witness vkey --key K --name N.",
        )
        .epilogue(
          examples(
            'countersign log audit --log https://log.example.org/ --log-vkey log.example.org/countersign+1234abcd+BASE64 --key a1.key --name auditor.example.org/a1 --state /var/lib/auditor',
            'countersign log audit --serve --listen 0.0.0.0:8082 --log https://log.example.org/ --log-vkey VKEY --key a1.key --name auditor.example.org/a1 --state /var/lib/auditor',
          ),
        ),
    handler: async (args) => {
      const [{ Auditor }, { openLogSource }, { ed25519Verifier }, { loadCosigner }] = await Promise.all([
        lazyImport('../lib/log/auditor.js', () => import('../lib/log/auditor.js')),
        lazyImport('../lib/log/tile-reader.js', () => import('../lib/log/tile-reader.js')),
        lazyImport('../lib/log/note.js', () => import('../lib/log/note.js')),
        lazyImport('./witness.js', () => import('./witness.js')),
      ]);
      if (args.serve && !args.listen) throw new UsageError('USAGE', '--serve needs --listen HOST:PORT');
      if (!args.serve && args.listen) throw new UsageError('USAGE', '--listen goes with --serve');
      try {
        ed25519Verifier(args['log-vkey']);
      } catch (err) {
        throw new UsageError('USAGE', `--log-vkey: ${(err as Error).message}`);
      }
      const cosigner = await loadCosigner(ctx, args);
      const say = (line: string) => ctx.err(`${new Date().toISOString()} ${line}`);
      const auditor = await Auditor.open({
        cosigner,
        log: args['log-vkey'],
        source: openLogSource(args.log),
        state: args.state,
        // One audit runs at the command's reference time (as log add does); a served auditor reads the clock each time.
        ...(args.serve ? {} : { now: () => ctx.now }),
        progress: (p) => say(`log audit: ${p.done} of ${p.total} entries replayed (${p.entriesPerSecond} entries/s)`),
      });
      try {
        if (args.serve) {
          const { listen, parseListen } = await lazyImport('../lib/distribution/listen.js', () => import('../lib/distribution/listen.js'));
          const listening = await listen(auditor.witness.handler(), parseListen(args.listen!));
          const url = `http://${listening.host.includes(':') ? `[${listening.host}]` : listening.host}:${listening.port}`;
          say(`auditor ${cosigner.name} serving at ${url} for ${args['log-vkey'].split('+')[0]}, replaying from ${args.log}`);
          succeed(ctx, args, { name: cosigner.name, vkey: cosigner.vkey, url }, [cosigner.vkey, url]);
          await untilSignal();
          await listening.close();
          return;
        }
        const { checkpoint, answer } = await auditor.auditCurrent();
        await auditor.flush();
        if (answer.status !== 200) {
          fail(ctx, args, auditRefusal(answer, checkpoint.size));
          return;
        }
        const line = answer.body.trim();
        const replayed = auditor.lastAdvance;
        succeed(
          ctx,
          args,
          {
            origin: checkpoint.origin,
            size: checkpoint.size,
            cosignature: line,
            ...(replayed ? { replayed: { from: replayed.from, entries: replayed.entries, entriesPerSecond: replayed.entriesPerSecond } } : {}),
          },
          line,
        );
      } finally {
        await auditor.close();
      }
    },
  };
}

/** The witness's refusal as a coded error: its "CODE: message" body (a state check), or its HTTP status's meaning. */
function auditRefusal(answer: { status: number; body: string }, size: number): CountersignError {
  const body = answer.body.trim();
  const details = { size, status: answer.status };
  // 503: the auditor could not check (the log unreachable): operational, exit 2.
  if (answer.status === 503) return new DistributionError('UNREACHABLE', `checkpoint ${size} not cosigned: ${body}`, details);
  const m = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(body);
  if (m) return new AuditRefusal(m[1]!, `checkpoint ${size} not cosigned: ${m[2]!}`, details);
  const code = answer.status === 409 || answer.status === 422 ? 'LOG_INCONSISTENT' : answer.status === 403 ? 'BAD_NOTE' : 'PROTOCOL';
  return new AuditRefusal(code, `checkpoint ${size} not cosigned: the auditor's witness answered ${answer.status}: ${body}`, details);
}

class AuditRefusal extends CountersignError {
  constructor(code: string, message: string, details: Record<string, unknown>) {
    super(code as CountersignError['code'], message, details);
  }
}

/**
 * `assemble --log URL|DIR`'s last step: submits the document to the log (POST /add at URL, or sequenced into the log
 * at DIR with its own key) and attaches its proof: into the bundle, or beside a signed policy or revocation as FILE.proof.
 */
export async function logAndAttachProof(
  ctx: Context,
  location: string,
  file: string,
  flags: { passphraseFile?: string },
): Promise<{ index: number; size: number; proofFile: string }> {
  const [{ openBundleFile, writeBundleFile }, { writeFilesAtomically }, { openLogSource }, { proveDocument, proveState, needsStateProof }, { openEnvelope }] =
    await Promise.all([
      import('../lib/node/bundle-file.js'),
      import('../lib/node/durable.js'),
      import('../lib/log/tile-reader.js'),
      lazyImport('../lib/log/prove.js', () => import('../lib/log/prove.js')),
      import('../lib/core/envelope.js'),
    ]);
  const opened = await openBundleFile(file);
  try {
    if (/^https?:\/\//.test(location)) {
      const { submitToLog } = await import('../lib/log/submit.js');
      await submitToLog(location, opened.envelopeBytes);
    } else {
      const [{ openSequencerStore }, { Sequencer, submissionFor }, { TileDir }] = await Promise.all([
        import('../lib/log/sequencer-store.js'),
        import('../lib/log/sequencer.js'),
        import('../lib/log/publish.js'),
      ]);
      const store = await openSequencerStore(dbUrl({ tiles: location }));
      try {
        const meta = await store.meta();
        const signer = await loadLogSigner(ctx, meta.keyPath, meta.origin, flags);
        const [outcome] = await new Sequencer({ store, tiles: new TileDir(location), signer, now: () => ctx.now }).add([submissionFor(opened.envelopeBytes)]);
        if (!outcome!.ok) throw outcome!.error;
      } finally {
        await store.close();
      }
    }
    const source = openLogSource(location);
    const proved = await proveDocument(source, opened.envelopeBytes);
    const proof = Buffer.from(proved.proof, 'utf8');
    const state = opened.archive && needsStateProof(proved.entry) ? await proveState(source, proved) : undefined;
    let proofFile = file;
    if (opened.archive)
      await writeBundleFile(file, openEnvelope(opened.envelopeBytes).envelope, opened.archive, { force: true, proof, ...(state ? { state } : {}) });
    else writeFilesAtomically([{ path: (proofFile = `${file}.proof`), data: proof }], { force: true });
    return { index: proved.index, size: proved.size, proofFile };
  } finally {
    await opened.close();
  }
}
