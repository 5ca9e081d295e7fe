// `hub publish`: a bundle enters the index only after the hub has verified its quorum against the hub's
// own trust store (defense in depth: sites verify again, and only their verdict installs anything).
// The file is copied into the bundles directory first and the copy is what gets verified, hashed and
// served, so a bundle changed after publishing is never offered under the old verdict.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { openBundleFile } from '../node/bundle-file.js';
import { fsyncDir, tempPathFor } from '../node/durable.js';
import { BUNDLE_TYPE, offerName } from '../distribution/messages.js';
import { FormatError, UsageError } from '../core/errors.js';
import { payloadHasher } from '../distribution/hawk.js';
import type { Manifest } from '../core/manifest.js';
import { openStore } from '../node/trust-store.js';
import { verifyBundle } from '../core/verify.js';
import { storeLogCheck } from '../log/check-logged.js';
import type { OfferRecord, Registry } from './registry.js';
import { errnoOf } from '../core/errno.js';

export interface PublishResult {
  offer: OfferRecord;
  /** 'exists': the same bundle was already on offer; nothing changed. */
  outcome: 'added' | 'exists';
  manifest: Manifest;
  signedBy: Array<{ id: string; name: string }>;
}

/**
 * Verifies `bundlePath` against the trust store at `storeDir` and offers it; throws the verification's
 * errors. A failure leaves nothing behind: no copy, no directory this call made, no row; and a registry
 * given as a function is opened only once the bundle has verified, so a rejected bundle creates no database.
 */
export async function publishBundle(
  registry: Registry | (() => Promise<Registry>),
  opts: { bundlePath: string; bundlesDir: string; storeDir: string; now: Date },
): Promise<PublishResult> {
  const made = await mkdir(opts.bundlesDir, { recursive: true, mode: 0o755 });
  const temp = tempPathFor(join(opts.bundlesDir, 'incoming.bundle'));
  let published = false;
  try {
    try {
      await copyFile(opts.bundlePath, temp, constants.COPYFILE_EXCL);
    } catch (err) {
      throw new UsageError('IO', `cannot copy ${opts.bundlePath} into ${opts.bundlesDir}: ${errnoOf(err)}`);
    }
    const result = await verifyAndOffer(registry, temp, opts);
    published = true;
    return result;
  } finally {
    await rm(temp, { force: true });
    if (!published && made !== undefined) await removeMadeDirs(opts.bundlesDir, made);
  }
}

async function verifyAndOffer(
  registry: Registry | (() => Promise<Registry>),
  temp: string,
  opts: { bundlePath: string; bundlesDir: string; storeDir: string; now: Date },
): Promise<PublishResult> {
  const store = await openStore(opts.storeDir);
  const input = await openBundleFile(temp);
  let manifest: Manifest;
  let signedBy: PublishResult['signedBy'];
  let payloadSha256: string;
  try {
    if (!input.isBundle) throw new FormatError('WRONG_TYPE', `${opts.bundlePath} is a bare envelope; publish a bundle (countersign assemble --archive)`);
    // A hub whose store has a log policy publishes only logged bundles; the proof section travels to sites in the file.
    if (store.state.log) await storeLogCheck(opts.storeDir, { now: opts.now })(input, store.state.log);
    const verified = await verifyBundle(input, { trusted: store.trusted, now: opts.now, revocations: store.revocations });
    if (verified.document.kind !== 'manifest') throw new FormatError('WRONG_TYPE', `${opts.bundlePath} holds a ${verified.document.kind}, not a release`);
    manifest = verified.document.manifest;
    signedBy = verified.quorum.signedBy.map((s) => ({ id: s.id, name: s.name }));
    payloadSha256 = verified.payloadSha256;
  } finally {
    await input.close();
  }
  const hashes = await hashFile(temp);
  const name = offerName(manifest.product, manifest.component, manifest.version);
  const fileName = `${name}-${hashes.sha256.slice(0, 16)}.bundle`;
  const file = join(opts.bundlesDir, fileName);
  const offer: OfferRecord = {
    name,
    product: manifest.product,
    component: manifest.component,
    version: manifest.version,
    appliesTo: manifest.appliesTo,
    risk: manifest.risk,
    advisory: manifest.advisory,
    size: hashes.size,
    sha256: hashes.sha256,
    hawkHash: hashes.hawkHash,
    file: fileName,
    published: opts.now.toISOString(),
    manifestSha256: payloadSha256,
  };
  const target = typeof registry === 'function' ? await registry() : registry;
  const existed = await exists(file);
  // The file name carries the digest, so renaming over an existing file only ever replaces it with the same bytes.
  await rename(temp, file);
  fsyncDir(opts.bundlesDir);
  try {
    return { offer, outcome: await target.putOffer(offer), manifest, signedBy };
  } catch (err) {
    if (!existed) await rm(file, { force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** Removes the directories `mkdir -p` made, from `dir` up to `made`, each only while empty. */
async function removeMadeDirs(dir: string, made: string): Promise<void> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === resolve(made) || dirname(d) === d) return;
  }
}

async function hashFile(path: string): Promise<{ size: number; sha256: string; hawkHash: string }> {
  const fh = await open(path, constants.O_RDONLY);
  const sha = createHash('sha256');
  const hawk = payloadHasher(BUNDLE_TYPE);
  let size = 0;
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      sha.update(chunk);
      hawk.update(chunk);
      size += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return { size, sha256: sha.digest('hex'), hawkHash: hawk.digest() };
}
