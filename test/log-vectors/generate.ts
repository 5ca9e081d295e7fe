// Writes test/vectors/shared/log/{merkle,log}.json: the transparency log's verdicts as computed by lib/log (the
// TypeScript reference), for the PHP verifier to reproduce exactly (php/tests/Log/LogVectorsTest.php).
//   npx tsx test/log-vectors/generate.ts [OUT_DIR]
// Every case's `expect` is what the TypeScript function gave ('ok' or [code]); nothing here is written by hand.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/* eslint-disable @typescript-eslint/no-explicit-any */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = resolve(process.argv[2] ?? fileURLToPath(new URL('../vectors/shared/log/', import.meta.url)));
const load = (path: string): Promise<any> => import(pathToFileURL(join(ROOT, path)).href);

const merkle = await load('lib/log/merkle.ts');
const noteMod = await load('lib/log/note.ts');
const checkpointMod = await load('lib/log/checkpoint.ts');
const cosig = await load('lib/log/cosignature.ts');
const policyMod = await load('lib/log/tlog-policy.ts');
const proofMod = await load('lib/log/proof.ts');
const entryMod = await load('lib/log/entry.ts');
const verifyMod = await load('lib/log/verify-proof.ts');
const bundleMod = await load('lib/core/bundle.ts');
const { MemoryLog } = await load('test/log/support.ts');
const { fixtures, FIXTURE_NOW } = await load('test/attacks/generate.ts');
const { mixedOrderKey } = await load('test/support/torsion.ts');
const ed25519Core = await load('lib/core/ed25519.ts');

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** 'ok' with the function's result, or the code it threw (anything without a code is a generator bug). */
function outcome(f: () => unknown): { expect: 'ok' | string[]; result?: unknown } {
  try {
    const result = f();
    return result === undefined ? { expect: 'ok' } : { expect: 'ok', result };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code !== 'string') throw err;
    return { expect: [code] };
  }
}

// ---------------------------------------------------------------------------------------------
// merkle.json: RFC 6962 known answers, transparency-dev/merkle's vectors, brute force for every (m, n <= 64).

const MAX = 64;
const entries = Array.from({ length: MAX }, (_, i) => utf8(`leaf ${i}`));
const leaves: Uint8Array[] = entries.map(merkle.leafHash);
const hashAt = merkle.memoryHashAt(leaves);
const roots: Uint8Array[] = Array.from({ length: MAX + 1 }, (_, n) => merkle.rootOf(leaves.slice(0, n)));
const flipped = (h: Uint8Array, bit = 0): Uint8Array => {
  const c = new Uint8Array(h);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};
/** '.' verified, 'x' refused with the family's code, '-' not applicable; any other code stops the generator. */
function verdict(code: string, f: (() => void) | null): string {
  if (f === null) return '-';
  const o = outcome(f);
  if (o.expect === 'ok') return '.';
  if (o.expect[0] !== code) throw new Error(`unexpected ${o.expect[0]}`);
  return 'x';
}

// The tampers, in this order; php/tests/Log/LogVectorsTest.php applies the same ones by name.
const INCLUSION_TAMPERS = [
  'wrong leaf',
  'flipped leaf',
  'wrong root',
  'next size root',
  'index + 1',
  'index - 1',
  'size + 1',
  'size - 1',
  'size * 2',
  'index = size',
  'extended',
  'prefixed',
  'truncated',
  'first dropped',
  'short hash',
  'flipped each',
  'swapped',
];
const CONSISTENCY_TAMPERS = [
  'other first root',
  'other second root',
  'swapped roots',
  'm - 1',
  'm + 1',
  'n + 1',
  'n - 1',
  'reversed sizes',
  'extended',
  'prefixed',
  'from empty',
  'truncated',
  'first dropped',
  'short hash',
  'flipped each',
];

const inclusion = [];
for (let n = 1; n <= MAX; n++) {
  for (let i = 0; i < n; i++) {
    const proof: Uint8Array[] = merkle.inclusionProof(i, n, hashAt);
    const root = roots[n]!;
    const v = (f: () => void): void => merkle.verifyInclusion(leaves[i]!, i, n, proof, root) ?? f();
    v(() => undefined);
    const t = (ok: boolean, leaf: Uint8Array, index: number, size: number, p: Uint8Array[], r: Uint8Array): string =>
      verdict('BAD_PROOF', ok ? () => merkle.verifyInclusion(leaf, index, size, p, r) : null);
    const has = proof.length > 0;
    const tampers = [
      t(true, leaves[(i + 1) % MAX]!, i, n, proof, root),
      t(true, flipped(leaves[i]!), i, n, proof, root),
      t(true, leaves[i]!, i, n, proof, flipped(root, 255)),
      t(true, leaves[i]!, i, n, proof, roots[n + 1] ?? flipped(root)),
      t(i + 1 < n, leaves[i]!, i + 1, n, proof, root),
      t(i > 0, leaves[i]!, i - 1, n, proof, root),
      t(n < MAX, leaves[i]!, i, n + 1, proof, roots[n + 1] ?? root),
      t(i < n - 1, leaves[i]!, i, n - 1, proof, roots[n - 1]!),
      t(2 * n <= MAX, leaves[i]!, i, n * 2, proof, roots[2 * n] ?? root),
      t(true, leaves[i]!, n, n, proof, root),
      t(true, leaves[i]!, i, n, [...proof, leaves[0]!], root),
      t(true, leaves[i]!, i, n, [leaves[0]!, ...proof], root),
      t(has, leaves[i]!, i, n, proof.slice(0, -1), root),
      t(has, leaves[i]!, i, n, proof.slice(1), root),
      t(has, leaves[i]!, i, n, has ? [proof[0]!.subarray(0, 31), ...proof.slice(1)] : [], root),
      proof
        .map((_, k) =>
          t(
            true,
            leaves[i]!,
            i,
            n,
            proof.map((h, j) => (j === k ? flipped(h, 8 * k + 3) : h)),
            root,
          ),
        )
        .join('') || '-',
      t(proof.length > 1, leaves[i]!, i, n, proof.length > 1 ? [proof[1]!, proof[0]!, ...proof.slice(2)] : [], root),
    ];
    inclusion.push({ index: i, size: n, proof: proof.map(b64), tampers: tampers.join(' ') });
  }
}
const consistency = [];
for (let n = 1; n <= MAX; n++) {
  for (let m = 1; m <= n; m++) {
    const proof: Uint8Array[] = merkle.consistencyProof(m, n, hashAt);
    const [rm, rn] = [roots[m]!, roots[n]!];
    merkle.verifyConsistency(m, n, rm, rn, proof);
    const t = (ok: boolean, a: number, b: number, ra: Uint8Array, rb: Uint8Array, p: Uint8Array[]): string =>
      verdict('LOG_INCONSISTENT', ok ? () => merkle.verifyConsistency(a, b, ra, rb, p) : null);
    const has = proof.length > 0;
    const tampers = [
      t(true, m, n, flipped(rm), rn, proof),
      t(true, m, n, rm, flipped(rn, 100), proof),
      t(m !== n, m, n, rn, rm, proof),
      t(m > 1, m - 1, n, roots[m - 1]!, rn, proof),
      t(m < n, m + 1, n, roots[m + 1] ?? rm, rn, proof),
      t(n < MAX, m, n + 1, rm, roots[n + 1] ?? rn, proof),
      t(n > m, m, n - 1, rm, roots[n - 1]!, proof),
      t(m !== n, n, m, rn, rm, proof),
      t(true, m, n, rm, rn, [...proof, leaves[0]!]),
      t(true, m, n, rm, rn, [leaves[0]!, ...proof]),
      t(true, 0, n, merkle.emptyRoot(), rn, proof),
      t(has, m, n, rm, rn, proof.slice(0, -1)),
      t(has, m, n, rm, rn, proof.slice(1)),
      t(has, m, n, rm, rn, has ? [proof[0]!.subarray(1), ...proof.slice(1)] : []),
      proof
        .map((_, k) =>
          t(
            true,
            m,
            n,
            rm,
            rn,
            proof.map((h, j) => (j === k ? flipped(h, 8 * k + 5) : h)),
          ),
        )
        .join('') || '-',
    ];
    consistency.push({ m, n, proof: proof.map(b64), tampers: tampers.join(' ') });
  }
}

