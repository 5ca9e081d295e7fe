// `countersign sign` with keys people already hold: an OpenSSH key or security key (ssh-keygen -Y sign, after the
// review), or by hand offline: --emit-pae writes the exact bytes to sign, --import-signature turns the tool's
// output into a partial signature. Every signature is checked by our own verifier before a partial is written.
import { basename } from 'node:path';
import { fromBase64, fromUtf8 } from '../lib/core/bytes.js';
import { keyId } from '../lib/core/ed25519.js';
import { pae } from '../lib/core/envelope.js';
import { CountersignError, UsageError } from '../lib/core/errors.js';
import { serializePartial, toolPartial } from '../lib/core/partial-signature.js';
import { importSignature, newSignerLabel, parseSignerFile } from '../lib/core/signer-files.js';
import { describeSignatureBytes, describeSignatureInfo, SSHSIG_NAMESPACES, type NewSigner, type SignerKind } from '../lib/core/signer-kinds.js';
import { SK_SSH_ED25519, SSH_ED25519, SSHSIG_HASH } from '../lib/core/sshsig.js';
import { refuseExisting, writeFilesAtomically } from '../lib/node/durable.js';
import { sshKeygenSign } from '../lib/node/ssh-keygen.js';
import type { Context } from './context.js';
import { readSigner } from './signer-file.js';
import { withDocument } from './documents.js';
import { readInput, STDIN } from './files.js';
import { succeed } from './output.js';
import { askConfirmation } from './passphrase.js';
import { defaultOut, showReview } from './sign-review.js';

export interface ToolArgs {
  doc: string;
  key?: string;
  sshKey?: string;
  sshAgent?: boolean;
  emitPae?: string;
  importSignature?: string;
  signer?: string;
  archive?: string;
  policy?: string;
  yes?: boolean;
  out?: string;
  force?: boolean;
  json?: boolean;
}

export const TOOL_OPTIONS = {
  'ssh-key': {
    type: 'string',
    describe: 'Sign with ssh-keygen -Y sign and this OpenSSH key (ed25519 or ed25519-sk; its .pub beside it), after the review',
  },
  'ssh-agent': { type: 'boolean', describe: 'With --ssh-key KEY.pub: the secret half is held by ssh-agent' },
  'emit-pae': { type: 'string', describe: 'Write the exact bytes to sign to this file, for ssh-keygen, minisign -S or signify -S run by hand' },
  'import-signature': { type: 'string', describe: 'A signature made by hand over the --emit-pae bytes (.sig from ssh-keygen or signify, .minisig)' },
  signer: { type: 'string', describe: "With --import-signature: the signer's public key file (OpenSSH .pub, minisign or signify .pub)" },
} as const;

export type SignMode = 'key' | 'ssh' | 'emit-pae' | 'import';

