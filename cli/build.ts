import type { CommandModule } from 'yargs';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { archiveFileName, buildRelease, manifestFileName } from '../lib/node/build.js';
import { commitPending, discard, refuseExisting, tempPathFor, writeDurably, type PendingFile } from '../lib/node/durable.js';
import { serializeEnvelope } from '../lib/core/envelope.js';
import { UsageError } from '../lib/core/errors.js';
import { countFileOps } from '../lib/core/manifest.js';
import { providerName } from '../lib/core/provider-policy.js';
import { readPolicyDocument } from '../lib/core/policy.js';
import { addDays, formatTimestamp } from '../lib/core/time.js';
import { computeRisk } from '../lib/core/risk.js';
import { parseVersion } from '../lib/core/version.js';
import { checkPath } from '../lib/core/paths.js';
import { checkFlag, FORCE_OPTION, timeFlag } from './flags.js';
import type { Context } from './context.js';
import { readDocument } from './documents.js';
import { examples, succeed } from './output.js';
import { errnoOf } from '../lib/core/errno.js';

const MACHINE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

interface BuildArgs {
  source: string;
  base?: string;
  product: string;
  component: string;
  version: string;
  appliesTo?: string[];
  risk?: string;
  advisory?: string;
  postUpdate?: string[];
  expires?: string;
  policy?: string;
  policyVersion?: number;
  provider?: string;
  versionFile?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

export function buildCommand(ctx: Context): CommandModule<object, BuildArgs> {
  return {
    command: 'build',
    describe: 'Turn a release tree (or the difference between two trees) into a manifest and a deterministic archive',
    builder: (y) =>
      y
        .option('source', { type: 'string', demandOption: true, describe: 'The new release tree' })
        .option('base', { type: 'string', describe: 'The tree sites have now: the manifest then lists adds, modifies and deletes' })
        .option('product', { type: 'string', demandOption: true, describe: 'Product machine name, e.g. drupal' })
        .option('component', { type: 'string', default: 'core', describe: 'core, or a module/plugin/theme machine name' })
        .option('version', { type: 'string', demandOption: true, describe: 'The version being released' })
        .option('applies-to', {
          type: 'string',
          array: true,
          describe: 'An installed version this update applies to (repeat), or "any" (default: the version in --base\'s version file; any without --base)',
        })
        .option('risk', { type: 'string', describe: 'Drupal risk vector, e.g. AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default' })
        .option('advisory', { type: 'string', describe: 'Advisory id, e.g. SA-CORE-2026-001' })
        .option('post-update', { type: 'string', array: true, describe: 'A post-update command, split on spaces or given as a JSON array (repeat)' })
        .option('expires', { type: 'string', describe: 'ISO-8601 expiry of the manifest (default: 30 days after creation)' })
        .option('policy', { type: 'string', describe: 'The policy sites trust (its version goes into the manifest)' })
        .option('policy-version', { type: 'number', describe: 'Policy version to expect when --policy is not given (default 1)' })
        .option('provider', {
          type: 'string',
          describe: "A provider's release (manifest format 3, the name signed in it): --policy is then the provider's policy, whose release role signs",
        })
        .option('version-file', {
          type: 'string',
          describe:
            'The file that carries the version number, written last by the installer (default: core/lib/Drupal.php, wp-includes/version.php, core/includes/bootstrap.inc, or an extension\'s NAME.info.yml / NAME.info / NAME.php, when the release changes it); "none" for no such file',
        })
        .option('out', { type: 'string', demandOption: true, describe: 'Output directory' })
        .option('force', FORCE_OPTION)
        .conflicts('policy', 'policy-version')
        .epilogue('Archives are reproducible: entries sorted by path bytes, mtime = $SOURCE_DATE_EPOCH (or 0), owner 0, modes 0644/0755.')
        .epilogue(
          examples(
            'countersign build --source drupal-10.2.4 --base drupal-10.2.3 --product drupal --version 10.2.4 --applies-to 10.2.3 --risk AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default --post-update "drush updb -y" --out release/  # writes release/drupal-10.2.4.manifest.json and release/drupal-10.2.4.tar',
            'countersign build --provider wordpress.org/plugins/wordfence --policy wordfence-policy.signed.json --source wordfence-7.11.1 --product wordpress --component wordfence --version 7.11.1 --applies-to any --out release/',
          ),
        ),
    handler: (args) => {
      const epoch = ctx.env.SOURCE_DATE_EPOCH;
      if (epoch !== undefined && !/^\d{1,11}$/.test(epoch)) throw new UsageError('USAGE', 'SOURCE_DATE_EPOCH must be a whole number of seconds');
      const created = epoch !== undefined ? new Date(Number(epoch) * 1000) : ctx.now;
      for (const [flag, value] of [
        ['--product', args.product],
        ['--component', args.component],
      ] as const) {
        if (!MACHINE_NAME.test(value))
          throw new UsageError('USAGE', `${flag} ${JSON.stringify(value)} must be a machine name (a-z, 0-9, _; starting with a letter)`);
      }
      checkFlag('--version', () => parseVersion(args.version));
      if (args.base !== undefined && resolve(args.base) === resolve(args.source))
        throw new UsageError('USAGE', '--source and --base are the same directory: nothing to release');
      const appliesTo = appliesToFlag(args.appliesTo);
      if (args.risk) checkFlag('--risk', () => computeRisk(args.risk!));
      const expires = args.expires ? timeFlag('--expires', args.expires) : addDays(created, 30);
      if (expires.getTime() <= ctx.now.getTime()) {
        throw new UsageError('USAGE', `the manifest would expire at ${formatTimestamp(expires)}, which is in the past; pass a later --expires`);
      }
      if (args.provider !== undefined) checkFlag('--provider', () => providerName(args.provider!, '--provider'));
      const policy = args.policy ? readPolicyDocument(readDocument(args.policy, 'policy')).policy : undefined;
      if (policy?.provider !== undefined && policy.provider !== args.provider) {
        throw new UsageError('USAGE', `--policy ${args.policy} is the policy of provider ${policy.provider}: give --provider ${policy.provider}`);
      }
      const policyVersion = policy ? policy.version : (args.policyVersion ?? 1);
      const archivePath = join(args.out, archiveFileName(args.product, args.version));
      const manifestPath = join(args.out, manifestFileName(args.product, args.version));
      refuseExisting([archivePath, manifestPath], args.force);
      const createdOut = makeOutputDir(args.out);
      const pending: PendingFile[] = [{ target: archivePath, temp: tempPathFor(archivePath) }];
      let built;
      try {
        const fd = openSync(pending[0]!.temp, 'wx', 0o644);
        try {
          built = buildRelease(
            {
              source: args.source,
              base: args.base,
              product: args.product,
              component: args.component,
              version: args.version,
              appliesTo,
              riskVector: args.risk,
              advisory: args.advisory,
              postUpdate: (args.postUpdate ?? []).map(parseArgv),
              created,
              expires,
              policyVersion,
              ...(args.provider !== undefined && { provider: args.provider }),
              mtime: epoch !== undefined ? Number(epoch) : 0,
              versionFile:
                args.versionFile === undefined
                  ? undefined
                  : args.versionFile === 'none'
                    ? null
                    : checkFlag('--version-file', () => (checkPath(args.versionFile!), args.versionFile!)),
            },
            fd,
          );
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        pending.push({ target: manifestPath, temp: tempPathFor(manifestPath) });
        writeDurably(pending[1]!.temp, serializeEnvelope(built.envelope), 0o644);
      } catch (err) {
        discard(pending);
        if (createdOut) rmSync(args.out, { recursive: true, force: true });
        throw err;
      }
      commitPending(pending, { replace: args.force ?? false });
      const m = built.manifest;
      const c = countFileOps(m.files);
      succeed(
        ctx,
        args,
        {
          manifest: manifestPath,
          archive: archivePath,
          ...(m.provider !== undefined && { provider: m.provider }),
          product: m.product,
          component: m.component,
          version: m.version,
          files: c,
          archiveSha256: m.archive.sha256,
          archiveSize: m.archive.size,
          risk: m.risk,
          versionFile: m.versionFile,
          appliesTo: m.appliesTo,
        },
        [
          `Built ${m.product} ${m.component} ${m.version}: ${c.add} added, ${c.modify} modified, ${c.delete} deleted`,
          `  ${manifestPath}  (unsigned manifest)`,
          `  ${archivePath}  ${m.archive.size} bytes, sha256 ${m.archive.sha256}`,
          ...(m.risk ? [`  risk ${m.risk.score}/25 ${m.risk.level}`] : []),
          `  applies to: ${m.appliesTo.length ? m.appliesTo.join(', ') : 'ANY installed version'}`,
          `  version file: ${m.versionFile ?? 'none (no file carrying the version number changes)'}${built.versionStated?.version ? `; ${built.versionStated.path} says ${built.versionStated.version}` : ''}`,
          `Next: each signer reviews and signs: countersign sign ${manifestPath} --archive ${archivePath} --key THEIR.key`,
        ],
      );
    },
  };
}

/** `--applies-to any` is the only way to say "any" when a base tree gives a default; undefined: that default. */
function appliesToFlag(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  if (values.includes('any')) {
    if (values.length > 1) throw new UsageError('USAGE', '--applies-to any cannot be combined with versions');
    return [];
  }
  values.forEach((v) => checkFlag('--applies-to', () => parseVersion(v)));
  return values;
}

/** Creates the output directory if needed; returns whether it did, so a failed build can remove it again. */
function makeOutputDir(dir: string): boolean {
  try {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new UsageError('IO', `--out ${dir} exists and is not a directory`);
      return false;
    }
    mkdirSync(dir, { recursive: true });
    return true;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('IO', `cannot create --out ${dir}: ${errnoOf(err)}`);
  }
}

/** `--post-update` takes `drush updb -y` or a JSON array for arguments containing spaces; never a shell string. */
export function parseArgv(text: string): string[] {
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UsageError('USAGE', `--post-update ${text} is not a valid JSON array`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string' && a.length > 0)) {
      throw new UsageError('USAGE', '--post-update as JSON must be a non-empty array of non-empty strings');
    }
    return parsed as string[];
  }
  const argv = text.split(/\s+/).filter(Boolean);
  if (argv.length === 0) throw new UsageError('USAGE', '--post-update is empty');
  return argv;
}
