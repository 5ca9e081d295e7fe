// fast-check arbitraries and small helpers for test/properties.test.ts: byte mutations of a bundle,
// an in-memory bundle reader that mirrors lib/node/bundle-file.ts, and near-valid documents (manifests,
// policies, envelopes) that reach the checks behind schema validation.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { BUNDLE_HEADER_MAX, bundleHeader, looksLikeBundle, parseBundleHeader } from '../../lib/core/bundle.js';
import { concatBytes, toBase64, toHex, utf8 } from '../../lib/core/bytes.js';
import { canonicalBytes } from '../../lib/core/canonical.js';
import { MAX_ENVELOPE_BYTES, PAYLOAD_TYPES, type EnvelopeSignature } from '../../lib/core/envelope.js';
import { FormatError } from '../../lib/core/errors.js';
import type { Manifest } from '../../lib/core/manifest.js';
import type { Policy } from '../../lib/core/policy.js';
import type { BundleInput } from '../../lib/core/verify.js';

// ---------------------------------------------------------------------------------------------
// Reading a bundle from memory, exactly as openBundleFile reads it from disk.

/** The in-memory twin of lib/node/bundle-file.ts openBundleFile (header, envelope, archive range). */
export function openBundleBytes(
  file: Uint8Array,
  chunkSizes: readonly number[] = [1000],
  maxEnvelope = MAX_ENVELOPE_BYTES,
): BundleInput & { isBundle: boolean; archiveBytes?: Uint8Array } {
  const head = file.subarray(0, Math.min(file.length, BUNDLE_HEADER_MAX));
  if (!looksLikeBundle(head)) {
    if (file.length > maxEnvelope) throw new FormatError('SIZE_LIMIT', `${file.length} bytes; an envelope may be at most ${maxEnvelope}`);
    return { envelopeBytes: file, isBundle: false };
  }
  const layout = parseBundleHeader(head, maxEnvelope, file.length);
  const envelopeBytes = file.subarray(layout.envelope.offset, layout.envelope.offset + layout.envelope.length);
  if (!layout.archive) return { envelopeBytes, isBundle: true };
  const archive = file.subarray(layout.archive.offset, layout.archive.offset + layout.archive.length);
  return { envelopeBytes, isBundle: true, archiveBytes: archive, archive: { size: archive.length, chunks: () => inChunks(archive, chunkSizes) } };
}

/** Splits bytes into chunks whose sizes cycle through `sizes` (each at least 1). */
export async function* inChunks(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1000);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/** Chunk sizes for streaming: tiny (1..16, tar blocks split everywhere), around a block, or large. */
export const chunkSizesArb = fc.array(
  fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 16 }), weight: 1 },
    { arbitrary: fc.integer({ min: 500, max: 530 }), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 5000 }), weight: 2 },
  ),
  { minLength: 1, maxLength: 6 },
);

export function rebundle(envelope: Uint8Array, archive: Uint8Array): Uint8Array {
  return concatBytes(bundleHeader(envelope.length, archive.length), envelope, archive);
}

// ---------------------------------------------------------------------------------------------
// Byte mutations.

/** Bytes that matter to JSON, base64, the header line, UTF-8 and tar, mixed in with random ones. */
const INTERESTING = [
  ...Array.from(' \t\n\r"\\,:{}[]0189aAfFzZ+/=u-.x', (c) => c.charCodeAt(0)),
  0x00,
  0x01,
  0x7f,
  0x80,
  0xbf,
  0xc0,
  0xc3,
  0xe2,
  0xef,
  0xbb,
  0xff,
];
const BASE64_ALPHABET = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0));
/** Random bytes, bytes that matter to the formats, and base64 letters (which keep JSON and base64 valid). */
export const byteArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 3 },
  { arbitrary: fc.constantFrom(...INTERESTING), weight: 2 },
  { arbitrary: fc.constantFrom(...BASE64_ALPHABET), weight: 2 },
);
export const bytesArb = (maxLength: number) =>
  fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength }),
    fc.array(byteArb, { minLength: 1, maxLength }).map((a) => Uint8Array.from(a)),
  );

