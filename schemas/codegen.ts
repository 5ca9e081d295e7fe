// The code of the signed documents' validators (lib/core/generated/validators.ts), from the flattened form of
// their schemas (flatten.ts): for the few keywords those schemas use, the checks ajv makes, in ajv's order,
// with ajv's messages, so each validator gives the verdict and the first error (instance path and message,
// all lib/core/schema.ts reports) that ajv gives on the published schema. ajv's standalone code for the
// same schemas was 133-151 KB, which V8 parses on every verify; this is a few KB. A schema with any other
// keyword, or with a keyword where this generator does not know ajv's order, is refused here.
// test/schema-flatten.test.ts checks every verdict and first error against ajv on the published schemas.
//
// ajv's order (lib/compile/validate and lib/compile/rules of ajv 8), in a schema with one `type`:
// - the type first when no keyword of the type's group follows (integer, null and boolean have none);
// - then the keywords of no type (here $ref, const, enum, anyOf), then those of the number group (maximum,
//   minimum), the string group (maxLength, minLength, pattern), the array group (maxItems, minItems, items,
//   uniqueItems), the object group (required, additionalProperties, properties), each group applied to a
//   value of its type only, the type error last when the group's type is the schema's;
// - an anyOf that no branch matches reports its first branch's first error (ajv collects branch errors in
//   order and adds its own last).

type Schema = { [key: string]: unknown };

const GROUPS: ReadonlyArray<{ type: string; keywords: readonly string[]; check: (d: string) => string }> = [
  { type: 'number', keywords: ['maximum', 'minimum'], check: (d) => `typeof ${d} == "number" && isFinite(${d})` },
  { type: 'string', keywords: ['maxLength', 'minLength', 'pattern'], check: (d) => `typeof ${d} === "string"` },
  { type: 'array', keywords: ['maxItems', 'minItems', 'items', 'uniqueItems'], check: (d) => `Array.isArray(${d})` },
  { type: 'object', keywords: ['required', 'additionalProperties', 'properties'], check: (d) => `${d} && typeof ${d} == "object" && !Array.isArray(${d})` },
];
const UNTYPED = ['$ref', 'const', 'enum', 'anyOf'];
const TOP = ['$schema', '$id', '$defs'];
const WRONG_TYPE: Record<string, (d: string) => string> = {
  integer: (d) => `!(typeof ${d} == "number" && !(${d} % 1) && !isNaN(${d}) && isFinite(${d}))`,
  number: (d) => `!(typeof ${d} == "number" && isFinite(${d}))`,
  string: (d) => `typeof ${d} !== "string"`,
  array: (d) => `!Array.isArray(${d})`,
  object: (d) => `!(${d} && typeof ${d} == "object" && !Array.isArray(${d}))`,
  null: (d) => `${d} !== null`,
  boolean: (d) => `typeof ${d} !== "boolean"`,
};

const str = (s: string) => JSON.stringify(s);
const primitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
/** A JSON Pointer segment, as ajv writes one into instancePath. */
const segment = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Whether `pattern` accepts every non-empty string of printable ASCII (U+0020 to U+007E), so that a cheap test for
 * such a string may stand before it: only a pattern made of one negated class repeated, `^[^...]+$`, that accepts
 * each of those characters alone, is taken as doing so.
 */
export function acceptsPrintableAscii(pattern: string): boolean {
  if (!/^\^\[\^[^\]]*\]\+\$$/.test(pattern)) return false;
  const re = new RegExp(pattern, 'u');
  for (let c = 0x20; c <= 0x7e; c++) if (!re.test(String.fromCharCode(c))) return false;
  return true;
}

