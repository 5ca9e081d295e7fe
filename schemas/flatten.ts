// The form of a signed document's schema that codegen.ts compiles into lib/core/generated/validators.ts: the
// same verdict and the same first error (instance path and message, all that lib/core/schema.ts reports) as
// the published schema. ajv evaluates every branch of a oneOf, to count the ones that match, and builds an
// error object for each that fails (two per file entry of a manifest: add matches, modify and delete do not).
//
// A oneOf whose branches are pairwise disjoint (no value matches two: `disjoint` below proves it from the
// keywords, or the oneOf is kept) is an anyOf of the same branches in the same order, which stops at the
// first branch that matches. When none matches, ajv's first error is the first branch's first error for an
// anyOf as for a oneOf (branch errors are collected in order, the anyOf/oneOf error last). Annotations
// (title, description, $comment) are dropped.
// test/schema-flatten.test.ts compares the validators with ajv on the published schemas over a corpus and
// mutations.

type Schema = { [key: string]: unknown };

const SCHEMA_MAPS = new Set(['properties', '$defs', 'patternProperties', 'dependentSchemas']);
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'propertyNames', 'if', 'then', 'else', 'not', 'contains']);
const SCHEMA_LISTS = new Set(['oneOf', 'anyOf', 'allOf', 'prefixItems']);
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples']);
const KNOWN = new Set([
  ...SCHEMA_MAPS,
  ...SCHEMA_VALUES,
  ...SCHEMA_LISTS,
  ...ANNOTATIONS,
  '$schema',
  '$id',
  '$ref',
  'type',
  'const',
  'enum',
  'required',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
]);

/** The flattened form of the published schema `root`. */
export function flattenSchema(root: Schema): Schema {
  const defs = (root.$defs ?? {}) as Record<string, Schema>;
  const resolve = (s: Schema): Schema => {
    if (typeof s.$ref !== 'string') return s;
    const m = /^#\/\$defs\/([^/]+)$/.exec(s.$ref);
    const target = m === null ? undefined : defs[m[1]];
    if (target === undefined) throw new Error(`flatten: unsupported $ref ${s.$ref}`);
    return target;
  };
  const walk = (s: Schema, where: string): Schema => {
    // `false` refuses everything and `true` allows it: neither reads as the plain object the rest assumes.
    if (typeof s !== 'object' || s === null || Array.isArray(s))
      throw new Error(`flatten: ${where} is not a schema object (boolean schemas are not supported)`);
    // ajv ignores a property named __proto__, which JSON.parse makes an own member: refused rather than matched.
    if (typeof s.properties === 'object' && s.properties !== null && Object.hasOwn(s.properties, '__proto__'))
      throw new Error(`flatten: ${where} has a property named __proto__`);
    const out: Schema = {};
    for (const [key, value] of Object.entries(s)) {
      if (!KNOWN.has(key)) throw new Error(`flatten: ${where} uses the keyword ${key}, which flatten does not know`);
      if (ANNOTATIONS.has(key)) continue;
      if (SCHEMA_MAPS.has(key)) {
        out[key] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, walk(v, `${where}/${key}/${k}`)]));
      } else if (SCHEMA_VALUES.has(key) && typeof value === 'object') {
        out[key] = walk(value as Schema, `${where}/${key}`);
      } else if (SCHEMA_LISTS.has(key)) {
        out[key] = (value as Schema[]).map((v, i) => walk(v, `${where}/${key}/${i}`));
      } else {
        out[key] = value;
      }
    }
    const branches = out.oneOf as Schema[] | undefined;
    // Only a oneOf alone in its schema: beside other keywords, their order in ajv's code would decide the first error.
    if (branches !== undefined && Object.keys(out).length === 1 && branches.length >= 2 && pairwiseDisjoint(branches.map(resolve))) return { anyOf: branches };
    return out;
  };
  return walk(root, '#');
}

function pairwiseDisjoint(branches: Schema[]): boolean {
  for (let i = 0; i < branches.length; i++) for (let j = i + 1; j < branches.length; j++) if (!disjoint(branches[i], branches[j])) return false;
  return true;
}

const TYPES_OF = (value: unknown): string[] => {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['number', 'integer'] : ['number'];
  return [typeof value];
};

/** True when the keywords of a and b show that no value matches both (false: not shown). */
export function disjoint(a: Schema, b: Schema): boolean {
  return oneWay(a, b) || oneWay(b, a);
}

function oneWay(a: Schema, b: Schema): boolean {
  const typeA = typeof a.type === 'string' ? a.type : undefined;
  const typeB = typeof b.type === 'string' ? b.type : undefined;
  // Different single types (integer is a number).
  if (typeA !== undefined && typeB !== undefined && typeA !== typeB && !(new Set([typeA, typeB]).has('integer') && new Set([typeA, typeB]).has('number')))
    return true;
  // Every value a allows (enum) is of a type b refuses.
  if (Array.isArray(a.enum) && typeB !== undefined && a.enum.every((v) => !TYPES_OF(v).includes(typeB))) return true;
  if (typeA === 'object' && typeB === 'object') {
    const propsA = (a.properties ?? {}) as Record<string, Schema>;
    const propsB = (b.properties ?? {}) as Record<string, Schema>;
    const requiredB = (b.required ?? []) as string[];
    // b requires a member that a forbids.
    if (a.additionalProperties === false && requiredB.some((p) => !(p in propsA))) return true;
    // b requires a member whose constant differs from the one a pins it to when present.
    for (const p of requiredB) {
      const ca = propsA[p]?.const;
      const cb = propsB[p]?.const;
      if (ca !== undefined && cb !== undefined && JSON.stringify(ca) !== JSON.stringify(cb)) return true;
    }
  }
  return false;
}