export type Region = readonly [start: number, end: number];

/** A position in [start, end) of one of the regions, each region equally likely. */
export function positionArb(regions: readonly Region[]): fc.Arbitrary<number> {
  const usable = regions.filter(([s, e]) => e > s);
  return fc.oneof(...usable.map(([s, e]) => fc.integer({ min: s, max: e - 1 })));
}

export type Edit = { kind: 'set'; at: number; value: number } | { kind: 'xor'; at: number; mask: number } | { kind: 'run'; at: number; bytes: Uint8Array };

export const editArb = (regions: readonly Region[]): fc.Arbitrary<Edit> =>
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: positionArb(regions), value: byteArb }),
    fc.record({
      kind: fc.constant('xor' as const),
      at: positionArb(regions),
      mask: fc.oneof(fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128), fc.integer({ min: 1, max: 255 })),
    }),
    fc.record({ kind: fc.constant('run' as const), at: positionArb(regions), bytes: bytesArb(16) }),
  );

/** Overwrites bytes in place (same length); positions past the end are clipped. */
export function applyEdits(bytes: Uint8Array, edits: readonly Edit[]): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (const e of edits) {
    if (e.kind === 'set') out[e.at] = e.value;
    else if (e.kind === 'xor') out[e.at] = out[e.at]! ^ e.mask;
    else out.set(e.bytes.subarray(0, Math.max(0, out.length - e.at)), e.at);
  }
  return out;
}

/** Length-changing mutations: insert, delete a slice, duplicate a slice, truncate. */
export type Splice =
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; start: number; length: number; at: number | 'after' }
  | { kind: 'truncate'; at: number };

export function insertArb(regions: readonly Region[], length: number): fc.Arbitrary<Splice> {
  return fc.record({ kind: fc.constant('insert' as const), at: fc.oneof(positionArb(regions), fc.constant(length)), bytes: bytesArb(64) });
}
export function deleteArb(regions: readonly Region[]): fc.Arbitrary<Splice> {
  return fc.record({
    kind: fc.constant('delete' as const),
    at: positionArb(regions),
    length: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 600 })),
  });
}
export function duplicateArb(regions: readonly Region[]): fc.Arbitrary<Splice> {
  return fc.record({
    kind: fc.constant('duplicate' as const),
    start: positionArb(regions),
    length: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 600 })),
    at: fc.oneof(fc.constant('after' as const), positionArb(regions)),
  });
}
export function truncateArb(regions: readonly Region[]): fc.Arbitrary<Splice> {
  return fc.record({ kind: fc.constant('truncate' as const), at: positionArb(regions) });
}

export function applySplice(bytes: Uint8Array, s: Splice): Uint8Array {
  switch (s.kind) {
    case 'insert':
      return concatBytes(bytes.subarray(0, s.at), s.bytes, bytes.subarray(s.at));
    case 'delete':
      return concatBytes(bytes.subarray(0, s.at), bytes.subarray(s.at + s.length));
    case 'duplicate': {
      const slice = bytes.slice(s.start, s.start + s.length);
      const at = s.at === 'after' ? Math.min(bytes.length, s.start + s.length) : s.at;
      return concatBytes(bytes.subarray(0, at), slice, bytes.subarray(at));
    }
    case 'truncate':
      return bytes.slice(0, s.at);
  }
}

/** Regions of a ustar archive: each header, each entry's content, its zero padding, the end blocks. */
export function tarRegions(tar: Uint8Array): Region[] {
  const regions: Region[] = [];
  let at = 0;
  while (at + 512 <= tar.length && tar.subarray(at, at + 512).some((b) => b !== 0)) {
    const size = parseInt(Buffer.from(tar.subarray(at + 124, at + 135)).toString('latin1'), 8);
    const padded = Math.ceil(size / 512) * 512;
    regions.push([at, at + 512], [at + 512, at + 512 + size], [at + 512 + size, at + 512 + padded]);
    at += 512 + padded;
  }
  regions.push([at, tar.length]);
  return regions.filter(([s, e]) => e > s);
}

