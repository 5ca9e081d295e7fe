// Helpers shared by the attack tests: driving verification and asserting exact codes, and
// hand-made (hostile) archives that the library's own writer would refuse to produce.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { concatBytes } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { createEnvelope, type Envelope } from '../../lib/core/envelope.js';
import { CountersignError, VerificationError, type ErrorCode, type Reason } from '../../lib/core/errors.js';
import type { Manifest, SiteState } from '../../lib/core/manifest.js';
import { BLOCK_SIZE, encodeHeader, headerChecksum, writeTar } from '../../lib/core/tar.js';
import { verifyBundle, type BundleInput, type Verified, type VerifyOptions } from '../../lib/core/verify.js';
import { envelopeBytes, FIXTURE_NOW, fixtures, signedBy, type FixtureSigner, type ReleaseSpec } from './generate.js';

export const SITE_10_2_3: SiteState = { product: 'drupal', component: 'core', installed: '10.2.3' };

/** Verify options of a drupal 10.2.3 site pinning policy v1, at the fixture time. */
export function siteOptions(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return { trusted: fixtures().trustedV1, now: FIXTURE_NOW, site: SITE_10_2_3, ...overrides };
}

/** A bundle input over an envelope and (optionally) an archive in memory. */
export function input(envelope: Envelope, archive?: Uint8Array): BundleInput {
  return { envelopeBytes: envelopeBytes(envelope), archive: archive && { size: archive.length, chunks: () => chunked(archive) } };
}

export async function* chunked(bytes: Uint8Array, size = 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** An archive whose bytes must never be read: the envelope alone has to decide. */
export function untouchable(size: number): NonNullable<BundleInput['archive']> {
  return {
    size,
    chunks: () => {
      throw new Error('the archive was read although the envelope should have decided');
    },
  };
}

/** The VerificationError's reasons; fails the test when verification succeeds or throws anything else. */
export async function rejectionReasons(input: BundleInput, opts: VerifyOptions): Promise<Reason[]> {
  let verified: Verified;
  try {
    verified = await verifyBundle(input, opts);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(VerificationError);
    return (err as VerificationError).reasons;
  }
  throw new Error(`expected verification to fail, but it accepted a ${verified.document.kind}`);
}

/** The codes of every reason, in the order verification reported them. */
export async function rejection(input: BundleInput, opts: VerifyOptions): Promise<ErrorCode[]> {
  return (await rejectionReasons(input, opts)).map((r) => r.code);
}

/** The codes of the problems (unknown, bad, duplicate signatures) listed in a QUORUM_NOT_MET reason. */
export function quorumProblems(reason: Reason | undefined): ErrorCode[] {
  expect(reason?.code).to.equal('QUORUM_NOT_MET');
  return ((reason!.details?.problems ?? []) as Reason[]).map((p) => p.code);
}

/** The names of the signers a QUORUM_NOT_MET reason counted. */
export function quorumSignedBy(reason: Reason | undefined): string[] {
  return ((reason?.details?.signedBy ?? []) as Array<{ name: string }>).map((s) => s.name);
}

/** The coded error a synchronous library call throws (and its details); anything else fails the test. */
export function thrown(fn: () => unknown): CountersignError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountersignError) return err;
    throw err;
  }
  throw new Error('expected a coded error, but the call succeeded');
}

/** The coded error a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejected(promise: Promise<unknown>): Promise<CountersignError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CountersignError) return err;
    throw err;
  }
  throw new Error('expected a coded error, but the call succeeded');
}

export function accepts(input: BundleInput, opts: VerifyOptions): Promise<Verified> {
  return verifyBundle(input, opts);
}

// ---------------------------------------------------------------------------------------------
// Re-signing: the quorum (really) signs a tampered manifest, so only later checks can catch it.

export function manifestEnvelope(manifest: Manifest): Envelope {
  return createEnvelope('manifest', canonicalBytes(manifest));
}

export function resigned(manifest: Manifest, signers: readonly FixtureSigner[]): Envelope {
  return signedBy(manifestEnvelope(manifest), signers);
}

export { withArchive } from '../support/fixtures.js';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Archives

export interface PlainEntry {
  path: string;
  content: string | Uint8Array;
  mode?: '0644' | '0755';
}

function contentBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}

/** A well-formed archive from the library's writer (entries must be sorted and distinct). */
export function tarOf(entries: readonly PlainEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  writeTar(
    (c) => chunks.push(new Uint8Array(c)),
    entries.map((e) => ({ path: e.path, mode: e.mode ?? '0644', content: contentBytes(e.content) })),
    0,
  );
  return concatBytes(...chunks);
}

export interface HostileEntry extends PlainEntry {
  /** ustar typeflag: '0' regular, '1' hard link, '2' symlink, '3' char device, '4' block device, '6' FIFO. */
  typeflag?: string;
  /** Raw mode bits written into the header (e.g. 0o4755 for setuid); defaults to `mode`. */
  modeBits?: number;
  /** Link target written into the linkname field. */
  linkname?: string;
}

function setOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  for (let i = 0; i < width - 1; i++) block[offset + i] = digits.charCodeAt(i);
  block[offset + width - 1] = 0;
}

/**
 * Writes an archive entry by entry with lib/core/tar.ts encodeHeader, in the order given and without the
 * writer's path, order and duplicate checks, then patches type, mode and link name as asked and
 * fixes the checksum: exactly the bytes a hostile builder would emit.
 */
export function hostileTar(entries: readonly HostileEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const content = contentBytes(e.content);
    const header = encodeHeader({ path: e.path, mode: e.mode ?? '0644', size: content.length, mtime: 0 });
    if (e.typeflag !== undefined) header[156] = e.typeflag.charCodeAt(0);
    if (e.modeBits !== undefined) setOctal(header, 100, 8, e.modeBits);
    if (e.linkname !== undefined) header.set(new TextEncoder().encode(e.linkname), 157);
    setOctal(header, 148, 7, headerChecksum(header));
    header[155] = 0x20;
    parts.push(header, content, new Uint8Array((BLOCK_SIZE - (content.length % BLOCK_SIZE)) % BLOCK_SIZE));
  }
  parts.push(new Uint8Array(2 * BLOCK_SIZE));
  return concatBytes(...parts);
}

/** The add/modify entries of a fixture release, as its archive holds them (sorted by path). */
export function releaseEntries(release: { manifest: Manifest }, spec: ReleaseSpec): PlainEntry[] {
  return release.manifest.files.flatMap((op) => {
    if (op.op === 'delete') return [];
    const source = spec.source[op.path];
    if (source === undefined) throw new Error(`no source for ${op.path}`);
    return [{ path: op.path, mode: op.mode, content: typeof source === 'string' ? source : source.content }];
  });
}