// transparency-dev/merkle (test/vectors/merkle, vendored by the log branch; see its SOURCES.md): constants and JSON cases.
const TD = join(ROOT, 'test/vectors/merkle');
const constants = readFileSync(join(TD, 'testonly/constants.go'), 'utf8');
const section = (name: string): string[] => {
  const start = constants.indexOf(`func ${name}()`);
  const body = constants.slice(start, constants.indexOf('\n}\n', start));
  return [...body.matchAll(/hd\("([0-9a-f]*)"\)/g)].map((m) => m[1]!);
};
const walk = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : name.endsWith('.json') ? [join(dir, name)] : []));
const tdInclusion = walk(join(TD, 'testdata/inclusion')).map((file) => {
  const c = JSON.parse(readFileSync(file, 'utf8'));
  const o = outcome(() => merkle.verifyInclusion(unb64(c.leafHash), c.leafIdx, c.treeSize, (c.proof ?? []).map(unb64), unb64(c.root)));
  return {
    id: file.slice(TD.length + 1),
    leafIdx: c.leafIdx,
    treeSize: c.treeSize,
    root: c.root,
    leafHash: c.leafHash,
    proof: c.proof ?? [],
    wantErr: c.wantErr,
    expect: o.expect,
  };
});
const tdConsistency = walk(join(TD, 'testdata/consistency')).map((file) => {
  const c = JSON.parse(readFileSync(file, 'utf8'));
  const o = outcome(() => merkle.verifyConsistency(c.size1, c.size2, unb64(c.root1), unb64(c.root2), (c.proof ?? []).map(unb64)));
  return {
    id: file.slice(TD.length + 1),
    size1: c.size1,
    size2: c.size2,
    root1: c.root1,
    root2: c.root2,
    proof: c.proof ?? [],
    wantErr: c.wantErr,
    expect: o.expect,
  };
});

const merkleVectors = {
  format: 1,
  description:
    'lib/log/merkle.ts verdicts: RFC 6962 known answers (transparency-dev/merkle testonly/constants.go), its inclusion and consistency test data, and brute-force proofs for every (index, size) and (m, n) up to 64 with tampers (a verdict per tamper: "." verifies, "x" refused with BAD_PROOF / LOG_INCONSISTENT, "-" not applicable; "flipped each" has one character per proof hash)',
  source: 'generated by test/log-vectors/generate.ts from lib/log/merkle.ts',
  knownAnswers: {
    leafInputs: section('LeafInputs'),
    rootHashes: section('RootHashes'),
    emptyRootHash: section('EmptyRootHash')[0],
    nodeHashes: section('NodeHashes'),
  },
  bruteForce: {
    entries: entries.map((e) => Buffer.from(e).toString('utf8')),
    roots: roots.map(b64),
    inclusionTampers: INCLUSION_TAMPERS,
    consistencyTampers: CONSISTENCY_TAMPERS,
    inclusion,
    consistency,
  },
  transparencyDev: { inclusion: tdInclusion, consistency: tdConsistency },
};

// ---------------------------------------------------------------------------------------------
// log.json: notes, vkeys, checkpoints, cosignatures, tlog-policy, tlog-proof, entries and the site's check.

const cases: Array<Record<string, unknown>> = [];
const add = (id: string, description: string, op: string, input: Record<string, unknown>, f: () => unknown): void => {
  if (cases.some((c) => c.id === id)) throw new Error(`duplicate id ${id}`);
  cases.push({ id, description, op, ...input, ...outcome(f) });
};

// Vkeys.
const { parseVkey, formatVkey, parseNote, verifyNote, signNote, formatNote, ed25519Signer, ed25519Verifier, SIG_ED25519, SIG_COSIGNATURE_V1 } = noteMod;
const vkeyResult = (text: string) => () => {
  const k = parseVkey(text);
  return { name: k.name, keyId: k.keyId.toString(16).padStart(8, '0'), type: k.type, publicKey: hex(k.publicKey) };
};
const LOG_MD_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const log = new MemoryLog();
const pk = (seed: number): Uint8Array => ed25519Core.publicKeyFromSeed(new Uint8Array(32).fill(seed));
const plusKey = (() => {
  for (let s = 1; s < 255; s++) {
    const v = formatVkey(`plus.example/k${s}`, SIG_ED25519, pk(s));
    if (v.split('+').length > 3) return v;
  }
  throw new Error('no vkey with + in its base64');
})();
const vkeyCases: Array<[string, string, string]> = [
  ['vkey-log-md', "LOG.md's signed-note example vkey", LOG_MD_VKEY],
  ['vkey-worked-example', "LOG.md's worked-example log vkey (seed 32 x 0x01)", log.signer.vkey],
  ['vkey-witness', 'a cosignature/v1 (type 4) witness vkey', log.witnesses[0].vkey],
  ['vkey-plus-in-base64', "the key's base64 holds '+': split at the first two only", plusKey],
  ['vkey-wrong-id', 'the key id is not the one the name, type and key give', LOG_MD_VKEY.replace('530d903a', '530d903b')],
  ['vkey-upper-id', 'the key id in upper-case hex', LOG_MD_VKEY.replace('530d903a', '530D903A')],
  ['vkey-short-id', 'a 7-digit key id', LOG_MD_VKEY.replace('530d903a', '530d903')],
  ['vkey-one-plus', 'only one +', 'example.com/foo+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'],
  ['vkey-empty-name', 'an empty name', LOG_MD_VKEY.replace('example.com/foo', '')],
  ['vkey-space-name', 'a name with a space', `a b+${'0'.repeat(8)}+${b64(new Uint8Array([1, ...pk(1)]))}`],
  ['vkey-nbsp-name', 'a name with U+00A0 (Go unicode.IsSpace)', formatVkey('ok', SIG_ED25519, pk(2)).replace(/^ok/, 'o\u00a0k')],
  ['vkey-type-2', 'signature type 2', `x+${'0'.repeat(8)}+${b64(new Uint8Array([2, ...pk(1)]))}`],
  ['vkey-short-key', 'a 31-byte key', `x+${'0'.repeat(8)}+${b64(new Uint8Array([1, ...pk(1).subarray(1)]))}`],
  ['vkey-long-key', 'a 33-byte key', `x+${'0'.repeat(8)}+${b64(new Uint8Array([1, ...pk(1), 0]))}`],
  ['vkey-empty-key', 'no key bytes at all', 'x+00000000+'],
  ['vkey-unpadded', 'base64 without padding', LOG_MD_VKEY.slice(0, -1)],
  [
    'vkey-urlsafe',
    'URL-safe base64',
    ((v: string) => {
      const i = v.indexOf('+', v.indexOf('+') + 1);
      return (
        v.slice(0, i + 1) +
        v
          .slice(i + 1)
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
      );
    })(plusKey),
  ],
  ['vkey-small-order', 'a small-order key (the identity)', formatVkey('so', SIG_ED25519, new Uint8Array([1, ...new Uint8Array(31)]))],
  ['vkey-non-canonical', 'a non-canonical key (y = p)', formatVkey('nc', SIG_ED25519, new Uint8Array([0xed, ...new Uint8Array(30).fill(0xff), 0x7f]))],
  ['vkey-mixed-order', 'a mixed-order key (A + T8)', formatVkey('mo', SIG_COSIGNATURE_V1, mixedOrderKey(new Uint8Array(32).fill(7)))],
];
for (const [id, d, text] of vkeyCases) add(id, d, 'parseVkey', { vkey: text }, vkeyResult(text));
// formatVkey refuses an invalid name, so the invalid ones above are spelled by hand; make sure they are refused.

