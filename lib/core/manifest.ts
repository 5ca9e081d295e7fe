// The update manifest: what a release changes on a site, and the archive that carries it.
import type * as generated from './generated/types.js';
import { parseCanonical } from './canonical.js';
import { FormatError, ReleaseError, type Reason } from './errors.js';
import { checkPath, checkPathSet } from './paths.js';
import { computeRisk } from './risk.js';
import { checkPayloadFormat, MANIFEST_PROVIDER_FORMAT } from './format.js';
import { providerName } from './provider-policy.js';
import { validate } from './schema.js';
import { parseTimestamp } from './time.js';
import { compareVersions, isSameRelease, parseVersion, sameScheme } from './version.js';

/**
 * `component` is `core` or the machine name of a module, plugin or theme; `appliesTo` the installed versions
 * this release may be applied to (empty: any); `postUpdate` argv arrays, never run through a shell;
 * `versionFile` the file that carries the version number (e.g. core/lib/Drupal.php), written last;
 * `policyVersion` the policy version the signers expected (an older site needs the rotation chain).
 */
export type Manifest = generated.Manifest;
export type FileOp = Manifest['files'][number];
/** A new file the site must not have yet. */
export type AddOp = Extract<FileOp, { op: 'add' }>;
/** A changed file; `previousSha256` is what the site must currently have. */
export type ModifyOp = Extract<FileOp, { op: 'modify' }>;
/** A removed file; `previousSha256` is what the site must currently have. */
export type DeleteOp = Extract<FileOp, { op: 'delete' }>;
export type ArchiveRef = Manifest['archive'];
/** Format 1's archive: size, SHA-256 and SHA-512 (the entries' mtime is not signed, so the digests bind the headers). */
export type ArchiveRefV1 = Extract<ArchiveRef, { sha512: string }>;
/** Format 2's archive: size, SHA-256 (for mirrors) and the entries' mtime, with which the files fix every archive byte. */
export type ArchiveRefV2 = Extract<ArchiveRef, { mtime: number }>;

/** Decodes and checks a manifest payload: canonical bytes, schema, and rules a schema cannot state. */
export function manifestFromPayload(payloadBytes: Uint8Array, what = 'manifest'): Manifest {
  const manifest = validate<Manifest>(
    'manifest',
    parseCanonical(payloadBytes, what, (v) => checkPayloadFormat('manifest', v)),
    what,
  );
  checkManifest(manifest);
  return manifest;
}

export function checkManifest(manifest: Manifest): void {
  parseVersion(manifest.version);
  checkArchiveRef(manifest);
  if (manifest.provider !== undefined) {
    if ((manifest.format ?? 1) < MANIFEST_PROVIDER_FORMAT)
      throw new FormatError('SCHEMA_INVALID', `provider needs manifest format ${MANIFEST_PROVIDER_FORMAT}`);
    providerName(manifest.provider, 'manifest provider');
  }
  for (const v of manifest.appliesTo) {
    // A release of one scheme applied over another could never pass the rollback check: refuse it when signed, not when installed.
    if (!sameScheme(v, manifest.version)) {
      throw new ReleaseError('VERSION_SCHEME_MISMATCH', `${manifest.version} cannot apply to ${v}: legacy (N.x-) and numeric versions are never compared`, {
        version: manifest.version,
        appliesTo: v,
      });
    }
  }
  const created = parseTimestamp(manifest.created, 'manifest creation time');
  const expires = parseTimestamp(manifest.expires, 'manifest expiry');
  if (expires.getTime() <= created.getTime()) {
    throw new FormatError('SCHEMA_INVALID', `manifest expires (${manifest.expires}) before it was created (${manifest.created})`);
  }
  if (manifest.risk) {
    const computed = computeRisk(manifest.risk.vector);
    if (computed.score !== manifest.risk.score || computed.level !== manifest.risk.level) {
      throw new ReleaseError(
        'BAD_RISK_VECTOR',
        `risk ${manifest.risk.score} (${manifest.risk.level}) is not what ${manifest.risk.vector} scores (${computed.score}, ${computed.level})`,
      );
    }
  }
  checkPathSet(manifest.files.map((f) => f.path));
  if (manifest.versionFile !== null) {
    checkPath(manifest.versionFile);
    // `build` only names a file the release adds or modifies; a release that deletes it has none left to carry the version.
    if (manifest.files.some((f) => f.op === 'delete' && f.path === manifest.versionFile)) {
      throw new FormatError('SCHEMA_INVALID', `versionFile ${JSON.stringify(manifest.versionFile)} is a file this release deletes`, {
        versionFile: manifest.versionFile,
      });
    }
  }
}

