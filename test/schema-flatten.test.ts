// The signed documents' validators (lib/core/generated/validators.ts) are schemas/codegen.ts's code for the
// flattened form of the published schemas (schemas/flatten.ts). Here ajv compiles the published schemas
// themselves, as validators.ts was before (schemas/*.schema.json are unchanged), and both must give every
// document the same verdict and, when they refuse it, the same first error: its instance path and message,
// which is all lib/core/schema.ts reports (SCHEMA_INVALID "... does not match the NAME schema: PATH MESSAGE").
//
// The corpus: every JSON document (and every envelope's payload) in keys-example/, demo/, test/ and
// spec/vectors/, the envelope, proof and state of every bundle there, and hand-made documents that use
// every branch of every oneOf; each is checked against all six schemas. Then fast-check mutates valid
// documents: members dropped, added, retyped, set to boundary lengths and values or to a part of another
// document (another format's archive, another kind's signer), array entries dropped or repeated.
import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { runs } from './support/soak.js';
import * as generated from '../lib/core/generated/validators.js';
import { validateWith, type Validator } from '../lib/core/schema.js';
import { parseBundleHeader } from '../lib/core/bundle.js';
import { disjoint, flattenSchema } from '../schemas/flatten.js';
import { generateValidators } from '../schemas/codegen.js';

const ROOT = new URL('../', import.meta.url);
const NAMES = ['envelope', 'policy', 'manifest', 'revocation', 'enrolment', 'key-revocation'] as const;
type Name = (typeof NAMES)[number];
const NEW: Record<Name, Validator> = {
  envelope: generated.envelope,
  policy: generated.policy,
  manifest: generated.manifest,
  revocation: generated.revocation,
  enrolment: generated.enrolment,
  'key-revocation': generated.keyRevocation,
};
const PUBLISHED: Record<Name, Record<string, unknown>> = Object.fromEntries(
  NAMES.map((n) => [n, JSON.parse(readFileSync(new URL(`schemas/${n}.schema.json`, ROOT), 'utf8'))]),
) as Record<Name, Record<string, unknown>>;
// The published schemas as the generated validators were compiled before flattening.
const ajv = new Ajv2020({ strict: true });
const OLD = Object.fromEntries(NAMES.map((n) => [n, ajv.compile(PUBLISHED[n])])) as unknown as Record<Name, Validator>;

/** The verdict and the first error, as lib/core/schema.ts reports them. */
function outcome(fn: Validator, name: Name, doc: unknown): string {
  try {
    validateWith(fn, name, doc, 'doc');
    return 'valid';
  } catch (e) {
    return `${(e as { code: string }).code} ${(e as Error).message}`;
  }
}

/** The kinds of first error seen (messages without their numbers and patterns). */
const seen = new Set<string>();

function same(doc: unknown, names: readonly Name[] = NAMES): void {
  for (const name of names) {
    const before = outcome(OLD[name], name, doc);
    const after = outcome(NEW[name], name, doc);
    seen.add(before.replace(/^.*? schema: (\(top level\)|\S+) /, '').replace(/ (".*"|'.*'|[0-9]+.*)$/, ''));
    if (before !== after) expect.fail(`${name}: ${JSON.stringify(doc).slice(0, 2000)}\n  published: ${before}\n  flattened: ${after}`);
  }
}

function files(dir: URL): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(json|bundle)$/.test(entry)) out.push(full);
    }
  };
  walk(dir.pathname);
  return out;
}

