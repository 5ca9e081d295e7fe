// The real site backend: every received bundle is verified against the site's trust store (quorum,
// target, rollback, expiry, revocations) and then installed through the Trusted Installer (in process,
// or the privileged daemon's socket) or, with no installer, kept in an inbox for an operator.
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openBundleFile } from '../node/bundle-file.js';
import { fsyncDir, fsyncFile } from '../node/durable.js';
import { offerName, type IndexEntry, type PackageResult } from '../distribution/messages.js';
import { CountersignError, DistributionError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { meetsRisk, type RiskLevel } from '../core/risk.js';
import { applyBundle } from '../installer/apply.js';
import { submitBundle } from '../installer/daemon/client.js';
import { verifyWithStore } from '../core/trust-state.js';
import { logCheckFor } from '../log/check-logged.js';
import { openStore } from '../node/trust-store.js';
import type { Installed } from './choose.js';
import type { SiteBackend } from './agent.js';

export type SiteInstaller =
  { kind: 'in-process'; site: string; stateDir?: string } | { kind: 'daemon'; socket: string; site: string } | { kind: 'inbox'; dir: string };

export interface StoreBackendOptions {
  storeDir: string;
  installer: SiteInstaller;
  /** The site's risk threshold, applied again to the signed manifest (the index is only the hub's word). */
  minRisk: RiskLevel | null;
  /** Reference time for each verification; default the clock. */
  now?: () => Date;
  log?: (event: Record<string, unknown>) => void;
}

export function storeBackend(opts: StoreBackendOptions): SiteBackend {
  const now = opts.now ?? (() => new Date());
  return {
    async installed(): Promise<Installed[]> {
      const store = await openStore(opts.storeDir);
      return Object.entries(store.state.installed).map(([key, entry]) => {
        const [product, component] = key.split('/') as [string, string];
        return { product, component, version: entry.version, ...(entry.partial && { partial: { version: entry.partial.version, kept: entry.partial.kept } }) };
      });
    },
    async take(entry: IndexEntry, file: string): Promise<PackageResult> {
      const result = await verifyThenAct(opts, entry, file, now());
      opts.log?.({ event: 'package', name: entry.name, status: result.status, code: result.code ?? null });
      return result;
    },
  };
}

async function verifyThenAct(opts: StoreBackendOptions, entry: IndexEntry, file: string, now: Date): Promise<PackageResult> {
  // The site's own verdict first, whatever the installer will check again; and the signed manifest must be
  // the release the unsigned index announced, at or above the site's risk threshold, or a hub could pick
  // which validly signed release a site installs.
  let manifest: Manifest;
  try {
    const store = await openStore(opts.storeDir);
    const input = await openBundleFile(file);
    try {
      const verified = await verifyWithStore(store, input, { now, ...logCheckFor(store, now) });
      if (verified.document.kind !== 'manifest') throw new DistributionError('PROTOCOL', `${entry.name} is not a release`);
      manifest = verified.document.manifest;
    } finally {
      await input.close();
    }
    if (manifest.product !== entry.product || manifest.component !== entry.component || manifest.version !== entry.version) {
      throw new DistributionError(
        'PROTOCOL',
        `the bundle is ${manifest.product} ${manifest.component} ${manifest.version}, not the ${entry.name} the index announced`,
      );
    }
    if (!meetsRisk(manifest, opts.minRisk))
      throw new DistributionError('PROTOCOL', `${entry.name} is rated below this site's risk threshold (${opts.minRisk})`);
  } catch (err) {
    return outcome(entry, 'rejected', err);
  }
  const installer = opts.installer;
  try {
    switch (installer.kind) {
      case 'in-process':
        await applyBundle(file, { site: installer.site, store: opts.storeDir, stateDir: installer.stateDir, now });
        return { name: entry.name, status: 'installed' };
      case 'daemon': {
        const answer = await submitBundle({ socket: installer.socket, site: installer.site, bundle: file });
        if (answer.ok) return { name: entry.name, status: 'installed' };
        return { name: entry.name, status: 'failed', code: answer.code ?? 'INSTALL_FAILED', message: clip(answer.message ?? 'the installer refused') };
      }
      case 'inbox': {
        // The hub records a delivery as done on this answer, so the kept bundle must survive a crash (the spool is not fsynced).
        const inbox = resolve(installer.dir);
        const created = mkdirSync(inbox, { recursive: true, mode: 0o700 });
        // Each directory made here holds its child's entry: flushed from the inbox's parent up to the first one's parent.
        if (created !== undefined)
          for (let dir = dirname(inbox); ; dir = dirname(dir)) {
            fsyncDir(dir);
            if (dir === dirname(resolve(created)) || dir === dirname(dir)) break;
          }
        fsyncFile(file);
        renameSync(file, join(inbox, `${offerName(manifest.product, manifest.component, manifest.version)}.bundle`));
        fsyncDir(inbox);
        return { name: entry.name, status: 'verified' };
      }
    }
  } catch (err) {
    return outcome(entry, 'failed', err);
  }
}

function outcome(entry: IndexEntry, status: 'rejected' | 'failed', err: unknown): PackageResult {
  if (err instanceof CountersignError) return { name: entry.name, status, code: err.code, message: clip(err.message) };
  return { name: entry.name, status: 'failed', code: 'IO', message: clip((err as Error).message) };
}

// Results travel to the hub; the schema caps a message at 2000 characters.
function clip(message: string): string {
  return message.length > 2000 ? `${message.slice(0, 1997)}...` : message;
}
