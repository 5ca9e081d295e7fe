// The file that carries a release's version number: the installer writes it last (so a site never
// reports the new version while older files remain) and reads it to detect what is installed.
// Pure: no I/O here (archive bytes are handed in).
import { UsageError } from './errors.js';
import type { FileOp, Manifest } from './manifest.js';
import { TarReader } from './tar.js';
import { isSameRelease, parseVersion } from './version.js';

/**
 * Where each product keeps its version, most specific first. For a module, plugin or theme the site
 * root given to the installer is the extension's own directory (as the release was built from it).
 */
export function versionFileCandidates(product: string, component: string): string[] {
  if (component === 'core') {
    switch (product) {
      case 'drupal':
        return ['core/lib/Drupal.php', 'includes/bootstrap.inc']; // Drupal 8+, then Drupal 7
      case 'backdrop':
        return ['core/includes/bootstrap.inc'];
      case 'wordpress':
        return ['wp-includes/version.php'];
      default:
        return [];
    }
  }
  switch (product) {
    case 'drupal':
      return [`${component}.info.yml`, `${component}.info`];
    case 'backdrop':
      return [`${component}.info`];
    case 'wordpress':
      return [`${component}.php`, 'style.css', 'readme.txt'];
    default:
      return [];
  }
}

/** The default version file of a release: the first candidate that one of its add/modify ops writes; else null. */
export function defaultVersionFile(product: string, component: string, files: readonly FileOp[]): string | null {
  const written = new Set(files.filter((f) => f.op !== 'delete').map((f) => f.path));
  return versionFileCandidates(product, component).find((p) => written.has(p)) ?? null;
}

/** The file the installer writes last: the manifest's versionFile, or the product's default when it names none. */
export function versionFileOf(manifest: Manifest): string | null {
  return manifest.versionFile ?? defaultVersionFile(manifest.product, manifest.component, manifest.files);
}

/** Where to look for the installed version on a site: the manifest's versionFile first, then the product's candidates. */
export function versionFilesToRead(manifest: Pick<Manifest, 'product' | 'component' | 'versionFile'>): string[] {
  const candidates = versionFileCandidates(manifest.product, manifest.component);
  return manifest.versionFile === null ? candidates : [manifest.versionFile, ...candidates.filter((c) => c !== manifest.versionFile)];
}

// How PHP CMSs write their version. Each captures the version text; the first that parses as a release version wins.
const PATTERNS: RegExp[] = [
  /\bconst\s+VERSION\s*=\s*['"]([^'"\n]{1,64})['"]/, // Drupal 8+: core/lib/Drupal.php
  /\bdefine\(\s*['"](?:VERSION|BACKDROP_VERSION)['"]\s*,\s*['"]([^'"\n]{1,64})['"]/, // Drupal 7, Backdrop
  /\$wp_version\s*=\s*['"]([^'"\n]{1,64})['"]/, // WordPress: wp-includes/version.php
  /^version\s*[:=]\s*['"]?([^'"\s]{1,64})['"]?\s*$/m, // .info.yml (version: '6.2.1'), .info (version = "7.x-1.2")
  /^[ \t/*#@]*Version:[ \t]*([^\s]{1,64})[ \t]*$/im, // WordPress plugin and theme headers
];

/** The version a version file states, or null when none of the known spellings is found. */
export function parseVersionText(text: string): string | null {
  for (const pattern of PATTERNS) {
    const m = pattern.exec(text);
    if (!m) continue;
    try {
      parseVersion(m[1]!);
      return m[1]!;
    } catch {
      // e.g. VERSION = 'dev-main': not a release; try the next spelling
    }
  }
  return null;
}

/**
 * The site would record `version` while its version file says another: VERSION_FILE_MISMATCH, for
 * `build` (over the source tree) and `sign` (over the archive). A file stating no version is not refused.
 */
export function checkStatedVersion(path: string, stated: string | null, version: string, where: string): void {
  if (stated !== null && !isSameRelease(stated, version)) {
    throw new UsageError(
      'VERSION_FILE_MISMATCH',
      `${path} in ${where} says ${stated}, not ${version}: the site would record one version while running another`,
      { path, stated, version },
    );
  }
}

/** Largest version file read out of an archive for review; the version is near the top of every known one. */
const MAX_VERSION_FILE_BYTES = 1 << 20;

/** What the version file `path` in a (verified) release archive states; null when it is absent or states none. */
export async function versionInArchive(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, path: string): Promise<string | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  let found = false;
  const reader = new TarReader({
    onEntryStart: (h) => {
      found = h.path === path;
    },
    onEntryData: (data) => {
      if (found && size < MAX_VERSION_FILE_BYTES) {
        parts.push(data.slice(0, MAX_VERSION_FILE_BYTES - size));
        size += data.length;
      }
    },
    onEntryEnd: () => {
      found = false;
    },
  });
  for await (const chunk of chunks) reader.push(chunk);
  reader.end();
  return parts.length === 0 ? null : parseVersionText(Buffer.concat(parts).toString('utf8'));
}