/** Every JSON value in the corpus files, with every object, array and decoded payload inside them. */
function corpus(): unknown[] {
  const texts: string[] = [];
  for (const dir of ['keys-example/', 'demo/', 'test/', 'spec/vectors/']) {
    for (const file of files(new URL(dir, ROOT))) {
      const bytes = readFileSync(file);
      if (file.endsWith('.json')) {
        texts.push(bytes.toString('utf8'));
        continue;
      }
      try {
        const layout = parseBundleHeader(bytes.subarray(0, 256), 1 << 26, bytes.length);
        for (const s of layout.sections) if (s.name !== 'archive') texts.push(bytes.subarray(s.offset, s.offset + s.length).toString('utf8'));
      } catch {
        // A malformed bundle vector: its envelope is not at a place the header names.
      }
    }
  }
  const seen = new Set<string>();
  const out: unknown[] = [];
  const add = (value: unknown) => {
    if (value === null || typeof value !== 'object') return;
    const key = JSON.stringify(value);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(value);
    for (const child of Object.values(value)) add(child);
    const payload = (value as { payload?: unknown }).payload;
    if (typeof payload === 'string') {
      try {
        add(JSON.parse(Buffer.from(payload, 'base64').toString('utf8')));
      } catch {
        // Not base64 JSON.
      }
    }
  };
  for (const text of texts) {
    try {
      add(JSON.parse(text));
    } catch {
      // Not JSON (a deliberately broken vector).
    }
  }
  return out;
}

const HEX64 = 'ab'.repeat(32);
const KEY = 'A'.repeat(43) + '=';
const DATE = '2026-01-01T00:00:00Z';
/** Documents that use every branch of every oneOf the schemas have. */
const MADE: Record<Name, unknown[]> = {
  manifest: [1, 2, 3].map((format) => ({
    ...(format === 1 ? {} : { format }),
    ...(format === 3 ? { provider: 'wordpress.org/plugins/x' } : {}),
    product: 'drupal',
    component: 'core',
    version: '10.2.4',
    appliesTo: ['10.2.3', '10.2.2'],
    risk: format === 2 ? null : { vector: 'AC:None/A:None/CI:All/II:All/E:Theoretical/TD:All', score: 20, level: 'Highly Critical' },
    advisory: format === 2 ? null : 'SA-CORE-2026-001',
    archive: format === 1 ? { name: 'a.tar', size: 10, sha256: HEX64, sha512: 'cd'.repeat(64) } : { name: 'a.tar', size: 10, sha256: HEX64, mtime: 0 },
    files: [
      { op: 'add', path: 'a/b.php', sha256: HEX64, size: 3, mode: '0644' },
      { op: 'modify', path: 'c.php', sha256: HEX64, size: 0, mode: '0755', previousSha256: HEX64 },
      { op: 'delete', path: 'd.php', previousSha256: HEX64 },
    ],
    postUpdate:
      format === 2
        ? []
        : [
            ['drush', 'updb', '-y'],
            ['drush', 'cr'],
          ],
    versionFile: format === 2 ? null : 'a/b.php',
    created: DATE,
    expires: DATE,
    policyVersion: 3,
  })),
  policy: [
    { version: 1, expires: DATE, threshold: 1, signers: [{ id: HEX64, publicKey: KEY, name: 'Alice' }] },
    {
      format: 2,
      version: 2,
      expires: DATE,
      threshold: 3,
      signers: [
        { id: HEX64, publicKey: KEY, name: 'Alice', kind: 'countersign' },
        { id: HEX64, publicKey: KEY, name: 'Bob', kind: 'ssh-ed25519' },
        { id: HEX64, publicKey: KEY, name: 'Carol', kind: 'sk-ssh-ed25519@openssh.com', application: 'ssh:', userVerification: true },
        { id: HEX64, publicKey: KEY, name: 'Dave', kind: 'minisign', keynum: '0123456789abcdef' },
        { id: HEX64, publicKey: KEY, name: 'Erin', kind: 'signify', keynum: '0123456789abcdef' },
      ],
    },
    {
      format: 2,
      version: 3,
      expires: DATE,
      threshold: 1,
      signers: [{ id: HEX64, publicKey: KEY, name: 'Carol', kind: 'sk-ssh-ed25519@openssh.com', application: 'ssh:', userVerification: false }],
    },
    {
      format: 3,
      version: 5,
      expires: DATE,
      threshold: 1,
      provider: 'wordpress.org/plugins/x',
      signers: [{ id: HEX64, publicKey: KEY, name: 'Alice' }],
      roles: { admin: { threshold: 1, signers: [HEX64] }, release: { threshold: 1, signers: [HEX64] } },
    },
    {
      format: 3,
      version: 5,
      expires: DATE,
      threshold: 1,
      signers: [{ id: HEX64, publicKey: KEY, name: 'Alice' }],
      providers: { activationDelay: 86400, registry: { threshold: 1, signers: [HEX64] } },
    },
  ],
  'key-revocation': ['all', 'now', 0, 17].map((from) => ({
    format: 1,
    provider: 'wordpress.org/plugins/x',
    keyid: HEX64,
    from,
    reason: 'lost',
    created: DATE,
  })),
  envelope: [{ payloadType: 'application/vnd.countersign.policy+json', payload: 'e30=', signatures: [{ keyid: HEX64, sig: 'A'.repeat(86) + '==' }] }],
  revocation: [
    { product: 'drupal', component: 'core', version: '10.2.4', reason: 'broken', created: DATE, policyVersion: 1 },
    { format: 2, provider: 'wordpress.org/plugins/x', product: 'x', component: 'x', version: '1.0', reason: 'broken', created: DATE, policyVersion: 2 },
  ],
  enrolment: [
    { format: 1, provider: 'wordpress.org/plugins/x', policy: 'e30=', created: DATE },
    { format: 1, provider: 'wordpress.org/plugins/x', policy: 'e30=', created: DATE, previous: 1 },
  ],
};

