import type { CommandModule } from 'yargs';
import { openBundleFile } from '../lib/node/bundle-file.js';
import { fromUtf8 } from '../lib/core/bytes.js';
import { openEnvelope, parseJsonBytes } from '../lib/core/envelope.js';
import { UsageError } from '../lib/core/errors.js';
import { readFileChunks } from '../lib/node/file-chunks.js';
import { parsePublicKeyFile, secretKeyIsEncrypted } from '../lib/core/keyfile.js';
import { parsePartial, partialKind } from '../lib/core/partial-signature.js';
import { describeToolKey, partialLines } from './sign-tools.js';
import { summarizeDocument } from '../lib/core/summary.js';
import { TarReader, type TarHeader } from '../lib/core/tar.js';
import type { Context } from './context.js';
import { sniffKind, STDIN_BUNDLE_MAX } from './documents.js';
import { displayName, readInput, spoolStdin, STDIN } from './files.js';
import { examples, succeed } from './output.js';

interface InspectArgs {
  file: string;
  json?: boolean;
}

export function inspectCommand(ctx: Context): CommandModule<object, InspectArgs> {
  return {
    command: 'inspect <file>',
    describe: 'Explain any countersign file: bundle, manifest, policy, partial signature, key, or archive',
    builder: (y) =>
      y
        .positional('file', { type: 'string', demandOption: true })
        .epilogue('inspect only describes; it verifies nothing. Use verify to decide whether to trust a file.')
        .epilogue(examples('countersign inspect drupal-10.2.4.bundle')),
    handler: async (args) => {
      const { data, lines } = await describeFile(args.file);
      succeed(ctx, args, data, lines);
    },
  };
}

async function describeFile(given: string): Promise<{ data: Record<string, unknown>; lines: string[] }> {
  const spooled = given === STDIN ? spoolStdin(STDIN_BUNDLE_MAX, 'file') : undefined;
  try {
    return await describeAt(spooled?.path ?? given, displayName(given));
  } finally {
    spooled?.remove();
  }
}

async function describeAt(file: string, path: string): Promise<{ data: Record<string, unknown>; lines: string[] }> {
  const input = await openBundleFile(file, 64 * 1024 * 1024);
  await input.close(); // inspect reads the header and envelope only
  if (input.isBundle) {
    const summary = summarizeDocument(openEnvelope(input.envelopeBytes, path));
    const sections = (input.layout?.sections ?? []).map(({ name, length }) => ({ name, length }));
    const lines = [
      `${path}: countersign bundle v${input.layout?.version} (${sections.map((x) => `${x.name} ${x.length} bytes`).join(', ')}); not verified`,
      ...summary.lines.map((l) => `  ${l}`),
      `  ${formatLine(summary)}`,
    ];
    return { data: { file: 'bundle', bundleFormat: input.layout?.version, sections, ...summaryData(summary), archiveBytes: input.archive?.size ?? 0 }, lines };
  }
  if (await isTar(file)) return describeTar(file, path);
  if (sniffKind(input.envelopeBytes) === undefined) {
    const key = describeToolKey(input.envelopeBytes, path);
    if (key) return key;
    throw new UsageError('WRONG_KIND', `${path} is not a countersign file`);
  }
  const value = parseJsonBytes(input.envelopeBytes, path) as Record<string, unknown> | null;
  switch (value?.type) {
    case 'countersign-partial-signature': {
      const p = parsePartial(input.envelopeBytes, path);
      const tool = partialLines(partialKind(p), p.sig);
      return {
        data: { file: 'partial-signature', ...p, ...(tool.data && { signature: tool.data }) },
        lines: [
          `${path}: partial signature`,
          `  Key id:      ${p.keyid}`,
          `  Signs:       ${p.payloadType}`,
          `  Payload:     sha256 ${p.payloadSha256}`,
          ...tool.lines,
        ],
      };
    }
    case 'countersign-public-key': {
      const k = parsePublicKeyFile(fromUtf8(input.envelopeBytes));
      return {
        data: { file: 'public-key', keyid: k.keyid, name: k.name },
        lines: [`${path}: public key`, `  Name:        ${k.name}`, `  Key id:      ${k.keyid}`],
      };
    }
    case 'countersign-secret-key': {
      const encrypted = secretKeyIsEncrypted(fromUtf8(input.envelopeBytes));
      return {
        data: { file: 'secret-key', keyid: value.keyid, name: value.name, encrypted },
        lines: [
          `${path}: SECRET key${encrypted ? ' (encrypted: scrypt + XChaCha20-Poly1305)' : ' — UNENCRYPTED, for tests and demos only'}`,
          `  Name:        ${String(value.name)}`,
          `  Key id:      ${String(value.keyid)}`,
        ],
      };
    }
  }
  if (value && typeof value === 'object' && 'payloadType' in value) {
    const summary = summarizeDocument(openEnvelope(input.envelopeBytes, path));
    return {
      data: { file: 'envelope', ...summaryData(summary) },
      lines: [`${path}: signed-document envelope; not verified`, ...summary.lines.map((l) => `  ${l}`), `  ${formatLine(summary)}`],
    };
  }
  throw new UsageError('WRONG_KIND', `${path} is not a countersign file`);
}

function summaryData(s: ReturnType<typeof summarizeDocument>): Record<string, unknown> {
  return {
    kind: s.kind,
    payloadType: s.payloadType,
    payloadSha256: s.payloadSha256,
    payloadFormat: payloadFormat(s),
    signatures: s.signatures,
    document: s.manifest ?? s.enrolment ?? s.keyRevocation ?? s.policy,
    ...(s.enrolment && { enrolledPolicy: s.policy }),
  };
}

/** The payload itself (an enrolment's summary also holds the policy it carries). */
function payloadOf(s: ReturnType<typeof summarizeDocument>): { format?: number } | undefined {
  return s.enrolment ?? s.keyRevocation ?? s.manifest ?? s.policy ?? s.revocation;
}

/** A payload without `format` is format 1 (spec/versioning.md); anything newer was refused when it was parsed. */
function payloadFormat(s: ReturnType<typeof summarizeDocument>): number {
  return payloadOf(s)?.format ?? 1;
}

function formatLine(s: ReturnType<typeof summarizeDocument>): string {
  const stated = payloadOf(s)?.format !== undefined;
  return `Format:       ${payloadFormat(s)}${stated ? '' : ' (not stated: written before 0.2.0)'}`;
}

async function isTar(path: string): Promise<boolean> {
  const head = readInput(path, 'file').subarray(257, 263);
  return Buffer.from(head).toString('latin1') === 'ustar\0';
}

async function describeTar(file: string, path: string): Promise<{ data: Record<string, unknown>; lines: string[] }> {
  const entries: TarHeader[] = [];
  const reader = new TarReader({ onEntryStart: (h) => entries.push(h) });
  for await (const chunk of readFileChunks(file)) reader.push(chunk);
  reader.end();
  return {
    data: { file: 'archive', entries: entries.map(({ path: p, mode, size }) => ({ path: p, mode, size })) },
    lines: [`${path}: release archive, ${entries.length} files`, ...entries.map((e) => `  ${e.mode} ${String(e.size).padStart(10)}  ${e.path}`)],
  };
}