// ---------------------------------------------------------------------------------------------
// Structured rewrites of a pretty-printed envelope: JSON-equivalent spellings (accepted, same
// meaning), duplicate members (a reader keeping the first and one keeping the last would disagree),
// extra members, signature list edits,
// other spellings of the payload.

interface Member {
  key: string; // raw JSON text of the name, quotes included
  value: string; // raw JSON text of the value
}

export type Rewrite =
  | { kind: 'reorder'; salt: number }
  | { kind: 'escapeKey'; member: number; char: number }
  | { kind: 'escapeSlash'; occurrence: number }
  | { kind: 'dupMember'; member: number; value: 'same' | 'other' | 'json'; json: fc.JsonValue; where: 'before' | 'after' }
  | { kind: 'extraMember'; name: string; json: fc.JsonValue }
  | { kind: 'sigs'; op: 'drop' | 'dup' | 'reverse' | 'empty' | 'extraField' | 'appendForeign'; index: number }
  | { kind: 'payloadSpelling'; op: 'unpadded' | 'urlsafe' | 'mimeLines' | 'trailingNewline' | 'leadingSpace' | 'uEscape' }
  | { kind: 'payloadType'; value: string };

export interface RewriteStyle {
  indent: number | '\t';
  crlf: boolean;
  spaceBeforeColon: boolean;
}

export const rewriteArb: fc.Arbitrary<Rewrite> = fc.oneof(
  fc.record({ kind: fc.constant('reorder' as const), salt: fc.integer() }),
  fc.record({ kind: fc.constant('escapeKey' as const), member: fc.nat(2), char: fc.nat(12) }),
  fc.record({ kind: fc.constant('escapeSlash' as const), occurrence: fc.nat(40) }),
  fc.record({
    kind: fc.constant('dupMember' as const),
    member: fc.nat(2),
    value: fc.constantFrom('same' as const, 'other' as const, 'json' as const),
    json: fc.jsonValue({ maxDepth: 2 }),
    where: fc.constantFrom('before' as const, 'after' as const),
  }),
  fc.record({
    kind: fc.constant('extraMember' as const),
    name: fc.oneof(fc.constantFrom('payloadtype', 'Payload', 'signature', 'keyid', '__proto__'), fc.string({ maxLength: 10 })),
    json: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    kind: fc.constant('sigs' as const),
    op: fc.constantFrom('drop' as const, 'dup' as const, 'reverse' as const, 'empty' as const, 'extraField' as const, 'appendForeign' as const),
    index: fc.nat(5),
  }),
  fc.record({
    kind: fc.constant('payloadSpelling' as const),
    op: fc.constantFrom('unpadded' as const, 'urlsafe' as const, 'mimeLines' as const, 'trailingNewline' as const, 'leadingSpace' as const, 'uEscape' as const),
  }),
  fc.record({
    kind: fc.constant('payloadType' as const),
    value: fc.oneof(
      fc.constantFrom(...Object.values(PAYLOAD_TYPES), PAYLOAD_TYPES.manifest.toUpperCase(), `${PAYLOAD_TYPES.manifest} `),
      fc.string({ maxLength: 60 }),
    ),
  }),
);

export const styleArb: fc.Arbitrary<RewriteStyle> = fc.record({
  indent: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant('\t' as const)),
  crlf: fc.boolean(),
  spaceBeforeColon: fc.boolean(),
});

export interface RewriteContext {
  /** Base64 of a different (validly signed, by someone) payload, for duplicate-member attacks. */
  otherPayload: string;
  /** A signature that is not over this document. */
  foreign: EnvelopeSignature;
}