// Signed notes.
const noteVerify = (text: string, vkeys: string[]) => () => {
  const verifiers = vkeys.map((v) => (parseVkey(v).type === SIG_ED25519 ? ed25519Verifier(v) : cosig.cosignatureVerifier(v)));
  const n = verifyNote(utf8(text), verifiers);
  return {
    text: b64(utf8(n.text)),
    signatures: n.signatures.length,
    verified: n.verified.map((x: any) => `${x.signature.name}+${x.signature.keyId.toString(16).padStart(8, '0')}`),
  };
};
const LOG_MD_NOTE =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
const worked = (() => {
  const l = new MemoryLog({ witnesses: 1 });
  for (const e of ['entry-0', 'entry-1', 'entry-2']) l.append(utf8(e));
  return { log: l, note: signNote(checkpointMod.formatCheckpoint({ origin: l.signer.name, size: 3, root: l.edge.root(), extensions: [] }), [l.signer]) };
})();
const other = ed25519Signer('other.example/k', new Uint8Array(32).fill(0x33));
const noteCases: Array<[string, string, string, string[]]> = [
  ['note-log-md', "LOG.md's signed-note example", LOG_MD_NOTE, [LOG_MD_VKEY]],
  ['note-worked-example', "LOG.md's worked-example checkpoint (fixed bytes)", worked.note, [worked.log.signer.vkey]],
  ['note-unknown-only', 'signed by a key the verifier does not know', LOG_MD_NOTE, [log.signer.vkey]],
  ['note-unknown-ignored', 'an unknown signer beside a known one is ignored', signNote(parseNote(LOG_MD_NOTE), [other]), [LOG_MD_VKEY]],
  ['note-two-known', 'two known signers', signNote(parseNote(LOG_MD_NOTE), [other]), [LOG_MD_VKEY, other.vkey]],
  ['note-bad-signature', "a known key's signature fails (one bit of the text changed)", LOG_MD_NOTE.replace('example', 'exbmple'), [LOG_MD_VKEY]],
  [
    'note-bad-beside-good',
    "a known key's bad line beside a good one refuses the note",
    LOG_MD_NOTE + LOG_MD_NOTE.split('\n')[2]!.replace('Uw2QOkn8', 'Uw2QOkn9') + '\n',
    [LOG_MD_VKEY],
  ],
  ['note-duplicate-line', 'the same good line twice: counted once', LOG_MD_NOTE + LOG_MD_NOTE.split('\n')[2] + '\n', [LOG_MD_VKEY]],
  ['note-no-blank', 'no blank line', LOG_MD_NOTE.replace('\n\n', '\n'), [LOG_MD_VKEY]],
  ['note-no-final-newline', 'the signature block does not end in a newline', LOG_MD_NOTE.slice(0, -1), [LOG_MD_VKEY]],
  ['note-empty-block', 'a blank line and nothing after it', 'text\n\n', [LOG_MD_VKEY]],
  ['note-hyphen', 'a hyphen instead of the em dash', LOG_MD_NOTE.replace('\u2014', '-'), [LOG_MD_VKEY]],
  ['note-no-space', 'no space between name and signature', LOG_MD_NOTE.replace('foo Uw2', 'fooUw2'), [LOG_MD_VKEY]],
  ['note-control', 'a control character in the text', LOG_MD_NOTE.replace('example', 'exa\u0001mple'), [LOG_MD_VKEY]],
  ['note-cr', 'a carriage return in the text', LOG_MD_NOTE.replace('message.', 'message.\r'), [LOG_MD_VKEY]],
  ['note-short-sig', 'a signature of four bytes (a key id alone)', 'text\n\n\u2014 example.com/foo Uw2QOg==\n', [LOG_MD_VKEY]],
  ['note-bad-base64', 'signature base64 unpadded', LOG_MD_NOTE.replace('aQM=', 'aQM'), [LOG_MD_VKEY]],
  [
    'note-empty-line-in-block',
    'an empty line inside the signature block: the text ends at the last blank line',
    LOG_MD_NOTE.replace('\n\n', '\n\n\u2014 a AAAAAAA=\n\n'),
    [LOG_MD_VKEY],
  ],
  ['note-101-lines', 'more than 100 signature lines', LOG_MD_NOTE + `\u2014 a ${b64(new Uint8Array(68))}\n`.repeat(100), [LOG_MD_VKEY]],
  ['note-100-lines', '100 signature lines (99 unknown)', LOG_MD_NOTE + `\u2014 a ${b64(new Uint8Array(68))}\n`.repeat(99), [LOG_MD_VKEY]],
  ['note-too-large', 'over 64 KiB', 'x'.repeat(65536) + LOG_MD_NOTE, [LOG_MD_VKEY]],
  ['note-name-plus', 'a signature line whose name holds +', LOG_MD_NOTE + `\u2014 a+b ${b64(new Uint8Array(68))}\n`, [LOG_MD_VKEY]],
  ['note-name-ideographic-space', 'a name holding U+3000', LOG_MD_NOTE + `\u2014 a\u3000b ${b64(new Uint8Array(68))}\n`, [LOG_MD_VKEY]],
];
for (const [id, d, text, vkeys] of noteCases) add(id, d, 'verifyNote', { note: b64(utf8(text)), vkeys }, noteVerify(text, vkeys));
add(
  'note-not-utf8',
  'a note that is not UTF-8',
  'verifyNote',
  { note: b64(new Uint8Array([...utf8('text \xff'.slice(0, 5)), 0xff, ...utf8(LOG_MD_NOTE.slice(5))])), vkeys: [LOG_MD_VKEY] },
  () => {
    return noteVerify('', [])();
  },
);
cases[cases.length - 1] = {
  ...cases[cases.length - 1],
  ...outcome(() => verifyNote(new Uint8Array([...utf8('text '), 0xff, ...utf8(LOG_MD_NOTE.slice(5))]), [ed25519Verifier(LOG_MD_VKEY)])),
};
cases[cases.length - 1]!.note = b64(new Uint8Array([...utf8('text '), 0xff, ...utf8(LOG_MD_NOTE.slice(5))]));