/** Exactly one way to sign; its companions only with it. */
export function toolMode(args: ToolArgs): SignMode {
  const given = (
    [
      ['key', args.key],
      ['ssh', args.sshKey],
      ['emit-pae', args.emitPae],
      ['import', args.importSignature],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (given.length !== 1) throw new UsageError('USAGE', 'give exactly one of --key, --ssh-key, --emit-pae, --import-signature');
  const mode = given[0]![0];
  if (args.sshAgent && mode !== 'ssh') throw new UsageError('USAGE', '--ssh-agent goes with --ssh-key KEY.pub');
  if ((args.signer !== undefined) !== (mode === 'import')) throw new UsageError('USAGE', '--import-signature and --signer go together');
  return mode;
}

export function signWithTool(ctx: Context, args: ToolArgs, mode: Exclude<SignMode, 'key'>): Promise<void> {
  if (mode === 'emit-pae') return emitPae(ctx, args, args.emitPae!);
  const signerFile = mode === 'ssh' ? sshPublicKeyFile(args.sshKey!) : args.signer!;
  const signer = readSigner(signerFile);
  if (mode === 'ssh' && signer.kind !== SSH_ED25519 && signer.kind !== SK_SSH_ED25519) {
    throw new UsageError('USAGE', `${signerFile} is not an OpenSSH ssh-ed25519 or sk-ssh-ed25519 public key`);
  }
  const keyid = keyId(signer.publicKey);
  const out = args.out ?? defaultOut(args.doc, keyid);
  refuseExisting([out], args.force);
  const sigText = mode === 'import' ? fromUtf8(readInput(args.importSignature!, 'signature', 64 * 1024), 'signature') : undefined;
  return withDocument(args.doc, args.archive, async (loaded) => {
    const { doc } = loaded;
    let text = sigText;
    if (text === undefined) {
      await showReview(ctx, args, loaded);
      (args.json ? ctx.err : ctx.out)(`  Signing with: ${signer.name}, ${newSignerLabel(signer)}`);
      if (!args.yes && !(await askConfirmation(ctx, 'Sign this document?'))) throw new UsageError('DECLINED', 'not signed: you declined');
      if (signer.kind === SK_SSH_ED25519) ctx.err('Touch your security key when it blinks (ssh-keygen may ask for its PIN first).');
      const data = pae(doc.envelope.payloadType, doc.payloadBytes);
      text = await sshKeygenSign({
        keyFile: args.sshKey!,
        agent: args.sshAgent === true,
        namespace: SSHSIG_NAMESPACES[doc.kind],
        data,
        onMessage: (line) => ctx.err(`ssh-keygen: ${line}`),
      });
    } else {
      await showReview(ctx, args, loaded, 'Importing a signature over:');
    }
    const { sig, info } = importSignature(text, signer, keyid, doc);
    const partial = toolPartial(doc, signer.kind!, signer.publicKey, sig);
    writeFilesAtomically([{ path: out, data: serializePartial(partial) }], { force: args.force });
    const extra = describeSignatureInfo(info);
    succeed(ctx, args, { signature: out, keyid, signer: signer.name, kind: doc.kind, payloadSha256: partial.payloadSha256, signedWith: info }, [
      `Signed as ${signer.name} (${info.kind}, ${keyid.slice(0, 16)}…): wrote ${out}${extra ? `; ${extra}` : ''}`,
    ]);
  });
}

/** ssh-keygen takes the private key (or, for the agent, the public one); the public key is always KEY.pub beside it. */
function sshPublicKeyFile(keyFile: string): string {
  return keyFile.endsWith('.pub') ? keyFile : `${keyFile}.pub`;
}

async function emitPae(ctx: Context, args: ToolArgs, file: string): Promise<void> {
  refuseExisting([file], args.force);
  return withDocument(args.doc, args.archive, async (loaded) => {
    const { doc } = loaded;
    await showReview(ctx, args, loaded, 'To sign:');
    writeFilesAtomically([{ path: file, data: pae(doc.envelope.payloadType, doc.payloadBytes) }], { force: args.force });
    const namespace = SSHSIG_NAMESPACES[doc.kind];
    const docName = args.doc === STDIN ? 'DOC' : args.doc;
    succeed(ctx, args, { pae: file, kind: doc.kind, payloadSha256: doc.payloadSha256, namespace, hashAlg: SSHSIG_HASH }, [
      `Wrote ${file}: the exact bytes to sign (DSSE PAE of this ${doc.kind}). Sign it with one of, offline:`,
      `  ssh-keygen -Y sign -n ${namespace} -O hashalg=${SSHSIG_HASH} -f ~/.ssh/id_ed25519 ${file}   # writes ${file}.sig`,
      `  minisign -S -m ${file}   # writes ${file}.minisig`,
      `  signify-openbsd -S -s KEY.sec -m ${file} -x ${file}.sig`,
      `Then: countersign sign ${docName} --import-signature ${file}.sig --signer YOUR.pub --out PARTIAL.sig`,
    ]);
  });
}

/** inspect's lines for a partial made with another tool: its kind and what the signature names (not verified). */
export function partialLines(kind: SignerKind, sig: string): { data?: Record<string, unknown>; lines: string[] } {
  if (kind === 'countersign') return { lines: [] };
  try {
    const data = describeSignatureBytes(kind, fromBase64(sig));
    const lines = Object.entries(data).map(
      ([k, v]) => `  ${`${LABELS[k] ?? k}:`.padEnd(13)}${k === 'trustedComment' ? JSON.stringify(v) : k === 'flags' ? flagsText(Number(v)) : String(v)}`,
    );
    return { data, lines: [`  Kind:        ${kind}`, ...lines] };
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    return { lines: [`  Kind:        ${kind}`, `  Signature:   unreadable (${err.code}: ${err.message})`] };
  }
}

const LABELS: Record<string, string> = {
  fingerprint: 'Key',
  namespace: 'Namespace',
  hashAlg: 'Hash',
  application: 'Application',
  flags: 'Flags',
  counter: 'Counter',
  keyId: 'Key id',
  algorithm: 'Algorithm',
  trustedComment: 'Comment',
  keyNumber: 'Key number',
};

function flagsText(flags: number): string {
  const said = [flags & 0x01 ? 'user present' : 'NO user presence', ...(flags & 0x04 ? ['user verified'] : [])];
  return `0x${flags.toString(16).padStart(2, '0')} (${said.join(', ')})`;
}

/** inspect for a public key file of another tool (OpenSSH, minisign, signify): its kind, its key in that tool's terms, its countersign key id. */
export function describeToolKey(bytes: Uint8Array, path: string): { data: Record<string, unknown>; lines: string[] } | undefined {
  let signer: NewSigner;
  try {
    signer = parseSignerFile(fromUtf8(bytes), basename(path).replace(/\.pub$/, ''));
  } catch (err) {
    if (err instanceof CountersignError) return undefined;
    throw err;
  }
  const keyid = keyId(signer.publicKey);
  const label = newSignerLabel(signer);
  return {
    data: { file: 'public-key', kind: signer.kind, keyid, name: signer.name, key: label },
    lines: [
      `${path}: ${signer.kind} public key (a --signer file for policy init)`,
      `  Name:        ${signer.name}`,
      `  Key:         ${label}`,
      `  Key id:      ${keyid}`,
    ],
  };
}
