// What kind of countersign file a path holds, and loading the documents commands are given: a bare
// envelope or a bundle, plus an optional separate archive. A file of another kind than the one expected
// is the caller's mistake (WRONG_KIND, exit 2), named for what it is; a damaged file of the right kind
// is left to the parsers, whose verdict it is.
import { closeSync, constants, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { looksLikeBundle } from '../lib/core/bundle.js';
import { openArchiveFile, openBundleFile, type OpenedArchive } from '../lib/node/bundle-file.js';
import { fromUtf8 } from '../lib/core/bytes.js';
import { kindOf, MAX_ENVELOPE_BYTES, openEnvelope, type DocumentKind, type OpenedEnvelope } from '../lib/core/envelope.js';
import { UsageError } from '../lib/core/errors.js';
import { PUBLIC_KEY_FILE_TYPE, SECRET_KEY_FILE_TYPE, STORE_FORMAT } from '../lib/core/file-types.js';
import { enrolmentFromPayload } from '../lib/core/enrolment.js';
import { manifestFromPayload } from '../lib/core/manifest.js';
import { loadTrustedPolicy, policyFromPayload, type Policy } from '../lib/core/policy.js';
import type { ArchiveInput } from '../lib/core/verify.js';
import { displayName, readInput, spoolStdin, STDIN } from './files.js';

export type FileKind = 'bundle' | DocumentKind | 'envelope' | 'partial-signature' | 'public-key' | 'secret-key' | 'archive' | 'trust-store';

const NAMES: Record<FileKind, string> = {
  bundle: 'a bundle (a signed release and its archive)',
  manifest: 'a release manifest',
  policy: 'a policy',
  revocation: 'a revocation',
  enrolment: 'a provider enrolment',
  'key-revocation': 'a key revocation',
  envelope: 'a signed-document envelope of an unknown type',
  'partial-signature': 'a partial signature (.sig)',
  'public-key': 'a public key (.pub)',
  'secret-key': 'a secret key (.key)',
  archive: 'a tar archive',
  'trust-store': "a trust store's state file",
};

/** Recognises every countersign file by its first bytes or its JSON markers; undefined for anything else. */
export function sniffKind(bytes: Uint8Array): FileKind | undefined {
  if (looksLikeBundle(bytes)) return 'bundle';
  if (bytes.length >= 263 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') return 'archive';
  if (bytes.length > MAX_ENVELOPE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type === 'countersign-partial-signature') return 'partial-signature';
  if (v.type === PUBLIC_KEY_FILE_TYPE) return 'public-key';
  if (v.type === SECRET_KEY_FILE_TYPE) return 'secret-key';
  if (v.format === STORE_FORMAT) return 'trust-store';
  if (typeof v.payloadType === 'string') return kindOf(v.payloadType) ?? 'envelope';
  return undefined;
}

/** What each input of a command must be, and the most it may hold. */
const ROLES = {
  policy: { kinds: ['policy'], noun: 'a policy', max: 64 * 1024 * 1024 },
  'policy rotation': { kinds: ['policy'], noun: 'a policy', max: 64 * 1024 * 1024 },
  revocation: { kinds: ['revocation'], noun: 'a revocation', max: 64 * 1024 * 1024 },
  update: { kinds: ['policy', 'revocation'], noun: 'a signed policy or revocation', max: 64 * 1024 * 1024 },
  'partial signature': { kinds: ['partial-signature'], noun: 'a partial signature (.sig)', max: 64 * 1024 },
  'public key file': { kinds: ['public-key'], noun: 'a public key (.pub)', max: 64 * 1024 },
  'secret key file': { kinds: ['secret-key'], noun: 'a secret key (.key)', max: 64 * 1024 },
  'policy or enrolment': { kinds: ['policy', 'enrolment'], noun: "a policy or a provider's enrolment", max: 64 * 1024 * 1024 },
  document: { kinds: ['bundle', 'manifest', 'policy', 'revocation', 'enrolment', 'key-revocation'], noun: 'a bundle or a signed document', max: 0 },
  bundle: { kinds: ['bundle'], noun: 'a release bundle', max: 0 },
} satisfies Record<string, { kinds: FileKind[]; noun: string; max: number }>;

export type Role = keyof typeof ROLES;

/** Refuses (WRONG_KIND) a file recognised as another kind than `role` takes. */
export function expectKind(bytes: Uint8Array, path: string, role: Role): void {
  const found = sniffKind(bytes);
  const { kinds, noun } = ROLES[role];
  if (found !== undefined && !(kinds as FileKind[]).includes(found)) {
    throw new UsageError('WRONG_KIND', `${displayName(path)} is ${NAMES[found]}, not ${noun}`, { file: path, found, expected: kinds });
  }
}

/** Reads a file (or `-`) that must be of the kind `role` names, within that role's size cap. */
export function readDocument(path: string, role: Exclude<Role, 'document' | 'bundle'>): Uint8Array {
  const bytes = readInput(path, role, ROLES[role].max);
  expectKind(bytes, path, role);
  return bytes;
}

/**
 * The policy in force that a review or a rotation starts from: a root policy self-signed, as a site pins it; a provider's
 * policy (or the enrolment carrying it) as it is, since the log, not its own signatures, makes it current.
 */
export function readPolicyInForce(path: string): Policy {
  const bytes = readDocument(path, 'policy or enrolment');
  const opened = openEnvelope(bytes, path);
  if (opened.kind === 'enrolment') return enrolmentFromPayload(opened.payloadBytes, path).policy.policy;
  const { policy } = policyFromPayload(opened.payloadBytes, path);
  return policy.provider === undefined ? loadTrustedPolicy(bytes, path).policy : policy;
}

/** The most a bundle read from standard input may hold: the envelope and archive caps of verification. */
export const STDIN_BUNDLE_MAX = MAX_ENVELOPE_BYTES + 4 * 1024 ** 3 + 64;

export interface LoadedDocument {
  doc: OpenedEnvelope;
  envelopeBytes: Uint8Array;
  archive?: ArchiveInput;
  /** Where the archive bytes come from: a separate file, or the bundle itself. */
  archiveFile?: string;
  isBundle: boolean;
  /** The bundle's proof section (a C2SP tlog-proof), when it has one. */
  proof?: Uint8Array;
  /** The bundle's state section (lib/log/state-proof.ts), when it has one. */
  state?: Uint8Array;
}

/**
 * Runs `use` with a document and its archive: the one given, else the bundle's own, else (for a bare
 * manifest) the archive the manifest names when it sits beside it, as `build` leaves them.
 * `-` reads the document from standard input. Every file opened is closed afterwards.
 */
export async function withDocument<T>(path: string, archivePath: string | undefined, use: (loaded: LoadedDocument) => Promise<T>): Promise<T> {
  const name = displayName(path);
  // A bundle is streamed (perhaps twice), so standard input is first kept in a private temporary file.
  const spooled = path === STDIN ? spoolStdin(STDIN_BUNDLE_MAX, 'document') : undefined;
  const file = spooled?.path ?? path;
  let separate: OpenedArchive | undefined;
  try {
    refuseOtherKindByHead(file, path);
    const input = await openBundleFile(file);
    spooled?.remove(); // the open file stays readable
    try {
      if (!input.isBundle) expectKind(input.envelopeBytes, path, 'document');
      const doc = openEnvelope(input.envelopeBytes, name);
      let archiveFile = archivePath ?? (input.archive ? path : undefined);
      if (!archivePath && !input.archive && doc.kind === 'manifest' && !spooled) {
        const sibling = join(dirname(path), manifestFromPayload(doc.payloadBytes).archive.name);
        if (existsSync(sibling) && statSync(sibling).isFile()) archiveFile = sibling;
      }
      if (archiveFile && archiveFile !== path) separate = await openArchiveFile(archiveFile);
      return await use({
        doc,
        envelopeBytes: input.envelopeBytes,
        archive: separate ?? input.archive,
        archiveFile,
        isBundle: input.isBundle,
        ...(input.proof ? { proof: input.proof } : {}),
        ...(input.state ? { state: input.state } : {}),
      });
    } finally {
      await separate?.close();
      await input.close();
    }
  } finally {
    spooled?.remove();
  }
}

/**
 * Runs `use` with the path of a release bundle for commands that hand a path on (apply, installer submit):
 * a file of another kind is WRONG_KIND first, and `-` is standard input, kept in a private temporary file.
 */
export async function withBundlePath<T>(path: string, use: (file: string) => Promise<T>): Promise<T> {
  const spooled = path === STDIN ? spoolStdin(STDIN_BUNDLE_MAX, 'bundle') : undefined;
  try {
    const file = spooled?.path ?? path;
    refuseOtherKindByHead(file, path, 'bundle');
    return await use(file);
  } finally {
    spooled?.remove();
  }
}

/** A file too large to be read as an envelope is still named for what it is; small ones are sniffed whole. */
function refuseOtherKindByHead(file: string, path: string, role: Role = 'document'): void {
  let fd: number | undefined;
  let head = new Uint8Array(512);
  let n = 0;
  try {
    const st = statSync(file);
    if (!st.isFile()) return; // never open a FIFO: it would wait for a writer
    if (role === 'bundle' && st.size <= 1024 * 1024) head = new Uint8Array(st.size);
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    n = readSync(fd, head, 0, head.length, 0);
  } catch {
    return; // the reader reports it
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const bytes = head.subarray(0, n);
  if (role === 'bundle' || sniffKind(bytes) === 'archive') expectKind(bytes, path, role);
}