/** Applies the rewrites to the envelope's JSON text and serialises it in the given style. */
export function rewriteEnvelope(text: string, rewrites: readonly Rewrite[], style: RewriteStyle, ctx: RewriteContext): string {
  const obj = JSON.parse(text) as { payloadType: string; payload: string; signatures: Array<Record<string, unknown>> };
  let sigs: Array<Record<string, unknown>> = obj.signatures.map((s) => ({ ...s }));
  let payload = JSON.stringify(obj.payload);
  let payloadType = JSON.stringify(obj.payloadType);
  const extra: Member[] = [];
  const dups: Array<{ member: Member; where: 'before' | 'after'; of: number }> = [];
  let order = [0, 1, 2];
  const keys = ['"payloadType"', '"payload"', '"signatures"'];
  for (const r of rewrites) {
    switch (r.kind) {
      case 'reorder':
        order = order
          .map((m, i) => ({ m, k: (Math.imul(i + 1, r.salt | 1) ^ r.salt) >>> 0 }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.m);
        break;
      case 'escapeKey': {
        const k = keys[r.member]!;
        const inner = k.slice(1, -1);
        const i = r.char % inner.length;
        // Leave characters that are already part of an escape alone (the respelling stays valid JSON).
        if ([...inner.matchAll(/\\u[0-9a-f]{4}/g)].some((m) => i >= m.index && i < m.index + 6)) break;
        keys[r.member] = `"${inner.slice(0, i)}\\u${inner.charCodeAt(i).toString(16).padStart(4, '0')}${inner.slice(i + 1)}"`;
        break;
      }
      case 'escapeSlash': {
        // "\/" is "/" to every JSON parser: the same string, another spelling.
        let seen = 0;
        payload = payload.replace(/\//g, (s) => (seen++ === r.occurrence ? '\\/' : s));
        break;
      }
      case 'dupMember': {
        const value =
          r.value === 'same'
            ? [payloadType, payload, JSON.stringify(sigs)][r.member]!
            : r.value === 'other'
              ? JSON.stringify(ctx.otherPayload)
              : JSON.stringify(r.json);
        dups.push({ member: { key: keys[r.member]!, value }, where: r.where, of: r.member });
        break;
      }
      case 'extraMember':
        extra.push({ key: JSON.stringify(r.name), value: JSON.stringify(r.json) });
        break;
      case 'sigs': {
        const i = sigs.length === 0 ? 0 : r.index % sigs.length;
        if (r.op === 'drop') sigs.splice(i, 1);
        else if (r.op === 'dup' && sigs.length > 0) sigs.splice(i, 0, { ...sigs[i] });
        else if (r.op === 'reverse') sigs.reverse();
        else if (r.op === 'empty') sigs = [];
        else if (r.op === 'extraField' && sigs.length > 0) sigs[i] = { ...sigs[i], note: 'x' };
        else if (r.op === 'appendForeign') sigs.push({ ...ctx.foreign });
        break;
      }
      case 'payloadSpelling': {
        const b64 = JSON.parse(payload) as string;
        const spelled =
          r.op === 'unpadded'
            ? b64.replace(/=+$/, '')
            : r.op === 'urlsafe'
              ? b64.replace(/\+/g, '-').replace(/\//g, '_')
              : r.op === 'mimeLines'
                ? (b64.match(/.{1,76}/g) ?? []).join('\n')
                : r.op === 'trailingNewline'
                  ? `${b64}\n`
                  : r.op === 'leadingSpace'
                    ? ` ${b64}`
                    : b64;
        payload = r.op === 'uEscape' ? `"\\u${b64.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(b64).slice(2)}` : JSON.stringify(spelled);
        break;
      }
      case 'payloadType':
        payloadType = JSON.stringify(r.value);
        break;
    }
  }
  const values = [payloadType, payload, JSON.stringify(sigs, null, style.indent)];
  const members: Member[] = [];
  for (const m of order) {
    for (const d of dups) if (d.of === m && d.where === 'before') members.push(d.member);
    members.push({ key: keys[m]!, value: values[m]! });
    for (const d of dups) if (d.of === m && d.where === 'after') members.push(d.member);
  }
  members.push(...extra);
  const nl = style.crlf ? '\r\n' : '\n';
  const pad = style.indent === '\t' ? '\t' : ' '.repeat(style.indent);
  const sep = style.indent === 0 ? ',' : `,${nl}`;
  const open = style.indent === 0 ? '{' : `{${nl}`;
  const close = style.indent === 0 ? '}' : `${nl}}`;
  const colon = style.spaceBeforeColon ? ' : ' : style.indent === 0 ? ':' : ': ';
  return `${open}${members.map((m) => `${style.indent === 0 ? '' : pad}${m.key}${colon}${m.value.replace(/\n/g, nl)}`).join(sep)}${close}${nl}`;
}

// ---------------------------------------------------------------------------------------------
// Near-valid values: pass the schema often, and then exercise the rules behind it.

export const hex64Arb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
export const hex128Arb = fc.uint8Array({ minLength: 64, maxLength: 64 }).map(toHex);

export const versionArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '10.2.3',
    '10.2.4',
    '10.2.5',
    '10.3.0-rc1',
    '10.2.4-RC1',
    '10.2.4-dev',
    '8.x-1.2',
    '7.x-3.9',
    '6.5',
    '11.0.0-alpha0',
    '10.2.4+build.7',
    '010.2.4',
    '10.2.3.0',
    '10.2.3.0.0',
    '999999999.0',
    '1000000000.0',
    '10.x-dev',
    '8.x-1.x-dev',
    '1.0.0-beta01',
    '0',
  ),
  fc
    .tuple(
      fc.array(fc.oneof(fc.nat(20), fc.nat()), { minLength: 1, maxLength: 6 }),
      fc.constantFrom('', '-dev', '-rc1', '-beta2', '-alpha', '+b', '-RC03', '-rc'),
      fc.option(fc.nat(12)),
    )
    .map(([nums, suffix, core]) => `${core === null ? '' : `${core}.x-`}${nums.join('.')}${suffix}`),
  fc.stringMatching(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/),
);

// Valid release versions only, of every scheme parseVersion accepts: legacy `N.x-…` and numeric; 1 to 4
// segments; -dev or a numbered alpha/beta/rc in any case; build metadata. Small numbers most of the
// time, so equal, trailing-zero (6.5 = 6.5.0) and neighbouring versions come up often.
const versionNumberArb = fc.oneof({ weight: 5, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: fc.nat(999_999_999) });
export type VersionSchemeName = 'legacy' | 'numeric';

export function releaseVersionArb(scheme?: VersionSchemeName): fc.Arbitrary<string> {
  const core =
    scheme === 'numeric'
      ? fc.constant(null)
      : scheme === 'legacy'
        ? fc.oneof(fc.constantFrom(6, 7, 8), versionNumberArb)
        : fc.option(fc.constantFrom(6, 7, 8), { nil: null });
  const pre = fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    fc.constantFrom('-dev', '-DEV'),
    fc.tuple(fc.constantFrom('alpha', 'beta', 'rc', 'RC', 'Beta'), versionNumberArb).map(([tag, n]) => `-${tag}${n}`),
  );
  const build = fc.oneof({ weight: 4, arbitrary: fc.constant('') }, fc.constantFrom('+b', '+build.7', '+20260101'));
  return fc
    .tuple(core, fc.array(versionNumberArb, { minLength: 1, maxLength: 4 }), pre, build)
    .map(([c, nums, p, b]) => `${c === null ? '' : `${c}.x-`}${nums.join('.')}${p}${b}`);
}