/** The names a schema gives members, for mutations that add a member. */
function memberNames(): string[] {
  const names = new Set<string>(['extra', '', '__proto__', 'constructor', 'toString', 'a/b~c']);
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const props = (node as { properties?: Record<string, unknown> }).properties;
    if (props) for (const k of Object.keys(props)) names.add(k);
    for (const child of Object.values(node)) walk(child);
  };
  for (const n of NAMES) walk(PUBLISHED[n]);
  return [...names];
}

/** The schemas' string and array length limits, each with its neighbours. */
function boundaryLengths(): number[] {
  const lengths = new Set<number>([0, 1, 2, 16, 43, 44, 64, 128]);
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const k of ['minLength', 'maxLength', 'minItems', 'maxItems'])
      if (typeof n[k] === 'number') for (const d of [-1, 0, 1]) lengths.add((n[k] as number) + d);
    for (const child of Object.values(n)) walk(child);
  };
  for (const name of NAMES) walk(PUBLISHED[name]);
  return [...lengths].filter((n) => n >= 0 && n <= 5000);
}

/** Strings and numbers at the schemas' boundaries, and values of every JSON type. */
function boundaryValues(): unknown[] {
  const values: unknown[] = [null, true, false, 0, -1, 1, 1.5, 2, 3, 4, '1', {}, [], [[]], [''], ['x', 'x']];
  const numbers = new Set<number>();
  const lengths = new Set<number>([0, 1, 16, 43, 44, 64, 128]);
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const k of ['minimum', 'maximum']) if (typeof n[k] === 'number') for (const d of [-1, 0, 1]) numbers.add((n[k] as number) + d);
    for (const k of ['minLength', 'maxLength', 'minItems', 'maxItems'])
      if (typeof n[k] === 'number') for (const d of [-1, 0, 1]) lengths.add((n[k] as number) + d);
    if (n.const !== undefined) values.push(n.const);
    if (Array.isArray(n.enum)) values.push(...n.enum);
    for (const child of Object.values(n)) walk(child);
  };
  for (const name of NAMES) walk(PUBLISHED[name]);
  for (const x of numbers) values.push(x, x + 0.5);
  for (const len of lengths) {
    if (len < 0 || len > 5000) continue;
    values.push('a'.repeat(len), 'f'.repeat(len), '0'.repeat(len));
    if (len > 0) values.push('😀'.repeat(len), 'a'.repeat(len - 1) + '\u200b', 'A'.repeat(len - 1) + '=');
  }
  values.push(HEX64, HEX64.toUpperCase(), 'cd'.repeat(64), KEY, DATE, '2026-01-01 00:00:00Z', 'a\u0000b', '\ud800', '..', '.', 'a/b', 'ssh:', 'e30=');
  return values;
}