// Checkpoints.
const cpText = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
const root = b64(log.edge.root());
const cpCases: Array<[string, string, string]> = [
  ['checkpoint-plain', 'origin, size, root', cpText(['countersign.example/log', '3', root])],
  ['checkpoint-extensions', 'with two extension lines', cpText(['countersign.example/log', '3', root, 'ext one', 'ext two'])],
  ['checkpoint-size-0', 'size 0', cpText(['o', '0', root])],
  ['checkpoint-max-size', 'size 2^53 - 1', cpText(['o', '9007199254740991', root])],
  ['checkpoint-size-2-53', 'size 2^53', cpText(['o', '9007199254740992', root])],
  ['checkpoint-leading-zero', 'size 03', cpText(['o', '03', root])],
  ['checkpoint-negative', 'size -1', cpText(['o', '-1', root])],
  ['checkpoint-plus-size', 'size +3', cpText(['o', '+3', root])],
  ['checkpoint-empty-origin', 'an empty origin', cpText(['', '3', root])],
  ['checkpoint-short-root', 'a 31-byte root', cpText(['o', '3', b64(new Uint8Array(31))])],
  ['checkpoint-bad-root', 'root base64 unpadded', cpText(['o', '3', root.slice(0, -1)])],
  ['checkpoint-two-lines', 'no root line', cpText(['o', '3'])],
  ['checkpoint-empty-extension', 'an empty extension line', cpText(['o', '3', root, ''])],
  ['checkpoint-no-newline', 'no final newline', cpText(['o', '3', root]).slice(0, -1)],
];
for (const [id, d, text] of cpCases)
  add(id, d, 'parseCheckpoint', { text: b64(utf8(text)) }, () => {
    const c = checkpointMod.parseCheckpoint(text);
    return { origin: c.origin, size: c.size, root: b64(c.root), extensions: c.extensions };
  });