export const timestampArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')),
  fc.constantFrom(
    '2026-11-23T12:00:00Z',
    '2026-11-23T11:59:59Z',
    '2026-11-23T12:00:01Z',
    '2026-02-29T00:00:00Z',
    '2024-02-29T24:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:60Z',
    '2026-13-01T00:00:00Z',
  ),
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
    )
    .map(([y, mo, d, h, mi, s]) => `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}Z`),
  fc.string({ maxLength: 25 }),
);
function p2(n: number): string {
  return String(n).padStart(2, '0');
}

const SEGMENTS = [
  'core',
  'lib',
  'Core',
  'LIB',
  'Drupal.php',
  'drupal.php',
  'bootstrap.inc',
  'legacy.inc',
  'Sanitizer.php',
  '.',
  '..',
  '...',
  'CON',
  'con.txt',
  'aux.php',
  'COM¹',
  'x.',
  'x ',
  ' x',
  'ﬁle',
  'ſ',
  'e\u0301',
  'é',
  'a\u200bb',
  'a\u202eb',
  'a:b',
  'a\\b',
  'a\0b',
  'K',
  '\u212a',
  'x'.repeat(100),
  'y'.repeat(101),
  'ß',
  'ss',
  '.htaccess',
  '~',
  '',
];
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'core/lib/Drupal.php',
    'core/bootstrap.inc',
    'core/legacy.inc',
    'core/lib/Sanitizer.php',
    'core/lib',
    'core/lib/Drupal.php/x',
    'index.php',
    '/etc/passwd',
    'core//lib',
    'core/',
    `${'p/'.repeat(80)}f`,
    `${'q'.repeat(156)}/f`,
  ),
  fc
    .array(
      fc.oneof({ arbitrary: fc.constantFrom(...SEGMENTS), weight: 3 }, { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), weight: 1 }),
      { minLength: 1, maxLength: 5 },
    )
    .map((s) => s.join('/')),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