interface Mutation {
  at: number;
  pick: number;
  kind: 'drop' | 'set' | 'add' | 'repeat' | 'resize';
  /** resize: the new length of a string member (cycling its own characters, or of 😀 or a when fill is 1 or 2). */
  length: number;
  fill: number;
  key: string;
  value: unknown;
}

/** Applies `m` to a copy of `doc`: the place is the at-th of its objects and arrays (the document itself first). */
function mutate(doc: unknown, mutations: Mutation[]): unknown {
  const copy = structuredClone(doc);
  for (const m of mutations) {
    const places: Array<Record<string, unknown> | unknown[]> = [];
    const walk = (node: unknown) => {
      if (node === null || typeof node !== 'object') return;
      places.push(node as Record<string, unknown>);
      for (const child of Object.values(node)) walk(child);
    };
    walk(copy);
    const place = places[m.at % places.length]!;
    const keys = Object.keys(place);
    const existing = keys.length === 0 ? undefined : keys[m.pick % keys.length]!;
    if (Array.isArray(place)) {
      const i = existing === undefined ? 0 : Number(existing);
      if (m.kind === 'drop') place.splice(i, 1);
      else if (m.kind === 'set' && existing !== undefined) place[i] = structuredClone(m.value);
      else if (m.kind === 'repeat' && existing !== undefined) place.push(structuredClone(place[i]));
      else place.push(structuredClone(m.value));
    } else if (m.kind === 'drop' && existing !== undefined) delete place[existing];
    else if (m.kind === 'set' && existing !== undefined) place[existing] = structuredClone(m.value);
    else if (m.kind === 'resize' && existing !== undefined && typeof place[existing] === 'string') {
      const old = place[existing] as string;
      const unit = m.fill === 1 ? '😀' : m.fill === 2 || old === '' ? 'a' : old;
      place[existing] = unit.repeat(Math.ceil(m.length / unit.length) + 1).slice(0, m.fill === 1 ? 2 * m.length : m.length);
    }
    // As JSON.parse makes a member, even one named __proto__.
    else Object.defineProperty(place, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** Copies of `doc` with one integer member set to -1, 0, or one past 2^53 - 1 (each bound the schemas set). */
function numbersMoved(doc: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (typeof node === 'number') {
      for (const value of [-1, 0, 2 ** 53]) {
        const copy = structuredClone(doc) as Record<string | number, unknown>;
        let place = copy;
        for (const key of path.slice(0, -1)) place = place[key] as Record<string | number, unknown>;
        place[path.at(-1)!] = value;
        out.push(copy);
      }
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, Array.isArray(node) ? Number(key) : key]);
    }
  };
  walk(doc, []);
  return out;
}