/** The archive member has the shape of the manifest's format: sha512 in format 1, mtime in formats 2 and 3. */
function checkArchiveRef(manifest: Manifest): void {
  const format = manifest.format ?? 1;
  if (format >= 2 !== 'mtime' in manifest.archive) {
    throw new FormatError('SCHEMA_INVALID', `a format ${format} manifest's archive must name ${format >= 2 ? 'mtime, not sha512' : 'sha512, not mtime'}`, {
      format,
    });
  }
}

export interface FileCounts {
  add: number;
  modify: number;
  delete: number;
}

export function countFileOps(files: readonly FileOp[]): FileCounts {
  const counts: FileCounts = { add: 0, modify: 0, delete: 0 };
  for (const f of files) counts[f.op]++;
  return counts;
}

/** What the site knows about itself; each field that is given is checked, and verify reports what was not. */
export interface SiteState {
  product?: string;
  component?: string;
  /** The version of that product/component installed on the site. */
  installed?: string;
  /** The highest version of it ever installed (a trust store keeps it); a release not above it is ROLLBACK too. */
  highestInstalled?: string;
}

/** Freshness and applicability (verification step 6); returns every reason found. */
export function checkRelease(manifest: Manifest, policyVersion: number, site: SiteState, now: Date): Reason[] {
  const reasons: Reason[] = [];
  // "Not before expiry" rather than "after expiry", so an invalid reference time fails closed.
  if (!(now.getTime() < parseTimestamp(manifest.expires).getTime())) {
    reasons.push({
      code: 'EXPIRED',
      message: `manifest for ${manifest.product} ${manifest.version} expired at ${manifest.expires}`,
      details: { expires: manifest.expires },
    });
  }
  for (const field of ['product', 'component'] as const) {
    const want = site[field];
    if (want !== undefined && manifest[field] !== want) {
      reasons.push({
        code: 'WRONG_TARGET',
        message: `this release is for ${field} ${manifest[field]}, not ${want}`,
        details: { field, expected: want, found: manifest[field] },
      });
    }
  }
  // Versions of another scheme are never ordered (lib/core/version.ts): each is a reason of its own, and is
  // left out of the applicability and rollback checks below, so an incomparable pair can never pass them.
  const known: Array<[string, string]> = [];
  if (site.installed !== undefined) known.push(['the installed', site.installed]);
  if (site.highestInstalled !== undefined && site.highestInstalled !== site.installed) known.push(['the highest ever installed', site.highestInstalled]);
  for (const [what, v] of known.filter(([, v]) => !sameScheme(v, manifest.version))) {
    reasons.push({
      code: 'VERSION_SCHEME_MISMATCH',
      message: `${manifest.version} and ${what} ${v} are of different version schemes (legacy N.x- and numeric), which are never compared; a site changes scheme only by countersign trust record`,
      details: { version: manifest.version, [what === 'the installed' ? 'installed' : 'highestInstalled']: v },
    });
  }
  const floors = known.filter(([, v]) => sameScheme(v, manifest.version));
  if (site.installed !== undefined && sameScheme(site.installed, manifest.version)) {
    const installed = site.installed;
    if (manifest.appliesTo.length > 0 && !manifest.appliesTo.some((v) => isSameRelease(v, installed))) {
      reasons.push({
        code: 'NOT_APPLICABLE',
        message: `${manifest.product} ${manifest.version} applies to ${manifest.appliesTo.join(', ')}, not to the installed ${installed}`,
        details: { installed, appliesTo: manifest.appliesTo },
      });
    }
  }
  // One ROLLBACK reason, against the highest floor known: the installed version or the highest ever installed.
  const floor = floors.reduce<[string, string] | undefined>((top, f) => (top === undefined || compareVersions(f[1], top[1]) > 0 ? f : top), undefined);
  if (floor && compareVersions(manifest.version, floor[1]) <= 0) {
    reasons.push({
      code: 'ROLLBACK',
      message: `${manifest.version} is not newer than ${floor[0]} ${floor[1]}`,
      details: {
        installed: site.installed,
        ...(site.highestInstalled !== undefined && { highestInstalled: site.highestInstalled }),
        version: manifest.version,
      },
    });
  }
  if (manifest.policyVersion > policyVersion) {
    reasons.push({
      code: 'POLICY_STALE',
      message: `the manifest expects policy version ${manifest.policyVersion}; this site trusts version ${policyVersion} and needs the rotation chain`,
      details: { expected: manifest.policyVersion, trusted: policyVersion },
    });
  }
  return reasons;
}