const RISK_PARTS = ['AC', 'A', 'CI', 'II', 'E', 'TD', 'X', 'ac', ''];
const RISK_VALUES = [
  'None',
  'Basic',
  'Complex',
  'User',
  'Admin',
  'All',
  'Some',
  'Exploit',
  'Proof',
  'Theoretical',
  'Default',
  'Uncommon',
  'none',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  '',
];
export const riskVectorArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'AC:None/A:None/CI:All/II:All/E:Exploit/TD:Default',
    'AC:Basic/A:None/CI:None/II:None/E:Exploit/TD:Default',
    'AC:Complex/A:Admin/CI:None/II:None/E:Theoretical/TD:Uncommon',
    'AC:None/A:None/CI:All/II:All/E:Exploit/TD:All',
  ),
  fc
    .tuple(fc.constantFrom(...RISK_PARTS), fc.constantFrom(...RISK_VALUES))
    .map(([k, v]) => `${k}:${v}`)
    .chain((first) =>
      fc
        .array(fc.tuple(fc.constantFrom(...RISK_PARTS), fc.constantFrom(...RISK_VALUES)), { maxLength: 7 })
        .map((rest) => [first, ...rest.map(([k, v]) => `${k}:${v}`)].join('/')),
    ),
  fc
    .array(fc.constantFrom('AC', 'A', 'CI', 'II', 'E', 'TD'), { minLength: 6, maxLength: 6 })
    .chain((codes) =>
      fc.array(fc.constantFrom(...RISK_VALUES), { minLength: 6, maxLength: 6 }).map((vals) => codes.map((c, i) => `${c}:${vals[i]}`).join('/')),
    ),
  fc.string({ maxLength: 210 }),
);

const nameArb = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,63}$/), fc.constantFrom('drupal', 'core', 'wordpress', 'views'), fc.string({ maxLength: 70 }));
const numberLikeArb = (around: number) =>
  fc.oneof(fc.integer({ min: Math.max(0, around - 3), max: around + 3 }), fc.nat(), fc.maxSafeNat(), fc.constantFrom(-1, 1.5, 2 ** 53, 0), fc.integer());

type Mutator<T> = (value: T) => void;

/** A mutator that fast-check prints by what it does (counterexamples stay readable). */
function mut<T>(description: string, apply: Mutator<T>): Mutator<T> {
  return Object.assign(apply, { [fc.toStringMethod]: () => description });
}
const show = (v: unknown) => fc.stringify(v);

/** Element i (mod length) of an array member that earlier mutators may have replaced by anything. */
function elementOf(list: unknown, i: number): Record<string, unknown> | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const e: unknown = list[i % list.length];
  return e !== null && typeof e === 'object' && !Array.isArray(e) ? (e as Record<string, unknown>) : undefined;
}