describe('signed-document validators (schemas/flatten.ts, schemas/codegen.ts)', () => {
  const docs = corpus();
  const valid: Record<Name, unknown[]> = Object.fromEntries(NAMES.map((n) => [n, [...MADE[n]]])) as Record<Name, unknown[]>;
  for (const doc of docs) for (const n of NAMES) if (OLD[n](doc) && !valid[n].some((d) => JSON.stringify(d) === JSON.stringify(doc))) valid[n].push(doc);

  it('the corpus has valid documents of every kind, and the hand-made ones are valid', () => {
    for (const n of NAMES) for (const doc of MADE[n]) expect(OLD[n](doc), `${n} ${JSON.stringify(doc)}`).to.equal(true);
    for (const n of NAMES) expect(valid[n].length, n).to.be.greaterThan(0);
    expect(docs.length).to.be.greaterThan(1000);
  });

  it('every corpus document gets the same verdict and first error from all six schemas', () => {
    for (const doc of [...docs, ...Object.values(MADE).flat()]) same(doc);
  });

  it('every mutation of a valid document gets the same verdict and first error', function () {
    this.timeout(600_000);
    const parts = docs.filter((d) => JSON.stringify(d).length < 2000);
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...boundaryValues()) },
      { weight: 2, arbitrary: fc.constantFrom(...parts) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
    const mutation = fc.record({
      at: fc.nat(),
      pick: fc.nat(),
      kind: fc.constantFrom('drop', 'set', 'set', 'add', 'repeat', 'resize', 'resize') as fc.Arbitrary<Mutation['kind']>,
      length: fc.constantFrom(...boundaryLengths()),
      fill: fc.nat(2),
      key: fc.oneof(fc.constantFrom(...memberNames()), fc.string({ maxLength: 3 })),
      value,
    });
    for (const name of NAMES) {
      fc.assert(
        fc.property(fc.constantFrom(...valid[name]), fc.array(mutation, { minLength: 1, maxLength: 3 }), (doc, ms) => same(mutate(doc, ms), [name])),
        runs(4000),
      );
    }
    // Each number member of each valid document at each side of its bounds, so the numeric first errors are met
    // whatever the random runs drew.
    for (const name of NAMES) for (const doc of valid[name]) for (const changed of numbersMoved(doc)) same(changed, [name]);
    // Every kind of first error the schemas can give was met (not 'must be boolean': a policy signer's first
    // error is always one of its first branch, the countersign key's, which has no boolean).
    for (const kind of [
      'valid',
      'must be string',
      'must be integer',
      'must be object',
      'must be array',
      'must be null',
      'must be equal to constant',
      'must be equal to one of the allowed values',
      'must have required property',
      'must NOT have additional properties',
      'must match pattern',
      'must NOT have more than',
      'must NOT have fewer than',
      'must NOT have duplicate items (items ##',
      'must be <=',
      'must be >=',
    ])
      expect([...seen], `${kind} (seen: ${[...seen].join(' | ')})`).to.include(kind);
  });

  it('flattens every oneOf of the signed documents, and keeps one whose branches may overlap', () => {
    for (const n of NAMES) expect(JSON.stringify(flattenSchema(PUBLISHED[n])), n).not.to.include('oneOf');
    const overlapping = { type: 'object', properties: { a: { oneOf: [{ type: 'string' }, { type: 'string', maxLength: 3 }] } } };
    expect(flattenSchema(overlapping)).to.deep.equal(overlapping);
    expect(disjoint({ type: 'integer' }, { type: 'number' })).to.equal(false);
    expect(disjoint({ enum: ['all', 1] }, { type: 'integer' })).to.equal(false);
    expect(disjoint({ type: 'object', properties: { k: { const: 'a' } } }, { type: 'object', properties: { k: { const: 'b' } } })).to.equal(false);
    expect(disjoint({ type: 'object', properties: { k: { const: 'a' } } }, { type: 'object', required: ['k'], properties: { k: { const: 'b' } } })).to.equal(
      true,
    );
  });

  it("codegen refuses a keyword, or a keyword beside another, whose place in ajv's order it does not know", () => {
    expect(() => generateValidators({ x: { type: 'string', format: 'date' } })).to.throw(/format/);
    expect(() => generateValidators({ x: { type: 'string', enum: ['a'] } })).to.throw(/beside/);
    expect(() => generateValidators({ x: { type: ['string', 'null'] } })).to.throw(/more than one type/);
    expect(() => generateValidators({ x: { type: 'array', items: { type: 'object' }, uniqueItems: true } })).to.throw(/uniqueItems/);
    expect(() => generateValidators({ x: { const: { a: 1 } } })).to.throw(/const/);
    expect(() => generateValidators({ x: { type: 'object', additionalProperties: { type: 'string' } } })).to.throw(/additionalProperties/);
    expect(() => generateValidators({ x: { $ref: '#/$defs/a', type: 'string', $defs: { a: {} } } })).to.throw();
    // A review found both compiled to "accept": `false` forbids a member, and ajv ignores a property named __proto__.
    expect(() => generateValidators({ x: { type: 'object', properties: { legacy: false } } as never })).to.throw(/boolean schemas/);
    expect(() => generateValidators({ x: { anyOf: [false, { type: 'string' }] } as never })).to.throw(/boolean schemas/);
    expect(() => generateValidators({ x: JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}') })).to.throw(/__proto__/);
    expect(() => flattenSchema({ type: 'object', properties: { legacy: false } } as never)).to.throw(/boolean schemas/);
    expect(() => flattenSchema(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}'))).to.throw(/__proto__/);
  });
});