// Cosignatures: a checkpoint signed by the log and cosigned, verified with the witness's vkey.
const T = Math.floor(FIXTURE_NOW.getTime() / 1000) - 3600;
const w1 = log.witnesses[0];
for (const e of ['entry-0', 'entry-1', 'entry-2']) log.append(utf8(e));
const cpNote: string = log.checkpoint(T, 1);
const cpTextOnly = parseNote(cpNote).text;
const witnessLine = (line: string) => `${cpTextOnly}\n${line}\n`;
const w1Line = parseNote(cpNote).signatures[1].line as string;
const blob = unb64(w1Line.split(' ').pop()!);
const reblob = (f: (b: Uint8Array) => Uint8Array): string => `${w1Line.split(' ').slice(0, -1).join(' ')} ${b64(f(new Uint8Array(blob)))}`;
const cosignCases: Array<[string, string, string]> = [
  ['cosignature-ok', 'a cosignature/v1 line (76-byte blob) verifies with its witness vkey', cpNote],
  ['cosignature-timestamp-changed', 'the timestamp changed (signed with the message)', witnessLine(reblob((b) => ((b[11] = b[11]! ^ 1), b)))],
  ['cosignature-timestamp-2-63', 'a timestamp of 2^63 or more is not one', witnessLine(reblob((b) => ((b[4] = 0x80), b)))],
  ['cosignature-short', 'a 75-byte blob', witnessLine(reblob((b) => b.subarray(0, 75)))],
  ['cosignature-long', 'a 77-byte blob', witnessLine(reblob((b) => new Uint8Array([...b, 0])))],
  ['cosignature-sig-flipped', 'the Ed25519 signature flipped', witnessLine(reblob((b) => ((b[40] = b[40]! ^ 0x10), b)))],
  ['cosignature-high-s', 'S + L (not below L: refused before sodium)', witnessLine(reblob((b) => addL(b)))],
];
function addL(b: Uint8Array): Uint8Array {
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 75; i >= 44; i--) s = (s << 8n) | BigInt(b[i]!);
  s += L;
  for (let i = 44; i < 76; i++) {
    b[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return b;
}
for (const [id, d, text] of cosignCases)
  add(id, d, 'verifyCosignature', { note: b64(utf8(text)), vkey: w1.vkey }, () => {
    const n = verifyNote(text, [cosig.cosignatureVerifier(w1.vkey)]);
    return { timestamp: cosig.cosignatureTimestamp(n.verified[0].signature.signature) };
  });

// tlog-policy parsing and quorums.
const [W1, W2, W3] = log.witnesses.map((w: any) => w.vkey);
const policyResult = (text: string) => () => {
  const p = policyMod.parseTlogPolicy(utf8(text));
  return {
    logs: p.logs.map((l: any) => ({ name: l.key.name, ...(l.url ? { url: l.url } : {}) })),
    witnesses: [...p.witnesses.values()].map((w: any) => ({ name: w.name, key: w.key.name, ...(w.url ? { url: w.url } : {}) })),
    groups: [...p.groups.values()].map((g: any) => ({ name: g.name, threshold: g.threshold, members: g.members })),
    quorum: p.quorum,
  };
};
const L = `log ${log.signer.vkey}`;
const policyCases: Array<[string, string, string]> = [
  ['policy-simple', 'a log, three witnesses, 2 of 3', log.policy(2)],
  ['policy-none', 'quorum none', `${L}\nquorum none\n`],
  [
    'policy-urls-tabs-comments',
    'URLs, tabs, comments and blank lines',
    `# a comment\n\n${L} https://log.example/\nwitness\tA\t${W1}\thttps://w1.example/\n  witness B ${W2}\ngroup G any A B\nquorum G\n`,
  ],
  ['policy-nested', 'nested groups, all and a number', `${L}\nwitness A ${W1}\nwitness B ${W2}\nwitness C ${W3}\ngroup AB all A B\ngroup X 1 AB C\nquorum X\n`],
  ['policy-no-trailing-newline', 'no final newline', `${L}\nquorum none`],
  ['policy-no-quorum', 'no quorum line', `${L}\n`],
  ['policy-two-quorums', 'two quorum lines', `${L}\nquorum none\nquorum none\n`],
  ['policy-undefined-quorum', 'the quorum names nothing defined', `${L}\nquorum A\n`],
  ['policy-forward-reference', 'a group member defined later', `${L}\ngroup G any A\nwitness A ${W1}\nquorum G\n`],
  ['policy-redefined', 'a name defined twice', `${L}\nwitness A ${W1}\nwitness A ${W2}\nquorum A\n`],
  ['policy-none-name', 'a witness named none', `${L}\nwitness none ${W1}\nquorum none\n`],
  ['policy-none-member', 'none as a group member', `${L}\nwitness A ${W1}\ngroup G any A none\nquorum G\n`],
  ['policy-member-twice', 'a member listed twice', `${L}\nwitness A ${W1}\ngroup G any A A\nquorum G\n`],
  ['policy-threshold-zero', 'threshold 0', `${L}\nwitness A ${W1}\ngroup G 0 A\nquorum G\n`],
  ['policy-threshold-over', 'threshold above the members', `${L}\nwitness A ${W1}\ngroup G 2 A\nquorum G\n`],
  ['policy-threshold-leading-zero', 'threshold 01', `${L}\nwitness A ${W1}\ngroup G 01 A\nquorum G\n`],
  ['policy-group-no-members', 'a group with no members', `${L}\ngroup G any\nquorum none\n`],
  ['policy-log-type-4', 'a log key of type 4', `log ${W1}\nquorum none\n`],
  ['policy-witness-type-1', 'a witness key of type 1', `${L}\nwitness A ${log.signer.vkey}\nquorum none\n`],
  ['policy-same-key', 'one public key as two witnesses (other names)', `${L}\nwitness A ${W1}\nwitness B ${W1.replace(/^[^+]+/, 'other')}\nquorum A\n`],
  [
    'policy-log-as-witness',
    "the log's public key as a witness (a log cannot be its own witness)",
    `${L}\nwitness A ${formatVkey('witness.example/self', SIG_COSIGNATURE_V1, log.signer.publicKey ?? parseVkey(log.signer.vkey).publicKey)}\nquorum A\n`,
  ],
  [
    'policy-two-logs-one-key',
    'one public key as two logs (other names)',
    `${L}\nlog ${formatVkey('other.example/log', SIG_ED25519, parseVkey(log.signer.vkey).publicKey)}\nquorum none\n`,
  ],
  ['policy-two-logs', 'two logs with their own keys', `${L}\nlog ${formatVkey('other.example/log', SIG_ED25519, pk(5))}\nquorum none\n`],
  ['policy-bad-vkey', 'a malformed vkey', `log ${LOG_MD_VKEY.replace('530d903a', '530d903b')}\nquorum none\n`],
  ['policy-unknown-keyword', 'an unknown keyword', `${L}\nwitnesses A ${W1}\nquorum none\n`],
  ['policy-control-byte', 'a carriage return', `${L}\r\nquorum none\n`],
  ['policy-del-byte', 'a DEL byte', `${L}\nquorum none\x7f\n`],
  ['policy-hash-name', 'a name holding #', `${L}\nwitness A#1 ${W1}\nquorum A#1\n`],
  ['policy-no-log', 'no log line (parses; the site check refuses it)', 'quorum none\n'],
  ['policy-log-extra-item', 'log with three items', `${L} https://a/ extra\nquorum none\n`],
  ['policy-quorum-two-items', 'quorum with two items', `${L}\nquorum none none\n`],
];
for (const [id, d, text] of policyCases) add(id, d, 'parseTlogPolicy', { policy: b64(utf8(text)) }, policyResult(text));
add(
  'policy-latin1-name',
  'a witness name with a 0xE9 byte (opaque bytes)',
  'parseTlogPolicy',
  { policy: b64(new Uint8Array([...utf8(`${L}\nwitness `), 0xe9, ...utf8(` ${W1}\nquorum none\n`)])) },
  () => {
    const p = policyMod.parseTlogPolicy(new Uint8Array([...utf8(`${L}\nwitness `), 0xe9, ...utf8(` ${W1}\nquorum none\n`)]));
    return { witnesses: p.witnesses.size };
  },
);
add(
  'policy-too-large',
  'over 256 KiB',
  'parseTlogPolicy',
  { policy: b64(utf8(`${L}\nquorum none\n` + '#'.repeat(262144))) },
  policyResult(`${L}\nquorum none\n` + '#'.repeat(262144)),
);
const nested = `${L}\nwitness A ${W1}\nwitness B ${W2}\nwitness C ${W3}\ngroup AB all A B\ngroup X 1 AB C\nquorum X\n`;
for (const set of [[], ['A'], ['B'], ['C'], ['A', 'B'], ['A', 'C'], ['B', 'C'], ['A', 'B', 'C']]) {
  add(
    `quorum-nested-${set.join('') || 'none'}`,
    `quorum (A and B) or C with ${set.join(', ') || 'no witness'}`,
    'quorumMet',
    { policy: b64(utf8(nested)), cosigned: set },
    () => ({
      met: policyMod.quorumMet(policyMod.parseTlogPolicy(nested), new Set(set)),
    }),
  );
}
for (const set of [[], ['W1'], ['W1', 'W3'], ['W1', 'W2', 'W3']]) {
  add(
    `quorum-2-of-3-${set.join('') || 'none'}`,
    `2 of 3 with ${set.join(', ') || 'no witness'}`,
    'quorumMet',
    { policy: b64(utf8(log.policy(2))), cosigned: set },
    () => ({
      met: policyMod.quorumMet(policyMod.parseTlogPolicy(log.policy(2)), new Set(set)),
    }),
  );
}

// tlog-proof parsing.
const proofText: string = log.proof(1, cpNote);
const proofLines = proofText.split('\n');
const proofCases: Array<[string, string, string]> = [
  ['proof-parse', 'a proof with extra, index and one hash', proofText],
  ['proof-no-extra', 'without extra', log.proof(1, cpNote, false)],
  [
    'proof-no-hashes',
    'index 0 of a size-1 tree: no hashes',
    (() => {
      const l = new MemoryLog();
      l.append(utf8('only'));
      return l.proof(0, l.checkpoint(T));
    })(),
  ],
  ['proof-bad-header', 'another header', proofText.replace('tlog-proof@v1', 'tlog-proof@v2')],
  ['proof-index-leading-zero', 'index 01', proofText.replace('\nindex 1\n', '\nindex 01\n')],
  ['proof-no-index', 'no index line', proofText.replace(/\nindex 1\n/, '\n')],
  ['proof-index-2-53', 'index 2^53', proofText.replace('\nindex 1\n', '\nindex 9007199254740992\n')],
  ['proof-empty-extra', 'an empty extra', proofText.replace(/\nextra [^\n]*\n/, '\nextra \n')],
  ['proof-bad-extra', 'extra not canonical base64', proofText.replace(/\nextra ([^\n]*)=\n/, '\nextra $1\n')],
  ['proof-short-hash', 'a 31-byte hash', proofLines.map((l, i) => (i === 3 ? b64(unb64(l).subarray(1)) : l)).join('\n')],
  ['proof-no-blank', 'no empty line', proofText.replace('\n\n', '\n')],
  ['proof-64-hashes', '64 hashes', proofText.replace('\nindex 1\n', `\nindex 1\n${`${b64(new Uint8Array(32))}\n`.repeat(63)}`)],
  ['proof-bad-checkpoint', 'the checkpoint size has a leading zero', proofText.replace('\n3\n', '\n03\n')],
  [
    'proof-bad-note',
    'the checkpoint note has no signature line',
    proofText.replace(/\n\n[^\n]*\n[^\n]*\n[^\n]*\n\n[\s\S]*$/, (m) => m.split('\n\n').slice(0, 2).join('\n\n') + '\n\n'),
  ],
  ['proof-too-large', 'over 128 KiB', proofText.replace('\nindex 1\n', '\nindex 1\n') + 'x'.repeat(131072)],
];
for (const [id, d, text] of proofCases)
  add(id, d, 'parseProof', { proof: b64(utf8(text)) }, () => {
    const p = proofMod.parseProof(utf8(text));
    return {
      ...(p.extra ? { extra: b64(p.extra) } : {}),
      index: p.index,
      proof: p.proof.map(b64),
      origin: p.checkpoint.origin,
      size: p.checkpoint.size,
      signatures: p.checkpoint.note.signatures.length,
    };
  });

// Entries: the entry for each document kind, and the entry check.
const f = fixtures();
const envelopeBytes = (e: unknown): Uint8Array => utf8(JSON.stringify(e));
const docs: Record<string, Uint8Array> = {
  'release-a': envelopeBytes(f.releaseA.envelope),
  'release-b': envelopeBytes(f.releaseB.envelope),
  'release-c': envelopeBytes(f.releaseC.envelope),
  'policy-v1': f.policyV1.bytes,
  'policy-v2': f.policyV2.bytes,
  'revocation-a': f.revocationA.bytes,
};
for (const [name, bytes] of Object.entries(docs))
  add(`entry-for-${name}`, `the entry bytes for ${name}`, 'entryForEnvelope', { document: name }, () => ({ entry: b64(entryMod.entryForEnvelope(bytes)) }));
add('entry-for-garbage', 'a document that does not open', 'entryForEnvelope', { documentBytes: b64(utf8('{"payloadType":1}')) }, () =>
  entryMod.entryForEnvelope(utf8('{"payloadType":1}')),
);
const entryA = JSON.parse(Buffer.from(entryMod.entryForEnvelope(docs['release-a']!)).toString('utf8'));
const entryP = JSON.parse(Buffer.from(entryMod.entryForEnvelope(docs['policy-v1']!)).toString('utf8'));
const canon = (o: unknown): string => Buffer.from((entryMod.encodeEntry as (e: unknown) => Uint8Array)(o)).toString('utf8');
const entryCases: Array<[string, string, string, string]> = [
  ['entry-check-same', 'the entry of release A against release A', canon(entryA), 'release-a'],
  [
    'entry-check-fewer-signatures',
    'release A logged with one signature fewer (signatures are not compared)',
    canon({ ...entryA, signatures: entryA.signatures.slice(1) }),
    'release-a',
  ],
  [
    'entry-check-other-release',
    'the entry of release B against release A',
    canon(JSON.parse(Buffer.from(entryMod.entryForEnvelope(docs['release-b']!)).toString('utf8'))),
    'release-a',
  ],
  ['entry-check-other-version', 'release A with another version', canon({ ...entryA, version: '10.2.9' }), 'release-a'],
  [
    'entry-check-other-archive',
    'release A with another archive size',
    canon({ ...entryA, archive: { ...entryA.archive, size: entryA.archive.size + 1 } }),
    'release-a',
  ],
  ['entry-check-other-payload', 'release A with another manifest SHA-256', canon({ ...entryA, payloadSha256: '0'.repeat(64) }), 'release-a'],
  ['entry-check-policy', 'the policy entry against the policy', canon(entryP), 'policy-v1'],
  ['entry-check-policy-vs-release', 'the policy entry against release A', canon(entryP), 'release-a'],
  ['entry-check-not-canonical', 'the entry with a space (not canonical JSON)', canon(entryA).replace(',', ', '), 'release-a'],
  ['entry-check-unknown-type', 'an unknown entry type', canon({ ...entryA, entry: 'countersign.other/v1' }), 'release-a'],
  ['entry-check-extra-member', 'an extra member', canon({ ...entryA, note: 'x' }), 'release-a'],
  ['entry-check-unsorted-signatures', 'signatures out of order', canon({ ...entryA, signatures: [...entryA.signatures].reverse() }), 'release-a'],
  ['entry-check-duplicate-signature', 'a signature twice', canon({ ...entryA, signatures: [entryA.signatures[0], ...entryA.signatures] }), 'release-a'],
  [
    'entry-check-bad-keyid',
    'an upper-case keyid',
    canon({ ...entryA, signatures: [{ ...entryA.signatures[0], keyid: entryA.signatures[0].keyid.toUpperCase() }] }),
    'release-a',
  ],
  ['entry-check-fraction-size', 'an archive size of 1.5', canon({ ...entryA, archive: { ...entryA.archive, size: 1.5 } }), 'release-a'],
  ['entry-check-policy-version-0', 'policyVersion 0', canon({ ...entryA, policyVersion: 0 }), 'release-a'],
  [
    'entry-check-wrong-payload-type',
    'a release statement for a policy payload type',
    canon({ ...entryA, payloadType: 'application/vnd.countersign.policy+json' }),
    'release-a',
  ],
  ['entry-check-array', 'a JSON array', '[]', 'release-a'],
  [
    'entry-check-policy-bad-base64',
    'a policy entry whose payload is URL-safe base64',
    canon({ ...entryP, payload: entryP.payload.replace(/\+/g, '-').replace(/\//g, '_') + (/[+/]/.test(entryP.payload) ? '' : '-') }),
    'policy-v1',
  ],
  ['entry-check-long-version', 'a version of 1025 characters', canon({ ...entryA, version: 'v'.repeat(1025) }), 'release-a'],
];
for (const [id, d, entry, doc] of entryCases)
  add(id, d, 'checkEntry', { entry: b64(utf8(entry)), document: doc }, () =>
    entryMod.checkEntryForEnvelope(entryMod.parseEntry(utf8(entry)).entry, docs[doc]!),
  );

// The site's check (verifyLogProof), on a log holding policy v1, releases A and B, and revocation A.
const site = new MemoryLog();
const idx: Record<string, number> = {};
for (const name of ['policy-v1', 'release-a', 'release-b', 'revocation-a']) idx[name] = site.append(entryMod.entryForEnvelope(docs[name]!));
const NOW = Math.floor(FIXTURE_NOW.getTime() / 1000);
const siteCp = site.checkpoint(T);
const sitePolicy = site.policy(2);
const verify =
  (input: { document: string; proof?: string; policy?: string; now?: number; maxAgeSeconds?: number; largestSeen?: string; consistency?: Uint8Array[] }) =>
  () => {
    const r = verifyMod.verifyLogProof({
      envelopeBytes: docs[input.document]!,
      proof: input.proof === undefined ? undefined : utf8(input.proof),
      policy: policyMod.parseTlogPolicy(utf8(input.policy ?? sitePolicy)),
      now: new Date((input.now ?? NOW) * 1000),
      ...(input.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: input.maxAgeSeconds }),
      ...(input.largestSeen === undefined ? {} : { largestSeen: input.largestSeen }),
      ...(input.consistency === undefined ? {} : { consistency: input.consistency }),
    });
    return { index: r.index, entry: b64(r.entry), witnesses: r.witnesses, cosigned: r.cosigned, consistency: r.consistency, newLargest: r.newLargest ?? null };
  };
const siteCase = (
  id: string,
  d: string,
  input: { document: string; proof?: string; policy?: string; now?: number; maxAgeSeconds?: number; largestSeen?: string; consistency?: Uint8Array[] },
) =>
  add(
    id,
    d,
    'verifyLogProof',
    {
      document: input.document,
      ...(input.proof === undefined ? {} : { proof: b64(utf8(input.proof)) }),
      policy: b64(utf8(input.policy ?? sitePolicy)),
      now: input.now ?? NOW,
      ...(input.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: input.maxAgeSeconds }),
      ...(input.largestSeen === undefined ? {} : { largestSeen: b64(utf8(input.largestSeen)) }),
      ...(input.consistency === undefined ? {} : { consistency: input.consistency.map(b64) }),
    },
    verify(input),
  );
const sp = (name: string, cp = siteCp, extra = true, l = site) => l.proof(idx[name]!, cp, extra);
for (const name of ['policy-v1', 'release-a', 'release-b', 'revocation-a']) {
  siteCase(`site-${name}`, `${name} logged, entry in extra, quorum 2 of 3 met by W1..W3`, { document: name, proof: sp(name) });
  siteCase(`site-${name}-no-extra`, `${name} logged, entry rebuilt from the document`, { document: name, proof: sp(name, siteCp, false) });
}
siteCase('site-not-logged', 'no proof at all', { document: 'release-a' });
siteCase('site-other-entry', "release B's proof (extra) for release A", { document: 'release-a', proof: sp('release-b') });
siteCase('site-other-index', "release B's proof without extra for release A", { document: 'release-a', proof: sp('release-b', siteCp, false) });
siteCase('site-entry-invalid', 'an extra that is not an entry', {
  document: 'release-a',
  proof: sp('release-a').replace(/\nextra [^\n]*\n/, `\nextra ${b64(utf8('not json'))}\n`),
});
siteCase('site-tampered-hash', 'an inclusion hash flipped', {
  document: 'release-a',
  proof: sp('release-a').replace(/\nindex 1\n(.)/, (_m: string, c: string) => `\nindex 1\n${c === 'A' ? 'B' : 'A'}`),
});
siteCase('site-wrong-index', 'the right hashes at another index', { document: 'release-a', proof: sp('release-a').replace('\nindex 1\n', '\nindex 3\n') });
siteCase('site-index-beyond', 'an index beyond the size', { document: 'release-a', proof: sp('release-a').replace('\nindex 1\n', '\nindex 9\n') });
siteCase('site-other-origin', 'a checkpoint of another origin signed by the same key', {
  document: 'release-a',
  proof: sp('release-a', site.checkpoint(T, 3, 'other.example/log')),
});
const siteText = parseNote(siteCp).text;
const forged = parseNote(signNote(siteText, [ed25519Signer(site.signer.name, new Uint8Array(32).fill(9))]));
siteCase('site-other-key', 'the checkpoint signed by another key under the log name', {
  document: 'release-a',
  proof: sp('release-a', formatNote({ text: siteText, signatures: [...forged.signatures, ...parseNote(siteCp).signatures.slice(1)] })),
});
siteCase('site-log-signature-bad', "the log's own signature flipped", {
  document: 'release-a',
  proof: sp(
    'release-a',
    siteCp.replace(/(\u2014 countersign\.example\/log .{30})(.)/u, (_m: string, a: string, c: string) => a + (c === 'A' ? 'B' : 'A')),
  ),
});
siteCase('site-quorum-short', 'one cosignature of 2 needed', { document: 'release-a', proof: sp('release-a', site.checkpoint(T, 1)) });
siteCase('site-no-cosignatures', 'no cosignature at all', { document: 'release-a', proof: sp('release-a', site.checkpoint(T, 0)) });
siteCase('site-quorum-exact', 'exactly two cosignatures', { document: 'release-a', proof: sp('release-a', site.checkpoint(T, 2)) });
siteCase('site-future', 'cosignatures two hours ahead are not counted', { document: 'release-a', proof: sp('release-a', site.checkpoint(NOW + 7200)) });
siteCase('site-skew-ok', 'cosignatures 10 minutes ahead are counted', { document: 'release-a', proof: sp('release-a', site.checkpoint(NOW + 600)) });
siteCase('site-skew-over', 'cosignatures 10 minutes and a second ahead are not', { document: 'release-a', proof: sp('release-a', site.checkpoint(NOW + 601)) });
siteCase('site-stale', 'cosignatures older than max-age (1800 s)', { document: 'release-a', proof: sp('release-a'), maxAgeSeconds: 1800 });
siteCase('site-max-age-edge', 'cosignatures exactly max-age old are fresh', { document: 'release-a', proof: sp('release-a'), maxAgeSeconds: 3600 });
siteCase('site-stale-default', 'cosignatures 8 days old under the default 7 days', { document: 'release-a', proof: sp('release-a'), now: T + 8 * 86400 });
const mixed = (() => {
  const n = parseNote(site.checkpoint(T - 100000, 3));
  const fresh = parseNote(site.checkpoint(T, 3));
  return formatNote({ text: n.text, signatures: [n.signatures[0], n.signatures[1], fresh.signatures[2], n.signatures[3]] });
})();
siteCase('site-stale-one-fresh', 'one fresh cosignature and two old ones: the quorum is not met fresh', {
  document: 'release-a',
  proof: sp('release-a', mixed),
  maxAgeSeconds: 86400,
});
siteCase('site-bad-cosignature', "W2's cosignature does not verify", {
  document: 'release-a',
  proof: sp(
    'release-a',
    siteCp.replace(/(\u2014 witness\.example\/w2 .{40})(.)/u, (_m: string, a: string, c: string) => a + (c === 'A' ? 'B' : 'A')),
  ),
});
const outsider = new MemoryLog({ witnesses: 1 }).witnesses[0];
const unknownWitness = (() => {
  const n = parseNote(site.checkpoint(T, 2));
  const o = cosig.cosigner('witness.example/outsider', new Uint8Array(32).fill(0x44)).cosign(n.text, T);
  return formatNote({ text: n.text, signatures: [...n.signatures, o] });
})();
void outsider;
siteCase('site-unknown-witness', 'a cosignature by a witness the policy does not list is ignored', {
  document: 'release-a',
  proof: sp('release-a', unknownWitness),
});
siteCase('site-quorum-none', 'quorum none: no cosignature needed', {
  document: 'release-a',
  proof: sp('release-a', site.checkpoint(T, 0)),
  policy: `log ${site.signer.vkey}\nquorum none\n`,
});
siteCase('site-no-log', 'a policy with no log', { document: 'release-a', proof: sp('release-a'), policy: 'quorum none\n' });
siteCase('site-nested-quorum', 'quorum (W1 and W2) or W3, cosigned by W3 only', {
  document: 'release-a',
  proof: sp(
    'release-a',
    (() => {
      const n = parseNote(siteCp);
      return formatNote({ text: n.text, signatures: [n.signatures[0], n.signatures[3]] });
    })(),
  ),
  policy: `log ${site.signer.vkey}\nwitness W1 ${site.witnesses[0].vkey}\nwitness W2 ${site.witnesses[1].vkey}\nwitness W3 ${site.witnesses[2].vkey}\ngroup AB all W1 W2\ngroup Q any AB W3\nquorum Q\n`,
});
// Against the largest checkpoint seen.
const grown = new MemoryLog();
for (const e of site.entries) grown.append(e);
grown.append(utf8('a later entry'));
const cp5 = grown.checkpoint(T);
const fork = new MemoryLog();
for (const e of site.entries) fork.append(e);
fork.append(utf8('another fifth entry'));
const forkCp = fork.checkpoint(T);
const empty = new MemoryLog();
const emptyCp = empty.checkpoint(T);
const gp = (l: any, cp: string) => l.proof(idx['release-a']!, cp);
siteCase('site-same-as-seen', 'the checkpoint is the largest seen', { document: 'release-a', proof: sp('release-a'), largestSeen: siteCp });
siteCase('site-consistent', 'size 5 with a consistency proof from the size 4 seen', {
  document: 'release-a',
  proof: gp(grown, cp5),
  largestSeen: siteCp,
  consistency: grown.consistency(4),
});
siteCase('site-unchecked', 'size 5 and no consistency proof (offline)', { document: 'release-a', proof: gp(grown, cp5), largestSeen: siteCp });
siteCase('site-from-empty', 'the largest seen is the empty tree', { document: 'release-a', proof: sp('release-a'), largestSeen: emptyCp });
siteCase('site-from-bad-empty', 'the largest seen has size 0 but not the empty root', {
  document: 'release-a',
  proof: sp('release-a'),
  largestSeen: emptyCp.replace(b64(merkle.emptyRoot()), b64(new Uint8Array(32))),
});
siteCase('site-rollback', 'size 4 after size 5 was seen', { document: 'release-a', proof: sp('release-a'), largestSeen: cp5 });
siteCase('site-fork-same-size', 'another size-5 tree than the one seen', { document: 'release-a', proof: gp(fork, forkCp), largestSeen: cp5 });
const six = new MemoryLog();
for (const e of grown.entries) six.append(e);
six.append(utf8('sixth'));
siteCase('site-fork-inconsistent', 'size 6 whose consistency proof does not lead from the size-5 fork seen', {
  document: 'release-a',
  proof: gp(six, six.checkpoint(T)),
  largestSeen: forkCp,
  consistency: six.consistency(5),
});
siteCase('site-bad-consistency-empty', 'size 5 with an empty consistency proof from 4', {
  document: 'release-a',
  proof: gp(grown, cp5),
  largestSeen: siteCp,
  consistency: [],
});
siteCase('site-seen-other-origin', 'the largest seen is of another origin', {
  document: 'release-a',
  proof: sp('release-a'),
  largestSeen: site.checkpoint(T, 3, 'other.example/log'),
});
siteCase('site-seen-malformed', 'the largest seen does not parse', { document: 'release-a', proof: sp('release-a'), largestSeen: 'not a note' });
siteCase('site-order-mismatch-first', 'another entry and a stale checkpoint: the entry is checked first', {
  document: 'release-a',
  proof: sp('release-b'),
  maxAgeSeconds: 1,
});
siteCase('site-order-proof-before-signature', 'a bad inclusion proof in a checkpoint by another origin: BAD_PROOF first', {
  document: 'release-a',
  proof: sp('release-a', site.checkpoint(T, 3, 'other.example/log')).replace('\nindex 1\n', '\nindex 2\n'),
});
siteCase('site-order-quorum-before-stale', 'one stale cosignature: the quorum is reported before freshness', {
  document: 'release-a',
  proof: sp('release-a', site.checkpoint(T, 1)),
  maxAgeSeconds: 1,
});
siteCase('site-order-stale-before-rollback', 'stale and rolled back: CHECKPOINT_STALE first', {
  document: 'release-a',
  proof: sp('release-a'),
  maxAgeSeconds: 1,
  largestSeen: cp5,
});

// A bundle v2 with its proof section, for the PHP CLI test (verify --policy --log-policy).
const layout = bundleMod.parseBundleHeader(f.releaseA.bundle.subarray(0, 256), 1 << 24, f.releaseA.bundle.length);
const env = f.releaseA.bundle.subarray(layout.envelope.offset, layout.envelope.offset + layout.envelope.length);
const arc = f.releaseA.bundle.subarray(layout.archive.offset, layout.archive.offset + layout.archive.length);
const proofBytes = utf8(sp('release-a'));
const logged = new Uint8Array([...bundleMod.bundleHeader(env.length, arc.length, proofBytes.length), ...env, ...proofBytes, ...arc]);

const logVectors = {
  format: 1,
  description:
    'lib/log verdicts (note, vkeys, checkpoint, cosignature/v1, tlog-policy, tlog-proof, entry, verifyLogProof): each case is what the TypeScript function gave, "ok" with its result or [code]',
  source: 'generated by test/log-vectors/generate.ts from lib/log',
  documents: Object.fromEntries(Object.entries(docs).map(([k, v]) => [k, b64(v)])),
  cases,
};
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'merkle.json'), `${JSON.stringify(merkleVectors)}\n`);
writeFileSync(join(OUT, 'log.json'), `${JSON.stringify(logVectors, null, 1)}\n`);
writeFileSync(join(OUT, 'release-a.logged.bundle'), logged);
writeFileSync(join(OUT, 'release-a.proof'), proofBytes);
writeFileSync(join(OUT, 'policy-v1.signed.json'), docs['policy-v1']!);
writeFileSync(join(OUT, 'site.log-policy'), sitePolicy);
writeFileSync(
  join(OUT, 'cli.json'),
  `${JSON.stringify({ now: new Date(NOW * 1000).toISOString().replace('.000', ''), staleNow: new Date((T + 8 * 86400) * 1000).toISOString().replace('.000', ''), index: idx['release-a'] })}\n`,
);
const count = (s: string) => [...s].filter((c) => c === '.' || c === 'x').length;
console.log(
  `merkle: ${inclusion.length} inclusion + ${consistency.length} consistency proofs, ${inclusion.reduce((a, c) => a + count(c.tampers), 0)} + ${consistency.reduce((a, c) => a + count(c.tampers), 0)} tamper verdicts, ${tdInclusion.length} + ${tdConsistency.length} transparency-dev cases; log: ${cases.length} cases`,
);