/** One change to a manifest; most keep it schema-valid so the later rules get exercised. */
export function manifestMutatorArb(base: Manifest): fc.Arbitrary<Mutator<Manifest>> {
  type M = Mutator<Manifest>;
  const fileIndex = fc.nat(Math.max(0, base.files.length));
  const set = (field: string, value: unknown): M =>
    mut(`${field} = ${show(value)}`, (m) => {
      const path = field.split('.');
      let at: unknown = m;
      for (const k of path.slice(0, -1)) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[k] : undefined;
      if (at !== null && typeof at === 'object') (at as Record<string, unknown>)[path[path.length - 1]!] = value;
    });
  const setFile = (i: number, field: string, value: unknown): M =>
    mut(`files[${i}].${field} = ${show(value)}`, (m) => {
      const f = elementOf(m.files, i);
      if (f && (field === 'path' || field === 'op' || f.op !== 'delete')) f[field] = value;
    });
  return fc.oneof(
    versionArb.map((v) => set('version', v)),
    fc.array(versionArb, { maxLength: 4 }).map((a) => set('appliesTo', a)),
    fc
      .oneof(
        fc.constant(null),
        fc.record({
          vector: riskVectorArb,
          score: fc.integer({ min: 0, max: 25 }),
          level: fc.constantFrom('Not Critical', 'Less Critical', 'Moderately Critical', 'Critical', 'Highly Critical'),
        }),
      )
      .map((r) => set('risk', r)),
    riskVectorArb.map((v) => set('risk.vector', v)),
    fc.oneof(fc.constant(null), fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.string({ maxLength: 70 })).map((a) => set('advisory', a)),
    fc.oneof(fc.stringMatching(/^[A-Za-z0-9._+-]{1,20}$/), fc.constantFrom('.', '..', 'a'), fc.string()).map((n) => set('archive.name', n)),
    numberLikeArb(base.archive.size).map((v) => set('archive.size', v)),
    hex64Arb.map((h) => set('archive.sha256', h)),
    hex128Arb.map((h) => set('archive.sha512', h)),
    numberLikeArb(0).map((v) => set('archive.mtime', v)),
    fc.tuple(fileIndex, pathArb).map(([i, v]) => setFile(i, 'path', v)),
    fc.tuple(fileIndex, numberLikeArb(49)).map(([i, v]) => setFile(i, 'size', v)),
    fc.tuple(fileIndex, fc.constantFrom('0644', '0755', '0600', '4755', 'rwx')).map(([i, v]) => setFile(i, 'mode', v)),
    fc.tuple(fileIndex, hex64Arb).map(([i, v]) => setFile(i, 'sha256', v)),
    fc.tuple(fileIndex, fc.constantFrom('add', 'modify', 'delete')).map(([i, v]) => setFile(i, 'op', v)),
    fc.tuple(fileIndex, fc.boolean()).map(([i, dup]) =>
      mut<Manifest>(`${dup ? 'duplicate' : 'remove'} files[${i}]`, (m) => {
        if (!Array.isArray(m.files) || m.files.length === 0) return;
        const at = i % m.files.length;
        if (dup) m.files.splice(at, 0, structuredClone(m.files[at]!));
        else m.files.splice(at, 1);
      }),
    ),
    fc.tuple(pathArb, hex64Arb, fc.nat(100)).map(([path, sha256, size]) =>
      mut<Manifest>(`add op ${show(path)}`, (m) => {
        if (Array.isArray(m.files)) m.files.push({ op: 'add', path, sha256, size, mode: '0644' });
      }),
    ),
    fc
      .array(fc.array(fc.oneof(fc.constantFrom('drush', 'updb', '-y', '$(rm -rf /)', ''), fc.string({ unit: 'grapheme', maxLength: 12 })), { maxLength: 4 }), {
        maxLength: 3,
      })
      .map((v) => set('postUpdate', v)),
    timestampArb.map((t) => set('created', t)),
    timestampArb.map((t) => set('expires', t)),
    fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer(), fc.constant(1e9), fc.constant(1e9 + 1)).map((v) => set('policyVersion', v)),
    nameArb.map((v) => set('product', v)),
    nameArb.map((v) => set('component', v)),
    fc.tuple(fc.constantFrom(...Object.keys(base), 'extra', '__proto__'), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined))).map(([k, v]) =>
      mut<Manifest>(v === undefined ? `delete ${k}` : `own member ${k} = ${show(v)}`, (m) => {
        const rec = m as unknown as Record<string, unknown>;
        if (v === undefined) delete rec[k];
        else Object.defineProperty(rec, k, { value: v, enumerable: true, writable: true, configurable: true });
      }),
    ),
  );
}