/** The module of the validators of `schemas` (export name -> flattened schema). */
export function generateValidators(schemas: Record<string, Schema>): string {
  const patterns = new Map<string, string>();
  const functions: string[] = [];
  let counter = 0;
  const pattern = (p: string) => {
    if (!patterns.has(p)) patterns.set(p, `p${patterns.size}`);
    return patterns.get(p)!;
  };
  let usesLength = false;
  let usesPrintableAscii = false;

  /** A function `name(d, pb, pk)` that returns null or the first error of `schema` for d at path pb + pk. */
  const compileFunction = (schema: Schema, defs: Record<string, string>, where: string): string => {
    const name = `v${counter++}`;
    let locals = 0;
    const local = (base: string) => `${base}${locals++}`;
    const lines: string[] = [];
    // Emits the checks of `s` on the value `d` (a variable) at the path b + k (JS expressions: a string, and a
    // string or an index), joined only for an error: a function called per array item takes both.
    const emit = (s: Schema, d: string, b: string, k: string, at: string): void => {
      if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error(`codegen: ${at} is not a schema object (boolean schemas are not supported)`);
      if (typeof s.properties === 'object' && s.properties !== null && Object.hasOwn(s.properties, '__proto__'))
        throw new Error(`codegen: ${at} has a property named __proto__ (ajv ignores it)`);
      const path = `${b} + ${k}`;
      const fail = (message: string) => `return E(${path}, ${message});`;
      for (const key of Object.keys(s)) {
        const known = UNTYPED.includes(key) || key === 'type' || GROUPS.some((g) => g.keywords.includes(key)) || (at === '#' && TOP.includes(key));
        if (!known) throw new Error(`codegen: ${at} uses the keyword ${key}`);
      }
      const type = s.type;
      if (type !== undefined && typeof type !== 'string') throw new Error(`codegen: ${at} has more than one type`);
      if (type !== undefined && UNTYPED.some((k) => k in s)) throw new Error(`codegen: ${at} has a type beside ${UNTYPED.join('/')}`);
      if (type !== undefined && !(type in WRONG_TYPE)) throw new Error(`codegen: ${at} has the type ${type}`);
      const group = GROUPS.find((g) => g.type === type);
      const deferred = group !== undefined && group.keywords.some((k) => k in s);
      if (type !== undefined && !deferred) lines.push(`if (${WRONG_TYPE[type]!(d)}) ${fail(str(`must be ${type}`))}`);
      if (typeof s.$ref === 'string') {
        if (Object.keys(s).length !== 1) throw new Error(`codegen: ${at} has a $ref beside other keywords`);
        const target = defs[s.$ref];
        if (target === undefined) throw new Error(`codegen: ${at}: unknown $ref ${s.$ref}`);
        lines.push(`{ const e = ${target}(${d}, ${b}, ${k}); if (e !== null) return e; }`);
      }
      if ('const' in s) {
        if (!primitive(s.const)) throw new Error(`codegen: ${at}: a const that is not a string, number, boolean or null`);
        lines.push(`if (${d} !== ${JSON.stringify(s.const)}) ${fail(str('must be equal to constant'))}`);
      }
      if (Array.isArray(s.enum)) {
        if (!s.enum.every(primitive)) throw new Error(`codegen: ${at}: an enum value that is not a string, number, boolean or null`);
        lines.push(`if (!(${s.enum.map((v) => `${d} === ${JSON.stringify(v)}`).join(' || ')})) ${fail(str('must be equal to one of the allowed values'))}`);
      }
      if (Array.isArray(s.anyOf)) {
        const branches = (s.anyOf as Schema[]).map((b, i) =>
          typeof b.$ref === 'string' && Object.keys(b).length === 1 && defs[b.$ref] !== undefined
            ? defs[b.$ref]!
            : compileFunction(b, defs, `${at}/anyOf/${i}`),
        );
        const e = local('e');
        const call = (f: string) => `${f}(${d}, ${b}, ${k})`;
        lines.push(
          `{ const ${e} = ${call(branches[0]!)}; if (${e} !== null${branches
            .slice(1)
            .map((f) => ` && ${call(f)} !== null`)
            .join('')}) return ${e}; }`,
        );
      }
      for (const g of GROUPS) {
        if (!g.keywords.some((k) => k in s)) continue;
        lines.push(`if (${g.check(d)}) {`);
        if (typeof s.maximum === 'number' && g.type === 'number') lines.push(`if (${d} > ${s.maximum} || isNaN(${d})) ${fail(str(`must be <= ${s.maximum}`))}`);
        if (typeof s.minimum === 'number' && g.type === 'number') lines.push(`if (${d} < ${s.minimum} || isNaN(${d})) ${fail(str(`must be >= ${s.minimum}`))}`);
        if (g.type === 'string') {
          if (typeof s.maxLength === 'number' || typeof s.minLength === 'number') usesLength = true;
          // ajv counts code points (len): at most the UTF-16 length and at least half of it, so a string whose
          // length settles the comparison is not counted (an envelope's payload, a manifest's paths).
          if (typeof s.maxLength === 'number')
            lines.push(`if (${d}.length > ${s.maxLength} && len(${d}) > ${s.maxLength}) ${fail(str(`must NOT have more than ${s.maxLength} characters`))}`);
          if (typeof s.minLength === 'number')
            lines.push(
              `if (${d}.length < ${2 * s.minLength} && len(${d}) < ${s.minLength}) ${fail(str(`must NOT have fewer than ${s.minLength} characters`))}`,
            );
          if (typeof s.pattern === 'string') {
            const test = `${pattern(s.pattern)}.test(${d})`;
            const asciiFirst = acceptsPrintableAscii(s.pattern);
            usesPrintableAscii ||= asciiFirst;
            lines.push(`if (!${asciiFirst ? `(ASCII.test(${d}) || ${test})` : test}) ${fail(`m${pattern(s.pattern)}`)}`);
          }
        }
        if (g.type === 'array') {
          if (typeof s.maxItems === 'number') lines.push(`if (${d}.length > ${s.maxItems}) ${fail(str(`must NOT have more than ${s.maxItems} items`))}`);
          if (typeof s.minItems === 'number') lines.push(`if (${d}.length < ${s.minItems}) ${fail(str(`must NOT have fewer than ${s.minItems} items`))}`);
          if (s.items !== undefined) {
            if (typeof s.items !== 'object' || s.items === null || Array.isArray(s.items)) throw new Error(`codegen: ${at}: items is not a schema`);
            const i = local('i');
            const x = local('x');
            const pre = local('pre');
            lines.push(`const ${pre} = ${path} + "/";`);
            lines.push(`for (let ${i} = 0; ${i} < ${d}.length; ${i}++) {`, `const ${x} = ${d}[${i}];`);
            emit(s.items as Schema, x, pre, i, `${at}/items`);
            lines.push('}');
          }
          if (s.uniqueItems === true) {
            // ajv's check for items of one scalar type (lib/vocabularies/validation/uniqueItems), from the last item down.
            const itemType = (s.items as Schema | undefined)?.type;
            if (typeof itemType !== 'string' || !['string', 'number', 'integer', 'boolean', 'null'].includes(itemType))
              throw new Error(`codegen: ${at}: uniqueItems over items that are not of one scalar type`);
            const i = local('i');
            const idx = local('indices');
            lines.push(`{ let ${i} = ${d}.length; if (${i} > 1) { const ${idx} = {}; for (; ${i}--; ) { const item = ${d}[${i}];`);
            lines.push(`if (${WRONG_TYPE[itemType]!('item')}) continue;`);
            lines.push(
              `if (typeof ${idx}[item] == "number") ${fail(`"must NOT have duplicate items (items ## " + ${idx}[item] + " and " + ${i} + " are identical)"`)}`,
            );
            lines.push(`${idx}[item] = ${i}; } } }`);
          } else if (s.uniqueItems !== undefined && s.uniqueItems !== false) throw new Error(`codegen: ${at}: uniqueItems is not a boolean`);
        }
        if (g.type === 'object') {
          const properties = (s.properties ?? {}) as Record<string, Schema>;
          if (Array.isArray(s.required)) {
            for (const p of s.required as string[]) lines.push(`if (${d}[${str(p)}] === undefined) ${fail(str(`must have required property '${p}'`))}`);
          }
          if (s.additionalProperties === false) {
            const k = local('k');
            const names = Object.keys(properties);
            const allowed = names.length === 0 ? 'false' : names.map((n) => `${k} === ${str(n)}`).join(' || ');
            lines.push(`for (const ${k} in ${d}) if (!(${allowed})) ${fail(str('must NOT have additional properties'))}`);
          } else if (s.additionalProperties !== undefined) throw new Error(`codegen: ${at}: additionalProperties other than false`);
          for (const [p, sub] of Object.entries(properties)) {
            const x = local('x');
            lines.push(`const ${x} = ${d}[${str(p)}];`, `if (${x} !== undefined) {`);
            emit(sub, x, path, str(`/${segment(p)}`), `${at}/properties/${p}`);
            lines.push('}');
          }
        }
        if (deferred && g.type === type) lines.push(`} else ${fail(str(`must be ${type}`))}`);
        else lines.push('}');
      }
    };
    emit(schema, 'd', 'pb', 'pk', where);
    functions.push(`function ${name}(d, pb, pk) {\n${lines.join('\n')}\nreturn null;\n}`);
    return name;
  };

  const exports: string[] = [];
  for (const [exportName, schema] of Object.entries(schemas)) {
    const defs: Record<string, string> = {};
    const defSchemas = (schema.$defs ?? {}) as Record<string, Schema>;
    // Each $defs schema a function; a $ref among them is resolved once all are named.
    const pending: Array<[string, Schema]> = Object.entries(defSchemas);
    const order = topological(pending);
    for (const defName of order) defs[`#/$defs/${defName}`] = compileFunction(defSchemas[defName]!, defs, `#/$defs/${defName}`);
    const root = compileFunction(schema, defs, '#');
    exports.push(`export const ${exportName} = validator(${root});`);
  }
  const head = [
    ...(usesLength
      ? [
          'import ucs2length from "ajv/dist/runtime/ucs2length.js";',
          '// ajv counts code points, not UTF-16 units.',
          'const len = ucs2length.default ?? ucs2length;',
        ]
      : []),
    ...(usesPrintableAscii
      ? [
          '// Names are mostly printable ASCII, which each pattern tried on it first accepts (schemas/codegen.ts): V8 then never',
          '// builds the Unicode property sets of the pattern itself (~0.4 ms to make it, ~0.2 ms to run it first).',
          'const ASCII = /^[\\x20-\\x7e]+$/;',
        ]
      : []),
    ...[...patterns].flatMap(([p, n]) => [
      p.includes('\\p{')
        ? // Parsing \p{...} builds its Unicode sets (~0.4 ms), so such a pattern is made on its first test, which ASCII mostly spares.
          `const ${n} = { re: null, test(s) { return (this.re ??= new RegExp(${str(p)}, "u")).test(s); } };`
        : `const ${n} = new RegExp(${str(p)}, "u");`,
      `const m${n} = ${str(`must match pattern "${p}"`)};`,
    ]),
  ];
  const validator = [
    '/** An error as ajv reports one, but for what lib/core/schema.ts does not read. */',
    'const E = (instancePath, message) => ({ instancePath, message });',
    '',
    '/** A validator as ajv makes one: true or false, and `errors`, the first error in a list, or null. */',
    'function validator(root) {',
    'const v = (data) => {',
    'const e = root(data, "", "");',
    'v.errors = e === null ? null : [e];',
    'return e === null;',
    '};',
    'return v;',
    '}',
  ].join('\n');
  return `${head.join('\n')}\n\n${validator}\n\n${functions.join('\n\n')}\n\n${exports.join('\n')}\n`;
}

/** The $defs names in an order where each comes after every other $defs schema it refers to. */
function topological(defs: Array<[string, Schema]>): string[] {
  const refs = (s: unknown): string[] =>
    s === null || typeof s !== 'object'
      ? []
      : Object.entries(s).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [v.replace('#/$defs/', '')] : refs(v)));
  const done: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (done.includes(name)) return;
    if (visiting.has(name)) throw new Error(`codegen: $defs/${name} refers to itself`);
    visiting.add(name);
    const s = defs.find(([n]) => n === name)?.[1];
    if (s === undefined) throw new Error(`codegen: unknown $defs/${name}`);
    for (const r of refs(s)) visit(r);
    done.push(name);
  };
  for (const [name] of defs) visit(name);
  return done;
}