/** The pool member a policy signer entry is copied from, or a hand-made public key. */
export interface PoolKey {
  id: string;
  publicKey: Uint8Array;
  name: string;
}

// Encodings libsodium refuses as public keys: small order (identity, order 2/4/8), non-canonical y.
const WEAK_KEYS = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0100000000000000000000000000000000000000000000000000000000000080',
].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

/** One change to a policy document. Signer edits draw from `pool` so the result can be signed by its own keys. */
export function policyMutatorArb(pool: readonly PoolKey[]): fc.Arbitrary<Mutator<Policy>> {
  type M = Mutator<Policy>;
  const idx = fc.nat(7);
  const entry = (k: PoolKey) => ({ id: k.id, publicKey: toBase64(k.publicKey), name: k.name });
  const set = (field: string, value: unknown): M => mut(`${field} = ${show(value)}`, (p) => void ((p as unknown as Record<string, unknown>)[field] = value));
  const onSigner = (i: number, description: string, change: (s: Record<string, unknown>, p: Policy) => void): M =>
    mut(`signers[${i}]: ${description}`, (p) => {
      const s = elementOf(p.signers, i);
      if (s) change(s, p);
    });
  return fc.oneof(
    fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer(), fc.constant(1e9), fc.constant(1e9 + 1)).map((v) => set('version', v)),
    timestampArb.map((t) => set('expires', t)),
    fc.oneof(fc.integer({ min: -1, max: 9 }), fc.integer(), fc.constant(1.5)).map((t) => set('threshold', t)),
    fc
      .shuffledSubarray([...pool], { minLength: 0, maxLength: 8 })
      .map((ks) => mut<Policy>(`signers = [${ks.map((k) => k.name).join(', ')}]`, (p) => void (p.signers = ks.map(entry)))),
    fc.tuple(idx, fc.nat(pool.length - 1)).map(([i, j]) => onSigner(i, `replaced by ${pool[j]!.name}`, (s) => Object.assign(s, entry(pool[j]!)))),
    fc
      .tuple(
        idx,
        fc.oneof(fc.constantFrom(...WEAK_KEYS), fc.uint8Array({ minLength: 32, maxLength: 32 })),
        fc.constantFrom('recompute', 'keep', 'random'),
        hex64Arb,
      )
      .map(([i, key, idMode, randomId]) =>
        onSigner(i, `publicKey = ${toHex(key)}, id ${idMode}`, (s) => {
          s.publicKey = toBase64(key);
          if (idMode === 'recompute') s.id = sha256Hex(key);
          else if (idMode === 'random') s.id = randomId;
        }),
      ),
    fc
      .tuple(
        idx,
        fc.oneof(
          fc.constantFrom('signer-0', 'SIGNER-0', 'ｓigner-0', 'signer-0\u200b', ' ', 'Ǆ', 'ǆ', 'K', '\u212a'),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
        ),
      )
      .map(([i, n]) => onSigner(i, `name = ${show(n)}`, (s) => void (s.name = n))),
    fc.tuple(idx, hex64Arb).map(([i, h]) => onSigner(i, `id = ${h}`, (s) => void (s.id = h))),
    fc
      .tuple(idx, fc.boolean())
      .map(([i, rename]) =>
        onSigner(
          i,
          rename ? 'listed again under another name' : 'listed twice',
          (s, p) => void p.signers.push({ ...(s as unknown as Policy['signers'][number]), name: rename ? `${String(s.name)}-again` : (s.name as string) }),
        ),
      ),
    fc
      .tuple(fc.constantFrom('version', 'expires', 'threshold', 'signers', 'extra'), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)))
      .map(([k, v]) =>
        mut<Policy>(v === undefined ? `delete ${k}` : `${k} = ${show(v)}`, (p) => {
          const rec = p as unknown as Record<string, unknown>;
          if (v === undefined) delete rec[k];
          else rec[k] = v;
        }),
      ),
  );
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Canonical bytes when the value has them, else plain JSON (which parseCanonical must refuse). */
export function payloadBytesOf(value: unknown): Uint8Array {
  try {
    return canonicalBytes(value);
  } catch {
    return utf8(JSON.stringify(value) ?? 'null');
  }
}
